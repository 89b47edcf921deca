//! Messenger's chatbot rules (docs/chatbot.md): the chatbot taking the thread back from an
//! agent chat, and handover events checked against the channel's configured app ids. The
//! bot-only timeout moves the clock, so it is tested in tests/clocked/chatbot.rs.

use entity::enums::{AuthorKind, ChatStatus, CompletionReason};
use entity::{chats, events, messages};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::on_both_databases;
use crate::scenario::{ACCEPT, BOT_APP, MY_CHATS, OUR_APP, bot_echo, handover, offered_to, setup, standby};
use crate::support::TestApp;

const SOFIA: &str = "7391846205738461";
const UPDATE_CHANNEL: &str =
    "mutation($input: UpdateChannelInput!) { updateChannel(input: $input) { id appId botAppId } }";
const CHAT: &str =
    "query($id: ID!) { chat(id: $id) { status completionReason closeDeadline parent { id } } }";

/// The Messenger channel's webhook path and global id.
async fn messenger(app: &TestApp, admin: &str) -> (String, String) {
    let data =
        app.ok(Some(admin), "{ channels { edges { node { id kind webhookPath } } } }", json!({})).await;
    let node = data["channels"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["kind"] == "MESSENGER")
        .unwrap()
        .clone();
    (node["webhookPath"].as_str().unwrap().to_owned(), node["id"].as_str().unwrap().to_owned())
}

async fn set_apps(app: &TestApp, admin: &str, channel: &str, ours: &str, bot: &str) -> serde_json::Value {
    let input = json!({ "input": { "id": channel, "credentials": { "appId": ours, "botAppId": bot } } });
    app.ok(Some(admin), UPDATE_CHANNEL, input).await["updateChannel"].clone()
}

async fn all_chats(app: &TestApp) -> Vec<chats::Model> {
    chats::Entity::find().order_by_asc(chats::Column::Id).all(&app.db).await.unwrap()
}

fn gid(row: i64) -> String {
    api::graphql::ids::encode("Chat", row).0
}

/// Posts a Messenger webhook that must be accepted.
async fn post(app: &TestApp, path: &str, body: Vec<u8>) {
    assert_eq!(app.webhook(path, &body).await, 200);
}

/// While an agent holds the conversation, the chatbot takes the thread back: the agent chat
/// completes (BOT_TOOK_BACK), the agent is free, nothing is handed back, and a BOT_PROCESSING
/// child chat takes what follows. A take-back by another app changes nothing.
async fn the_chatbot_takes_the_thread_back(app: TestApp) {
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let token = s.agents[0].2.clone();
    let (path, channel) = messenger(&app, &s.admin).await;
    set_apps(&app, &s.admin, &channel, OUR_APP, BOT_APP).await;

    post(&app, &path, standby(SOFIA, "m_1", "I want to return something")).await;
    post(&app, &path, bot_echo(SOFIA, "m_2", "Would you like an agent?")).await;
    post(&app, &path, handover("pass_thread_control", SOFIA, Some(BOT_APP), Some(OUR_APP))).await;
    let agent_chat = all_chats(&app).await.pop().unwrap();
    assert_eq!(agent_chat.status, ChatStatus::Waiting);
    offered_to(&app, &token, &gid(agent_chat.id)).await;
    app.ok(Some(&token), ACCEPT, json!({ "id": gid(agent_chat.id) })).await;

    // Taken by another app, or from another app: not the chatbot taking it from us.
    post(&app, &path, handover("take_thread_control", SOFIA, Some(OUR_APP), Some("111111111111111"))).await;
    post(&app, &path, handover("take_thread_control", SOFIA, Some("222222222222222"), Some(BOT_APP))).await;
    post(&app, &path, handover("take_thread_control", SOFIA, Some(OUR_APP), None)).await;
    assert_eq!(all_chats(&app).await.len(), 2);
    let data = app.ok(Some(&token), MY_CHATS, json!({})).await;
    assert_eq!(data["myChats"]["active"][0]["id"], gid(agent_chat.id), "still the agent's");

    post(&app, &path, handover("take_thread_control", SOFIA, Some(OUR_APP), Some(BOT_APP))).await;
    let all = all_chats(&app).await;
    assert_eq!(all.len(), 3);
    let (done, bot_chat) = (&all[1], &all[2]);
    assert_eq!(done.id, agent_chat.id);
    assert_eq!(done.status, ChatStatus::Completed);
    assert_eq!(done.completion_reason, Some(CompletionReason::BotTookBack));
    assert_eq!(bot_chat.status, ChatStatus::BotProcessing);
    assert_eq!(bot_chat.parent_chat_id, Some(agent_chat.id));
    assert!(bot_chat.close_deadline.is_some(), "the bot chat's time limit runs from the take-back");
    let seen = app.ok(Some(&s.admin), CHAT, json!({ "id": gid(done.id) })).await;
    assert_eq!(seen["chat"]["completionReason"], "BOT_TOOK_BACK");
    let seen = app.ok(Some(&s.admin), CHAT, json!({ "id": gid(bot_chat.id) })).await;
    assert_eq!(seen["chat"]["status"], "BOT_PROCESSING");
    assert_eq!(seen["chat"]["parent"]["id"], gid(done.id));
    // The agent is free; the chatbot holds the thread, so no hand-back is queued.
    let data = app.ok(Some(&token), MY_CHATS, json!({})).await;
    assert_eq!(data["myChats"]["active"], json!([]));
    let notices = messages::Entity::find()
        .filter(messages::Column::ChatId.eq(done.id))
        .filter(messages::Column::AuthorKind.eq(AuthorKind::System))
        .all(&app.db)
        .await
        .unwrap();
    assert!(notices.is_empty(), "nothing handed back");
    assert_eq!(app.count("outbox").await, 0);
    // The same events as any completion and any new chat.
    let completed = events::Entity::find()
        .filter(events::Column::Kind.eq("CHAT_COMPLETED"))
        .filter(events::Column::ChatId.eq(done.id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("CHAT_COMPLETED");
    assert_eq!(completed.payload["reason"], "BOT_TOOK_BACK");
    let created = events::Entity::find()
        .filter(events::Column::Kind.eq("CHAT_CREATED"))
        .filter(events::Column::ChatId.eq(bot_chat.id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("CHAT_CREATED");
    assert_eq!(created.payload["parentChatId"], done.id);

    // What follows goes to the bot chat; a repeated take-back changes nothing.
    post(&app, &path, standby(SOFIA, "m_3", "And my other order?")).await;
    post(&app, &path, handover("take_thread_control", SOFIA, Some(OUR_APP), Some(BOT_APP))).await;
    let all = all_chats(&app).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].status, ChatStatus::BotProcessing);
    let last =
        messages::Entity::find().order_by_desc(messages::Column::Id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(last.chat_id, bot_chat.id);
}

/// Handover events naming apps other than the configured ones change nothing; with no app ids
/// configured every signed handover is honoured (as before app ids existed). The app ids are
/// validated digits, shown to admins only.
async fn handovers_are_checked_against_the_app_ids(app: TestApp) {
    let s = setup(&app, "TO_ALL_AGENTS", 0).await;
    let (path, channel) = messenger(&app, &s.admin).await;
    let shown = set_apps(&app, &s.admin, &channel, OUR_APP, BOT_APP).await;
    assert_eq!(shown["appId"], OUR_APP);
    assert_eq!(shown["botAppId"], BOT_APP);

    post(&app, &path, standby(SOFIA, "m_1", "I want to return something")).await;
    for (previous, new) in [
        (Some(BOT_APP), Some("111111111111111")),
        (Some("222222222222222"), Some(OUR_APP)),
        (Some(BOT_APP), None),
        (None, Some(BOT_APP)),
    ] {
        post(&app, &path, handover("pass_thread_control", SOFIA, previous, new)).await;
        let all = all_chats(&app).await;
        assert_eq!(all.len(), 1, "{previous:?} → {new:?}");
        assert_eq!(all[0].status, ChatStatus::BotProcessing, "{previous:?} → {new:?}");
    }
    // The passing app may go unnamed; the new owner must be ours.
    post(&app, &path, handover("pass_thread_control", SOFIA, None, Some(OUR_APP))).await;
    let all = all_chats(&app).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].completion_reason, Some(CompletionReason::BotHandover));
    assert_eq!(all[1].status, ChatStatus::Waiting);

    // Bad app ids: a clear error, nothing changed.
    let update = |credentials: serde_json::Value, id: &str| json!({ "input": { "id": id, "credentials": credentials } });
    for bad in [json!({ "appId": "81234x" }), json!({ "botAppId": "-5" }), json!({ "botAppId": OUR_APP })] {
        assert_eq!(
            app.error_code(Some(&s.admin), UPDATE_CHANNEL, update(bad, &channel)).await,
            "BAD_USER_INPUT"
        );
    }
    let telegram = {
        let data = app.ok(Some(&s.admin), "{ channels { edges { node { id kind } } } }", json!({})).await;
        let edges = data["channels"]["edges"].as_array().unwrap().clone();
        edges.iter().find(|e| e["node"]["kind"] == "TELEGRAM").unwrap()["node"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        app.error_code(Some(&s.admin), UPDATE_CHANNEL, update(json!({ "appId": OUR_APP }), &telegram)).await,
        "BAD_USER_INPUT"
    );
    let (_, agent) = app.signed_in("agent@example.com", entity::enums::Role::Agent).await;
    assert_eq!(
        app.error_code(Some(&agent), "{ channels { edges { node { appId } } } }", json!({})).await,
        "FORBIDDEN"
    );

    // Cleared (empty strings): every signed take-back is honoured again.
    let cleared = set_apps(&app, &s.admin, &channel, "", "").await;
    assert_eq!(cleared["appId"], serde_json::Value::Null);
    assert_eq!(cleared["botAppId"], serde_json::Value::Null);
    post(&app, &path, handover("take_thread_control", SOFIA, Some("1"), Some("2"))).await;
    let all = all_chats(&app).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].completion_reason, Some(CompletionReason::BotTookBack), "a WAITING chat too");
    assert_eq!(all[2].status, ChatStatus::BotProcessing);
    assert_eq!(all[2].parent_chat_id, Some(all[1].id));
}

on_both_databases!(the_chatbot_takes_the_thread_back, handovers_are_checked_against_the_app_ids);
