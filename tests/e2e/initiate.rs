//! Starting a chat (`initiateChat`, `canInitiateChat`, `Contact.reachability`) and WhatsApp
//! message templates inside the window, on all three providers, against wiremock fakes. The
//! 24-hour window itself is tested on the clock (`tests/clocked/initiate.rs`).

use entity::enums::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::on_both_backends;
use crate::reaching::{
    CREATE_TEMPLATE, PROVIDERS, Provider, SEND_TEMPLATE, error_of, order_update_request, world,
};
use crate::support::{Backend, eventually};

/// A chat started on each provider: IN_PROGRESS, owned by the agent, in the channel's queue,
/// its first message delivered to the provider fake; a second attempt names the open chat,
/// and `canInitiateChat` says so too.
async fn a_chat_is_started_on_each_provider(backend: Backend) {
    let w = world(backend).await;
    for provider in PROVIDERS {
        let contact = w.served_and_completed(provider).await;
        let reach = w.can_initiate(&contact, provider).await;
        assert_eq!(reach["canInitiate"], true, "{provider:?}: {reach:#}");
        assert_eq!(reach["reason"], json!(null));
        let text = format!("Following up on your question ({provider:?})");
        let body = w.initiate(&w.agent, &contact, provider, &text).await;
        assert!(body.get("errors").is_none(), "{provider:?}: {body:#}");
        let started = &body["data"]["initiateChat"];
        assert_eq!(started["chat"]["status"], "IN_PROGRESS");
        assert_eq!(started["chat"]["owner"]["email"], "agent@example.com");
        assert_eq!(started["chat"]["queue"]["id"], w.queue.as_str(), "the channel's queue");
        assert_eq!(started["chat"]["channel"]["id"], w.channel(provider));
        assert!(started["chat"]["acceptedAt"].is_string());
        assert_eq!(started["message"]["text"], text.as_str());
        assert_eq!(started["message"]["deliveryStatus"], "PENDING");
        w.sent(&started["message"]).await;
        let delivered = w.received(&provider.send_path()).await;
        assert!(
            delivered
                .iter()
                .any(|request| provider.is_to_customer(request) && request.to_string().contains(&text)),
            "{provider:?}: the provider fake got the message: {delivered:#?}"
        );

        // The contact now has an open chat there: the answer names it, nothing is written.
        let before = w.written().await;
        let again = w.initiate(&w.agent, &contact, provider, "Another one").await;
        let (code, extensions) = error_of(&again);
        assert_eq!(code, "OPEN_CHAT_EXISTS", "{provider:?}");
        assert_eq!(extensions["chatId"], started["chat"]["id"]);
        assert_eq!(w.written().await, before, "a refusal writes nothing");
        let reach = w.can_initiate(&contact, provider).await;
        assert_eq!(reach["canInitiate"], false);
        assert_eq!(reach["reason"], "OPEN_CHAT_EXISTS");
        assert_eq!(reach["openChatId"], started["chat"]["id"]);
    }
}

/// CHANNEL_INACTIVE and NEVER_WROTE_ON_CHANNEL on each provider, and OPEN_CHAT_EXISTS for a
/// chat still waiting; none of them writes or sends anything.
async fn each_failed_condition_has_its_code(backend: Backend) {
    let w = world(backend).await;
    let mut contacts = Vec::new();
    for provider in PROVIDERS {
        contacts.push((provider, w.served_and_completed(provider).await));
    }
    let before = w.written().await;
    let sends = || async {
        let mut n = 0;
        for provider in PROVIDERS {
            n += w.received(&provider.send_path()).await.len();
        }
        n
    };
    let sent_before = sends().await;
    const UPDATE_CHANNEL: &str =
        "mutation($input: UpdateChannelInput!) { updateChannel(input: $input) { id active } }";
    for (provider, contact) in &contacts {
        // A contact of another provider never wrote through this channel.
        for other in PROVIDERS.iter().filter(|other| *other != provider) {
            let body = w.initiate(&w.agent, contact, *other, "Hello").await;
            assert_eq!(error_of(&body).0, "NEVER_WROTE_ON_CHANNEL", "{provider:?} contact on {other:?}");
            let reach = w.can_initiate(contact, *other).await;
            assert_eq!(reach["reason"], "NEVER_WROTE_ON_CHANNEL");
            assert_eq!(reach["lastIncomingAt"], json!(null));
        }
        let channel = w.channel(*provider);
        w.app
            .ok(Some(&w.admin), UPDATE_CHANNEL, json!({ "input": { "id": channel, "active": false } }))
            .await;
        let body = w.initiate(&w.agent, contact, *provider, "Hello").await;
        assert_eq!(error_of(&body).0, "CHANNEL_INACTIVE", "{provider:?}");
        assert_eq!(w.can_initiate(contact, *provider).await["reason"], "CHANNEL_INACTIVE");
        w.app.ok(Some(&w.admin), UPDATE_CHANNEL, json!({ "input": { "id": channel, "active": true } })).await;
    }
    assert_eq!(w.written().await, before, "no refusal writes anything");
    assert_eq!(sends().await, sent_before, "nor sends anything");

    // The customer writes again: the waiting chat offered to the agent is the open one.
    for (provider, contact) in &contacts {
        let (waiting, _) = w.customer_writes(*provider, 2, "Me again").await;
        crate::scenario::offered_to(&w.app, &w.agent, &waiting).await;
        let body = w.initiate(&w.agent, contact, *provider, "Hello").await;
        let (code, extensions) = error_of(&body);
        assert_eq!(code, "OPEN_CHAT_EXISTS", "{provider:?}");
        assert_eq!(extensions["chatId"], waiting.as_str());
    }
}

/// A started chat counts against the agent's capacity, and an agent at capacity cannot start
/// one (AT_CAPACITY); a supervisor is not limited, as when accepting.
async fn a_started_chat_counts_against_capacity(backend: Backend) {
    let w = world(backend).await;
    let whatsapp = w.served_and_completed(Provider::Whatsapp).await;
    let telegram = w.served_and_completed(Provider::Telegram).await;
    w.app
        .ok(
            Some(&w.admin),
            "mutation { updateSettings(input: { simultaneousChats: 1 }) { simultaneousChats } }",
            json!({}),
        )
        .await;
    let body = w.initiate(&w.agent, &telegram, Provider::Telegram, "Hello").await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let availability = || async {
        let data =
            w.app.ok(Some(&w.admin), "{ agents { edges { node { email availability } } } }", json!({})).await;
        data["agents"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|edge| edge["node"]["email"] == "agent@example.com")
            .map(|edge| edge["node"]["availability"].clone())
    };
    assert_eq!(availability().await.unwrap(), "CHATS_EXCEEDED", "the started chat fills the one slot");

    let before = w.written().await;
    let body = w.initiate(&w.agent, &whatsapp, Provider::Whatsapp, "Hello").await;
    assert_eq!(error_of(&body).0, "AT_CAPACITY");
    assert_eq!(w.written().await, before);

    let (_, supervisor) = w.app.signed_in("supervisor@example.com", Role::Supervisor).await;
    let body = w.initiate(&supervisor, &whatsapp, Provider::Whatsapp, "Hello from a supervisor").await;
    assert_eq!(body["data"]["initiateChat"]["chat"]["owner"]["email"], "supervisor@example.com", "{body:#}");
}

/// Only callers who may read the contact: another agent gets NOT_FOUND (as for `contact(id)`),
/// an analyst or a bot FORBIDDEN; `canInitiateChat` follows the same rule.
async fn only_readers_of_the_contact_start_a_chat(backend: Backend) {
    let w = world(backend).await;
    let contact = w.served_and_completed(Provider::Telegram).await;
    let (_, stranger) = w.app.signed_in("stranger@example.com", Role::Agent).await;
    let body = w.initiate(&stranger, &contact, Provider::Telegram, "Hello").await;
    assert_eq!(error_of(&body).0, "NOT_FOUND");
    let variables = json!({ "contact": contact, "channel": w.channel(Provider::Telegram) });
    assert_eq!(
        w.app.error_code(Some(&stranger), crate::reaching::CAN_INITIATE, variables).await,
        "NOT_FOUND"
    );
    for (email, role) in [("analyst@example.com", Role::Analyst), ("bot@example.com", Role::Bot)] {
        let (_, token) = w.app.signed_in(email, role).await;
        let body = w.initiate(&token, &contact, Provider::Telegram, "Hello").await;
        assert_eq!(error_of(&body).0, "FORBIDDEN", "{role:?}");
    }
    assert_eq!(w.app.count("chats").await, 1, "only the customer's own chat");
}

/// `Contact.reachability`: one entry per channel of a kind the contact has an identity on,
/// with the window's end on WhatsApp and Messenger and none on Telegram.
async fn reachability_lists_the_contacts_channels(backend: Backend) {
    let w = world(backend).await;
    const REACHABILITY: &str = "query($id: ID!) { contact(id: $id) { reachability { \
        channel { id kind } canInitiate reason templateOnly lastIncomingAt windowClosesAt openChatId } } }";
    for provider in PROVIDERS {
        let contact = w.served_and_completed(provider).await;
        let data = w.app.ok(Some(&w.agent), REACHABILITY, json!({ "id": contact })).await;
        let entries = data["contact"]["reachability"].as_array().unwrap().clone();
        assert_eq!(entries.len(), 1, "{provider:?}: only the channel of its identity: {entries:#?}");
        let entry = &entries[0];
        assert_eq!(entry["channel"]["id"], w.channel(provider));
        assert_eq!(entry["canInitiate"], true);
        assert_eq!(entry["templateOnly"], false);
        assert_eq!(entry["openChatId"], json!(null));
        let last = chrono::DateTime::parse_from_rfc3339(entry["lastIncomingAt"].as_str().unwrap()).unwrap();
        match provider {
            Provider::Telegram => assert_eq!(entry["windowClosesAt"], json!(null), "Telegram has no window"),
            _ => {
                let closes =
                    chrono::DateTime::parse_from_rfc3339(entry["windowClosesAt"].as_str().unwrap()).unwrap();
                assert_eq!(closes - last, chrono::Duration::hours(24), "{provider:?}");
            }
        }
        // The same answer as canInitiateChat.
        let reach = w.can_initiate(&contact, provider).await;
        assert_eq!(&reach, entry);
    }
}

/// Admins register templates per WhatsApp channel; agents list them; a template starts a chat
/// and is sent again in it, each time as the Cloud API's template message with the body's
/// parameters, and stored with the body filled in; a wrong parameter count is refused.
async fn whatsapp_templates_are_registered_and_sent(backend: Backend) {
    let w = world(backend).await;
    let whatsapp = w.channel(Provider::Whatsapp).to_owned();
    let register =
        |input: serde_json::Value| w.app.gql(Some(&w.admin), CREATE_TEMPLATE, json!({ "input": input }));
    // Bad registrations.
    for (input, code) in [
        (
            json!({ "channelId": w.channel(Provider::Telegram), "name": "hi", "languageCode": "en", "bodyText": "Hi" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "channelId": whatsapp, "name": "Order Update", "languageCode": "en", "bodyText": "Hi" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "channelId": whatsapp, "name": "hi", "languageCode": "en", "bodyText": "Hi {{1}}", "parameterCount": 2 }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "channelId": whatsapp, "name": "hi", "languageCode": "en", "bodyText": "Hi {{2}}" }),
            "BAD_USER_INPUT",
        ),
    ] {
        assert_eq!(error_of(&register(input.clone()).await).0, code, "{input}");
    }
    let template = w.order_update_template().await;
    let duplicate =
        json!({ "channelId": whatsapp, "name": "order_update", "languageCode": "en_US", "bodyText": "Hi" });
    assert_eq!(error_of(&register(duplicate).await).0, "CONFLICT");
    let agent_registers = w
        .app
        .error_code(
            Some(&w.agent),
            CREATE_TEMPLATE,
            json!({ "input": { "channelId": whatsapp, "name": "x", "languageCode": "en", "bodyText": "x" } }),
        )
        .await;
    assert_eq!(agent_registers, "FORBIDDEN", "only admins register templates");
    const LIST: &str = "query($channel: ID!) { messageTemplates(channelId: $channel) { id name languageCode bodyText parameterCount } }";
    let listed = w.app.ok(Some(&w.agent), LIST, json!({ "channel": whatsapp })).await;
    assert_eq!(
        listed["messageTemplates"],
        json!([{ "id": template, "name": "order_update", "languageCode": "en_US",
            "bodyText": "Hi {{1}}, your order {{2}} has shipped.", "parameterCount": 2 }])
    );

    let contact = w.served_and_completed(Provider::Whatsapp).await;
    let with_template = |parameters: serde_json::Value| {
        json!({ "input": { "contactId": contact, "channelId": whatsapp,
            "template": { "templateId": template, "parameters": parameters } } })
    };
    let before = w.written().await;
    for wrong in [json!(["Amelia"]), json!(["Amelia", "#48213", "extra"])] {
        let body = w.app.gql(Some(&w.agent), crate::reaching::INITIATE, with_template(wrong)).await;
        let (code, extensions) = error_of(&body);
        assert_eq!(code, "TEMPLATE_PARAMETERS");
        assert_eq!(extensions["expected"], 2);
    }
    assert_eq!(w.written().await, before, "a wrong parameter count writes nothing");

    let data =
        w.app.ok(Some(&w.agent), crate::reaching::INITIATE, with_template(json!(["Amelia", "#48213"]))).await;
    let started = &data["initiateChat"];
    assert_eq!(started["chat"]["status"], "IN_PROGRESS");
    assert_eq!(started["message"]["text"], "Hi Amelia, your order #48213 has shipped.", "stored rendered");
    w.sent(&started["message"]).await;
    let path = Provider::Whatsapp.send_path();
    let expected = order_update_request(["Amelia", "#48213"]);
    assert!(w.received(&path).await.contains(&expected), "the fake got the template message");

    // Continued with the template in the chat; a wrong count is refused there too.
    let chat = started["chat"]["id"].as_str().unwrap();
    let send = |parameters: serde_json::Value| json!({ "input": { "chatId": chat, "templateId": template, "parameters": parameters } });
    let code = w.app.error_code(Some(&w.agent), SEND_TEMPLATE, send(json!([]))).await;
    assert_eq!(code, "TEMPLATE_PARAMETERS");
    let sent = w.app.ok(Some(&w.agent), SEND_TEMPLATE, send(json!(["Amelia", "#50000"]))).await;
    assert_eq!(sent["sendTemplate"]["text"], "Hi Amelia, your order #50000 has shipped.");
    w.sent(&sent["sendTemplate"]).await;
    let expected = order_update_request(["Amelia", "#50000"]);
    assert!(w.received(&path).await.contains(&expected));

    // Not in a chat of another channel.
    let telegram = w.served_and_completed(Provider::Telegram).await;
    let body = w.initiate(&w.agent, &telegram, Provider::Telegram, "Hello").await;
    let telegram_chat = body["data"]["initiateChat"]["chat"]["id"].as_str().unwrap().to_owned();
    let wrong_channel =
        json!({ "input": { "chatId": telegram_chat, "templateId": template, "parameters": ["a", "b"] } });
    assert_eq!(w.app.error_code(Some(&w.agent), SEND_TEMPLATE, wrong_channel).await, "BAD_USER_INPUT");

    // Removed: no longer listed, and earlier messages keep their text.
    const DELETE: &str = "mutation($id: ID!) { deleteMessageTemplate(id: $id) }";
    w.app.ok(Some(&w.admin), DELETE, json!({ "id": template })).await;
    let listed = w.app.ok(Some(&w.agent), LIST, json!({ "channel": whatsapp })).await;
    assert_eq!(listed["messageTemplates"], json!([]));
    eventually("nothing left to deliver", || async {
        (w.app.count("outbox WHERE status = 'PENDING'").await == 0).then_some(())
    })
    .await;
}

/// A chat can start with a file, uploaded with the multipart spec as for `sendMessage`: it
/// goes out as the provider's document.
async fn a_chat_starts_with_a_file(backend: Backend) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = world(backend).await;
    let document: serde_json::Value =
        serde_json::from_slice(&crate::support::fixture("telegram/send_document_response.json")).unwrap();
    Mock::given(method("POST"))
        .and(path("/bot7012345678:bot-token/sendDocument"))
        .respond_with(ResponseTemplate::new(200).set_body_json(document))
        .expect(1)
        .mount(&w.mock)
        .await;
    let contact = w.served_and_completed(Provider::Telegram).await;
    let input = json!({ "contactId": contact, "channelId": w.channel(Provider::Telegram), "files": [null] });
    let operations = json!({ "query": crate::reaching::INITIATE, "variables": { "input": input } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.input.files.0"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"your invoice".to_vec())
                .file_name("invoice.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let body: serde_json::Value = w
        .app
        .http
        .post(format!("{}/graphql", w.app.base))
        .bearer_auth(&w.agent)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body:#}");
    let message = &body["data"]["initiateChat"]["message"];
    let row = w.sent(message).await;
    let files = entity::attachments::Entity::find()
        .filter(entity::attachments::Column::MessageId.eq(row.id))
        .all(&w.app.db)
        .await
        .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].file_name.as_deref(), Some("invoice.txt"));
    w.mock.verify().await;
}

on_both_backends!(
    a_chat_is_started_on_each_provider,
    a_chat_starts_with_a_file,
    each_failed_condition_has_its_code,
    a_started_chat_counts_against_capacity,
    only_readers_of_the_contact_start_a_chat,
    reachability_lists_the_contacts_channels,
    whatsapp_templates_are_registered_and_sent,
);
