//! Health checks, GraphiQL, demo data and the exported schema.

use serde_json::json;

use crate::support::{Backend, TestApp};
use crate::{on_both_backends, on_both_databases};

async fn health_and_readiness(app: TestApp) {
    let live = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let ready = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
    let graphiql = app.http.get(&app.base).send().await.unwrap();
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.text().await.unwrap().contains("graphiql"), "GraphiQL is served at /");
    let request_id = live_request_id(&app).await;
    assert!(!request_id.is_empty(), "every response carries x-request-id");
}

async fn live_request_id(app: &TestApp) -> String {
    let response = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
    response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Queries read beside the writer: on SQLite through the read-only pool (the writer is one
/// connection), on PostgreSQL through the shared pool. A query must be answered while a
/// write transaction holds the writer; a mutation still writes.
async fn queries_are_answered_while_a_write_is_in_progress(app: TestApp) {
    let admin = app.admin().await;
    let me = "{ me { email } }";
    assert_eq!(app.ok(Some(&admin), me, json!({})).await["me"]["email"], "admin@example.com");

    // A token not used yet: its session is checked in the database, beside the writer too.
    let (_, fresh) = app.signed_in("ann@example.com", entity::enums::Role::Agent).await;

    let writing = api::db::write(&app.db).await.expect("a write transaction");
    for (token, email) in [(&admin, "admin@example.com"), (&fresh, "ann@example.com")] {
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(5), app.ok(Some(token), me, json!({})));
        let data = read.await.expect("the query is answered while the writer is busy");
        assert_eq!(data["me"]["email"], email);
    }
    writing.rollback().await.unwrap();

    let created = app
        .ok(Some(&admin), "mutation { createQueue(input: { name: \"Billing\" }) { name } }", json!({}))
        .await;
    assert_eq!(created["createQueue"]["name"], "Billing");
    assert_eq!(app.count("queues").await, 1);
}

on_both_databases!(health_and_readiness, queries_are_answered_while_a_write_is_in_progress);

async fn demo(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.demo = true).await;
    let data = app
        .ok(
            None,
            "mutation { login(email: \"admin@demo.switchboard\", password: \"switchboard\") { token agent { role } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["login"]["agent"]["role"], "ADMIN");
    let token = data["login"]["token"].as_str().unwrap();
    let data = app
        .ok(
            Some(token),
            "{ agents { edges { node { email } } } queues { edges { node { name agents { name } } } }
               channels { edges { node { kind credentialsComplete } } }
               chats { edges { node { status contact { name } messages { edges { node { text } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["agents"]["edges"].as_array().unwrap().len(), 6);
    assert_eq!(data["queues"]["edges"].as_array().unwrap().len(), 2);
    let channels = data["channels"]["edges"].as_array().unwrap();
    assert_eq!(channels.len(), 3);
    assert!(channels.iter().all(|c| c["node"]["credentialsComplete"] == true));
    let statuses: Vec<&str> = data["chats"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["node"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["WAITING", "IN_PROGRESS", "COMPLETED"]);
    assert_eq!(data["chats"]["edges"][1]["node"]["messages"]["edges"].as_array().unwrap().len(), 2);
}

on_both_backends!(demo);

/// A query runs all its statements on one connection held for the request (`db::RequestDb`).
/// With a pool of one connection, a resolver that asked the pool for a second one would wait
/// until the acquire timeout: wide queries, several at once, must all be answered promptly.
async fn one_connection_serves_whole_queries(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.demo = true;
        config.db_max_connections = 1;
    })
    .await;
    let login = "mutation { login(email: \"admin@demo.switchboard\", password: \"switchboard\") { token } }";
    let token = app.ok(None, login, json!({})).await["login"]["token"].as_str().unwrap().to_owned();
    let wide =
        "{ me { name queues { name } } settings { simultaneousChats } myChats { active { id } new { id } }
        agents { edges { node { email availability openChats queues { name agents { name } } } } }
        queues { edges { node { name agents { name status } } } }
        replyTemplates { edges { node { name } } }
        chats { edges { node { id status contact { name } channel { kind } queue { name } owner { name }
          draft { text } messages(last: 5) { edges { node { text attachments { id } } } } } } } }";
    let reads = (0..8).map(|_| {
        tokio::time::timeout(std::time::Duration::from_secs(5), app.ok(Some(&token), wide, json!({})))
    });
    let answers = futures_util::future::join_all(reads).await;
    for answer in answers {
        let data = answer.expect("a query is answered without waiting for a second connection");
        assert_eq!(data["chats"]["edges"].as_array().unwrap().len(), 3);
        assert_eq!(data["agents"]["edges"].as_array().unwrap().len(), 6);
    }

    let chat = app.ok(Some(&token), wide, json!({})).await["chats"]["edges"][1]["node"]["id"].clone();
    let one = "query($id: ID!) { chat(id: $id) { status parent { id } messages { edges { node { text } } } }
        transferTargets(chatId: $id) { agents { name } queues { name } }
        node(id: $id) { ... on Chat { status } } }";
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        app.ok(Some(&token), one, json!({ "id": chat })),
    );
    let data = read.await.expect("answered");
    assert_eq!(data["chat"]["status"], "IN_PROGRESS");
    assert_eq!(data["node"]["status"], "IN_PROGRESS");
    assert_eq!(data["chat"]["messages"]["edges"].as_array().unwrap().len(), 2);

    // Mutations borrow per statement: their transactions still get the one connection.
    let created = app
        .ok(
            Some(&token),
            "mutation { createQueue(input: { name: \"Returns\" }) { name agents { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(created["createQueue"]["name"], "Returns");
}

on_both_backends!(one_connection_serves_whole_queries);

#[test]
fn schema_graphql_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let current = api::graphql::sdl();
    assert!(
        committed == current,
        "schema.graphql is out of date: run `cargo run -q -- schema > schema.graphql`"
    );
}
