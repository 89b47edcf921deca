//! The 24-hour window on the clock: starting a chat on WhatsApp and Messenger closes exactly
//! 24 hours after the customer's last message (Telegram never); on WhatsApp a template still
//! starts and continues a chat, a plain reply is refused up front, and the customer's answer
//! reopens the window.

use api::clock;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::clocked;
use crate::reaching::{Provider, SEND, SEND_TEMPLATE, World, error_of, order_update_request, world};
use crate::support::Backend;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").unwrap().to_utc()
}

fn at(time: &serde_json::Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time.as_str().unwrap()).unwrap().to_utc()
}

/// Refused at 24:00:00 after the customer's message (OUTSIDE_MESSAGING_WINDOW, with the
/// closing time), accepted at 23:59:59.
async fn window_closes_at_24_hours(w: &World, provider: Provider) {
    clock::freeze(start());
    let contact = w.served_and_completed(provider).await;

    clock::freeze(start() + Duration::hours(24));
    let reach = w.can_initiate(&contact, provider).await;
    assert_eq!(reach["canInitiate"], false, "{provider:?}");
    assert_eq!(reach["reason"], "OUTSIDE_MESSAGING_WINDOW");
    assert_eq!(
        reach["templateOnly"],
        provider == Provider::Whatsapp,
        "a template may still start a WhatsApp chat"
    );
    assert_eq!(at(&reach["lastIncomingAt"]), start());
    assert_eq!(at(&reach["windowClosesAt"]), start() + Duration::hours(24));
    let before = w.written().await;
    let body = w.initiate(&w.agent, &contact, provider, "Are you still there?").await;
    let (code, extensions) = error_of(&body);
    assert_eq!(code, "OUTSIDE_MESSAGING_WINDOW", "{provider:?}");
    assert_eq!(at(&extensions["windowClosedAt"]), start() + Duration::hours(24));
    assert_eq!(w.written().await, before, "nothing written");

    clock::freeze(start() + Duration::hours(24) - Duration::seconds(1));
    assert_eq!(w.can_initiate(&contact, provider).await["canInitiate"], true);
    let body = w.initiate(&w.agent, &contact, provider, "Are you still there?").await;
    assert_eq!(body["data"]["initiateChat"]["chat"]["status"], "IN_PROGRESS", "{provider:?}: {body:#}");
    w.sent(&body["data"]["initiateChat"]["message"]).await;
}

async fn the_window_closes_at_exactly_24_hours(backend: Backend) {
    let w = world(backend).await;
    window_closes_at_24_hours(&w, Provider::Whatsapp).await;
    window_closes_at_24_hours(&w, Provider::Messenger).await;

    // Telegram has no window: two days later a chat still starts.
    clock::freeze(start());
    let contact = w.served_and_completed(Provider::Telegram).await;
    clock::freeze(start() + Duration::hours(48));
    let reach = w.can_initiate(&contact, Provider::Telegram).await;
    assert_eq!(reach["canInitiate"], true);
    assert_eq!(reach["windowClosesAt"], json!(null));
    let body = w.initiate(&w.agent, &contact, Provider::Telegram, "Two days later").await;
    assert_eq!(body["data"]["initiateChat"]["chat"]["status"], "IN_PROGRESS", "{body:#}");
}

/// Outside the window a WhatsApp chat starts with a template (sent as a template message),
/// plain replies in it are refused up front while templates go out, and the customer's answer
/// reopens the window for plain replies.
async fn a_template_reaches_a_whatsapp_customer_outside_the_window(backend: Backend) {
    let w = world(backend).await;
    let template = w.order_update_template().await;
    clock::freeze(start());
    let contact = w.served_and_completed(Provider::Whatsapp).await;
    clock::freeze(start() + Duration::hours(30));

    let plain = w.initiate(&w.agent, &contact, Provider::Whatsapp, "Your order shipped").await;
    assert_eq!(error_of(&plain).0, "OUTSIDE_MESSAGING_WINDOW");
    let input = json!({ "contactId": contact, "channelId": w.channel(Provider::Whatsapp),
        "template": { "templateId": template, "parameters": ["Amelia", "#48213"] } });
    let data = w.app.ok(Some(&w.agent), crate::reaching::INITIATE, json!({ "input": input })).await;
    let started = &data["initiateChat"];
    assert_eq!(started["chat"]["status"], "IN_PROGRESS");
    assert_eq!(started["message"]["text"], "Hi Amelia, your order #48213 has shipped.");
    w.sent(&started["message"]).await;
    let path = Provider::Whatsapp.send_path();
    assert!(w.received(&path).await.contains(&order_update_request(["Amelia", "#48213"])));

    // In the chat: a plain reply is refused before anything is written or sent.
    let chat = started["chat"]["id"].as_str().unwrap().to_owned();
    let before = w.written().await;
    let requests = w.received(&path).await.len();
    let reply = json!({ "input": { "chatId": chat, "text": "Any questions?" } });
    assert_eq!(w.app.error_code(Some(&w.agent), SEND, reply.clone()).await, "OUTSIDE_MESSAGING_WINDOW");
    assert_eq!(w.written().await, before);
    assert_eq!(w.received(&path).await.len(), requests, "nothing sent");
    let again =
        json!({ "input": { "chatId": chat, "templateId": template, "parameters": ["Amelia", "#48214"] } });
    let sent = w.app.ok(Some(&w.agent), SEND_TEMPLATE, again).await;
    w.sent(&sent["sendTemplate"]).await;
    assert!(w.received(&path).await.contains(&order_update_request(["Amelia", "#48214"])));

    // The customer answers: the window is open again for 24 hours.
    clock::advance(Duration::minutes(5));
    let (answered, _) = w.customer_writes(Provider::Whatsapp, 2, "Thanks! When will it arrive?").await;
    assert_eq!(answered, chat, "the answer lands in the started chat");
    let data = w.app.ok(Some(&w.agent), SEND, reply).await;
    w.sent(&data["sendMessage"]).await;
    let texts = w.received(&path).await;
    assert!(
        texts.iter().any(|request| request["type"] == "text" && request["text"]["body"] == "Any questions?"),
        "the plain reply went out: {texts:#?}"
    );
    let reach = w.can_initiate(&contact, Provider::Whatsapp).await;
    assert_eq!(
        at(&reach["windowClosesAt"]),
        start() + Duration::hours(30) + Duration::minutes(5) + Duration::hours(24)
    );
}

/// Messenger keeps its behaviour: a reply outside the window is not refused up front (the
/// provider's refusal marks it FAILED, as before).
async fn messenger_replies_are_not_refused_up_front(backend: Backend) {
    let w = world(backend).await;
    // The initiated chat stays open across the jump: without the queue's completion timeout
    // it has no close deadline, so the timers worker cannot complete it (TIMEOUT) first.
    w.app
        .ok(
            Some(&w.admin),
            "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
            json!({ "input": { "id": w.queue, "completionTimeoutMinutes": null } }),
        )
        .await;
    clock::freeze(start());
    let contact = w.served_and_completed(Provider::Messenger).await;
    let body = w.initiate(&w.agent, &contact, Provider::Messenger, "Hello").await;
    let chat = body["data"]["initiateChat"]["chat"]["id"].as_str().unwrap().to_owned();
    clock::freeze(start() + Duration::hours(25));
    let reply = json!({ "input": { "chatId": chat, "text": "Still there?" } });
    let data = w.app.ok(Some(&w.agent), SEND, reply).await;
    assert_eq!(data["sendMessage"]["deliveryStatus"], "PENDING");
}

clocked!(
    the_window_closes_at_exactly_24_hours,
    a_template_reaches_a_whatsapp_customer_outside_the_window,
    messenger_replies_are_not_refused_up_front,
);
