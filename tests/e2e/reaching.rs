//! The steps of the tests that start chats (`initiate.rs`, and the clocked ones): a queue
//! with one signed-in agent and one channel per provider, the providers faked by wiremock,
//! customers writing through signed webhooks, and chats served and completed.

use entity::enums::{DeliveryStatus, Role};
use entity::{chats, messages};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::scenario::{ACCEPT, offered_to, telegram};
use crate::support::{Backend, Channels, TestApp, eventually, fixture, providers_at};

/// `initiateChat`, asking for everything the tests check.
pub(crate) const INITIATE: &str = "mutation($input: InitiateChatInput!) { initiateChat(input: $input) { \
    chat { id status owner { email } queue { id } channel { id } acceptedAt } \
    message { id text deliveryStatus } } }";
/// `canInitiateChat`, with every field.
pub(crate) const CAN_INITIATE: &str = "query($contact: ID!, $channel: ID!) { canInitiateChat(contactId: $contact, channelId: $channel) { \
    canInitiate reason templateOnly lastIncomingAt windowClosesAt openChatId channel { id kind } } }";
/// `completeChat`.
pub(crate) const COMPLETE: &str = "mutation($id: ID!) { completeChat(chatId: $id) { status } }";
/// `sendMessage`.
pub(crate) const SEND: &str =
    "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id text deliveryStatus } }";
/// `sendTemplate`.
pub(crate) const SEND_TEMPLATE: &str =
    "mutation($input: SendTemplateInput!) { sendTemplate(input: $input) { id text deliveryStatus } }";
/// `createMessageTemplate`.
pub(crate) const CREATE_TEMPLATE: &str = "mutation($input: CreateMessageTemplateInput!) { createMessageTemplate(input: $input) { \
    id name languageCode bodyText parameterCount channel { id } } }";

/// WhatsApp's phone-number id in the test channel's credentials.
pub(crate) const PHONE_NUMBER_ID: &str = "109876543210987";
/// The WhatsApp customer's number.
pub(crate) const WA_ID: &str = "447700900123";
/// The Messenger customer's page-scoped id.
pub(crate) const PSID: &str = "7391846205738461";
/// The Telegram customer's user (and chat) id.
pub(crate) const TELEGRAM_USER: i64 = 5501;

/// A provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Provider {
    Whatsapp,
    Messenger,
    Telegram,
}

/// All three, in the order of [`Channels::ids`].
pub(crate) const PROVIDERS: [Provider; 3] = [Provider::Whatsapp, Provider::Messenger, Provider::Telegram];

impl Provider {
    fn index(self) -> usize {
        match self {
            Self::Whatsapp => 0,
            Self::Messenger => 1,
            Self::Telegram => 2,
        }
    }

    /// The path the provider fake receives a text message on.
    pub(crate) fn send_path(self) -> String {
        match self {
            Self::Whatsapp => format!("/{PHONE_NUMBER_ID}/messages"),
            Self::Messenger => "/me/messages".into(),
            Self::Telegram => "/bot7012345678:bot-token/sendMessage".into(),
        }
    }

    /// The customer's message number `n` (unique provider ids per `n`).
    pub(crate) fn customer_message(self, n: i64, text: &str) -> Vec<u8> {
        match self {
            Self::Whatsapp => json!({ "object": "whatsapp_business_account", "entry": [{ "id": "102938475610293",
                "changes": [{ "field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": { "display_phone_number": "15550101234", "phone_number_id": PHONE_NUMBER_ID },
                    "contacts": [{ "profile": { "name": "Amelia Hart" }, "wa_id": WA_ID }],
                    "messages": [{ "from": WA_ID, "id": format!("wamid.initiate-{n}"), "timestamp": "1773134100",
                        "type": "text", "text": { "body": text } }] } }] }] })
            .to_string()
            .into_bytes(),
            Self::Messenger => json!({ "object": "page", "entry": [{ "id": "104857361029384", "time": 1773135000592_i64,
                "messaging": [{ "sender": { "id": PSID }, "recipient": { "id": "104857361029384" },
                    "timestamp": 1773135000412_i64, "message": { "mid": format!("m_initiate-{n}"), "text": text } }] }] })
            .to_string()
            .into_bytes(),
            Self::Telegram => telegram(TELEGRAM_USER, n, text),
        }
    }

    /// Whether a request the fake received was sent to this provider's customer.
    pub(crate) fn is_to_customer(self, body: &Value) -> bool {
        match self {
            Self::Whatsapp => body["to"] == WA_ID,
            Self::Messenger => body["recipient"]["id"] == PSID,
            Self::Telegram => body["chat_id"] == TELEGRAM_USER,
        }
    }
}

/// A server with providers faked, an admin, one agent in the channels' queue.
pub(crate) struct World {
    pub app: TestApp,
    pub mock: MockServer,
    pub admin: String,
    pub queue: String,
    pub channels: Channels,
    /// The agent's token.
    pub agent: String,
}

/// A provider fake's answer to a send, with a new message id each time (stored message ids
/// are unique per channel, so a fixed one would fail every send after the first).
struct Answer {
    provider: Provider,
    next: std::sync::atomic::AtomicI64,
}

impl wiremock::Respond for Answer {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = match self.provider {
            Provider::Whatsapp => json!({ "messaging_product": "whatsapp",
                "contacts": [{ "input": WA_ID, "wa_id": WA_ID }], "messages": [{ "id": format!("wamid.sent-{n}") }] }),
            Provider::Messenger => json!({ "recipient_id": PSID, "message_id": format!("m_sent-{n}") }),
            Provider::Telegram => {
                let mut body: Value =
                    serde_json::from_slice(&fixture("telegram/send_response.json")).unwrap();
                body["result"]["message_id"] = json!(2000 + n);
                body["result"]["chat"]["id"] = json!(TELEGRAM_USER);
                body
            }
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// Mounts the providers' send endpoints.
async fn mount_provider_fakes(mock: &MockServer) {
    for provider in PROVIDERS {
        Mock::given(method("POST"))
            .and(path(provider.send_path()))
            .respond_with(Answer { provider, next: std::sync::atomic::AtomicI64::new(1) })
            .mount(mock)
            .await;
    }
}

/// A fresh [`World`].
pub(crate) async fn world(backend: Backend) -> World {
    let mock = MockServer::start().await;
    mount_provider_fakes(&mock).await;
    let uri = mock.uri();
    let app = TestApp::spawn_with(backend, |config| providers_at(config, &uri)).await;
    let admin = app.admin().await;
    let channels = app.channels(&admin).await;
    let queue = app.ok(Some(&admin), "{ queues { edges { node { id } } } }", json!({})).await["queues"]["edges"][0]
        ["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (agent_id, agent) = app.signed_in("agent@example.com", Role::Agent).await;
    app.ok(
        Some(&admin),
        "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
        json!({ "input": { "id": queue, "agentIds": [agent_id] } }),
    )
    .await;
    app.ok(Some(&agent), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({})).await;
    World { app, mock, admin, queue, channels, agent }
}

impl World {
    /// The channel's global id.
    pub(crate) fn channel(&self, provider: Provider) -> &str {
        &self.channels.ids[provider.index()]
    }

    /// The channel's webhook path.
    pub(crate) fn webhook_path(&self, provider: Provider) -> &str {
        match provider {
            Provider::Whatsapp => &self.channels.whatsapp,
            Provider::Messenger => &self.channels.messenger,
            Provider::Telegram => &self.channels.telegram,
        }
    }

    /// The provider's customer writes message `n`; returns the (global, row) id of its chat.
    pub(crate) async fn customer_writes(&self, provider: Provider, n: i64, text: &str) -> (String, i64) {
        let status = self.app.webhook(self.webhook_path(provider), &provider.customer_message(n, text)).await;
        assert_eq!(status, 200, "the {provider:?} webhook is accepted");
        let chat =
            chats::Entity::find().order_by_desc(chats::Column::Id).one(&self.app.db).await.unwrap().unwrap();
        (api::graphql::ids::encode("Chat", chat.id).0, chat.id)
    }

    /// The provider's customer writes; the agent accepts the chat and completes it. Returns
    /// the contact's global id.
    pub(crate) async fn served_and_completed(&self, provider: Provider) -> String {
        let (chat, row) = self.customer_writes(provider, 1, "Hello, I have a question").await;
        offered_to(&self.app, &self.agent, &chat).await;
        self.app.ok(Some(&self.agent), ACCEPT, json!({ "id": chat })).await;
        self.app.ok(Some(&self.agent), COMPLETE, json!({ "id": chat })).await;
        let row = chats::Entity::find_by_id(row).one(&self.app.db).await.unwrap().unwrap();
        api::graphql::ids::encode("Contact", row.contact_id).0
    }

    /// `initiateChat` with text, as the whole answer.
    pub(crate) async fn initiate(&self, token: &str, contact: &str, provider: Provider, text: &str) -> Value {
        let input = json!({ "contactId": contact, "channelId": self.channel(provider), "text": text });
        self.app.gql(Some(token), INITIATE, json!({ "input": input })).await
    }

    /// `canInitiateChat` as the agent.
    pub(crate) async fn can_initiate(&self, contact: &str, provider: Provider) -> Value {
        let variables = json!({ "contact": contact, "channel": self.channel(provider) });
        self.app.ok(Some(&self.agent), CAN_INITIATE, variables).await["canInitiateChat"].clone()
    }

    /// Rows of chats, messages and outbox, to show a refusal wrote nothing.
    pub(crate) async fn written(&self) -> [i64; 3] {
        [self.app.count("chats").await, self.app.count("messages").await, self.app.count("outbox").await]
    }

    /// Waits until the message is SENT by the delivery worker.
    pub(crate) async fn sent(&self, message: &Value) -> messages::Model {
        let id = api::graphql::ids::decode(
            &async_graphql::ID(message["id"].as_str().unwrap().to_owned()),
            "Message",
        )
        .unwrap();
        eventually("the message to be sent", || async {
            let row = messages::Entity::find_by_id(id).one(&self.app.db).await.unwrap().unwrap();
            (row.delivery_status == Some(DeliveryStatus::Sent)).then_some(row)
        })
        .await
    }

    /// The JSON bodies the provider fake received on `path`, oldest first.
    pub(crate) async fn received(&self, path: &str) -> Vec<Value> {
        let requests = self.mock.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter(|request| request.url.path() == path)
            .filter_map(|request| serde_json::from_slice(&request.body).ok())
            .collect()
    }

    /// Registers the test's WhatsApp template (two body parameters) and returns its id.
    pub(crate) async fn order_update_template(&self) -> String {
        let input = json!({ "channelId": self.channel(Provider::Whatsapp), "name": "order_update",
            "languageCode": "en_US", "bodyText": "Hi {{1}}, your order {{2}} has shipped." });
        let data = self.app.ok(Some(&self.admin), CREATE_TEMPLATE, json!({ "input": input })).await;
        data["createMessageTemplate"]["id"].as_str().unwrap().to_owned()
    }
}

/// The first error's code and extensions.
pub(crate) fn error_of(body: &Value) -> (String, Value) {
    let error = &body["errors"][0];
    let code = error["extensions"]["code"].as_str().unwrap_or_else(|| panic!("expected an error: {body:#}"));
    (code.to_owned(), error["extensions"].clone())
}

/// The template message the WhatsApp fake must receive for [`World::order_update_template`].
pub(crate) fn order_update_request(parameters: [&str; 2]) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "template",
        "template": {
            "name": "order_update",
            "language": { "code": "en_US" },
            "components": [{ "type": "body", "parameters": [
                { "type": "text", "text": parameters[0] },
                { "type": "text", "text": parameters[1] },
            ] }],
        },
    })
}
