//! The panel's chat read answered without async-graphql's executor (`graphql::direct`): once a
//! document has passed validation with the same kinds of variables, its `chat(id:)` reads
//! are answered directly (counted by `switchboard_graphql_direct_answers_total`), with the
//! very text async-graphql gave; anything the direct path does not take — another caller, a
//! bad id, a selection that is not plain, another root field — runs through async-graphql
//! and answers as it always did.

use serde_json::{Value, json};

use crate::lifecycle::setup;
use crate::on_both_backends;
use crate::operations::{sample, scrape};
use crate::read_columns::accepted_chat;
use crate::support::{Backend, TestApp};

/// The panel's read, sent without `operationName` as the example panel sends it.
const PANEL: &str = "query Panel($id: ID!) { chat(id: $id) { id status createdAt \
     contact { name mobilePhone } queue { id } owner { id } \
     messages(last: 20) { pageInfo { hasPreviousPage } edges { node { id direction text createdAt } } } } }";

/// Posts `query` with `variables` (no operation name), as `token` if given; the answer's text.
async fn post(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> String {
    let request = app
        .http
        .post(format!("{}/graphql", app.base))
        .json(&json!({ "query": query, "variables": variables }));
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Queries answered directly so far.
async fn direct(app: &TestApp) -> f64 {
    sample(&scrape(app).await, "switchboard_graphql_direct_answers_total").expect("the counter")
}

/// `query` sent twice as `token`: the first validates it through async-graphql, the second
/// may be answered directly. Returns both answers and how many of them were direct.
async fn twice(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> (String, String, f64) {
    let before = direct(app).await;
    let first = post(app, token, query, variables.clone()).await;
    let second = post(app, token, query, variables).await;
    (first, second, direct(app).await - before)
}

on_both_backends!(the_panels_read_is_answered_directly_with_async_graphqls_text);

async fn the_panels_read_is_answered_directly_with_async_graphqls_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (owner, other) = (&s.agents[0].2, &s.agents[1].2);
    let open = accepted_chat(&app, &s, 951, &["second", "a \"quoted\" reply"]).await;

    let (first, second, answered) = twice(&app, Some(owner), PANEL, json!({ "id": open })).await;
    assert_eq!(answered, 1.0, "the second read is answered directly");
    assert_eq!(second, first, "byte for byte");
    assert!(first.contains("a \\\"quoted\\\" reply") && first.contains("\"owner\":{\"id\":\""), "{first}");

    // Not the owner's: null, as async-graphql answers it (for this agent's first read too).
    let (first, second, answered) = twice(&app, Some(other), PANEL, json!({ "id": open })).await;
    assert_eq!(
        (first.as_str(), second.as_str(), answered),
        (r#"{"data":{"chat":null}}"#, first.as_str(), 2.0)
    );
    // An id of no chat: null.
    let nothing = api::graphql::ids::encode("Chat", 987_654);
    assert_eq!(post(&app, Some(owner), PANEL, json!({ "id": nothing })).await, r#"{"data":{"chat":null}}"#);

    // Roots the direct path does not answer alone, aliases and `__typename` it does.
    let both =
        "query Two($a: ID!, $b: ID!) { __typename a: chat(id: $a) { id status } b: chat(id: $b) { id } }";
    let (first, second, answered) = twice(&app, Some(owner), both, json!({ "a": open, "b": nothing })).await;
    assert_eq!((second.as_str(), answered), (first.as_str(), 1.0));
    assert!(first.starts_with(r#"{"data":{"__typename":"Query","a":{"id":""#), "{first}");
}

on_both_backends!(what_the_direct_path_does_not_take_runs_through_async_graphql);

async fn what_the_direct_path_does_not_take_runs_through_async_graphql(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let owner = &s.agents[0].2;
    let open = accepted_chat(&app, &s, 952, &[]).await;
    let panel_once = post(&app, Some(owner), PANEL, json!({ "id": open })).await;
    let code = |answer: &str| -> String {
        let answer: Value = serde_json::from_str(answer).unwrap();
        answer["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned()
    };

    let before = direct(&app).await;
    // The panel's validated document, asked by nobody, and with an id of another type.
    assert_eq!(code(&post(&app, None, PANEL, json!({ "id": open })).await), "UNAUTHENTICATED");
    let agent = &s.agents[0].0;
    assert_eq!(code(&post(&app, Some(owner), PANEL, json!({ "id": agent })).await), "BAD_USER_INPUT");
    // Selections that are not plain, a page size from a variable, another root field.
    for (query, variables) in [
        ("query($id: ID!) { chat(id: $id) { id messageCount } }", json!({ "id": open })),
        (
            "query($id: ID!, $n: Int) { chat(id: $id) { id messages(last: $n) { edges { node { id } } } } }",
            json!({ "id": open, "n": 1 }),
        ),
        (
            "query($id: ID!) { chat(id: $id) { id messages(first: 1) { edges { node { id } } } } }",
            json!({ "id": open }),
        ),
        ("query($id: ID!) { chat(id: $id) { id } me { id } }", json!({ "id": open })),
        (
            "query($id: ID!, $no: Boolean!) { chat(id: $id) { id status @skip(if: $no) } }",
            json!({ "id": open, "no": true }),
        ),
    ] {
        let first = post(&app, Some(owner), query, variables.clone()).await;
        for _ in 0..2 {
            assert_eq!(post(&app, Some(owner), query, variables.clone()).await, first, "{query}");
        }
        assert!(first.contains(r#""id":""#) && !first.contains("errors"), "{first}");
    }
    assert_eq!(direct(&app).await, before, "none of these was answered directly");
    // The panel's document still is.
    assert_eq!(post(&app, Some(owner), PANEL, json!({ "id": open })).await, panel_once);
    assert_eq!(direct(&app).await, before + 1.0);
}
