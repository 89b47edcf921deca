//! What the limit suite sends and what it expects back: the two reads as GraphQL requests
//! and as baseline requests, the checks every timed answer passes, and the comparison of the
//! two sides' answers before timing.

use anyhow::bail;
use serde_json::{Value, json};

use super::report::{Side, Workload};
use crate::panel::graphql::global_id;

/// The agent-panel read, by the chat's owner.
const PANEL_QUERY: &str = "query Panel($chatId: ID!) { chat(id: $chatId) { id status createdAt \
     contact { id name mobilePhone } queue { id } owner { id } \
     messages(last: 20) { pageInfo { hasPreviousPage } edges { node { id direction text createdAt } } } } }";
/// A queue's waiting list, by the admin.
const WAITING_QUERY: &str = "query Waiting($queue: ID!) { chats(filter: { queueIds: [$queue], statuses: [WAITING] }, \
     orderBy: { field: CREATED_AT, direction: ASC }, first: 50) { \
     pageInfo { hasNextPage } edges { node { id status createdAt contact { name } } } } }";

/// The URL and body of one read: the panel read of chat `id` by `agent`, or the waiting list
/// of queue `id`, through GraphQL (`base` is the server's `/graphql`) or the baseline (`base`
/// is its root). The baseline is sent the same bearer token, and ignores it.
pub fn request(side: Side, base: &str, workload: Workload, agent: i64, id: i64) -> (String, Vec<u8>) {
    let (url, body) = match (side, workload) {
        (Side::Graphql, Workload::Panel) => (
            base.to_owned(),
            json!({ "query": PANEL_QUERY, "variables": { "chatId": global_id("Chat", id) } }),
        ),
        (Side::Graphql, Workload::Waiting) => (
            base.to_owned(),
            json!({ "query": WAITING_QUERY, "variables": { "queue": global_id("Queue", id) } }),
        ),
        (Side::Baseline, Workload::Panel) => (format!("{base}/panel"), json!({ "agent": agent, "chat": id })),
        (Side::Baseline, Workload::Waiting) => (format!("{base}/waiting"), json!({ "queue": id })),
    };
    (url, serde_json::to_vec(&body).expect("a JSON value serialises"))
}

/// A panel answer is chat `chat` with at least one message.
pub fn check_panel(data: &Value, chat: i64) -> Result<(), String> {
    let found = &data["chat"];
    let messages = found["messages"]["edges"].as_array().map_or(0, Vec::len);
    if found["id"].as_str() != Some(global_id("Chat", chat).as_str()) || messages == 0 {
        return Err(format!("the panel read of chat {chat} answered {data}"));
    }
    Ok(())
}

/// A waiting-list answer has `expected` chats.
pub fn check_waiting(data: &Value, expected: usize) -> Result<(), String> {
    let found = data["chats"]["edges"].as_array().map_or(0, Vec::len);
    if found != expected {
        return Err(format!("the waiting list has {found} chats, expected {expected}"));
    }
    Ok(())
}

/// Fails with the first place where the two answers differ.
pub fn same(graphql: &Value, baseline: &Value) -> anyhow::Result<()> {
    match difference(graphql, baseline, "data") {
        None => Ok(()),
        Some(path) => bail!(
            "GraphQL and the baseline differ at {path}: {} against {}",
            lookup(graphql, &path),
            lookup(baseline, &path)
        ),
    }
}

/// The path (`data.chat.messages.edges[3].node.createdAt`) of the first difference.
fn difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| difference(&x[k.as_str()], &y[k.as_str()], &format!("{path}.{k}")))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (a, b))| difference(a, b, &format!("{path}[{i}]")))
        }
        _ if a == b => None,
        _ => Some(path.to_owned()),
    }
}

/// The value at a path made by [`difference`] (printed short).
fn lookup(value: &Value, path: &str) -> String {
    let mut at = value;
    for part in path.split('.').skip(1) {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        at = &at[key];
        if let Some(i) = index {
            at = &at[i];
        }
    }
    at.to_string().chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_is_named_by_its_path() {
        let a = json!({ "chat": { "id": "x", "messages": { "edges": [{ "node": { "text": "a" } }] } } });
        let b = json!({ "chat": { "id": "x", "messages": { "edges": [{ "node": { "text": "b" } }] } } });
        assert_eq!(difference(&a, &a, "data"), None);
        let path = difference(&a, &b, "data").unwrap();
        assert_eq!(path, "data.chat.messages.edges[0].node.text");
        assert_eq!(lookup(&b, &path), "\"b\"");
        assert_eq!(difference(&json!([1]), &json!([1, 2]), "data").as_deref(), Some("data"));
        assert!(same(&a, &b).unwrap_err().to_string().contains("\"a\" against \"b\""));
    }

    #[test]
    fn answers_are_checked() {
        let chat = json!({ "chat": { "id": global_id("Chat", 7), "messages": { "edges": [{}] } } });
        assert!(check_panel(&chat, 7).is_ok());
        assert!(check_panel(&chat, 8).is_err());
        assert!(check_panel(&json!({ "chat": null }), 7).is_err());
        let list = json!({ "chats": { "edges": [{}, {}] } });
        assert!(check_waiting(&list, 2).is_ok());
        assert!(check_waiting(&list, 3).is_err());
    }

    #[test]
    fn requests_go_to_each_sides_route() {
        let (url, body) = request(Side::Baseline, "http://b", Workload::Panel, 3, 9);
        assert_eq!(url, "http://b/panel");
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), json!({ "agent": 3, "chat": 9 }));
        let (url, body) = request(Side::Graphql, "http://s/graphql", Workload::Waiting, 0, 2);
        assert_eq!(url, "http://s/graphql");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["variables"]["queue"], global_id("Queue", 2));
    }
}
