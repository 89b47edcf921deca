//! The steps most chat tests start with: a queue with signed-in agents and a Telegram channel
//! into it, customers writing through real signed webhooks, offers reaching agents' panels.

use entity::chats;
use entity::enums::Role;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::json;

use crate::support::{TestApp, eventually};

pub(crate) const MY_CHATS: &str = "{ myChats { active { id status } new { id status } } }";
pub(crate) const ACCEPT: &str =
    "mutation($id: ID!) { acceptChat(chatId: $id) { id status owner { email } acceptedAt } }";

/// A Telegram private message from customer `user`.
pub(crate) fn telegram(user: i64, message: i64, text: &str) -> Vec<u8> {
    json!({ "update_id": user * 1000 + message, "message": {
        "message_id": message, "date": 1773134000,
        "from": { "id": user, "is_bot": false, "first_name": format!("Customer {user}") },
        "chat": { "id": user, "type": "private", "first_name": format!("Customer {user}") },
        "text": text } })
    .to_string()
    .into_bytes()
}

/// What [`setup`] made.
pub(crate) struct Setup {
    pub admin: String,
    pub queue: String,
    pub telegram: String,
    /// (global id, row id, token) per agent, in creation order.
    pub agents: Vec<(String, i64, String)>,
}

fn row(id: &str) -> i64 {
    api::graphql::ids::decode(&async_graphql::ID(id.to_owned()), "Agent").unwrap()
}

/// A queue with `rule` served by `n` signed-in ACTIVE agents, and a Telegram channel into it.
pub(crate) async fn setup(app: &TestApp, rule: &str, n: usize) -> Setup {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let queue = app.ok(Some(&admin), "{ queues { edges { node { id } } } }", json!({})).await["queues"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut agents = Vec::new();
    for i in 0..n {
        let (id, token) = app.signed_in(&format!("agent{i}@example.com"), Role::Agent).await;
        agents.push((id.clone(), row(&id), token));
    }
    let ids: Vec<&str> = agents.iter().map(|a| a.0.as_str()).collect();
    app.ok(
        Some(&admin),
        "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
        json!({ "input": { "id": queue, "routingRule": rule, "agentIds": ids } }),
    )
    .await;
    for (_, _, token) in &agents {
        app.ok(Some(token), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({})).await;
    }
    Setup { admin, queue, telegram: ch.telegram, agents }
}

/// Posts a message from `user` and returns its chat's global id once the chat exists.
pub(crate) async fn customer_writes(app: &TestApp, s: &Setup, user: i64, message: i64) -> (String, i64) {
    assert_eq!(app.webhook(&s.telegram, &telegram(user, message, "hello")).await, 200);
    let chat = chats::Entity::find().order_by_desc(chats::Column::Id).one(&app.db).await.unwrap().unwrap();
    (api::graphql::ids::encode("Chat", chat.id).0, chat.id)
}

/// The ids of the chats offered or directed to the agent signed in with `token`.
pub(crate) async fn new_chats(app: &TestApp, token: &str) -> Vec<String> {
    let data = app.ok(Some(token), MY_CHATS, json!({})).await;
    data["myChats"]["new"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

/// Waits until `chat` is offered or directed to the agent signed in with `token`.
pub(crate) async fn offered_to(app: &TestApp, token: &str, chat: &str) {
    eventually("the chat to be offered", || async {
        new_chats(app, token).await.contains(&chat.to_owned()).then_some(())
    })
    .await;
}

/// The fixtures' Messenger app ids: ours (the page's app) and the chatbot's (primary receiver).
pub(crate) const OUR_APP: &str = "812345670123456";
pub(crate) const BOT_APP: &str = "598765432109876";

fn messenger_fixture(file: &str) -> serde_json::Value {
    serde_json::from_slice(&crate::support::fixture(&format!("messenger/{file}.json"))).unwrap()
}

/// A message from Messenger customer `psid` on `standby` (a chatbot holds the thread).
pub(crate) fn standby(psid: &str, mid: &str, text: &str) -> Vec<u8> {
    let mut body = messenger_fixture("standby_message");
    let item = &mut body["entry"][0]["standby"][0];
    item["sender"]["id"] = json!(psid);
    item["message"]["mid"] = json!(mid);
    item["message"]["text"] = json!(text);
    serde_json::to_vec(&body).unwrap()
}

/// The chatbot's answer to `psid`, echoed on `standby`.
pub(crate) fn bot_echo(psid: &str, mid: &str, text: &str) -> Vec<u8> {
    let mut body = messenger_fixture("standby_echo_from_bot");
    let item = &mut body["entry"][0]["standby"][0];
    item["recipient"]["id"] = json!(psid);
    item["message"]["mid"] = json!(mid);
    item["message"]["text"] = json!(text);
    serde_json::to_vec(&body).unwrap()
}

/// A handover event (`pass_thread_control` or `take_thread_control`) about `psid`, naming
/// `previous` and `new` as the apps (`None` leaves the field out).
pub(crate) fn handover(kind: &str, psid: &str, previous: Option<&str>, new: Option<&str>) -> Vec<u8> {
    let mut body = messenger_fixture(kind);
    let item = &mut body["entry"][0]["messaging"][0];
    item["sender"]["id"] = json!(psid);
    let apps = item[kind].as_object_mut().unwrap();
    for (field, value) in [("previous_owner_app_id", previous), ("new_owner_app_id", new)] {
        match value {
            Some(id) => apps.insert(field.to_owned(), json!(id)),
            None => apps.remove(field),
        };
    }
    serde_json::to_vec(&body).unwrap()
}
