//! Sign-in, sign-out, token revocation and expiry.

use entity::enums::Role;
use serde_json::json;

use crate::on_both_databases;
use crate::support::{JWT_SECRET, PASSWORD, TestApp};

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
