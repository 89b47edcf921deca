//! `chats`: Conversations between a contact and Switchboard on one channel.

use crate::enums::{ChatStatus, CompletionReason};
use sea_orm::entity::prelude::*;

/// A row of `chats`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "chats")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Contact.
    pub contact_id: i64,
    /// Channel.
    pub channel_id: i64,
    /// Queue the chat waits in or was served from.
    pub queue_id: i64,
    /// Agent who accepted (owns) the chat.
    pub owner_id: Option<i64>,
    /// Agent the chat is directed to, if any.
    pub directed_agent_id: Option<i64>,
    /// Chat this one continues (e.g. after a transfer).
    pub parent_chat_id: Option<i64>,
    /// Life-cycle state.
    pub status: ChatStatus,
    /// Why the chat was completed.
    pub completion_reason: Option<CompletionReason>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// When an agent accepted the chat.
    pub accepted_at: Option<DateTimeUtc>,
    /// When the first agent reply was sent.
    pub first_response_at: Option<DateTimeUtc>,
    /// When the chat was completed.
    pub completed_at: Option<DateTimeUtc>,
    /// When the time-limit worker completes the chat.
    pub close_deadline: Option<DateTimeUtc>,
    /// Time of the latest message.
    pub last_message_at: Option<DateTimeUtc>,
    /// Last update time.
    pub updated_at: DateTimeUtc,
    /// When the chat entered its queue WAITING; null for chats that never waited
    /// (transferred straight to an agent, chatbot conversations).
    pub queued_at: Option<DateTimeUtc>,
}

/// Relations of `chats`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `contact_id` → `contacts`.
    #[sea_orm(
        belongs_to = "super::contacts::Entity",
        from = "Column::ContactId",
        to = "super::contacts::Column::Id",
        on_delete = "Restrict",
        fk_name = "fk_chats_contact_id"
    )]
    Contacts,
    /// `channel_id` → `channels`.
    #[sea_orm(
        belongs_to = "super::channels::Entity",
        from = "Column::ChannelId",
        to = "super::channels::Column::Id",
        on_delete = "Restrict",
        fk_name = "fk_chats_channel_id"
    )]
    Channels,
    /// `queue_id` → `queues`.
    #[sea_orm(
        belongs_to = "super::queues::Entity",
        from = "Column::QueueId",
        to = "super::queues::Column::Id",
        on_delete = "Restrict",
        fk_name = "fk_chats_queue_id"
    )]
    Queues,
    /// `owner_id` → `agents`.
    #[sea_orm(
        belongs_to = "super::agents::Entity",
        from = "Column::OwnerId",
        to = "super::agents::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_chats_owner_id"
    )]
    Owner,
    /// `directed_agent_id` → `agents`.
    #[sea_orm(
        belongs_to = "super::agents::Entity",
        from = "Column::DirectedAgentId",
        to = "super::agents::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_chats_directed_agent_id"
    )]
    DirectedAgent,
    /// `parent_chat_id` → `chats`.
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::ParentChatId",
        to = "Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_chats_parent_chat_id"
    )]
    ParentChat,
    /// Chats whose `parent_chat_id` points here.
    #[sea_orm(has_many = "Entity", via_rel = "Relation::ParentChat")]
    ChildChats,
    /// `messages` rows whose `chat_id` points here.
    #[sea_orm(has_many = "super::messages::Entity")]
    Messages,
    /// `assignments` rows whose `chat_id` points here.
    #[sea_orm(has_many = "super::assignments::Entity")]
    Assignments,
    /// `drafts` rows whose `chat_id` points here.
    #[sea_orm(has_many = "super::drafts::Entity")]
    Drafts,
    /// `cases` rows whose `chat_id` points here.
    #[sea_orm(has_many = "super::cases::Entity")]
    Cases,
}

impl Related<super::contacts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contacts.def()
    }
}

impl Related<super::channels::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Channels.def()
    }
}

impl Related<super::queues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Queues.def()
    }
}

impl Related<super::messages::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Messages.def()
    }
}

impl Related<super::assignments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Assignments.def()
    }
}

impl Related<super::drafts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Drafts.def()
    }
}

impl Related<super::cases::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Cases.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
