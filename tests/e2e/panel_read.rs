//! The agent-panel read (issue 15, item 2): what it costs in statements, counted by the
//! server itself (`switchboard_graphql_request_statements` on `/metrics`), and the answer's
//! field order, which is the query's.

use entity::enums::Role;
use serde_json::{Value, json};

use crate::lifecycle::{ACCEPT, customer_writes, offered_to, setup, telegram};
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

/// The panel's read of one chat, its fields in an order no resolver would choose: ids of the
/// related objects first, plain fields between them, the list last.
const PANEL: &str = "query PanelRead($id: ID!) { chat(id: $id) { owner { id } id queue { id } status \
     channel { id } createdAt contact { name } directedAgent { id } \
     messages(last: 20) { pageInfo { hasPreviousPage } edges { node { id text } } } } }";
/// The same with the queue's name and the owner's name: each needs its row.
const PANEL_NAMES: &str = "query PanelNames($id: ID!) { chat(id: $id) { id queue { id name } owner { id name } \
     messages(last: 20) { edges { node { id } } } } }";
/// A queue's waiting list, with each customer's name.
const WAITING: &str = "query WaitingList($queue: ID!) { chats(filter: { queueIds: [$queue], statuses: [WAITING] }, \
     orderBy: { field: CREATED_AT, direction: ASC }, first: 50) { edges { node { id status contact { name } } } } }";
/// The panel's lists.
const MY_CHATS: &str = "query MyLists { myChats { active { id status contact { name } } new { id } } }";

on_both_backends!(the_panel_read_costs_two_statements_and_keeps_the_field_order);

async fn scrape(app: &TestApp) -> String {
    app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap()
}

/// The sum and count of the statements histogram of `operation`.
fn statements(metrics: &str, operation: &str) -> (f64, f64) {
    let value = |series: &str| {
        let prefix = format!("switchboard_graphql_request_statements_{series}{{operation=\"{operation}\"}} ");
        metrics.lines().find_map(|line| line.strip_prefix(&prefix)?.parse().ok()).unwrap_or(0.0)
    };
    (value("sum"), value("count"))
}

/// Posts `query` as `token` with `variables`, named `operation`; the raw answer text.
pub(crate) async fn raw(
    app: &TestApp,
    token: &str,
    query: &str,
    operation: &str,
    variables: Value,
) -> String {
    let body = json!({ "query": query, "operationName": operation, "variables": variables });
    let response =
        app.http.post(format!("{}/graphql", app.base)).bearer_auth(token).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Runs `query` `times` times and returns the statements per run the server counted.
async fn statements_per_run(
    app: &TestApp,
    token: &str,
    query: &str,
    operation: &str,
    variables: &Value,
    times: u32,
) -> f64 {
    let (sum_before, count_before) = statements(&scrape(app).await, operation);
    for _ in 0..times {
        let text = raw(app, token, query, operation, variables.clone()).await;
        assert!(!text.contains("\"errors\""), "{text}");
    }
    let (sum, count) = statements(&scrape(app).await, operation);
    assert_eq!(count - count_before, f64::from(times), "every run is observed once");
    (sum - sum_before) / f64::from(times)
}

async fn the_panel_read_costs_two_statements_and_keeps_the_field_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let token = &s.agents[0].2;
    let (chat, _) = customer_writes(&app, &s, 801, 1).await;
    offered_to(&app, token, &chat).await;
    app.ok(Some(token), ACCEPT, json!({ "id": chat })).await;
    let variables = json!({ "id": chat });

    // The answer lists the fields in the query's order, related objects included.
    let text = raw(&app, token, PANEL, "PanelRead", variables.clone()).await;
    let start = format!(
        "{{\"data\":{{\"chat\":{{\"owner\":{{\"id\":\"{}\"}},\"id\":\"{chat}\",\"queue\":{{\"id\":\"{}\"}},\"status\":\"IN_PROGRESS\",\"channel\":{{\"id\":",
        s.agents[0].0, s.queue
    );
    assert!(text.starts_with(&start), "{text}\ndoes not start with\n{start}");
    let rest = ["\"createdAt\":", "\"contact\":", "\"directedAgent\":", "\"messages\":"];
    let mut last = start.len();
    for key in rest {
        let at = text[last..].find(key).unwrap_or_else(|| panic!("{key} not after position {last}: {text}"));
        last += at + key.len();
    }
    let data: Value = serde_json::from_str(&text).unwrap();
    let read = &data["data"]["chat"];
    assert_eq!(read["id"], chat.as_str());
    assert_eq!(read["owner"]["id"], s.agents[0].0.as_str());
    assert_eq!(read["queue"]["id"], s.queue.as_str());
    assert!(read["channel"]["id"].is_string(), "{text}");
    assert_eq!(read["directedAgent"], Value::Null);
    assert_eq!(read["messages"]["edges"][0]["node"]["text"], "hello");

    // One statement on PostgreSQL (the chat, its contact and its latest messages joined);
    // two on SQLite (the chat with its contact, then its messages: no round trip to save).
    // The queue's, the owner's and the channel's ids are the chat's foreign keys: no
    // statement reads their rows.
    let panel = if backend == Backend::Postgres { 1.0 } else { 2.0 };
    assert_eq!(statements_per_run(&app, token, PANEL, "PanelRead", &variables, 3).await, panel);
    // Asking for the queue's and the owner's names reads each row once more (one batch per
    // kind of row), and still answers them.
    assert_eq!(statements_per_run(&app, token, PANEL_NAMES, "PanelNames", &variables, 2).await, panel + 2.0);
    let named = app.ok(Some(token), PANEL_NAMES, variables.clone()).await;
    assert_eq!(named["chat"]["owner"]["name"], "agent0");
    assert!(named["chat"]["queue"]["name"].as_str().is_some_and(|name| !name.is_empty()), "{named}");
    // The panel's lists: one statement, contacts included.
    assert_eq!(statements_per_run(&app, token, MY_CHATS, "MyLists", &json!({}), 2).await, 1.0);

    // The latest messages read with the chat are the field's own page: the newest, oldest
    // first, and whether older ones exist; a page before a cursor is read by the field.
    assert_eq!(app.webhook(&s.telegram, &telegram(801, 2, "again")).await, 200);
    let latest = "query($id: ID!) { chat(id: $id) { messages(last: 1) { pageInfo { hasPreviousPage startCursor } \
         edges { node { text } } } } }";
    let data = app.ok(Some(token), latest, variables.clone()).await;
    let page = &data["chat"]["messages"];
    assert_eq!(page["edges"][0]["node"]["text"], "again", "{data}");
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true, "{data}");
    let before = "query($id: ID!, $before: String) { chat(id: $id) { messages(last: 5, before: $before) { \
         pageInfo { hasPreviousPage } edges { node { text } } } } }";
    let older =
        app.ok(Some(token), before, json!({ "id": chat, "before": page["pageInfo"]["startCursor"] })).await;
    assert_eq!(older["chat"]["messages"]["edges"].as_array().map(Vec::len), Some(1), "{older}");
    assert_eq!(older["chat"]["messages"]["edges"][0]["node"]["text"], "hello");
    assert_eq!(older["chat"]["messages"]["pageInfo"]["hasPreviousPage"], false);
    let both = app.ok(Some(token), PANEL, variables.clone()).await;
    let texts: Vec<&str> = both["chat"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|edge| edge["node"]["text"].as_str())
        .collect();
    assert_eq!(texts, ["hello", "again"]);
    assert_eq!(both["chat"]["messages"]["pageInfo"]["hasPreviousPage"], false);
    // Another agent may not read the chat: nothing of it, messages included.
    let (_, other) = app.signed_in("other@example.com", Role::Agent).await;
    assert_eq!(app.ok(Some(&other), PANEL, variables.clone()).await["chat"], Value::Null);

    // A queue's waiting list: the chats with their contacts in one statement.
    let (waiting, _) = customer_writes(&app, &s, 802, 1).await;
    let queue = json!({ "queue": s.queue });
    let list = app.ok(Some(&s.admin), WAITING, queue.clone()).await;
    assert_eq!(list["chats"]["edges"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list["chats"]["edges"][0]["node"]["id"], waiting.as_str());
    assert_eq!(list["chats"]["edges"][0]["node"]["contact"]["name"], "Customer 802");
    assert_eq!(statements_per_run(&app, &s.admin, WAITING, "WaitingList", &queue, 2).await, 1.0);

    // An analyst (who reads every chat) gets the same answer.
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let seen = app.ok(Some(&analyst), PANEL, variables).await;
    assert_eq!(seen["chat"]["owner"]["id"], s.agents[0].0.as_str());
}
