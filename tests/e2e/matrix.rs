//! The role × field matrix: every query, mutation and subscription field, called by an
//! anonymous client and by each role, must be let through or refused exactly as the table in
//! `docs/security.md` says. The table is generated from the answers, so a new field, or a
//! field whose guard changed, fails this test until the table (the documentation) is updated.
//!
//! Each field is called with placeholder arguments built from the schema (ids that are not
//! ids, "x" strings, empty lists): a role the field's guard lets through then meets
//! BAD_USER_INPUT, NOT_FOUND or success; a role it refuses meets FORBIDDEN (UNAUTHENTICATED
//! without a token). Rules that depend on the object (my chat, my queue) are tested by their
//! own tests (`access.rs`, `lifecycle.rs`); here a cell says whether the role may call the
//! field at all.

use std::collections::HashMap;

use entity::enums::Role;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::TestApp;
use crate::websocket::{connect, next, send};

const TYPE_REF: &str = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";

/// The callers, in the table's column order.
const CALLERS: [&str; 6] = ["anonymous", "AGENT", "SUPERVISOR", "ADMIN", "ANALYST", "BOT"];

const START: &str = "<!-- role-matrix:start -->";
const END: &str = "<!-- role-matrix:end -->";

struct Schema {
    /// Root fields by operation type, in schema order: (name, args, return type).
    roots: Vec<(&'static str, Vec<Value>)>,
    /// Input object fields and enum values, by type name.
    types: HashMap<String, Value>,
}

async fn introspect(app: &TestApp) -> Schema {
    let fields = format!("fields {{ name args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }}");
    let query = format!(
        "{{ __schema {{ queryType {{ {fields} }} mutationType {{ {fields} }} subscriptionType {{ {fields} }} \
         types {{ name kind inputFields {{ name type {{ {TYPE_REF} }} }} enumValues {{ name }} }} }} }}"
    );
    let data = app.ok(None, &query, json!({})).await;
    let schema = &data["__schema"];
    // Mutations last: `logout` ends the caller's session.
    let roots = [("query", "queryType"), ("subscription", "subscriptionType"), ("mutation", "mutationType")]
        .into_iter()
        .map(|(kind, key)| (kind, schema[key]["fields"].as_array().unwrap().clone()))
        .collect();
    let types = schema["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
        .collect();
    Schema { roots, types }
}

/// A placeholder value of a type, as GraphQL text.
fn placeholder(schema: &Schema, ty: &Value) -> String {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" => placeholder(schema, &ty["ofType"]),
        "LIST" => "[]".into(),
        "ENUM" => {
            schema.types[ty["name"].as_str().unwrap()]["enumValues"][0]["name"].as_str().unwrap().into()
        }
        "INPUT_OBJECT" => {
            let fields = schema.types[ty["name"].as_str().unwrap()]["inputFields"].as_array().unwrap();
            let required: Vec<String> = fields
                .iter()
                .filter(|f| f["type"]["kind"] == "NON_NULL")
                .map(|f| format!("{}: {}", f["name"].as_str().unwrap(), placeholder(schema, &f["type"])))
                .collect();
            format!("{{ {} }}", required.join(", "))
        }
        _ => match ty["name"].as_str().unwrap() {
            "Int" => "1".into(),
            "Float" => "1.5".into(),
            "Boolean" => "false".into(),
            "DateTime" => "\"2026-01-01T00:00:00Z\"".into(),
            "JSON" => "{}".into(),
            // An id that is no id: resolvers refuse it with BAD_USER_INPUT, after the guard.
            _ => "\"x\"".into(),
        },
    }
}

/// The innermost named type of a type reference.
fn named(ty: &Value) -> &Value {
    if ty["ofType"].is_object() { named(&ty["ofType"]) } else { ty }
}

/// The operation calling one root field with placeholder arguments.
fn operation(schema: &Schema, kind: &str, field: &Value) -> String {
    let args: Vec<String> = field["args"]
        .as_array()
        .unwrap()
        .iter()
        // `after` on a subscription: an event id that is not one, refused after the guard (an
        // open stream would otherwise say nothing).
        .filter(|a| a["type"]["kind"] == "NON_NULL" || (a["name"] == "after" && kind == "subscription"))
        .map(|a| {
            let value =
                if a["name"] == "after" { "\"x\"".to_owned() } else { placeholder(schema, &a["type"]) };
            format!("{}: {value}", a["name"].as_str().unwrap())
        })
        .collect();
    let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
    let selection = match named(&field["type"])["kind"].as_str().unwrap() {
        "OBJECT" | "INTERFACE" | "UNION" => " { __typename }",
        _ => "",
    };
    format!("{kind} {{ {}{args}{selection} }}", field["name"].as_str().unwrap())
}

/// Whether the caller was let through: anything but FORBIDDEN (or UNAUTHENTICATED).
fn let_through(errors: &Value) -> bool {
    let code = errors[0]["extensions"]["code"].as_str().unwrap_or_default();
    code != "FORBIDDEN" && code != "UNAUTHENTICATED"
}

async fn call_http(app: &TestApp, token: Option<&str>, operation: &str) -> bool {
    let body = app.gql(token, operation, json!({})).await;
    if let Some(code) = body["errors"][0]["extensions"]["code"].as_str() {
        assert!(
            !code.starts_with("GRAPHQL_"),
            "the placeholder call must be valid GraphQL: {operation}\n{body:#}"
        );
    }
    let_through(&body["errors"])
}

async fn call_ws(app: &TestApp, token: Option<&str>, operation: &str) -> bool {
    let mut socket = connect(app, "graphql-transport-ws").await;
    let payload = token.map_or(json!({}), |t| json!({ "Authorization": format!("Bearer {t}") }));
    send(&mut socket, json!({ "type": "connection_init", "payload": payload })).await;
    let ack = next(&mut socket).await.unwrap();
    if token.is_none() {
        // Anonymous sockets are closed at once (4403): nothing is open to them.
        assert_eq!(ack.map_err(|(code, _)| code), Err(4403));
        return false;
    }
    assert_eq!(ack.unwrap()["type"], "connection_ack");
    send(&mut socket, json!({ "id": "1", "type": "subscribe", "payload": { "query": operation } })).await;
    let answer = next(&mut socket).await.unwrap().unwrap();
    let errors = if answer["type"] == "error" {
        answer["payload"].clone()
    } else {
        answer["payload"]["errors"].clone()
    };
    assert!(errors.is_array(), "a placeholder subscription ends with an error: {operation}\n{answer:#}");
    let code = errors[0]["extensions"]["code"].as_str().unwrap_or_default();
    assert!(
        !code.starts_with("GRAPHQL_"),
        "the placeholder call must be valid GraphQL: {operation}\n{answer:#}"
    );
    let_through(&errors)
}

async fn every_field_obeys_the_role_matrix(app: TestApp) {
    let admin = app.admin().await;
    let mut tokens: Vec<Option<String>> = vec![None];
    for (role, email) in [
        (Role::Agent, "agent@example.com"),
        (Role::Supervisor, "supervisor@example.com"),
        (Role::Admin, ""),
        (Role::Analyst, "analyst@example.com"),
        (Role::Bot, "bot@example.com"),
    ] {
        tokens.push(Some(if role == Role::Admin {
            admin.clone()
        } else {
            app.signed_in(email, role).await.1
        }));
    }
    let schema = introspect(&app).await;
    let mut rows = Vec::new();
    for (kind, fields) in &schema.roots {
        let mut fields = fields.clone();
        // `logout` ends the caller's session: last.
        fields.sort_by_key(|f| f["name"] == "logout");
        for field in &fields {
            let operation = operation(&schema, kind, field);
            let mut cells = Vec::new();
            for token in &tokens {
                let allowed = if *kind == "subscription" {
                    call_ws(&app, token.as_deref(), &operation).await
                } else {
                    call_http(&app, token.as_deref(), &operation).await
                };
                cells.push(if allowed { "✓" } else { "—" });
            }
            rows.push(format!("| {kind} | `{}` | {} |", field["name"].as_str().unwrap(), cells.join(" | ")));
        }
    }
    let table = format!(
        "| type | field | {} |\n| --- | --- |{}\n{}\n",
        CALLERS.join(" | "),
        " :-: |".repeat(CALLERS.len()),
        rows.join("\n")
    );
    let docs = std::fs::read_to_string(format!("{}/docs/security.md", env!("CARGO_MANIFEST_DIR")))
        .expect("docs/security.md");
    let documented = docs
        .split_once(START)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(table, _)| table.trim().to_owned())
        .unwrap_or_default();
    assert_eq!(
        documented,
        table.trim(),
        "docs/security.md's role matrix (between {START} and {END}) differs from what the server \
         does; review the difference, then paste this table there:\n\n{table}"
    );
}

on_both_databases!(every_field_obeys_the_role_matrix);
