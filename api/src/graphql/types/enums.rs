//! GraphQL enums, each mirroring a stored enumeration (`remote` generates the conversions).

use async_graphql::Enum;

/// What an agent may do.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::Role")]
pub enum Role {
    /// Accepts and answers chats.
    Agent,
    /// An agent who may also act on every chat and watch queues.
    Supervisor,
    /// Manages agents, queues, channels, templates and settings.
    Admin,
    /// Reads history and analytics; changes nothing.
    Analyst,
    /// An external chatbot platform.
    Bot,
}

/// The status an agent chooses.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::AgentStatus")]
pub enum AgentStatus {
    /// Receives new chats (while signed in and under capacity).
    Active,
    /// Receives no new chats; keeps answering the ones they have.
    Inactive,
}

/// Whether an agent can be given new chats right now (derived, never set by hand).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::presence::Availability")]
pub enum Availability {
    /// Signed in, chose ACTIVE and under capacity.
    Active,
    /// Chose INACTIVE or signed out.
    Inactive,
    /// Holds as many chats as the `SimultaneousChats` setting allows.
    ChatsExceeded,
}

/// How a queue hands new chats to its agents.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::RoutingRule")]
pub enum RoutingRule {
    /// Offered to every signed-in, active agent of the queue under capacity; first to accept wins.
    ToAllAgents,
    /// Directed to one agent: fewest open chats, then longest since their last accept.
    ToAvailableAgent,
}

/// Which provider a channel connects.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::ChannelKind")]
pub enum ChannelKind {
    /// WhatsApp Business (Cloud API) phone number.
    Whatsapp,
    /// Facebook page (Messenger Platform).
    Messenger,
    /// Telegram bot.
    Telegram,
}

/// Where a chat is in its life.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::ChatStatus")]
pub enum ChatStatus {
    /// Handled by a chatbot; not routed.
    BotProcessing,
    /// New, waiting for an agent to accept it.
    Waiting,
    /// Accepted; the owner is answering.
    InProgress,
    /// Finished.
    Completed,
}

/// Why a chat was completed.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::CompletionReason")]
pub enum CompletionReason {
    /// Its owner completed it.
    Agent,
    /// A supervisor completed it.
    Supervisor,
    /// The completion timeout passed after the last agent reply.
    Timeout,
    /// It was transferred; the child chat continues it.
    Transferred,
    /// The bot handed it over to agents; the child chat continues it.
    BotHandover,
    /// A bot-only chat timed out: the queue's completion timeout (60 minutes when it has
    /// none) passed after its last message.
    BotTimeout,
    /// The chatbot took the thread back while agents had it; a BOT_PROCESSING child chat
    /// continues it.
    BotTookBack,
}

/// Which way a message went.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::Direction")]
pub enum Direction {
    /// From the customer.
    Incoming,
    /// To the customer.
    Outgoing,
}

/// Who wrote a message.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::AuthorKind")]
pub enum AuthorKind {
    /// The customer.
    Contact,
    /// An agent.
    Agent,
    /// A chatbot.
    Bot,
    /// Switchboard itself.
    System,
}

/// What a message carries.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::MessageKind")]
pub enum MessageKind {
    /// Plain text.
    Text,
    /// A picture.
    Image,
    /// A file.
    Document,
    /// A voice note or audio file.
    Audio,
    /// A video.
    Video,
    /// A shared location.
    Location,
    /// A shared contact card.
    Contact,
    /// A sticker.
    Sticker,
    /// A kind Switchboard does not support; shown as a placeholder.
    Unsupported,
}

/// Delivery of an outgoing message; only moves forward, FAILED is final.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::DeliveryStatus")]
pub enum DeliveryStatus {
    /// Waiting to be sent.
    Pending,
    /// Accepted by the provider.
    Sent,
    /// Reached the customer's device.
    Delivered,
    /// Read by the customer.
    Read,
    /// Could not be delivered; see `deliveryError`.
    Failed,
}

/// How an agent (or a queue) became involved with a chat.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::AssignmentKind")]
pub enum AssignmentKind {
    /// Offered to the agent by routing (TO_ALL_AGENTS); does not count toward their load.
    Offer,
    /// Directed to the agent by routing (TO_AVAILABLE_AGENT), with a deadline to accept.
    Direction,
    /// The agent accepted the chat.
    Acceptance,
    /// The chat was transferred away from its owner (to `agent`, or to `queue`).
    Transfer,
}

/// How an assignment ended.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::AssignmentOutcome")]
pub enum AssignmentOutcome {
    /// The agent accepted the chat.
    Accepted,
    /// Another agent accepted it first.
    TakenByOther,
    /// The time to accept ran out.
    Lapsed,
    /// Withdrawn (the agent went inactive or signed out, the chat was completed).
    Withdrawn,
    /// The chat was transferred away.
    Transferred,
    /// The chat was completed.
    Completed,
}
