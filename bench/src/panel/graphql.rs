//! The GraphQL side of the panel suite: agents created and signed in through the API, and the
//! operations the clients time (the panel read, `acceptChat`, `completeChat`).

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::sql::PanelRows;
use crate::server::Server;

/// The agent-panel read: my chats, and one chat with its contact and latest 20 messages.
pub const PANEL_QUERY: &str = "query Panel($chatId: ID!) { \
     myChats { active { id status contact { name } } new { id } } \
     chat(id: $chatId) { id status contact { name mobilePhone } \
       messages(last: 20) { edges { node { id direction text createdAt } } } } }";
/// Accepting a chat.
pub const ACCEPT: &str = "mutation Accept($chatId: ID!) { acceptChat(chatId: $chatId) { id status } }";
/// Completing a chat.
pub const COMPLETE: &str = "mutation Complete($chatId: ID!) { completeChat(chatId: $chatId) { id status } }";
/// Password of every agent the bench creates.
const AGENT_PASSWORD: &str = "bench-agent-password";

/// An agent the bench created and signed in.
#[derive(Clone, Debug)]
pub struct Agent {
    /// Row id.
    pub id: i64,
    /// Bearer token of its session.
    pub token: String,
}

/// The opaque global id of row `id` of `type_name`, as the server encodes it.
pub fn global_id(type_name: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}"))
}

/// The row id inside a global id.
fn row_id(global: &str) -> Option<i64> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(global).ok()?).ok()?;
    text.split_once(':')?.1.parse().ok()
}

/// Creates `count` agents (role AGENT) as the admin, signs each in and sets it ACTIVE.
pub async fn create_agents(
    server: &Server,
    http: &reqwest::Client,
    admin: &str,
    count: usize,
) -> anyhow::Result<Vec<Agent>> {
    let mut agents = Vec::with_capacity(count);
    for i in 0..count {
        let email = format!("agent{i:03}@bench.example.com");
        let created = server
            .graphql(
                http,
                Some(admin),
                "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
                json!({ "input": {
                    "name": format!("Bench Agent {i}"),
                    "email": email,
                    "password": AGENT_PASSWORD,
                    "role": "AGENT",
                } }),
            )
            .await
            .context("createAgent")?;
        let id =
            created["createAgent"]["id"].as_str().and_then(row_id).context("createAgent answered no id")?;
        let token = server.login(http, &email, AGENT_PASSWORD).await?;
        server
            .graphql(http, Some(&token), "mutation { setMyStatus(status: ACTIVE) { id } }", json!({}))
            .await
            .context("setMyStatus")?;
        agents.push(Agent { id, token });
    }
    Ok(agents)
}

/// Sets `SimultaneousChats` to 0 (no limit), so agents may accept chats beyond 5.
pub async fn unlimited_chats(server: &Server, http: &reqwest::Client, admin: &str) -> anyhow::Result<()> {
    server
        .graphql(
            http,
            Some(admin),
            "mutation { updateSettings(input: { simultaneousChats: 0 }) { simultaneousChats } }",
            json!({}),
        )
        .await
        .context("updateSettings")?;
    Ok(())
}

/// A GraphQL request body with `chatId` = the global id of chat `chat`.
pub fn body(query: &str, chat: i64) -> Vec<u8> {
    let body = json!({ "query": query, "variables": { "chatId": global_id("Chat", chat) } });
    serde_json::to_vec(&body).expect("a JSON value serialises")
}

/// Posts one GraphQL request and returns its `data`; anything but a 200 answer without
/// `errors` is an error, described.
pub async fn post(http: &reqwest::Client, url: &str, token: &str, body: Vec<u8>) -> Result<Value, String> {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .map_err(|err| format!("request failed: {err}"))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|err| format!("HTTP {status}, body unreadable: {err}"))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| format!("HTTP {status}, not JSON: {}", String::from_utf8_lossy(&bytes)))?;
    if let Some(errors) = value.get("errors").filter(|e| !e.is_null()) {
        return Err(format!("HTTP {status}, GraphQL errors: {errors}"));
    }
    if status != reqwest::StatusCode::OK {
        return Err(format!("HTTP {status}: {value}"));
    }
    Ok(value["data"].clone())
}

/// The row counts of a panel read's answer.
pub fn panel_rows(data: &Value) -> PanelRows {
    let len = |v: &Value| v.as_array().map_or(0, Vec::len);
    PanelRows {
        active: len(&data["myChats"]["active"]),
        new: len(&data["myChats"]["new"]),
        messages: len(&data["chat"]["messages"]["edges"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_match_the_servers_encoding() {
        // base64url("Chat:42") without padding, as api/src/graphql/ids.rs encodes it.
        assert_eq!(global_id("Chat", 42), "Q2hhdDo0Mg");
        assert_eq!(row_id(&global_id("Agent", 7)), Some(7));
        assert_eq!(row_id("!!"), None);
    }

    #[test]
    fn panel_rows_count_the_lists() {
        let data = json!({
            "myChats": { "active": [{}, {}], "new": [{}] },
            "chat": { "messages": { "edges": [{}, {}, {}] } },
        });
        assert_eq!(panel_rows(&data), PanelRows { active: 2, new: 1, messages: 3 });
    }
}
