//! The bot-only timeout (docs/chatbot.md): a BOT_PROCESSING chat completes (BOT_TIMEOUT) at
//! the queue's completion timeout after its last message, sent or received, or 60 minutes
//! after it when the queue has none; the next message opens a new chat.

use api::clock;
use chrono::{DateTime, Duration, Utc};
use entity::enums::{ChatStatus, CompletionReason};
use entity::{chats, events};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::clocked;
use crate::scenario::{bot_echo, standby};
use crate::support::{Backend, TestApp, eventually};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").unwrap().to_utc()
}

async fn chat(app: &TestApp, id: i64) -> chats::Model {
    chats::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap()
}

/// The newest chat.
async fn latest(app: &TestApp) -> chats::Model {
    chats::Entity::find().order_by_desc(chats::Column::Id).one(&app.db).await.unwrap().unwrap()
}

/// Waits until the chat is completed and returns it.
async fn completed(app: &TestApp, id: i64, what: &str) -> chats::Model {
    eventually(what, || async {
        let row = chat(app, id).await;
        (row.status == ChatStatus::Completed).then_some(row)
    })
    .await
}

/// A server whose queue has `timeout` minutes (or none), and its Messenger webhook path.
async fn server(backend: Backend, timeout: Option<i64>) -> (TestApp, String) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let queue = app.ok(Some(&admin), "{ queues { edges { node { id } } } }", json!({})).await["queues"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        Some(&admin),
        "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
        json!({ "input": { "id": queue, "completionTimeoutMinutes": timeout } }),
    )
    .await;
    (app, ch.messenger)
}

async fn post(app: &TestApp, path: &str, body: Vec<u8>) -> chats::Model {
    assert_eq!(app.webhook(path, &body).await, 200);
    latest(app).await
}

/// With no completion timeout on the queue, a bot chat completes 60 minutes after its last
/// message, exactly: the chatbot's answer moves the deadline, a chat whose deadline is a
/// second later is still open when an earlier one completes, and the customer's next message
/// opens a new bot chat.
async fn bot_chats_complete_60_minutes_after_their_last_message(backend: Backend) {
    let (app, path) = server(backend, None).await;
    clock::freeze(start() - Duration::seconds(1));
    let early = post(&app, &path, standby("1001", "m_early", "hi")).await;
    clock::freeze(start());
    let quiet = post(&app, &path, standby("1002", "m_quiet", "hello")).await;
    let answered = post(&app, &path, standby("1003", "m_answered", "hello?")).await;
    for row in [&early, &quiet, &answered] {
        assert_eq!(row.status, ChatStatus::BotProcessing);
    }
    assert_eq!(quiet.close_deadline, Some(start() + Duration::minutes(60)));
    clock::freeze(start() + Duration::minutes(20));
    assert_eq!(post(&app, &path, bot_echo("1003", "m_answer", "How can I help?")).await.id, answered.id);
    assert_eq!(
        chat(&app, answered.id).await.close_deadline,
        Some(start() + Duration::minutes(80)),
        "the chatbot's message moved the deadline"
    );

    // A second before the quiet chat's deadline: only the early one is due.
    clock::freeze(start() + Duration::minutes(60) - Duration::seconds(1));
    let done = completed(&app, early.id, "the early chat to time out").await;
    assert_eq!(done.completion_reason, Some(CompletionReason::BotTimeout));
    assert_eq!(done.completed_at, Some(start() + Duration::minutes(60) - Duration::seconds(1)));
    assert_eq!(chat(&app, quiet.id).await.status, ChatStatus::BotProcessing);

    // At its deadline, exactly.
    clock::freeze(start() + Duration::minutes(60));
    let done = completed(&app, quiet.id, "the quiet chat to time out").await;
    assert_eq!(done.completion_reason, Some(CompletionReason::BotTimeout));
    assert_eq!(done.completed_at, Some(start() + Duration::minutes(60)));
    assert_eq!(done.close_deadline, None);
    assert_eq!(chat(&app, answered.id).await.status, ChatStatus::BotProcessing, "moved by the answer");
    let event = events::Entity::find()
        .filter(events::Column::Kind.eq("CHAT_COMPLETED"))
        .filter(events::Column::ChatId.eq(quiet.id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("CHAT_COMPLETED");
    assert_eq!(event.payload["reason"], "BOT_TIMEOUT");

    clock::freeze(start() + Duration::minutes(95));
    let done = completed(&app, answered.id, "the answered chat to time out").await;
    assert_eq!(done.completed_at, Some(start() + Duration::minutes(80)), "at its deadline, not when noticed");

    // After completion the customer's next message opens a new chat.
    let next = post(&app, &path, standby("1002", "m_again", "still there?")).await;
    assert_ne!(next.id, quiet.id);
    assert_eq!(next.contact_id, quiet.contact_id);
    assert_eq!(next.status, ChatStatus::BotProcessing);
    assert_eq!(next.close_deadline, Some(start() + Duration::minutes(155)));
}

/// With a completion timeout on the queue, bot chats use it.
async fn bot_chats_use_the_queue_completion_timeout(backend: Backend) {
    let (app, path) = server(backend, Some(15)).await;
    clock::freeze(start());
    let row = post(&app, &path, standby("2001", "m_1", "hi")).await;
    assert_eq!(row.close_deadline, Some(start() + Duration::minutes(15)));
    clock::freeze(start() + Duration::minutes(10));
    post(&app, &path, standby("2001", "m_2", "anyone?")).await;
    clock::freeze(start() + Duration::minutes(25));
    let done = completed(&app, row.id, "the bot chat to time out").await;
    assert_eq!(done.completion_reason, Some(CompletionReason::BotTimeout));
    assert_eq!(done.completed_at, Some(start() + Duration::minutes(25)));
}

clocked!(bot_chats_complete_60_minutes_after_their_last_message, bot_chats_use_the_queue_completion_timeout);
