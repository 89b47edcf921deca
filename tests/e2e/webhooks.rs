//! Inbound webhooks: signature checks, every provider fixture, idempotency, chats.

use entity::enums::{ChatStatus, CompletionReason, DeliveryStatus, Direction};
use entity::{chats, contacts, messages};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;

use crate::on_both_databases;
use crate::support::{TestApp, VERIFY_TOKEN, fixture};

async fn all_messages(app: &TestApp) -> Vec<messages::Model> {
    messages::Entity::find().order_by_asc(messages::Column::Id).all(&app.db).await.unwrap()
}

async fn signatures_and_channels_are_checked(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let body = fixture("whatsapp/text_message.json");
    let url = format!("{}{}", app.base, ch.whatsapp);

    let forged = app
        .http
        .post(&url)
        .header("x-hub-signature-256", "sha256=00ff")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let wrong_key = api::channels::signature::meta_signature("another-secret", &body);
    let resigned =
        app.http.post(&url).header("x-hub-signature-256", wrong_key).body(body.clone()).send().await.unwrap();
    assert_eq!(resigned.status(), 401);
    let unsigned = app.http.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let mut tampered = body.clone();
    tampered[40] ^= 1;
    let signature = api::channels::signature::meta_signature(crate::support::APP_SECRET, &body);
    let tampered =
        app.http.post(&url).header("x-hub-signature-256", signature).body(tampered).send().await.unwrap();
    assert_eq!(tampered.status(), 401);

    let telegram = format!("{}{}", app.base, ch.telegram);
    let wrong = app
        .http
        .post(&telegram)
        .header("x-telegram-bot-api-secret-token", "guess")
        .body(fixture("telegram/text_message.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // Signed but not what the provider sends.
    assert_eq!(app.webhook(&ch.whatsapp, b"not json").await, 400);
    assert_eq!(app.webhook(&ch.telegram, b"{\"no\": \"update\"}").await, 400);
    // Unknown channels, and a channel under another provider's path.
    let unknown = ch.whatsapp.rsplit_once('/').unwrap().0.to_owned()
        + "/"
        + &api::graphql::ids::encode("Channel", 99_999).0;
    assert_eq!(app.webhook(&unknown, &body).await, 404);
    assert_eq!(app.webhook(&ch.whatsapp.replace("/whatsapp/", "/messenger/"), &body).await, 404);
    assert_eq!(app.webhook("/webhooks/whatsapp/garbage", &body).await, 404);
    assert_eq!(
        app.count("messages").await + app.count("contacts").await + app.count("chats").await,
        0,
        "nothing stored"
    );

    // An inactive channel refuses webhooks: at once, though the webhooks above left the channel
    // in this instance's cache (`updateChannel` forgets it there, domain/channel_cache.rs).
    let deactivate = "mutation($id: ID!) { updateChannel(input: { id: $id, active: false }) { active } }";
    app.ok(Some(&admin), deactivate, json!({ "id": ch.ids[0] })).await;
    assert_eq!(app.webhook(&ch.whatsapp, &body).await, 403);
    assert_eq!(app.count("messages").await, 0);
}

async fn meta_verification_handshake(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    for path in [&ch.whatsapp, &ch.messenger] {
        let url = format!("{}{path}", app.base);
        let ok = app
            .http
            .get(&url)
            .query(&[
                ("hub.mode", "subscribe"),
                ("hub.verify_token", VERIFY_TOKEN),
                ("hub.challenge", "1158201444"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.text().await.unwrap(), "1158201444");
        let wrong = app
            .http
            .get(&url)
            .query(&[("hub.mode", "subscribe"), ("hub.verify_token", "nope"), ("hub.challenge", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 403);
    }
}

async fn whatsapp_messages_make_contacts_chats_and_messages(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    assert_eq!(app.webhook(&ch.whatsapp, &fixture("whatsapp/text_message.json")).await, 200);
    // Meta redelivers: the same body again stores nothing new and still answers 200.
    assert_eq!(app.webhook(&ch.whatsapp, &fixture("whatsapp/text_message.json")).await, 200);
    assert_eq!(app.count("messages").await, 1);

    let amelia = contacts::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(amelia.name, "Amelia Hart");
    assert_eq!(amelia.mobile_phone.as_deref(), Some("+447700900123"));

    // A batch: Amelia again (same chat) and Jonas twice (a new contact and chat).
    assert_eq!(app.webhook(&ch.whatsapp, &fixture("whatsapp/two_messages_batched.json")).await, 200);
    assert_eq!(app.count("contacts").await, 2);
    assert_eq!(app.count("chats").await, 2);
    let stored = all_messages(&app).await;
    assert_eq!(stored.len(), 4);
    assert_eq!(stored[0].chat_id, stored[1].chat_id, "Amelia's messages share her open chat");
    assert_eq!(stored[2].chat_id, stored[3].chat_id);
    assert_ne!(stored[0].chat_id, stored[2].chat_id);
    assert!(stored.iter().all(|m| m.direction == Direction::Incoming));

    // Media messages are stored with attachments (their download is the media test's).
    for file in ["image_message", "document_message", "audio_message"] {
        assert_eq!(app.webhook(&ch.whatsapp, &fixture(&format!("whatsapp/{file}.json"))).await, 200);
    }
    assert_eq!(app.count("messages").await, 7);
    assert_eq!(app.count("attachments").await, 3);

    // Seen through the API, as a supervisor would.
    let (_, supervisor) = app.signed_in("sam@example.com", entity::enums::Role::Supervisor).await;
    let data = app
        .ok(
            Some(&supervisor),
            "{ chats(status: WAITING) { edges { node { status channel { kind } contact { name mobilePhone }
               messages { edges { node { direction authorKind kind text attachments { fileName contentType status } } } } } } } }",
            json!({}),
        )
        .await;
    let chats = data["chats"]["edges"].as_array().unwrap();
    assert_eq!(chats.len(), 2);
    assert_eq!(chats[0]["node"]["contact"]["name"], "Amelia Hart");
    assert_eq!(chats[0]["node"]["channel"]["kind"], "WHATSAPP");
    let amelia_messages = chats[0]["node"]["messages"]["edges"].as_array().unwrap();
    assert!(amelia_messages.len() >= 2);
    assert_eq!(amelia_messages[0]["node"]["kind"], "TEXT");
    assert_eq!(amelia_messages[0]["node"]["authorKind"], "CONTACT");
    // Events were written for the chats and messages.
    assert!(app.count("events").await >= 9);
}

async fn a_message_after_completion_opens_a_new_chat(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    assert_eq!(app.webhook(&ch.telegram, &fixture("telegram/bot_command_start.json")).await, 200);
    let first = chats::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(first.status, ChatStatus::Waiting);
    // Complete it (the chat lifecycle's completeChat does the same through the API).
    let mut done: chats::ActiveModel = first.clone().into();
    done.status = Set(ChatStatus::Completed);
    done.completion_reason = Set(Some(CompletionReason::Agent));
    done.update(&app.db).await.unwrap();

    assert_eq!(app.webhook(&ch.telegram, &fixture("telegram/text_message.json")).await, 200);
    let all = chats::Entity::find().order_by_asc(chats::Column::Id).all(&app.db).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].status, ChatStatus::Waiting);
    assert_eq!(all[1].contact_id, first.contact_id, "same contact, new chat");
    let newest = all_messages(&app).await.pop().unwrap();
    assert_eq!(newest.chat_id, all[1].id);
}

async fn telegram_updates(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    for file in ["bot_command_start", "text_message", "photo_message", "document_message", "voice_message"] {
        assert_eq!(
            app.webhook(&ch.telegram, &fixture(&format!("telegram/{file}.json"))).await,
            200,
            "{file}"
        );
    }
    let dmitri = contacts::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(dmitri.name, "Dmitri Volkov");
    assert_eq!(app.count("chats").await, 1);
    assert_eq!(app.count("messages").await, 5);
    assert_eq!(app.count("attachments").await, 3);

    // An edit updates the stored message and keeps the original.
    assert_eq!(app.webhook(&ch.telegram, &fixture("telegram/edited_message.json")).await, 200);
    assert_eq!(app.webhook(&ch.telegram, &fixture("telegram/edited_message.json")).await, 200);
    assert_eq!(app.count("messages").await, 5, "an edit is not a new message");
    assert_eq!(app.count("message_edits").await, 1, "a redelivered edit is applied once");
    let edited = messages::Entity::find()
        .filter(messages::Column::ProviderMessageId.eq("523418907:1842"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(edited.edited_at.is_some());
    let edit = entity::message_edits::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_ne!(edit.previous_text, edit.text);
    assert_eq!(edited.text, edit.text);

    // Group chats are not for a support bot: acknowledged, ignored.
    let group = json!({ "update_id": 1, "message": { "message_id": 5, "date": 1773134000,
        "chat": { "id": -100123, "type": "supergroup", "title": "Fans" },
        "from": { "id": 42, "is_bot": false, "first_name": "Eve" }, "text": "hi all" } });
    assert_eq!(app.webhook(&ch.telegram, json!(group).to_string().as_bytes()).await, 200);
    assert_eq!(app.count("messages").await, 5);
}

async fn messenger_events(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/text_message.json")).await, 200);
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/batched_entries.json")).await, 200);
    // Sofia and Liam; Messenger gives no names in the webhook, so they get placeholders until
    // the profile is fetched.
    assert_eq!(app.count("contacts").await, 2);
    assert_eq!(app.count("messages").await, 3);
    for file in ["attachment_image", "attachment_file", "attachment_audio"] {
        assert_eq!(app.webhook(&ch.messenger, &fixture(&format!("messenger/{file}.json"))).await, 200);
    }
    assert_eq!(app.count("attachments").await, 3);
    // Delivery and read watermarks, with no outgoing messages yet, change nothing and are fine.
    for file in ["delivery", "read", "request_thread_control", "take_thread_control"] {
        assert_eq!(
            app.webhook(&ch.messenger, &fixture(&format!("messenger/{file}.json"))).await,
            200,
            "{file}"
        );
    }
    let before = app.count("messages").await;
    // An echo of a message written to the customer elsewhere is stored as outgoing.
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/echo.json")).await, 200);
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/echo.json")).await, 200);
    assert_eq!(app.count("messages").await, before + 1);
    let echo = all_messages(&app).await.pop().unwrap();
    assert_eq!(echo.direction, Direction::Outgoing);
    assert_eq!(echo.delivery_status, Some(DeliveryStatus::Sent));
}

async fn messenger_handover_from_a_chatbot(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/standby_message.json")).await, 200);
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/standby_echo_from_bot.json")).await, 200);
    let bot_chat = chats::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(bot_chat.status, ChatStatus::BotProcessing, "standby messages are not routed");
    assert_eq!(app.count("messages").await, 2);
    let bot_reply = all_messages(&app).await.pop().unwrap();
    assert_eq!(bot_reply.author_kind, entity::enums::AuthorKind::Bot);

    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/pass_thread_control.json")).await, 200);
    let all = chats::Entity::find().order_by_asc(chats::Column::Id).all(&app.db).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].status, ChatStatus::Completed);
    assert_eq!(all[0].completion_reason, Some(CompletionReason::BotHandover));
    assert_eq!(all[1].status, ChatStatus::Waiting);
    assert_eq!(all[1].parent_chat_id, Some(all[0].id));
}

on_both_databases!(
    signatures_and_channels_are_checked,
    meta_verification_handshake,
    whatsapp_messages_make_contacts_chats_and_messages,
    a_message_after_completion_opens_a_new_chat,
    telegram_updates,
    messenger_events,
    messenger_handover_from_a_chatbot,
);

/// A channel deactivated through instance A: instance B, which has just read the channel for a
/// webhook and keeps it for its channel cache's time-to-live, refuses the channel's webhooks
/// once that time has passed (PostgreSQL: SQLite runs one instance).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_changed_on_another_instance_applies_there_within_the_cache_time() {
    let a = TestApp::spawn(crate::support::Backend::Postgres).await;
    let url = crate::lifecycle::app_database_url(&a).await;
    let b = TestApp::start(url, None, |config| config.channel_cache_ms = 200).await;
    let admin = a.admin().await;
    let ch = a.channels(&admin).await;
    let body = fixture("whatsapp/text_message.json");
    assert_eq!(b.webhook(&ch.whatsapp, &body).await, 200, "B reads the channel");
    let deactivate = "mutation($id: ID!) { updateChannel(input: { id: $id, active: false }) { active } }";
    a.ok(Some(&admin), deactivate, json!({ "id": ch.ids[0] })).await;
    assert_eq!(a.webhook(&ch.whatsapp, &body).await, 403, "at once on A");
    crate::support::eventually("B to refuse the inactive channel", || async {
        (b.webhook(&ch.whatsapp, &body).await == 403).then_some(())
    })
    .await;
    assert_eq!(b.count("messages").await, 1, "the redeliveries B took were recognised");
}
