//! The event log: every state change writes an event row in its own transaction, with a
//! monotonic id, so subscribers can follow and resume. `bus` publishes committed rows.

pub mod bus;
mod published;
pub mod topics;

pub use published::Published;

use entity::events;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, NotSet, Set};
use serde_json::Value;

use crate::domain::ids::{AgentId, ChatId, QueueId};

/// What happened. Stored as the upper-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// An agent's availability changed (status chosen, sign-in, sign-out, capacity).
    AgentStatusChanged,
    /// An administrator changed settings.
    SettingsChanged,
    /// A chat was opened (a first message, a message after completion, a handover).
    ChatCreated,
    /// A chat was completed.
    ChatCompleted,
    /// A message from the customer (or a bot echo) was stored.
    MessageReceived,
    /// An agent's reply was stored and queued for delivery.
    MessageSent,
    /// A stored message was edited by its author.
    MessageEdited,
    /// A customer reacted to a message.
    MessageReaction,
    /// An outgoing message's delivery status moved forward.
    DeliveryStatusChanged,
    /// A waiting chat was offered to an agent (TO_ALL_AGENTS).
    ChatOffered,
    /// A waiting chat was directed to one agent (TO_AVAILABLE_AGENT).
    ChatDirected,
    /// An agent accepted a chat.
    ChatAccepted,
    /// A chat offered to an agent was accepted by someone else, or withdrawn.
    ChatTaken,
    /// A chat was transferred; the event names the child chat's new owner or queue.
    ChatTransferred,
    /// A quick-reply template was created, changed or deleted.
    TemplateChanged,
    /// A contact's details changed (an agent edited them, or enrichment filled them in).
    ContactUpdated,
    /// Contacts were merged into one; recorded on the chats of every contact involved.
    ContactsMerged,
    /// A case was created from a chat.
    CaseCreated,
    /// An agent signed out, had their sessions ended or their role changed: instances forget
    /// the sign-ins they remember for that agent. Internal; never sent to subscribers.
    AccessChanged,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 19] = [
        Self::AgentStatusChanged,
        Self::SettingsChanged,
        Self::ChatCreated,
        Self::ChatCompleted,
        Self::MessageReceived,
        Self::MessageSent,
        Self::MessageEdited,
        Self::MessageReaction,
        Self::DeliveryStatusChanged,
        Self::ChatOffered,
        Self::ChatDirected,
        Self::ChatAccepted,
        Self::ChatTaken,
        Self::ChatTransferred,
        Self::TemplateChanged,
        Self::ContactUpdated,
        Self::ContactsMerged,
        Self::CaseCreated,
        Self::AccessChanged,
    ];

    /// The kind with this stored name.
    pub fn from_stored(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AgentStatusChanged => "AGENT_STATUS_CHANGED",
            Self::SettingsChanged => "SETTINGS_CHANGED",
            Self::ChatCreated => "CHAT_CREATED",
            Self::ChatCompleted => "CHAT_COMPLETED",
            Self::MessageReceived => "MESSAGE_RECEIVED",
            Self::MessageSent => "MESSAGE_SENT",
            Self::MessageEdited => "MESSAGE_EDITED",
            Self::MessageReaction => "MESSAGE_REACTION",
            Self::DeliveryStatusChanged => "DELIVERY_STATUS_CHANGED",
            Self::ChatOffered => "CHAT_OFFERED",
            Self::ChatDirected => "CHAT_DIRECTED",
            Self::ChatAccepted => "CHAT_ACCEPTED",
            Self::ChatTaken => "CHAT_TAKEN",
            Self::ChatTransferred => "CHAT_TRANSFERRED",
            Self::TemplateChanged => "TEMPLATE_CHANGED",
            Self::ContactUpdated => "CONTACT_UPDATED",
            Self::ContactsMerged => "CONTACTS_MERGED",
            Self::CaseCreated => "CASE_CREATED",
            Self::AccessChanged => "ACCESS_CHANGED",
        }
    }
}

/// Whom an event concerns, for routing it to subscribers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Subjects {
    /// The agent it concerns.
    pub agent: Option<AgentId>,
    /// The chat it concerns.
    pub chat: Option<ChatId>,
    /// The queue it concerns.
    pub queue: Option<QueueId>,
}

/// Writes an event row; call it inside the transaction that makes the change.
pub async fn record(
    db: &impl ConnectionTrait,
    kind: EventKind,
    subjects: Subjects,
    payload: Value,
) -> Result<events::Model, DbErr> {
    let created_at = crate::clock::now();
    let (chat, agent, queue) =
        (subjects.chat.map(|id| id.0), subjects.agent.map(|id| id.0), subjects.queue.map(|id| id.0));
    // On PostgreSQL, queue a NOTIFY in the same transaction: it is delivered only if the
    // transaction commits, which is exactly when other instances should look. The insert and
    // the NOTIFY are one statement (one round trip on every write that records an event).
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        let statement = sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "WITH inserted AS (INSERT INTO events (kind, chat_id, agent_id, queue_id, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, kind, chat_id, agent_id, queue_id, payload, created_at) \
             SELECT inserted.*, pg_notify($7, inserted.id::text) IS NULL AS notified FROM inserted",
            [
                kind.as_str().into(),
                chat.into(),
                agent.into(),
                queue.into(),
                payload.into(),
                created_at.into(),
                NOTIFY_CHANNEL.into(),
            ],
        );
        let row = db.query_one_raw(statement).await?.ok_or(DbErr::RecordNotInserted)?;
        return <events::Model as sea_orm::FromQueryResult>::from_query_result(&row, "");
    }
    events::ActiveModel {
        id: NotSet,
        kind: Set(kind.as_str().to_owned()),
        chat_id: Set(chat),
        agent_id: Set(agent),
        queue_id: Set(queue),
        payload: Set(payload),
        created_at: Set(created_at),
    }
    .insert(db)
    .await
}

/// The PostgreSQL channel that announces committed events to every instance.
pub const NOTIFY_CHANNEL: &str = "switchboard_events";
