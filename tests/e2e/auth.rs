//! Sign-in, sign-out, token revocation and expiry.

use entity::enums::Role;
use serde_json::json;

use crate::support::{Backend, JWT_SECRET, PASSWORD, TestApp, eventually};
use crate::{on_both_backends, on_both_databases};

const ME: &str = "{ me { name email role status chosenStatus signedIn } }";

async fn login_logout_and_revocation(app: TestApp) {
    app.create_agent("ann@example.com", Role::Agent).await;
    // Case does not matter in the email.
    let data = app
        .ok(
            None,
            "mutation($p: String!) { login(email: \"ANN@example.com\", password: $p) { token expiresAt agent { email } } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(data["login"]["agent"]["email"], "ann@example.com");
    let token = data["login"]["token"].as_str().unwrap().to_owned();

    let me = app.ok(Some(&token), ME, json!({})).await;
    assert_eq!(me["me"]["email"], "ann@example.com");
    assert_eq!(me["me"]["signedIn"], true);

    // A second session on another device survives the first one's logout.
    let other = app.login("ann@example.com").await;
    assert_eq!(app.ok(Some(&token), "mutation { logout }", json!({})).await["logout"], true);
    assert_eq!(app.error_code(Some(&token), ME, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(Some(&token), "mutation { logout }", json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.ok(Some(&other), ME, json!({})).await["me"]["signedIn"], true);
}

async fn wrong_credentials_are_refused_alike(app: TestApp) {
    app.create_agent("ann@example.com", Role::Agent).await;
    let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    let wrong_password =
        app.error_code(None, login, json!({ "e": "ann@example.com", "p": "nope-nope" })).await;
    let unknown_email = app.error_code(None, login, json!({ "e": "who@example.com", "p": PASSWORD })).await;
    assert_eq!(wrong_password, "INVALID_CREDENTIALS");
    assert_eq!(unknown_email, "INVALID_CREDENTIALS");
    let sessions: i64 = app.count("sessions").await;
    assert_eq!(sessions, 0, "failed sign-ins open no session");
}

async fn missing_forged_and_expired_tokens(app: TestApp) {
    let (id, _) = app.signed_in("ann@example.com", Role::Agent).await;
    assert_eq!(app.error_code(None, ME, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(Some("not-a-jwt"), ME, json!({})).await, "UNAUTHENTICATED");

    let agent_id = api::graphql::ids::decode(&async_graphql::ID(id), "Agent").unwrap();
    let session: String = first_session(&app).await;
    let forged = api::auth::TokenKeys::new(b"some other secret, thirty-two bytes long").issue(
        agent_id,
        &session,
        chrono::Utc::now() + chrono::Duration::hours(1),
    );
    let body = app.gql(Some(&forged), ME, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(body["errors"][0]["message"], "the access token is invalid");

    let expired = api::auth::TokenKeys::new(JWT_SECRET.as_bytes()).issue(
        agent_id,
        &session,
        chrono::Utc::now() - chrono::Duration::minutes(1),
    );
    let body = app.gql(Some(&expired), ME, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("expired"));

    // A valid signature naming someone else's session is refused too.
    let wrong_agent = api::auth::TokenKeys::new(JWT_SECRET.as_bytes()).issue(
        agent_id + 1000,
        &session,
        chrono::Utc::now() + chrono::Duration::hours(1),
    );
    assert_eq!(app.error_code(Some(&wrong_agent), ME, json!({})).await, "UNAUTHENTICATED");
}

async fn disabling_an_agent_ends_their_sessions(app: TestApp) {
    let admin = app.admin().await;
    let (id, token) = app.signed_in("ann@example.com", Role::Agent).await;
    assert_eq!(app.ok(Some(&token), ME, json!({})).await["me"]["signedIn"], true);
    app.ok(
        Some(&admin),
        "mutation($id: ID!) { updateAgent(input: { id: $id, enabled: false }) { enabled } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(app.error_code(Some(&token), ME, json!({})).await, "UNAUTHENTICATED");
    let login = "mutation($p: String!) { login(email: \"ann@example.com\", password: $p) { token } }";
    assert_eq!(app.error_code(None, login, json!({ "p": PASSWORD })).await, "INVALID_CREDENTIALS");
}

const CREATE_AGENT: &str = "mutation($e: String!) { createAgent(input: { name: \"New\", email: $e, \
     password: \"a long enough password\", role: AGENT }) { id } }";

/// A server that would reuse a session check for an hour: changes of access must still apply
/// at once, because the mutations that make them forget the agent's remembered sessions.
async fn access_changes_apply_at_once_despite_the_session_cache(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.session_cache_ms = 3_600_000).await;
    let admin = app.admin().await;
    let (id, boss) = app.signed_in("boss@example.com", Role::Admin).await;
    app.ok(Some(&boss), CREATE_AGENT, json!({ "e": "one@example.com" })).await;

    // Demoted: the next admin-only call is refused, though the token was just checked.
    let demote = "mutation($id: ID!) { updateAgent(input: { id: $id, role: AGENT }) { role } }";
    app.ok(Some(&admin), demote, json!({ "id": id })).await;
    assert_eq!(
        app.error_code(Some(&boss), CREATE_AGENT, json!({ "e": "two@example.com" })).await,
        "FORBIDDEN"
    );
    assert_eq!(app.ok(Some(&boss), ME, json!({})).await["me"]["role"], "AGENT");

    // Signed out: refused at once.
    app.ok(Some(&boss), "mutation { logout }", json!({})).await;
    assert_eq!(app.error_code(Some(&boss), ME, json!({})).await, "UNAUTHENTICATED");
}

/// A server that would reuse a session check for an hour remembers it by the token, whose
/// signature it then does not verify again: the token still stops working at its own expiry.
async fn a_remembered_token_stops_at_its_expiry(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.session_cache_ms = 3_600_000).await;
    let (id, _) = app.signed_in("ann@example.com", Role::Agent).await;
    let agent_id = api::graphql::ids::decode(&async_graphql::ID(id), "Agent").unwrap();
    let session: String = first_session(&app).await;
    let keys = api::auth::TokenKeys::new(JWT_SECRET.as_bytes());
    let expires = chrono::Utc::now() + chrono::Duration::seconds(2);
    let brief = keys.issue(agent_id, &session, expires);
    assert_eq!(app.ok(Some(&brief), ME, json!({})).await["me"]["signedIn"], true);
    // A token differing in one byte of its signature is not the remembered one.
    let at = brief.len() - 10;
    let swapped = if &brief[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{swapped}{}", &brief[..at], &brief[at + 1..]);
    assert_eq!(app.error_code(Some(&tampered), ME, json!({})).await, "UNAUTHENTICATED");
    eventually("the token's expiry to pass", || async {
        (jsonwebtoken_now() > expires.timestamp()).then_some(())
    })
    .await;
    let body = app.gql(Some(&brief), ME, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("expired"), "{body}");
}

/// Seconds since the epoch, as token verification reads the clock.
fn jsonwebtoken_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    i64::try_from(now.as_secs()).expect("seconds fit")
}

/// Signing out on instance A ends the token on instance B, which had just checked it and would
/// otherwise reuse that check for an hour: the ACCESS_CHANGED event reaches B through
/// PostgreSQL NOTIFY. (SQLite runs a single instance.)
async fn signing_out_on_one_instance_ends_the_token_on_another(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let url = crate::lifecycle::app_database_url(&a).await;
    let b = TestApp::start(url, None, |config| config.session_cache_ms = 3_600_000).await;
    a.create_agent("ann@example.com", Role::Agent).await;
    let token = a.login("ann@example.com").await;
    assert_eq!(b.ok(Some(&token), ME, json!({})).await["me"]["signedIn"], true);

    a.ok(Some(&token), "mutation { logout }", json!({})).await;
    eventually("instance B to refuse the signed-out token", || async {
        let body = b.gql(Some(&token), ME, json!({})).await;
        (body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED").then_some(())
    })
    .await;
}

async fn first_session(app: &TestApp) -> String {
    use entity::sessions;
    use sea_orm::EntityTrait;
    sessions::Entity::find().one(&app.db).await.unwrap().unwrap().id
}

on_both_databases!(
    login_logout_and_revocation,
    wrong_credentials_are_refused_alike,
    missing_forged_and_expired_tokens,
    disabling_an_agent_ends_their_sessions,
);

on_both_backends!(
    access_changes_apply_at_once_despite_the_session_cache,
    a_remembered_token_stops_at_its_expiry
);

mod signing_out_on_one_instance_ends_the_token_on_another {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::signing_out_on_one_instance_ends_the_token_on_another(crate::support::Backend::Postgres).await;
    }
}
