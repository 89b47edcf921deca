//! Replies out through the outbox, delivery statuses in, and files both ways — against
//! wiremock standing in for the providers.

use crate::on_both_backends;
use entity::enums::{AttachmentStatus, ChatStatus, DeliveryStatus, OutboxStatus, Role};
use entity::{attachments, chats, messages, outbox};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Backend, Channels, TestApp, eventually, fixture, providers_at};

const SEND: &str =
    "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id deliveryStatus text } }";

fn json_fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// A server whose providers are the returned wiremock server.
async fn app_with_providers(backend: Backend) -> (TestApp, MockServer) {
    let mock = MockServer::start().await;
    let uri = mock.uri();
    let app = TestApp::spawn_with(backend, |config| providers_at(config, &uri)).await;
    (app, mock)
}

/// Brings a customer's first message in through `path`, and hands its chat to a new agent:
/// returns (chat global id, chat row id, agent token).
async fn chat_owned_by_agent(app: &TestApp, path: &str, body: &[u8]) -> (String, i64, String) {
    assert_eq!(app.webhook(path, body).await, 200);
    newest_chat_to_agent(app).await
}

/// Hands the newest chat to a new agent, as `chat_owned_by_agent` does.
pub(crate) async fn newest_chat_to_agent(app: &TestApp) -> (String, i64, String) {
    let chat = chats::Entity::find().order_by_desc(chats::Column::Id).one(&app.db).await.unwrap().unwrap();
    let (agent_id, token) = app.signed_in(&format!("agent{}@example.com", chat.id), Role::Agent).await;
    let agent_row = api::graphql::ids::decode(&async_graphql::ID(agent_id), "Agent").unwrap();
    // Accepting is the chat lifecycle's work; here the chat is simply handed over.
    let mut row: chats::ActiveModel = chat.clone().into();
    row.status = Set(ChatStatus::InProgress);
    row.owner_id = Set(Some(agent_row));
    row.update(&app.db).await.unwrap();
    (api::graphql::ids::encode("Chat", chat.id).0, chat.id, token)
}

/// An agent's reply, queued through the outbox.
struct Reply {
    /// The app's channels.
    channels: Channels,
    /// The chat's global id.
    chat: String,
    /// The replying agent's token.
    token: String,
    /// The reply's row, just after `sendMessage`.
    row: messages::Model,
}

/// The customer's first message (`fixture_name`) comes in on the channel `pick` chooses, the
/// chat goes to a new agent, and they reply `text`.
async fn agent_reply(app: &TestApp, pick: fn(&Channels) -> &String, fixture_name: &str, text: &str) -> Reply {
    let admin = app.admin().await;
    let channels = app.channels(&admin).await;
    let (chat, _, token) = chat_owned_by_agent(app, pick(&channels), &fixture(fixture_name)).await;
    app.ok(Some(&token), SEND, json!({ "input": { "chatId": chat, "text": text } })).await;
    let row = last_reply(app).await;
    Reply { channels, chat, token, row }
}

async fn last_reply(app: &TestApp) -> messages::Model {
    messages::Entity::find().order_by_desc(messages::Column::Id).one(&app.db).await.unwrap().unwrap()
}

async fn delivered_status(app: &TestApp, id: i64, wanted: DeliveryStatus) -> messages::Model {
    eventually(&format!("message {id} to be {wanted:?}"), || async {
        let row = messages::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
        (row.delivery_status == Some(wanted)).then_some(row)
    })
    .await
}

async fn whatsapp_reply_and_statuses(backend: Backend) {
    let (app, mock) = app_with_providers(backend).await;
    Mock::given(method("POST"))
        .and(path("/109876543210987/messages"))
        .and(header("authorization", "Bearer wa-token"))
        .and(body_partial_json(
            json!({ "messaging_product": "whatsapp", "to": "447700900123", "type": "text" }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json_fixture("whatsapp/send_response.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let (chat, chat_row, token) =
        chat_owned_by_agent(&app, &ch.whatsapp, &fixture("whatsapp/text_message.json")).await;

    let data = app
        .ok(Some(&token), SEND, json!({ "input": { "chatId": chat, "text": "Hi Amelia, let me check." } }))
        .await;
    assert_eq!(data["sendMessage"]["deliveryStatus"], "PENDING");
    assert_eq!(app.count("outbox").await, 1, "the reply and its outbox row are written together");
    let reply = last_reply(&app).await;
    let sent = delivered_status(&app, reply.id, DeliveryStatus::Sent).await;
    let wamid = json_fixture("whatsapp/send_response.json")["messages"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(sent.provider_message_id.as_deref(), Some(wamid.as_str()));

    let chat_row = chats::Entity::find_by_id(chat_row).one(&app.db).await.unwrap().unwrap();
    assert!(chat_row.first_response_at.is_some(), "the first reply stamps the first response");
    assert!(chat_row.close_deadline.is_some(), "a reply sets the close deadline (queue timeout 30 min)");

    // Statuses move forward only, whatever order and however often they arrive.
    for file in ["status_sent", "status_read", "status_delivered", "status_read"] {
        assert_eq!(app.webhook(&ch.whatsapp, &fixture(&format!("whatsapp/{file}.json"))).await, 200);
    }
    let read = messages::Entity::find_by_id(reply.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(read.delivery_status, Some(DeliveryStatus::Read));

    // A customer message clears the close deadline.
    assert_eq!(app.webhook(&ch.whatsapp, &fixture("whatsapp/two_messages_batched.json")).await, 200);
    let chat_row = chats::Entity::find_by_id(chat_row.id).one(&app.db).await.unwrap().unwrap();
    assert!(chat_row.close_deadline.is_none());

    // The 24-hour window failure often comes later, as a status: FAILED with the reason.
    let failed = json_fixture("whatsapp/status_failed_outside_window.json");
    let failed_id =
        failed["entry"][0]["changes"][0]["value"]["statuses"][0]["id"].as_str().unwrap().to_owned();
    Mock::given(method("POST"))
        .and(path("/109876543210987/messages"))
        .and(body_partial_json(json!({ "to": "4915123456789" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{ "input": "4915123456789", "wa_id": "4915123456789" }],
            "messages": [{ "id": failed_id }] })))
        .expect(1)
        .mount(&mock)
        .await;
    let jonas = chats::Entity::find().order_by_desc(chats::Column::Id).one(&app.db).await.unwrap().unwrap();
    let mut handed: chats::ActiveModel = jonas.clone().into();
    handed.status = Set(ChatStatus::InProgress);
    handed.owner_id = Set(chat_row.owner_id);
    handed.update(&app.db).await.unwrap();
    let jonas_chat = api::graphql::ids::encode("Chat", jonas.id).0;
    app.ok(Some(&token), SEND, json!({ "input": { "chatId": jonas_chat, "text": "Hello Jonas" } })).await;
    let late = last_reply(&app).await;
    delivered_status(&app, late.id, DeliveryStatus::Sent).await;
    assert_eq!(app.webhook(&ch.whatsapp, &fixture("whatsapp/status_failed_outside_window.json")).await, 200);
    let late = messages::Entity::find_by_id(late.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(late.delivery_status, Some(DeliveryStatus::Failed));
    // The same reason as when the send call itself returns 131047 (see
    // permanent_errors_fail_without_retry), and visible through the API.
    let reason = late.delivery_error.unwrap();
    assert!(reason.starts_with("OUTSIDE_MESSAGING_WINDOW: 131047: "), "{reason}");
    let data = app
        .ok(Some(&token), "query($id: ID!) { chat(id: $id) { messages { edges { node { deliveryStatus deliveryError } } } } }", json!({ "id": jonas_chat }))
        .await;
    let last = data["chat"]["messages"]["edges"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["node"]["deliveryStatus"], "FAILED");
    assert_eq!(last["node"]["deliveryError"], reason.as_str());
    mock.verify().await;
}

async fn provider_down_then_up_delivers_once(backend: Backend) {
    let (app, mock) = app_with_providers(backend).await;
    Mock::given(method("POST"))
        .and(path("/bot7012345678:bot-token/sendMessage"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/bot7012345678:bot-token/sendMessage"))
        .and(body_partial_json(json!({ "chat_id": 523418907 })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json_fixture("telegram/send_response.json")))
        .expect(1)
        .with_priority(2)
        .mount(&mock)
        .await;
    let Reply { row: reply, .. } =
        agent_reply(&app, |ch| &ch.telegram, "telegram/text_message.json", "On it!").await;
    let sent = delivered_status(&app, reply.id, DeliveryStatus::Sent).await;
    assert_eq!(sent.provider_message_id.as_deref(), Some("523418907:1846"));
    let row = outbox::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!((row.status, row.attempts), (OutboxStatus::Sent, 3));
    // Nothing more is sent later.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let sends = mock
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/sendMessage"))
        .count();
    assert_eq!(sends, 3, "two failures, one success, nothing after");
    mock.verify().await;
}

async fn permanent_errors_fail_without_retry(backend: Backend) {
    let (app, mock) = app_with_providers(backend).await;
    Mock::given(method("POST"))
        .and(path("/109876543210987/messages"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json_fixture("whatsapp/send_error_outside_window.json")),
        )
        .expect(1)
        .mount(&mock)
        .await;
    let Reply { chat, token, row: reply, .. } =
        agent_reply(&app, |ch| &ch.whatsapp, "whatsapp/text_message.json", "Sorry for the delay").await;
    let failed = delivered_status(&app, reply.id, DeliveryStatus::Failed).await;
    let reason = failed.delivery_error.unwrap();
    assert!(reason.starts_with("OUTSIDE_MESSAGING_WINDOW: 131047: "), "{reason}");
    let data = app
        .ok(Some(&token), "query($id: ID!) { chat(id: $id) { messages { edges { node { deliveryStatus deliveryError } } } } }", json!({ "id": chat }))
        .await;
    let last = data["chat"]["messages"]["edges"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["node"]["deliveryStatus"], "FAILED");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    mock.verify().await;
}

async fn messenger_reply_and_its_echo(backend: Backend) {
    let (app, mock) = app_with_providers(backend).await;
    Mock::given(method("POST"))
        .and(path("/me/messages"))
        .and(body_partial_json(
            json!({ "recipient": { "id": "7391846205738461" }, "messaging_type": "RESPONSE" }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json_fixture("messenger/send_response.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let Reply { channels: ch, row: reply, .. } =
        agent_reply(&app, |ch| &ch.messenger, "messenger/text_message.json", "Hello Sofia").await;
    delivered_status(&app, reply.id, DeliveryStatus::Sent).await;
    // Messenger echoes our own reply back: recognised by its mid, not stored twice.
    let before = app.count("messages").await;
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/echo.json")).await, 200);
    assert_eq!(app.count("messages").await, before);
    // The read watermark covers it.
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/delivery.json")).await, 200);
    let later = json!({ "object": "page", "entry": [{ "id": "104857361029384", "time": 4102444800000i64, "messaging": [{
        "sender": { "id": "7391846205738461" }, "recipient": { "id": "104857361029384" },
        "timestamp": 4102444800000i64, "read": { "watermark": 4102444800000i64 } }] }] });
    assert_eq!(app.webhook(&ch.messenger, later.to_string().as_bytes()).await, 200);
    let read = messages::Entity::find_by_id(reply.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(read.delivery_status, Some(DeliveryStatus::Read));
    mock.verify().await;
}

/// The echo of our reply can overtake the Send API's answer (and a reply with files has an
/// echo per part, each with its own mid): the `metadata` Switchboard sends names the reply,
/// so no echo is stored as another message.
async fn messenger_echo_overtaking_the_send(backend: Backend) {
    let (app, mock) = app_with_providers(backend).await;
    Mock::given(method("POST"))
        .and(path("/me/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json_fixture("messenger/send_response.json"))
                .set_delay(std::time::Duration::from_secs(2)),
        )
        .expect(1)
        .mount(&mock)
        .await;
    let Reply { channels: ch, row: reply, .. } =
        agent_reply(&app, |ch| &ch.messenger, "messenger/text_message.json", "Hello Sofia").await;
    let send = eventually("the send to reach the provider", || async {
        let requests = mock.received_requests().await.unwrap_or_default();
        requests.into_iter().find(|r| r.method.as_str() == "POST" && r.url.path() == "/me/messages")
    })
    .await;
    let tag = format!("switchboard:{}", reply.id);
    assert_eq!(send.body_json::<Value>().unwrap()["message"]["metadata"], tag.as_str());

    // The provider has not answered yet: the reply has no mid when its echoes arrive.
    let before = app.count("messages").await;
    let mut echo = json_fixture("messenger/echo.json");
    echo["entry"][0]["messaging"][0]["message"]["metadata"] = Value::from(tag.as_str());
    assert_eq!(app.webhook(&ch.messenger, echo.to_string().as_bytes()).await, 200);
    echo["entry"][0]["messaging"][0]["message"]["mid"] = Value::from("m_second_part");
    assert_eq!(app.webhook(&ch.messenger, echo.to_string().as_bytes()).await, 200);
    let pending = messages::Entity::find_by_id(reply.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(pending.provider_message_id, None, "the echoes came before the send's answer");
    assert_eq!(app.count("messages").await, before, "no echo stored as a message");

    let sent = delivered_status(&app, reply.id, DeliveryStatus::Sent).await;
    let mid = json_fixture("messenger/send_response.json")["message_id"].as_str().unwrap().to_owned();
    assert_eq!(sent.provider_message_id.as_deref(), Some(mid.as_str()));
    assert_eq!(app.count("messages").await, before);

    // Metadata naming a message that is not one of our replies does not hide an echo.
    echo["entry"][0]["messaging"][0]["message"]["mid"] = Value::from("m_other_app");
    echo["entry"][0]["messaging"][0]["message"]["metadata"] = Value::from("switchboard:987654");
    assert_eq!(app.webhook(&ch.messenger, echo.to_string().as_bytes()).await, 200);
    assert_eq!(app.count("messages").await, before + 1);
    mock.verify().await;
}

/// Messenger's pre-process mode: a conversation a chatbot handed over goes back to it when
/// the agents are done with it (not at a transfer, which goes on in the child chat).
async fn a_chatbots_thread_is_handed_back_on_completion(backend: Backend) {
    let (app, mock) = app_with_providers(backend).await;
    Mock::given(method("POST"))
        .and(path("/me/pass_thread_control"))
        .and(body_partial_json(json!({ "recipient": { "id": "7391846205738461" } })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json_fixture("messenger/pass_thread_control_response.json")),
        )
        .expect(1)
        .mount(&mock)
        .await;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/standby_message.json")).await, 200);
    assert_eq!(app.webhook(&ch.messenger, &fixture("messenger/pass_thread_control.json")).await, 200);
    let (chat, chat_row, first) = newest_chat_to_agent(&app).await;

    // A transfer is not the end: the conversation goes on with another agent.
    let (second_id, second) = app.signed_in("second@example.com", Role::Agent).await;
    app.ok(
        Some(&admin),
        "mutation { updateSettings(input: { simultaneousChats: 0 }) { simultaneousChats } }",
        json!({}),
    )
    .await;
    app.ok(Some(&second), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({})).await;
    let transfer = "mutation($input: TransferChatInput!) { transferChat(input: $input) { id status } }";
    let input = json!({ "input": { "chatId": chat, "toAgentId": second_id } });
    let child =
        app.ok(Some(&first), transfer, input).await["transferChat"]["id"].as_str().unwrap().to_owned();
    let system = || async {
        messages::Entity::find()
            .filter(messages::Column::AuthorKind.eq(entity::enums::AuthorKind::System))
            .all(&app.db)
            .await
            .unwrap()
    };
    assert!(system().await.is_empty(), "no hand-back at a transfer");

    let complete = "mutation($id: ID!) { completeChat(chatId: $id) { status } }";
    app.ok(Some(&second), complete, json!({ "id": child })).await;
    let notices = system().await;
    assert_eq!(notices.len(), 1);
    let notice = &notices[0];
    assert_ne!(notice.chat_id, chat_row, "the notice is in the chat that completed");
    assert_eq!(notice.text.as_deref(), Some(api::domain::messages::HAND_BACK_TEXT));
    let done = delivered_status(&app, notice.id, DeliveryStatus::Sent).await;
    assert_eq!(done.provider_message_id, None);
    let calls = mock.received_requests().await.unwrap();
    let call = calls.iter().find(|r| r.url.path() == "/me/pass_thread_control").unwrap();
    let body: Value = call.body_json().unwrap();
    assert_eq!(body["metadata"], api::domain::messages::HAND_BACK_TEXT);
    assert!(body.get("target_app_id").is_none(), "the primary receiver is the default target");

    // A conversation that did not come from a chatbot is not handed anywhere.
    let (other, _, owner) =
        chat_owned_by_agent(&app, &ch.telegram, &fixture("telegram/text_message.json")).await;
    app.ok(Some(&owner), complete, json!({ "id": other })).await;
    assert_eq!(system().await.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    mock.verify().await;
}

async fn who_may_reply(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let (chat, chat_row, owner) =
        chat_owned_by_agent(&app, &ch.telegram, &fixture("telegram/text_message.json")).await;
    let (_, other) = app.signed_in("other@example.com", Role::Agent).await;
    let (_, analyst) = app.signed_in("nina@example.com", Role::Analyst).await;
    let send = |text: &str| json!({ "input": { "chatId": chat, "text": text } });
    assert_eq!(
        app.error_code(Some(&other), SEND, send("hi")).await,
        "NOT_FOUND",
        "other agents cannot see the chat"
    );
    assert_eq!(app.error_code(Some(&analyst), SEND, send("hi")).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&owner), SEND, send("   ")).await, "BAD_USER_INPUT");
    assert_eq!(app.error_code(Some(&owner), SEND, send(&"x".repeat(4097))).await, "BAD_USER_INPUT");
    let unknown =
        json!({ "input": { "chatId": api::graphql::ids::encode("Chat", 424_242).0, "text": "hi" } });
    assert_eq!(app.error_code(Some(&owner), SEND, unknown).await, "NOT_FOUND");
    let mut row: chats::ActiveModel =
        chats::Entity::find_by_id(chat_row).one(&app.db).await.unwrap().unwrap().into();
    row.status = Set(ChatStatus::Completed);
    row.update(&app.db).await.unwrap();
    assert_eq!(app.error_code(Some(&owner), SEND, send("hi")).await, "INVALID_STATE");
    assert_eq!(app.count("outbox").await, 0, "refused replies write nothing");
    assert_eq!(app.count("messages").await, 1);
}

async fn a_restart_resumes_pending_deliveries(backend: Backend) {
    let (url, dir) = crate::support::fresh_database(backend).await;
    // First instance: the provider is unreachable (a closed port), and it gives up only late.
    let first = TestApp::start(url.clone(), None, |config| config.delivery_max_attempts = 1000).await;
    let admin = first.admin().await;
    let ch = first.channels(&admin).await;
    let (chat, _, token) =
        chat_owned_by_agent(&first, &ch.telegram, &fixture("telegram/text_message.json")).await;
    first.ok(Some(&token), SEND, json!({ "input": { "chatId": chat, "text": "Still there?" } })).await;
    eventually("a failed attempt", || async {
        let row = outbox::Entity::find().one(&first.db).await.unwrap().unwrap();
        (row.attempts >= 1 && row.status == OutboxStatus::Pending).then_some(())
    })
    .await;
    drop(first);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bot7012345678:bot-token/sendMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json_fixture("telegram/send_response.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let uri = mock.uri();
    let second = TestApp::start(url, dir, |config| providers_at(config, &uri)).await;
    let reply = last_reply(&second).await;
    delivered_status(&second, reply.id, DeliveryStatus::Sent).await;
    mock.verify().await;
}

async fn media_files_in_and_out(backend: Backend) {
    let mock = MockServer::start().await;
    let uri = mock.uri();
    // 60 bytes allowed: the image fits, the PDF does not.
    let app = TestApp::spawn_with(backend, |config| {
        providers_at(config, &uri);
        config.max_file_bytes = 60;
    })
    .await;
    let jpeg = b"\xff\xd8\xff\xe0 a tiny jpeg".to_vec();
    Mock::given(method("GET"))
        .and(path("/1043857298110472"))
        .and(header("authorization", "Bearer wa-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "url": format!("{uri}/download/1043857298110472"), "mime_type": "image/jpeg",
            "sha256": "x", "file_size": jpeg.len().to_string(), "id": "1043857298110472", "messaging_product": "whatsapp" })))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/download/1043857298110472"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/jpeg")
                .set_body_bytes(jpeg.clone()),
        )
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/download/big.pdf"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/pdf")
                .set_body_bytes(vec![b'%'; 500]),
        )
        .mount(&mock)
        .await;
    let admin = app.admin().await;
    let ch: Channels = app.channels(&admin).await;
    let (chat, _, owner) =
        chat_owned_by_agent(&app, &ch.whatsapp, &fixture("whatsapp/image_message.json")).await;
    let stored = eventually("the image to be stored", || async {
        let row = attachments::Entity::find().one(&app.db).await.unwrap().unwrap();
        (row.status == AttachmentStatus::Stored).then_some(row)
    })
    .await;
    assert_eq!(stored.content_type.as_deref(), Some("image/jpeg"));
    let data = app
        .ok(Some(&owner), "query($id: ID!) { chat(id: $id) { messages { edges { node { attachments { id url status } } } } } }", json!({ "id": chat }))
        .await;
    let url =
        data["chat"]["messages"]["edges"][0]["node"]["attachments"][0]["url"].as_str().unwrap().to_owned();
    let download = app.http.get(format!("{}{url}", app.base)).bearer_auth(&owner).send().await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "image/jpeg");
    assert_eq!(download.bytes().await.unwrap().to_vec(), jpeg);
    assert_eq!(app.http.get(format!("{}{url}", app.base)).send().await.unwrap().status(), 401);
    let (_, stranger) = app.signed_in("stranger@example.com", Role::Agent).await;
    assert_eq!(
        app.http.get(format!("{}{url}", app.base)).bearer_auth(&stranger).send().await.unwrap().status(),
        403
    );

    // The attachment is a Node: its owner fetches it by id, an agent who may not read the
    // chat gets null.
    let attachment = &data["chat"]["messages"]["edges"][0]["node"]["attachments"][0];
    let node = "query($id: ID!) { node(id: $id) { id ... on Attachment { url status } } }";
    let fetched = app.ok(Some(&owner), node, json!({ "id": attachment["id"] })).await;
    assert_eq!(fetched["node"], *attachment);
    let hidden = app.gql(Some(&stranger), node, json!({ "id": attachment["id"] })).await;
    assert_eq!(hidden, json!({ "data": { "node": null } }));

    // A Messenger file over the limit is refused, and the attachment says so.
    let mut file: Value = json_fixture("messenger/attachment_file.json");
    file["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["url"] =
        json!(format!("{uri}/download/big.pdf"));
    assert_eq!(app.webhook(&ch.messenger, file.to_string().as_bytes()).await, 200);
    let refused = eventually("the PDF to be refused", || async {
        let rows = attachments::Entity::find()
            .filter(attachments::Column::Status.eq(AttachmentStatus::Refused))
            .all(&app.db)
            .await
            .unwrap();
        rows.into_iter().next()
    })
    .await;
    assert!(refused.error.unwrap().contains("limit"));
    assert!(refused.storage_key.is_none());

    // An agent's file goes out as a Telegram document, uploaded with the multipart spec.
    Mock::given(method("POST"))
        .and(path("/bot7012345678:bot-token/sendDocument"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json_fixture("telegram/send_document_response.json")),
        )
        .expect(1)
        .mount(&mock)
        .await;
    let (tg_chat, _, tg_owner) =
        chat_owned_by_agent(&app, &ch.telegram, &fixture("telegram/text_message.json")).await;
    let operations = json!({ "query": SEND, "variables": { "input": { "chatId": tg_chat, "text": "Your invoice", "files": [null] } } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.input.files.0"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"hello".to_vec())
                .file_name("note.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let body: Value = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&tg_owner)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    let reply = last_reply(&app).await;
    delivered_status(&app, reply.id, DeliveryStatus::Sent).await;
    let sent_file = attachments::Entity::find()
        .filter(attachments::Column::MessageId.eq(reply.id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent_file.file_name.as_deref(), Some("note.txt"));
    mock.verify().await;
}

on_both_backends!(
    whatsapp_reply_and_statuses,
    provider_down_then_up_delivers_once,
    permanent_errors_fail_without_retry,
    messenger_reply_and_its_echo,
    messenger_echo_overtaking_the_send,
    a_chatbots_thread_is_handed_back_on_completion,
    who_may_reply,
    a_restart_resumes_pending_deliveries,
    media_files_in_and_out,
);
