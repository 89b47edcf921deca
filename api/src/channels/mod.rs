//! One adapter per provider: verify and parse webhooks into normalised events, and talk to the
//! provider's API (send replies, download media, fetch profiles).
//!
//! Nothing here touches the database: the adapters turn bytes into [`InboundEvent`]s and
//! [`OutboundMessage`]s into HTTP calls; `domain::ingest` and `jobs::delivery` do the rest.

pub mod client;
pub mod messenger;
pub mod signature;
pub mod telegram;
pub mod whatsapp;

use chrono::{DateTime, Utc};
use entity::enums::{AuthorKind, DeliveryStatus, Direction, MessageKind};

use crate::domain::ids::MessageId;

/// A webhook body that is not what the provider sends (answered with 400).
#[derive(Debug, thiserror::Error)]
#[error("malformed webhook body: {0}")]
pub struct ParseError(pub String);

/// Which channel a webhook arrived for, as far as parsing needs to know.
#[derive(Clone, Debug, Default)]
pub struct ChannelKeys {
    /// WhatsApp phone-number id; changes for another number are ignored.
    pub phone_number_id: Option<String>,
    /// Facebook page id; entries for another page are ignored.
    pub page_id: Option<String>,
}

/// The customer side of an event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Customer {
    /// Provider id of the customer: WhatsApp `wa_id` (the phone number), Messenger PSID,
    /// Telegram user id.
    pub external_id: String,
    /// Display name when the webhook carries one.
    pub name: Option<String>,
    /// Phone number (WhatsApp: the `wa_id` with a leading `+`).
    pub phone: Option<String>,
    /// Telegram `@username`, without the `@`.
    pub username: Option<String>,
}

/// Where a media file can be fetched from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaSource {
    /// WhatsApp media id: `GET /{media-id}` gives a short-lived URL needing the bearer token.
    WhatsappMedia(String),
    /// A URL to download directly (Messenger attachment payload URL).
    Url(String),
    /// Telegram `file_id`: `getFile` gives the path to download.
    TelegramFile(String),
}

/// A file that came with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundAttachment {
    /// What kind of file.
    pub kind: MessageKind,
    /// Where to download it from.
    pub source: MediaSource,
    /// File name when the provider gives one.
    pub file_name: Option<String>,
    /// MIME type when the provider gives one.
    pub content_type: Option<String>,
    /// Size in bytes when the provider gives it.
    pub size_bytes: Option<i64>,
}

/// A message to store: from the customer, or (echoes) written to them by a bot or another app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundMessage {
    /// The provider's id, unique per channel: WhatsApp `wamid`, Messenger `mid`, Telegram
    /// `"{chat_id}:{message_id}"`.
    pub provider_message_id: String,
    /// The customer the conversation is with (for echoes: the recipient).
    pub customer: Customer,
    /// INCOMING from the customer; OUTGOING for echoes of messages written to them.
    pub direction: Direction,
    /// CONTACT for the customer's messages; BOT for a chatbot's echoes; AGENT for echoes of
    /// replies written in the provider's own inbox.
    pub author_kind: AuthorKind,
    /// When the provider says it was sent.
    pub sent_at: DateTime<Utc>,
    /// What it carries. UNSUPPORTED messages are stored with a visible placeholder text.
    pub kind: MessageKind,
    /// Text, caption, or a readable rendering (a location, a shared contact, a placeholder).
    pub text: Option<String>,
    /// Files to download after the message is stored.
    pub attachments: Vec<InboundAttachment>,
    /// Messenger: arrived on `standby` (a chatbot owns the thread), so it is not routed.
    pub standby: bool,
}

/// How far an outgoing message got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusTarget {
    /// One message by its provider id.
    Message(String),
    /// Every outgoing message to `customer` sent at or before `up_to` (Messenger watermarks).
    Watermark {
        /// The customer's external id.
        customer: String,
        /// The watermark time.
        up_to: DateTime<Utc>,
    },
}

/// A delivery status change for outgoing messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusUpdate {
    /// Which messages.
    pub target: StatusTarget,
    /// The new status (SENT, DELIVERED, READ or FAILED).
    pub status: DeliveryStatus,
    /// The provider's reason for a failure, e.g. `"131047: Re-engagement message"`.
    pub error: Option<String>,
}

/// A customer edited a message (Telegram).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageEdit {
    /// The edited message's provider id (same scheme as [`InboundMessage`]).
    pub provider_message_id: String,
    /// The new text or caption.
    pub text: Option<String>,
    /// When it was edited.
    pub edited_at: DateTime<Utc>,
}

/// A customer reacted to a message; it never opens a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    /// The provider id of the message reacted to.
    pub provider_message_id: String,
    /// The customer.
    pub customer: Customer,
    /// The emoji; `None` when the reaction was removed.
    pub emoji: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Messenger handover protocol: thread control changed hands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handover {
    /// The chatbot passed the thread to us (`pass_thread_control`).
    PassedToUs {
        /// The customer's PSID.
        customer: String,
        /// Free text the bot attached.
        metadata: Option<String>,
        /// The apps the event names.
        apps: HandoverApps,
    },
    /// The chatbot took the thread back (`take_thread_control`).
    TakenBack {
        /// The customer's PSID.
        customer: String,
        /// The apps the event names.
        apps: HandoverApps,
    },
}

/// The app ids a handover event names (Meta sends them as strings or numbers; kept as
/// digits). Checked against the channel's configured app ids before anything changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandoverApps {
    /// `previous_owner_app_id`: the app that held the thread.
    pub previous_owner: Option<String>,
    /// `new_owner_app_id`: the app that holds it now.
    pub new_owner: Option<String>,
}

/// One thing a webhook told us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboundEvent {
    /// A message to store.
    Message(InboundMessage),
    /// The provider's echo of a message Switchboard sent (each part of it, for a reply with
    /// files), naming the stored message. Not stored again when that message is ours;
    /// stored as the message it carries otherwise.
    EchoOf(MessageId, InboundMessage),
    /// Delivery progress of outgoing messages.
    Status(StatusUpdate),
    /// An edit of a stored message.
    Edit(MessageEdit),
    /// A reaction to a stored message.
    Reaction(Reaction),
    /// Thread control changed (Messenger).
    Handover(Handover),
    /// Something a support back end ignores (group chats, typing, other numbers); the reason
    /// is logged.
    Ignored(String),
}

/// A file to send with a reply.
#[derive(Clone, Debug)]
pub struct OutboundFile {
    /// File name shown to the customer.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A reply to deliver.
#[derive(Clone, Debug)]
pub struct OutboundMessage {
    /// The stored message this delivers. Messenger sends it along (`metadata`) and echoes it
    /// back, so that the echo is recognised as this message whatever the order.
    pub message_id: MessageId,
    /// The customer's external id (WhatsApp phone, Messenger PSID, Telegram chat id).
    pub recipient: String,
    /// Text (for a single file: its caption).
    pub text: Option<String>,
    /// Files; each is sent as its own provider message after the text.
    pub files: Vec<OutboundFile>,
    /// Messenger: instead of sending anything, pass thread control back to the chatbot (the
    /// primary receiver), with the text as the handover's metadata. Other providers refuse it.
    pub hand_back: bool,
    /// WhatsApp: send this message template instead of the text (which is its rendered body,
    /// for our records). Other providers refuse it.
    pub template: Option<OutboundTemplate>,
}

/// A WhatsApp message template to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundTemplate {
    /// The template's name.
    pub name: String,
    /// Its language code.
    pub language_code: String,
    /// The body parameters, in order.
    pub parameters: Vec<String>,
}

/// How a delivery error caused by the 24-hour messaging window begins, whether the send call
/// returned it or a status webhook reported it later (`OUTSIDE_MESSAGING_WINDOW: 131047: ...`).
pub const OUTSIDE_WINDOW_PREFIX: &str = "OUTSIDE_MESSAGING_WINDOW";

/// Why a send failed, and whether trying again can help.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying (network error, 5xx, rate limit); `retry_after` when the provider says.
    #[error("temporary failure: {reason}")]
    Retryable {
        /// What went wrong.
        reason: String,
        /// Wait at least this long before retrying.
        retry_after: Option<std::time::Duration>,
    },
    /// Retrying cannot help (outside the messaging window, blocked, bad token).
    #[error("{reason}")]
    Permanent {
        /// What went wrong, with the provider's code.
        reason: String,
        /// True when the failure is the 24-hour messaging window.
        outside_window: bool,
    },
}

/// A downloaded media file.
#[derive(Clone, Debug)]
pub struct Downloaded {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// MIME type, from the provider or the response.
    pub content_type: Option<String>,
    /// File name, when known.
    pub file_name: Option<String>,
}

/// Why a media download failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The file is larger than allowed.
    #[error("file is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The download failed (worth retrying).
    #[error("download failed: {0}")]
    Failed(String),
}

/// What a provider tells about a customer beyond the webhook.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// Full name.
    pub name: Option<String>,
    /// A picture URL (Messenger).
    pub photo_url: Option<String>,
    /// A picture to download and store (Telegram: a file id; its URL would contain the token).
    pub photo_file: Option<MediaSource>,
}
