//! Introspection: the standard queries of graphql-js 16 and 17 (every option on) work at the
//! default limits, and a setting turns introspection off with its own code (issue 11).

use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

fn standard_query(version: u8) -> String {
    let path =
        format!("{}/tests/fixtures/introspection/graphql-js-{version}.graphql", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("read {path}: {err}"))
}

async fn standard_introspection_works_at_the_default_limits(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for version in [16, 17] {
        let data = app.ok(None, &standard_query(version), json!({})).await;
        let schema = &data["__schema"];
        assert_eq!(schema["queryType"]["name"], "Query");
        let types = schema["types"].as_array().unwrap();
        let chat = types.iter().find(|t| t["name"] == "Chat").expect("the Chat type");
        let status =
            chat["fields"].as_array().unwrap().iter().find(|f| f["name"] == "status").expect("Chat.status");
        assert!(status["description"].as_str().is_some_and(|d| !d.is_empty()), "descriptions come along");
        assert!(schema["directives"].as_array().unwrap().iter().any(|d| d["name"] == "specifiedBy"));
    }
    // The exemption is for introspection only: ordinary nesting is still limited.
    let nested = "queues { agents { ".repeat(6);
    let deep =
        format!("{{ __schema {{ queryType {{ name }} }} me {{ {nested} name {} }} }}", "} } ".repeat(6));
    assert_eq!(app.error_code(None, &deep, json!({})).await, "QUERY_TOO_DEEP");
}

async fn introspection_can_be_switched_off(backend: Backend) {
    let (url, dir) = crate::support::fresh_database(backend).await;
    let app = TestApp::start(url, dir, |config| config.disable_introspection = true).await;
    for version in [16, 17] {
        assert_eq!(app.error_code(None, &standard_query(version), json!({})).await, "INTROSPECTION_DISABLED");
    }
    assert_eq!(
        app.error_code(None, "{ __type(name: \"Chat\") { name } }", json!({})).await,
        "INTROSPECTION_DISABLED"
    );
    let data = app.ok(None, "{ __typename }", json!({})).await;
    assert_eq!(data["__typename"], "Query", "__typename is not introspection");
}

on_both_backends!(standard_introspection_works_at_the_default_limits, introspection_can_be_switched_off);
