//! A returning customer's message for their open chat is stored in one round trip
//! (`domain::ingest::append`: one statement on PostgreSQL, one script in the write transaction
//! on SQLite) with the rows, event and answers of the general transaction; `/metrics` says
//! which path took each message.

use chrono::{SubsecRound, Utc};
use entity::enums::{AuthorKind, ChatStatus, CompletionReason, DeliveryStatus, Direction, MessageKind};
use entity::{chats, events, messages};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryOrder, Set, Statement,
    TransactionTrait,
};
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::operations::{sample, scrape};
use crate::support::{Backend, TestApp, eventually, fixture};

/// Amelia's WhatsApp text message with another message id and text.
fn amelia_says(id: &str, text: &str) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&fixture("whatsapp/text_message.json")).unwrap();
    let message = &mut body["entry"][0]["changes"][0]["value"]["messages"][0];
    message["id"] = json!(id);
    message["text"]["body"] = json!(text);
    serde_json::to_vec(&body).unwrap()
}

/// How many messages `/metrics` counts as stored in the way `stored`.
async fn stored_as(app: &TestApp, stored: &str) -> f64 {
    let text = scrape(app).await;
    sample(&text, &format!(r#"switchboard_webhook_messages_total{{stored="{stored}"}}"#)).unwrap_or(0.0)
}

async fn messages_of(app: &TestApp) -> Vec<messages::Model> {
    messages::Entity::find().order_by_asc(messages::Column::Id).all(&app.db).await.unwrap()
}

async fn chat(app: &TestApp, id: i64) -> chats::Model {
    chats::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap()
}

async fn a_returning_customers_message_joins_the_open_chat(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    assert_eq!(app.webhook(&ch.whatsapp, &fixture("whatsapp/text_message.json")).await, 200);
    assert_eq!(app.webhook(&ch.whatsapp, &fixture("whatsapp/text_message.json")).await, 200);
    // A new customer's first message: their contact and chat in one round trip too
    // (tests/e2e/newcomers.rs).
    assert_eq!((stored_as(&app, "created").await, stored_as(&app, "duplicate").await), (1.0, 1.0));

    // The chat as an agent's reply leaves it: owned, accepted, its close deadline running.
    let opened = chats::Entity::find().one(&app.db).await.unwrap().unwrap();
    let (agent, _) = app.signed_in("ann@example.com", entity::enums::Role::Agent).await;
    let agent = api::graphql::ids::decode(&agent.into(), "Agent").unwrap();
    let mut row: chats::ActiveModel = opened.clone().into();
    row.status = Set(ChatStatus::InProgress);
    row.owner_id = Set(Some(agent));
    row.close_deadline = Set(Some(Utc::now() + chrono::Duration::minutes(30)));
    row.update(&app.db).await.unwrap();

    let body = amelia_says("wamid.appended-1", "Any news on my order?");
    assert_eq!(app.webhook(&ch.whatsapp, &body).await, 200);
    let stored = messages_of(&app).await;
    assert_eq!(stored.len(), 2);
    let message = &stored[1];
    assert_eq!(message.chat_id, opened.id, "the customer's open chat");
    assert_eq!(message.channel_id, opened.channel_id);
    assert_eq!(message.text.as_deref(), Some("Any news on my order?"));
    assert_eq!(message.provider_message_id.as_deref(), Some("wamid.appended-1"));
    assert_eq!(
        (message.direction, message.author_kind, message.kind, message.delivery_status),
        (Direction::Incoming, AuthorKind::Contact, MessageKind::Text, None)
    );
    assert_eq!(
        (message.author_agent_id, message.edited_at, message.delivery_error.as_deref()),
        (None, None, None)
    );
    let after = chat(&app, opened.id).await;
    assert_eq!(after.last_message_at, Some(message.created_at), "the chat's last message moved");
    assert_eq!(after.updated_at, message.created_at);
    assert_eq!(after.close_deadline, None, "a customer's message clears the close deadline");
    assert_eq!((after.status, after.owner_id), (ChatStatus::InProgress, Some(agent)), "nothing else moved");

    let event = events::Entity::find().order_by_desc(events::Column::Id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(event.kind, "MESSAGE_RECEIVED");
    assert_eq!(
        (event.chat_id, event.queue_id, event.agent_id),
        (Some(opened.id), Some(opened.queue_id), Some(agent))
    );
    assert_eq!(event.payload, json!({ "messageId": message.id, "direction": "INCOMING", "kind": "TEXT" }));
    assert!(event.created_at >= message.created_at);

    // Redelivered: recognised, nothing written.
    let recorded = app.count("events").await;
    assert_eq!(app.webhook(&ch.whatsapp, &body).await, 200);
    assert_eq!(app.count("messages").await, 2);
    assert_eq!(app.count("events").await, recorded, "no event for a redelivery");
    assert_eq!(chat(&app, opened.id).await.last_message_at, Some(message.created_at));
    assert_eq!(stored_as(&app, "appended").await, 1.0, "in one round trip");
    assert_eq!(stored_as(&app, "transaction").await, 0.0);
    assert_eq!(stored_as(&app, "duplicate").await, 2.0);
    // On SQLite these went through the queue that appends several to a write transaction.
    let text = scrape(&app).await;
    let batched = sample(&text, "switchboard_webhook_append_batch_messages_total");
    match app.db.get_database_backend() {
        DatabaseBackend::Sqlite => assert!(batched.is_some_and(|n| n >= 3.0), "{batched:?}"),
        _ => assert_eq!(batched, Some(0.0), "PostgreSQL appends in one statement, unbatched"),
    }

    // A chatbot's chat keeps its own rules (its deadline from the queue's settings): the
    // general path stores the message there.
    let mut row: chats::ActiveModel = after.into();
    row.status = Set(ChatStatus::BotProcessing);
    row.owner_id = Set(None);
    row.close_deadline = Set(None);
    row.update(&app.db).await.unwrap();
    assert_eq!(app.webhook(&ch.whatsapp, &amelia_says("wamid.bot-1", "Hello bot")).await, 200);
    let bot_chat = chat(&app, opened.id).await;
    assert!(bot_chat.close_deadline.is_some(), "a message in a bot chat sets its time limit");
    assert_eq!(messages_of(&app).await.last().unwrap().chat_id, opened.id);
    assert_eq!(stored_as(&app, "transaction").await, 1.0);

    // An outgoing echo (another app of the page replying) joins the customer's open
    // chat as sent and leaves the close deadline alone.
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/text_message.json")).await, 200);
    let sofia = messages_of(&app).await.last().unwrap().chat_id;
    let deadline = (Utc::now() + chrono::Duration::minutes(10)).trunc_subsecs(3);
    let mut row: chats::ActiveModel = chat(&app, sofia).await.into();
    row.status = Set(ChatStatus::InProgress);
    row.close_deadline = Set(Some(deadline));
    row.update(&app.db).await.unwrap();
    let appended_before = stored_as(&app, "appended").await;
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/echo.json")).await, 200);
    let echo = messages_of(&app).await.pop().unwrap();
    assert_eq!(echo.chat_id, sofia);
    assert_eq!(
        (echo.direction, echo.author_kind, echo.delivery_status),
        (Direction::Outgoing, AuthorKind::Bot, Some(DeliveryStatus::Sent))
    );
    let after = chat(&app, sofia).await;
    assert_eq!((after.close_deadline, after.last_message_at), (Some(deadline), Some(echo.created_at)));
    assert_eq!(stored_as(&app, "appended").await, appended_before + 1.0);
}

/// The same new message twice at once, and different messages at once, for one open chat:
/// each message stored once, every webhook answered 200.
async fn concurrent_messages_for_one_open_chat(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    assert_eq!(app.webhook(&ch.whatsapp, &fixture("whatsapp/text_message.json")).await, 200);
    let mut bodies: Vec<Vec<u8>> =
        (0..8).map(|n| amelia_says(&format!("wamid.burst-{n}"), "again")).collect();
    bodies.extend(bodies.clone());
    let answers =
        futures_util::future::join_all(bodies.iter().map(|body| app.webhook(&ch.whatsapp, body))).await;
    assert!(answers.iter().all(|status| *status == 200), "{answers:?}");
    let stored = messages_of(&app).await;
    assert_eq!(stored.len(), 9, "each message once");
    assert!(stored.iter().all(|m| m.chat_id == stored[0].chat_id), "all in the one open chat");
    assert!(
        stored.windows(2).all(|pair| pair[0].created_at <= pair[1].created_at),
        "a chat's messages are timed in the order they were stored"
    );
    let last = stored.last().map(|m| m.created_at);
    assert_eq!(chat(&app, stored[0].chat_id).await.last_message_at, last);
    assert_eq!(app.count("chats").await, 1);
    let received = events::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(received.iter().filter(|e| e.kind == "MESSAGE_RECEIVED").count(), 9, "one event per message");
}

/// A new customer's first message delivered four times at once, beside four more of their
/// messages: one contact, one chat, each message once (the losers of each race retry and find
/// the winner's rows).
async fn a_new_customers_first_messages_at_once(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let mut bodies = vec![fixture("whatsapp/text_message.json"); 4];
    bodies.extend((0..4).map(|n| amelia_says(&format!("wamid.first-{n}"), "hello?")));
    let answers =
        futures_util::future::join_all(bodies.iter().map(|body| app.webhook(&ch.whatsapp, body))).await;
    assert!(answers.iter().all(|status| *status == 200), "{answers:?}");
    assert_eq!((app.count("contacts").await, app.count("chats").await), (1, 1));
    assert_eq!(app.count("messages").await, 5, "each message once");
    let recorded = events::Entity::find().all(&app.db).await.unwrap();
    let count = |kind: &str| recorded.iter().filter(|e| e.kind == kind).count();
    assert_eq!((count("CHAT_CREATED"), count("MESSAGE_RECEIVED")), (1, 5));
}

on_both_databases!(
    a_returning_customers_message_joins_the_open_chat,
    concurrent_messages_for_one_open_chat,
    a_new_customers_first_messages_at_once
);

/// A time limit completing the chat while a message for it arrives (PostgreSQL, where both
/// lock the chat's row; SQLite's writes take the database's one write lock in turn): the
/// message waits for the completion, then opens a new chat instead of joining a completed one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_racing_the_chats_completion_opens_a_new_chat() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    assert_eq!(app.webhook(&ch.whatsapp, &fixture("whatsapp/text_message.json")).await, 200);
    let opened = chats::Entity::find().one(&app.db).await.unwrap().unwrap();

    let completing = app.db.begin().await.unwrap();
    let mut row: chats::ActiveModel = opened.clone().into();
    row.status = Set(ChatStatus::Completed);
    row.completion_reason = Set(Some(CompletionReason::Timeout));
    row.completed_at = Set(Some(Utc::now()));
    row.update(&completing).await.unwrap();

    let body = amelia_says("wamid.racing", "Are you still there?");
    let webhook = app.webhook(&ch.whatsapp, &body);
    let waiting = eventually("the message to wait for the chat's row", || async {
        let sql = "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
                   AND wait_event_type = 'Lock'";
        let row = app.db.query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await.unwrap();
        (row.unwrap().try_get::<i64>("", "n").unwrap() > 0).then_some(())
    });
    tokio::pin!(webhook);
    tokio::select! {
        status = &mut webhook => panic!("the webhook was answered ({status}) while the chat was locked"),
        () = waiting => {}
    }
    completing.commit().await.unwrap();
    assert_eq!(webhook.await, 200);

    let stored = messages_of(&app).await;
    assert_eq!(stored.len(), 2);
    assert_ne!(stored[1].chat_id, opened.id, "not in the completed chat");
    let completed = chat(&app, opened.id).await;
    assert_eq!(
        (completed.status, completed.last_message_at),
        (ChatStatus::Completed, opened.last_message_at)
    );
    let new = chat(&app, stored[1].chat_id).await;
    assert_eq!((new.status, new.contact_id), (ChatStatus::Waiting, opened.contact_id));
}
