//! Documents built to expand without end are refused before anything expands them, and the
//! server keeps answering everyone else meanwhile (issue 10, item 1).

use std::time::Duration;

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::TestApp;
use crate::websocket::{connect, next, send};

/// Fragments `F1`..`F{levels}`, each spreading the next `fan_out` times: 12 levels of 10 is
/// about a kilobyte and expands to 10¹¹ selections.
fn fragment_bomb(levels: usize, fan_out: usize) -> String {
    let mut text = String::from("query { ...F1 }\n");
    for level in 1..levels {
        let spreads = format!(" ...F{}", level + 1).repeat(fan_out);
        text.push_str(&format!("fragment F{level} on Query {{{spreads} }}\n"));
    }
    text.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
    text
}

/// A hang detector, not a speed assertion: before the fix these requests ran for minutes.
async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish in 20 s"))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("an error code: {body:#}"))
}

async fn fragment_bombs_are_refused_while_others_are_served(app: TestApp) {
    let bomb = fragment_bomb(12, 10);
    assert!(bomb.len() < 1200, "a tiny document: {} bytes", bomb.len());
    // Several attackers at once, and ordinary clients beside them.
    let attacks = (0..4).map(|_| app.gql(None, &bomb, json!({})));
    let health = async {
        for _ in 0..20 {
            let response = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let body = app.gql(None, "{ __typename }", json!({})).await;
            assert_eq!(body["data"]["__typename"], "Query");
        }
    };
    let (answers, ()) =
        within("the attack", futures_util::future::join(futures_util::future::join_all(attacks), health))
            .await;
    for body in &answers {
        assert_eq!(code(body), "QUERY_TOO_COMPLEX", "{body:#}");
        assert!(body["data"].is_null());
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("at least ") && message.contains("the limit is 5000"), "{message}");
    }
    // Over GET too (it parses the document to refuse mutations).
    let response = within(
        "a GET",
        app.http.get(format!("{}/graphql", app.base)).query(&[("query", bomb.as_str())]).send(),
    )
    .await
    .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX");

    // The same shape, narrow and long: 40 levels of two.
    let body = within("a deep bomb", app.gql(None, &fragment_bomb(40, 2), json!({}))).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX");

    // Depth through fragments, and a fragment that spreads itself.
    let mut chain = String::from("query { ...D0 }");
    for n in 0..30 {
        chain.push_str(&format!(" fragment D{n} on Query {{ me {{ queues {{ ...D{} }} }} }}", n + 1));
    }
    chain.push_str(" fragment D30 on Query { __typename }");
    assert_eq!(code(&within("a chain", app.gql(None, &chain, json!({}))).await), "QUERY_TOO_DEEP");
    let cycle = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
    assert_eq!(code(&app.gql(None, cycle, json!({})).await), "GRAPHQL_VALIDATION_FAILED");

    // Aliases, fragments expanded: 6 spreads of 20 aliases.
    let aliases: String = (0..20).map(|n| format!(" a{n}: __typename")).collect();
    let aliased = format!("query {{ ...A ...A ...A ...A ...A ...A }} fragment A on Query {{{aliases} }}");
    assert_eq!(code(&app.gql(None, &aliased, json!({})).await), "QUERY_TOO_COMPLEX");

    // Brackets nested deeper than any parser should recurse, in under a megabyte.
    let deep = format!("{{{}{}}}", " me {".repeat(150_000), "}".repeat(150_000));
    assert_eq!(code(&within("deep brackets", app.gql(None, &deep, json!({}))).await), "QUERY_TOO_DEEP");
    let list = format!("{{ node(id: {}\"x\"{}) {{ id }} }}", "[".repeat(200_000), "]".repeat(200_000));
    assert_eq!(code(&within("a deep list", app.gql(None, &list, json!({}))).await), "QUERY_TOO_DEEP");

    // A large ordinary document still works (parsed off the runtime's workers).
    let padding = format!("# {}\n", "x".repeat(100_000));
    let body = app.gql(None, &format!("{padding}{{ __typename }}"), json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body:#}");
}

async fn fragment_bombs_are_refused_over_websocket(app: TestApp) {
    let token = app.admin().await;
    let mut socket = connect(&app, "graphql-transport-ws").await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "token": token } })).await;
    assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "connection_ack");
    let bomb = fragment_bomb(12, 10);
    send(&mut socket, json!({ "id": "1", "type": "subscribe", "payload": { "query": bomb } })).await;
    let reply = within("the WebSocket attack", next(&mut socket)).await.unwrap().unwrap();
    // async-graphql answers errors raised before execution as a `next` with errors.
    assert_eq!(reply["type"], "next", "{reply:#}");
    assert_eq!(reply["payload"]["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{reply:#}");
    assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "complete");
    // Refused for complexity with page sizes (async-graphql's count): the cost and the limit.
    let costly: String = (0..10)
        .map(|n| format!("a{n}: agents(first: 100) {{ edges {{ node {{ queues {{ agents {{ queues {{ name }} }} }} }} }} }} "))
        .collect();
    let costly = format!("{{ {costly} }}");
    send(&mut socket, json!({ "id": "3", "type": "subscribe", "payload": { "query": costly } })).await;
    let reply = next(&mut socket).await.unwrap().unwrap();
    let error = &reply["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "QUERY_TOO_COMPLEX", "{reply:#}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("it costs ") && message.contains("the limit is 5000"), "{message}");
    assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "complete");
    // The connection still serves.
    send(&mut socket, json!({ "id": "2", "type": "subscribe", "payload": { "query": "{ __typename }" } }))
        .await;
    let reply = next(&mut socket).await.unwrap().unwrap();
    assert_eq!(reply["payload"]["data"]["__typename"], "Query", "{reply:#}");
}

on_both_databases!(
    fragment_bombs_are_refused_while_others_are_served,
    fragment_bombs_are_refused_over_websocket
);
