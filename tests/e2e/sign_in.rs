//! Sign-in under attack: one `login` per request, failures throttled per account and per
//! client address with growing lockouts, the client address behind a proxy, and a bounded
//! number of password hashes at once.

use entity::enums::Role;
use serde_json::{Value, json};

use crate::support::{Backend, PASSWORD, TestApp, eventually};
use crate::websocket::{connect, next, send};
use crate::{on_both_backends, on_both_databases};

const LOGIN: &str =
    "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }";

/// POSTs one login, optionally with an `X-Forwarded-For` header, and returns the body.
async fn login(app: &TestApp, email: &str, password: &str, forwarded_for: Option<&str>) -> Value {
    let mut request = app
        .http
        .post(format!("{}/graphql", app.base))
        .json(&json!({ "query": LOGIN, "variables": { "email": email, "password": password } }));
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    request.send().await.expect("the server answers").json().await.expect("a JSON body")
}

/// The first error's code, or "OK" when the login worked.
fn outcome(body: &Value) -> String {
    if body["data"]["login"]["token"].is_string() {
        return "OK".into();
    }
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("a coded error: {body:#}"))
        .into()
}

fn retry_after_seconds(body: &Value) -> u64 {
    body["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap_or_else(|| panic!("a retry-after hint: {body:#}"))
}

async fn one_login_per_request(app: TestApp) {
    app.create_agent("ann@example.com", Role::Agent).await;
    let url = format!("{}/graphql", app.base);
    let variables = json!({ "email": "ann@example.com", "password": PASSWORD });
    let refused = |body: &Value| body["errors"][0]["extensions"]["code"] == "TOO_MANY_LOGINS";

    // A batch of 20 logins is refused whole, before any password is checked.
    let batch: Vec<Value> = (0..20).map(|_| json!({ "query": LOGIN, "variables": variables })).collect();
    let response = app.http.post(&url).json(&batch).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(refused(&body), "{body:#}");

    // So are 100 aliased logins in one document, and logins multiplied by fragments.
    let aliased: String = (0..100)
        .map(|n| format!("a{n}: login(email: \"ann@example.com\", password: \"{PASSWORD}\") {{ token }} "))
        .collect();
    let fragments = format!(
        "mutation {{ ...L ...L }} fragment L on Mutation {{ login(email: \"ann@example.com\", password: \"{PASSWORD}\") {{ token }} }}"
    );
    for document in [format!("mutation {{ {aliased} }}"), fragments] {
        let response = app.http.post(&url).json(&json!({ "query": document })).send().await.unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(refused(&body), "{body:#}");
    }

    // Over WebSocket too (signed in: sockets are closed to anonymous callers).
    let (_, ws_token) = app.signed_in("ws@example.com", entity::enums::Role::Agent).await;
    let sessions = app.count("sessions").await;
    let mut socket = connect(&app, "graphql-transport-ws").await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "token": ws_token } })).await;
    assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "connection_ack");
    let document = format!("mutation {{ {} }}", &aliased[..aliased.find("a2:").unwrap()]);
    send(&mut socket, json!({ "id": "1", "type": "subscribe", "payload": { "query": document } })).await;
    let reply = next(&mut socket).await.unwrap().unwrap();
    let errors = if reply["type"] == "error" { &reply["payload"] } else { &reply["payload"]["errors"] };
    assert_eq!(errors[0]["extensions"]["code"], "TOO_MANY_LOGINS", "{reply:#}");
    if reply["type"] == "next" {
        assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "complete");
    }
    assert_eq!(app.count("sessions").await, sessions, "nothing was signed in");

    // One login beside other operations is fine, over HTTP and WebSocket.
    let batch = json!([{ "query": LOGIN, "variables": variables }, { "query": "{ __typename }" }]);
    let body: Value = app.http.post(&url).json(&batch).send().await.unwrap().json().await.unwrap();
    assert!(body[0]["data"]["login"]["token"].is_string(), "{body:#}");
    send(
        &mut socket,
        json!({ "id": "2", "type": "subscribe", "payload": { "query": LOGIN, "variables": variables } }),
    )
    .await;
    let reply = next(&mut socket).await.unwrap().unwrap();
    assert!(reply["payload"]["data"]["login"]["token"].is_string(), "{reply:#}");
    assert_eq!(app.count("sessions").await, sessions + 2, "one sign-in over HTTP, one over WebSocket");
}

async fn wrong_passwords_lock_the_account_with_growing_delays(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.sign_in_free_failures = 3;
        config.sign_in_lockout_base_ms = 1000;
    })
    .await;
    app.create_agent("ann@example.com", Role::Agent).await;
    app.create_agent("bob@example.com", Role::Agent).await;

    // Three free failures (the email's case and spaces do not make another account)...
    for email in ["ann@example.com", " ANN@example.com", "Ann@Example.com"] {
        assert_eq!(outcome(&login(&app, email, "wrong password", None).await), "INVALID_CREDENTIALS");
    }
    // ...then the account is locked, even for the right password, for a second.
    let body = login(&app, "ann@example.com", PASSWORD, None).await;
    assert_eq!(outcome(&body), "TOO_MANY_ATTEMPTS");
    assert_eq!(retry_after_seconds(&body), 1);
    // Another account from the same address still signs in.
    assert_eq!(outcome(&login(&app, "bob@example.com", PASSWORD, None).await), "OK");

    // Once the lockout ends, the next failure locks it for twice as long.
    eventually("the first lockout to end", || async {
        let body = login(&app, "ann@example.com", "wrong password", None).await;
        (outcome(&body) == "INVALID_CREDENTIALS").then_some(())
    })
    .await;
    let body = login(&app, "ann@example.com", PASSWORD, None).await;
    assert_eq!(outcome(&body), "TOO_MANY_ATTEMPTS");
    assert_eq!(retry_after_seconds(&body), 2);

    // The right password once the lockout ends forgets the failures.
    eventually("the second lockout to end", || async {
        let body = login(&app, "ann@example.com", PASSWORD, None).await;
        (outcome(&body) == "OK").then_some(())
    })
    .await;
    assert_eq!(outcome(&login(&app, "ann@example.com", "wrong password", None).await), "INVALID_CREDENTIALS");
    assert_eq!(outcome(&login(&app, "ann@example.com", PASSWORD, None).await), "OK");
}

async fn an_address_trying_many_accounts_is_locked(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.sign_in_free_failures_per_address = 3;
        config.sign_in_lockout_base_ms = 60_000;
    })
    .await;
    app.create_agent("ann@example.com", Role::Agent).await;
    // Successes never count against the address.
    for _ in 0..5 {
        assert_eq!(outcome(&login(&app, "ann@example.com", PASSWORD, None).await), "OK");
    }
    for n in 0..3 {
        let body = login(&app, &format!("guess{n}@example.com"), "wrong password", None).await;
        assert_eq!(outcome(&body), "INVALID_CREDENTIALS");
    }
    let body = login(&app, "ann@example.com", PASSWORD, None).await;
    assert_eq!(outcome(&body), "TOO_MANY_ATTEMPTS", "the address is locked");
    assert_eq!(retry_after_seconds(&body), 60);
}

async fn the_proxy_header_names_the_client(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.client_ip_header = Some("x-forwarded-for".parse().unwrap());
        config.sign_in_free_failures_per_address = 2;
        config.sign_in_lockout_base_ms = 60_000;
    })
    .await;
    app.create_agent("ann@example.com", Role::Agent).await;
    // The proxy appends the address it saw: the right-most one is the client.
    for n in 0..2 {
        let body =
            login(&app, &format!("guess{n}@example.com"), "wrong", Some("198.51.100.1, 203.0.113.5")).await;
        assert_eq!(outcome(&body), "INVALID_CREDENTIALS");
    }
    let locked = login(&app, "ann@example.com", PASSWORD, Some("203.0.113.5")).await;
    assert_eq!(outcome(&locked), "TOO_MANY_ATTEMPTS", "203.0.113.5 is locked");
    // A left-most address is the client's own claim and changes nothing.
    let spoofed = login(&app, "ann@example.com", PASSWORD, Some("192.0.2.77, 203.0.113.5")).await;
    assert_eq!(outcome(&spoofed), "TOO_MANY_ATTEMPTS");
    // Other clients behind the same proxy (the same TCP peer) still sign in.
    assert_eq!(outcome(&login(&app, "ann@example.com", PASSWORD, Some("203.0.113.6")).await), "OK");
    assert_eq!(outcome(&login(&app, "ann@example.com", PASSWORD, None).await), "OK");
}

async fn password_hashes_are_bounded(backend: Backend) {
    // One hash at a time and no waiting: concurrent sign-ins beyond it are told to retry.
    let app = TestApp::spawn_with(backend, |config| {
        config.password_hash_concurrency = Some(1);
        config.password_hash_wait_ms = 0;
    })
    .await;
    app.create_agent("ann@example.com", Role::Agent).await;
    let busy = eventually("a sign-in to find every hashing slot taken", || async {
        // Fewer at once than the account's free failures (more would be refused even before
        // hashing: see `domain::throttle`).
        let bodies =
            futures_util::future::join_all((0..4).map(|_| login(&app, "ann@example.com", PASSWORD, None)))
                .await;
        for body in &bodies {
            assert!(["OK", "TRY_AGAIN"].contains(&outcome(body).as_str()), "{body:#}");
        }
        bodies.into_iter().find(|body| outcome(body) == "TRY_AGAIN")
    })
    .await;
    assert_eq!(retry_after_seconds(&busy), 1);
    // A refused sign-in is not a failure: the account is not locked.
    assert_eq!(outcome(&login(&app, "ann@example.com", PASSWORD, None).await), "OK");
}

on_both_databases!(one_login_per_request);
on_both_backends!(
    wrong_passwords_lock_the_account_with_growing_delays,
    an_address_trying_many_accounts_is_locked,
    the_proxy_header_names_the_client,
    password_hashes_are_bounded,
);
