//! Enumerations of the data model, stored as upper-case strings so a new value never
//! needs a schema change.

use sea_orm::entity::prelude::*;

/// Role of an agent account, deciding what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Role {
    /// `AGENT`: Handles chats from the queues it belongs to.
    #[sea_orm(string_value = "AGENT")]
    Agent,
    /// `SUPERVISOR`: Agent who also oversees queues and other agents.
    #[sea_orm(string_value = "SUPERVISOR")]
    Supervisor,
    /// `ADMIN`: Manages configuration, agents, queues and channels.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    /// `ANALYST`: Read-only access to reports and history.
    #[sea_orm(string_value = "ANALYST")]
    Analyst,
    /// `BOT`: Automated participant (chat bot) acting through the API.
    #[sea_orm(string_value = "BOT")]
    Bot,
}

impl Role {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Agent => "AGENT",
            Self::Supervisor => "SUPERVISOR",
            Self::Admin => "ADMIN",
            Self::Analyst => "ANALYST",
            Self::Bot => "BOT",
        }
    }
}

/// Availability an agent chose for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum AgentStatus {
    /// `ACTIVE`: Ready to receive chats.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// `INACTIVE`: Not receiving chats.
    #[sea_orm(string_value = "INACTIVE")]
    Inactive,
}

impl AgentStatus {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Inactive => "INACTIVE",
        }
    }
}

/// How a queue distributes waiting chats to its agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RoutingRule {
    /// `TO_ALL_AGENTS`: Offer each chat to every available agent of the queue at once.
    #[sea_orm(string_value = "TO_ALL_AGENTS")]
    ToAllAgents,
    /// `TO_AVAILABLE_AGENT`: Offer each chat to one available agent at a time.
    #[sea_orm(string_value = "TO_AVAILABLE_AGENT")]
    ToAvailableAgent,
}

impl RoutingRule {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ToAllAgents => "TO_ALL_AGENTS",
            Self::ToAvailableAgent => "TO_AVAILABLE_AGENT",
        }
    }
}

/// Messaging provider a channel (and a contact identity) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ChannelKind {
    /// `WHATSAPP`: WhatsApp.
    #[sea_orm(string_value = "WHATSAPP")]
    Whatsapp,
    /// `MESSENGER`: Facebook Messenger.
    #[sea_orm(string_value = "MESSENGER")]
    Messenger,
    /// `TELEGRAM`: Telegram.
    #[sea_orm(string_value = "TELEGRAM")]
    Telegram,
}

impl ChannelKind {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Whatsapp => "WHATSAPP",
            Self::Messenger => "MESSENGER",
            Self::Telegram => "TELEGRAM",
        }
    }
}

/// Life-cycle state of a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ChatStatus {
    /// `BOT_PROCESSING`: A bot is handling the chat before any agent.
    #[sea_orm(string_value = "BOT_PROCESSING")]
    BotProcessing,
    /// `WAITING`: Waiting in its queue for an agent.
    #[sea_orm(string_value = "WAITING")]
    Waiting,
    /// `IN_PROGRESS`: Accepted by an agent, who now owns it.
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    /// `COMPLETED`: Closed; see the completion reason.
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
}

impl ChatStatus {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::BotProcessing => "BOT_PROCESSING",
            Self::Waiting => "WAITING",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
        }
    }
}

/// Why a chat was completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CompletionReason {
    /// `AGENT`: Closed by its owning agent.
    #[sea_orm(string_value = "AGENT")]
    Agent,
    /// `SUPERVISOR`: Closed by a supervisor.
    #[sea_orm(string_value = "SUPERVISOR")]
    Supervisor,
    /// `TIMEOUT`: Closed automatically when its time limit ran out.
    #[sea_orm(string_value = "TIMEOUT")]
    Timeout,
    /// `TRANSFERRED`: Closed because it was transferred (continued in a child chat).
    #[sea_orm(string_value = "TRANSFERRED")]
    Transferred,
    /// `BOT_HANDOVER`: Bot phase ended by handing the chat over to agents.
    #[sea_orm(string_value = "BOT_HANDOVER")]
    BotHandover,
    /// `BOT_TIMEOUT`: Bot phase ended by its time limit.
    #[sea_orm(string_value = "BOT_TIMEOUT")]
    BotTimeout,
    /// `BOT_TOOK_BACK`: Agent chat ended because the chatbot took the thread back; a bot chat
    /// continues it.
    #[sea_orm(string_value = "BOT_TOOK_BACK")]
    BotTookBack,
}

impl CompletionReason {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Agent => "AGENT",
            Self::Supervisor => "SUPERVISOR",
            Self::Timeout => "TIMEOUT",
            Self::Transferred => "TRANSFERRED",
            Self::BotHandover => "BOT_HANDOVER",
            Self::BotTimeout => "BOT_TIMEOUT",
            Self::BotTookBack => "BOT_TOOK_BACK",
        }
    }
}

/// Whether a message came from the contact or goes to the contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Direction {
    /// `INCOMING`: Received from the contact through the channel.
    #[sea_orm(string_value = "INCOMING")]
    Incoming,
    /// `OUTGOING`: Sent to the contact through the channel.
    #[sea_orm(string_value = "OUTGOING")]
    Outgoing,
}

impl Direction {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Incoming => "INCOMING",
            Self::Outgoing => "OUTGOING",
        }
    }
}

/// Who wrote a message or a reaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum AuthorKind {
    /// `CONTACT`: The contact (customer).
    #[sea_orm(string_value = "CONTACT")]
    Contact,
    /// `AGENT`: An agent.
    #[sea_orm(string_value = "AGENT")]
    Agent,
    /// `BOT`: A bot.
    #[sea_orm(string_value = "BOT")]
    Bot,
    /// `SYSTEM`: The system itself (automatic notices).
    #[sea_orm(string_value = "SYSTEM")]
    System,
}

impl AuthorKind {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Contact => "CONTACT",
            Self::Agent => "AGENT",
            Self::Bot => "BOT",
            Self::System => "SYSTEM",
        }
    }
}

/// Content type of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum MessageKind {
    /// `TEXT`: Plain text.
    #[sea_orm(string_value = "TEXT")]
    Text,
    /// `IMAGE`: Image.
    #[sea_orm(string_value = "IMAGE")]
    Image,
    /// `DOCUMENT`: Document file.
    #[sea_orm(string_value = "DOCUMENT")]
    Document,
    /// `AUDIO`: Audio or voice note.
    #[sea_orm(string_value = "AUDIO")]
    Audio,
    /// `VIDEO`: Video.
    #[sea_orm(string_value = "VIDEO")]
    Video,
    /// `LOCATION`: Geographic location.
    #[sea_orm(string_value = "LOCATION")]
    Location,
    /// `CONTACT`: Shared contact card.
    #[sea_orm(string_value = "CONTACT")]
    Contact,
    /// `STICKER`: Sticker.
    #[sea_orm(string_value = "STICKER")]
    Sticker,
    /// `UNSUPPORTED`: Content the provider sent that Switchboard cannot represent.
    #[sea_orm(string_value = "UNSUPPORTED")]
    Unsupported,
}

impl MessageKind {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Text => "TEXT",
            Self::Image => "IMAGE",
            Self::Document => "DOCUMENT",
            Self::Audio => "AUDIO",
            Self::Video => "VIDEO",
            Self::Location => "LOCATION",
            Self::Contact => "CONTACT",
            Self::Sticker => "STICKER",
            Self::Unsupported => "UNSUPPORTED",
        }
    }
}

/// Provider delivery state of an outgoing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum DeliveryStatus {
    /// `PENDING`: Not yet accepted by the provider.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// `SENT`: Accepted by the provider.
    #[sea_orm(string_value = "SENT")]
    Sent,
    /// `DELIVERED`: Delivered to the contact's device.
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    /// `READ`: Read by the contact.
    #[sea_orm(string_value = "READ")]
    Read,
    /// `FAILED`: Could not be delivered.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

impl DeliveryStatus {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Sent => "SENT",
            Self::Delivered => "DELIVERED",
            Self::Read => "READ",
            Self::Failed => "FAILED",
        }
    }
}

/// Storage state of an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum AttachmentStatus {
    /// `PENDING`: Not yet downloaded or stored.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// `STORED`: Stored; `storage_key` points at the file.
    #[sea_orm(string_value = "STORED")]
    Stored,
    /// `REFUSED`: Refused (too large, forbidden type, ...).
    #[sea_orm(string_value = "REFUSED")]
    Refused,
    /// `FAILED`: Download or storage failed.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

impl AttachmentStatus {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Stored => "STORED",
            Self::Refused => "REFUSED",
            Self::Failed => "FAILED",
        }
    }
}

/// How an agent (or queue) became involved with a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum AssignmentKind {
    /// `OFFER`: The chat was offered to the agent by routing.
    #[sea_orm(string_value = "OFFER")]
    Offer,
    /// `DIRECTION`: The chat was directed to a specific agent.
    #[sea_orm(string_value = "DIRECTION")]
    Direction,
    /// `ACCEPTANCE`: The agent accepted the chat.
    #[sea_orm(string_value = "ACCEPTANCE")]
    Acceptance,
    /// `TRANSFER`: The chat was transferred to the agent or queue.
    #[sea_orm(string_value = "TRANSFER")]
    Transfer,
}

impl AssignmentKind {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Offer => "OFFER",
            Self::Direction => "DIRECTION",
            Self::Acceptance => "ACCEPTANCE",
            Self::Transfer => "TRANSFER",
        }
    }
}

/// How an assignment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum AssignmentOutcome {
    /// `ACCEPTED`: The agent accepted the chat.
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    /// `TAKEN_BY_OTHER`: Another agent accepted the chat first.
    #[sea_orm(string_value = "TAKEN_BY_OTHER")]
    TakenByOther,
    /// `LAPSED`: The deadline passed without an answer.
    #[sea_orm(string_value = "LAPSED")]
    Lapsed,
    /// `WITHDRAWN`: Withdrawn (agent went inactive, chat closed, ...).
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
    /// `TRANSFERRED`: The chat was transferred away.
    #[sea_orm(string_value = "TRANSFERRED")]
    Transferred,
    /// `COMPLETED`: The chat was completed.
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
}

impl AssignmentOutcome {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Accepted => "ACCEPTED",
            Self::TakenByOther => "TAKEN_BY_OTHER",
            Self::Lapsed => "LAPSED",
            Self::Withdrawn => "WITHDRAWN",
            Self::Transferred => "TRANSFERRED",
            Self::Completed => "COMPLETED",
        }
    }
}

/// Where a case was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CaseSource {
    /// `CHAT`: From a chat.
    #[sea_orm(string_value = "CHAT")]
    Chat,
    /// `EMAIL`: From an email.
    #[sea_orm(string_value = "EMAIL")]
    Email,
    /// `PHONE`: From a phone call.
    #[sea_orm(string_value = "PHONE")]
    Phone,
    /// `OTHER`: From anywhere else.
    #[sea_orm(string_value = "OTHER")]
    Other,
}

impl CaseSource {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Chat => "CHAT",
            Self::Email => "EMAIL",
            Self::Phone => "PHONE",
            Self::Other => "OTHER",
        }
    }
}

/// Life-cycle state of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CaseStatus {
    /// `NEW`: Registered, not yet worked on.
    #[sea_orm(string_value = "NEW")]
    New,
    /// `IN_PROGRESS`: Being worked on.
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    /// `RESOLVED`: Resolved, awaiting closure.
    #[sea_orm(string_value = "RESOLVED")]
    Resolved,
    /// `CLOSED`: Closed.
    #[sea_orm(string_value = "CLOSED")]
    Closed,
}

impl CaseStatus {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::InProgress => "IN_PROGRESS",
            Self::Resolved => "RESOLVED",
            Self::Closed => "CLOSED",
        }
    }
}

/// State of an outbox entry (a message waiting to be sent to a provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum OutboxStatus {
    /// `PENDING`: Waiting for (another) delivery attempt.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// `SENT`: Handed to the provider.
    #[sea_orm(string_value = "SENT")]
    Sent,
    /// `FAILED`: Gave up after the last attempt.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

impl OutboxStatus {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Sent => "SENT",
            Self::Failed => "FAILED",
        }
    }
}

/// What a chat action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ChatActionKind {
    /// `CREATE_CASE`: Raises a case from the chat.
    #[sea_orm(string_value = "CREATE_CASE")]
    CreateCase,
    /// `WEBHOOK`: Posts the chat, contact, agent and action to a URL, signed.
    #[sea_orm(string_value = "WEBHOOK")]
    Webhook,
}

impl ChatActionKind {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::CreateCase => "CREATE_CASE",
            Self::Webhook => "WEBHOOK",
        }
    }
}

/// Delivery state of a chat action's webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ChatActionRunStatus {
    /// `PENDING`: Waiting for (another) delivery attempt.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// `DELIVERED`: The receiver answered 2xx.
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    /// `FAILED`: Gave up after the last attempt.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

impl ChatActionRunStatus {
    /// The string stored in the database (and used in logs and event payloads).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Delivered => "DELIVERED",
            Self::Failed => "FAILED",
        }
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveEnum, Iterable};

    use super::*;

    /// `as_str` is what the database stores: raw SQL binds it (ingestion's one-statement
    /// append) or writes it as a literal (status filters), and sea-orm reads it back.
    #[test]
    fn as_str_is_the_stored_string() {
        macro_rules! check {
            ($($enum:ty),* $(,)?) => {$(
                for value in <$enum>::iter() {
                    assert_eq!(value.as_str(), value.to_value(), "{value:?}");
                }
            )*};
        }
        check!(
            Role,
            AgentStatus,
            RoutingRule,
            ChannelKind,
            ChatStatus,
            CompletionReason,
            Direction,
            AuthorKind,
            MessageKind,
            DeliveryStatus,
            AttachmentStatus,
            AssignmentKind,
            AssignmentOutcome,
            CaseSource,
            CaseStatus,
            OutboxStatus,
            ChatActionKind,
            ChatActionRunStatus,
        );
    }
}
