//! Bad input at the transport and GraphQL layers: each gets a clear error and a stable code.

use entity::enums::Role;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::TestApp;

async fn graphql_errors_have_stable_codes(app: TestApp) {
    let (_, token) = app.signed_in("ann@example.com", Role::Agent).await;
    let t = Some(token.as_str());
    assert_eq!(app.error_code(t, "{ me { name ", json!({})).await, "GRAPHQL_PARSE_FAILED");
    assert_eq!(app.error_code(t, "{ me { nope } }", json!({})).await, "GRAPHQL_VALIDATION_FAILED");
    let wrong_type = "query($id: ID!) { node(id: $id) { id } }";
    assert_eq!(
        app.error_code(t, wrong_type, json!({ "id": { "no": 1 } })).await,
        "GRAPHQL_VALIDATION_FAILED"
    );
    let missing = "query($id: ID!) { node(id: $id) { id } }";
    assert_eq!(app.error_code(t, missing, json!({})).await, "BAD_USER_INPUT");
    // An unknown (well-formed) id is null, as Relay expects; a malformed one is an error.
    let unknown = api::graphql::ids::encode("Chat", 987_654).0;
    for query in ["query($id: ID!) { node(id: $id) { id } }", "query($id: ID!) { chat(id: $id) { id } }"] {
        let body = app.gql(t, query, json!({ "id": unknown })).await;
        assert!(body.get("errors").is_none(), "{body:#}");
        assert!(body["data"].as_object().unwrap().values().all(Value::is_null), "{body:#}");
    }
    let unknown_contact = api::graphql::ids::encode("Contact", 987_654).0;
    let body =
        app.gql(t, "query($id: ID!) { contact(id: $id) { id } }", json!({ "id": unknown_contact })).await;
    assert_eq!(body, json!({ "data": { "contact": null } }));
    for query in ["{ chat(id: \"garbage\") { id } }", "{ contact(id: \"garbage\") { id } }"] {
        assert_eq!(app.error_code(t, query, json!({})).await, "BAD_USER_INPUT", "{query}");
    }
    assert_eq!(app.error_code(t, "{ node(id: \"garbage\") { id } }", json!({})).await, "BAD_USER_INPUT");
    assert_eq!(
        app.error_code(t, "{ agents(first: 1000) { edges { cursor } } }", json!({})).await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(t, "{ agents(after: \"nope\") { edges { cursor } } }", json!({})).await,
        "BAD_USER_INPUT"
    );
    let nested = "queues { agents { ".repeat(6);
    let deep = format!("{{ me {{ {nested} name {} }} }}", "} } ".repeat(6));
    assert_eq!(app.error_code(t, &deep, json!({})).await, "QUERY_TOO_DEEP");
    let costly: String = (0..10)
        .map(|n| format!("a{n}: agents(first: 100) {{ edges {{ node {{ queues {{ agents {{ queues {{ name }} }} }} }} }} }} "))
        .collect();
    let costly = format!("{{ {costly} }}");
    assert_eq!(app.error_code(t, &costly, json!({})).await, "QUERY_TOO_COMPLEX");
    // The refusal says what the query costs and what the limit is.
    let refusal = app.gql(t, &costly, json!({})).await;
    let message = refusal["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("it costs ") && message.contains("the limit is 5000"), "{message}");

    // Parsed documents are kept by their text, and so is which variables passed validation
    // with them (`missing` and `unknown` above share `wrong_type`'s document): validation
    // and limits still apply to every new combination.
    for _ in 0..2 {
        assert_eq!(app.error_code(t, "{ me { name ", json!({})).await, "GRAPHQL_PARSE_FAILED");
        assert_eq!(app.error_code(t, "{ me { nope } }", json!({})).await, "GRAPHQL_VALIDATION_FAILED");
        assert_eq!(app.error_code(t, &deep, json!({})).await, "QUERY_TOO_DEEP");
        assert_eq!(app.error_code(t, &costly, json!({})).await, "QUERY_TOO_COMPLEX");
        assert_eq!(
            app.error_code(t, wrong_type, json!({ "id": { "no": 1 } })).await,
            "GRAPHQL_VALIDATION_FAILED"
        );
        assert_eq!(app.error_code(t, missing, json!({})).await, "BAD_USER_INPUT");
    }
    // Values of built-in scalars are remembered by their kind (one validation for every chat
    // a panel reads): another value of the same kind still meets the limits and the
    // resolvers' checks, and a value of another kind is validated anew.
    let sized: String = (0..10)
        .map(|n| format!("a{n}: agents(first: $n) {{ edges {{ node {{ queues {{ agents {{ queues {{ name }} }} }} }} }} }} "))
        .collect();
    let sized = format!("query($n: Int) {{ {sized} }}");
    for _ in 0..2 {
        assert!(app.gql(t, &sized, json!({ "n": 1 })).await.get("errors").is_none());
    }
    assert_eq!(app.error_code(t, &sized, json!({ "n": 100 })).await, "QUERY_TOO_COMPLEX");
    let page = "query($n: Int) { agents(first: $n) { edges { cursor } } }";
    assert!(app.gql(t, page, json!({ "n": 5 })).await.get("errors").is_none());
    assert_eq!(app.error_code(t, page, json!({ "n": 1000 })).await, "BAD_USER_INPUT");
    assert_eq!(app.error_code(t, page, json!({ "n": "five" })).await, "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(app.error_code(t, page, json!({ "n": 5_000_000_000_i64 })).await, "GRAPHQL_VALIDATION_FAILED");
    let known = api::graphql::ids::encode("Chat", 1).0;
    assert!(app.gql(t, wrong_type, json!({ "id": known })).await.get("errors").is_none());
    assert_eq!(app.error_code(t, wrong_type, json!({ "id": "garbage" })).await, "BAD_USER_INPUT");
}

async fn transport_errors_follow_graphql_over_http(app: TestApp) {
    let url = format!("{}/graphql", app.base);
    let post = |body: String, content_type: &'static str| {
        app.http.post(&url).header("content-type", content_type).body(body).send()
    };

    let response = post("{not json".into(), "application/json").await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");

    let response = post("query { me { id } }".into(), "text/plain").await.unwrap();
    assert_eq!(response.status(), 415);

    // An oversized body is refused from its declared length, before it is read (a client
    // still writing it may see the connection close, so speak raw HTTP here).
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{{\"query\":",
        3 * 1024 * 1024
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes()).await.unwrap();
    let mut reply = vec![0u8; 4096];
    let n = tokio::io::AsyncReadExt::read(&mut stream, &mut reply).await.unwrap();
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("PAYLOAD_TOO_LARGE"), "{reply}");

    // Parse failures: 200 for application/json clients, 400 for graphql-response+json ones.
    let bad = json!({ "query": "{ me { " }).to_string();
    let response = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(bad.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/graphql-response+json");
    assert_eq!(post(bad, "application/json").await.unwrap().status(), 200);

    // GET runs queries and refuses mutations.
    let response = app.http.get(&url).query(&[("query", "{ __typename }")]).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["data"]["__typename"], "Query");
    let response = app.http.get(&url).query(&[("query", "mutation { logout }")]).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");

    // A malformed Authorization header is refused, not ignored.
    let response = app
        .http
        .post(&url)
        .header("authorization", "Token abc")
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    // Batches run every operation.
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ me { id } }" }]);
    let body: serde_json::Value =
        app.http.post(&url).json(&batch).send().await.unwrap().json().await.unwrap();
    assert_eq!(body[0]["data"]["__typename"], "Query");
    assert_eq!(body[1]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

async fn responses_carry_security_headers(app: TestApp) {
    let url = format!("{}/graphql", app.base);
    let login =
        json!({ "query": "mutation { login(email: \"x@example.com\", password: \"nope-nope\") { token } }" });
    let answers = [
        app.http.post(&url).json(&login).send().await.unwrap(),
        app.http.get(&url).query(&[("query", "{ __typename }")]).send().await.unwrap(),
    ];
    // POST answers are never stored (`login` returns a token); anonymous GET answers are
    // revalidated by ETag (see `persisted.rs`).
    assert_eq!(answers[0].headers()["cache-control"], "no-store");
    assert_eq!(answers[1].headers()["cache-control"], "no-cache");
    for response in &answers {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
    }
    let page = app.http.get(format!("{}/", app.base)).send().await.unwrap();
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let health = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
    assert_eq!(health.headers()["referrer-policy"], "no-referrer");
}

on_both_databases!(
    graphql_errors_have_stable_codes,
    transport_errors_follow_graphql_over_http,
    responses_carry_security_headers,
);
