//! `messages`: Messages of a chat, in both directions.

use crate::enums::{AuthorKind, DeliveryStatus, Direction, MessageKind};
use sea_orm::entity::prelude::*;

/// A row of `messages`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Chat.
    pub chat_id: i64,
    /// Channel it went through.
    pub channel_id: i64,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// Who wrote it.
    pub author_kind: AuthorKind,
    /// Agent who wrote it, if an agent did.
    pub author_agent_id: Option<i64>,
    /// Content type.
    pub kind: MessageKind,
    /// Text (or caption).
    #[sea_orm(column_type = "Text")]
    pub text: Option<String>,
    /// Provider-side id (unique per channel: idempotent webhooks).
    pub provider_message_id: Option<String>,
    /// Delivery state of an outgoing message.
    pub delivery_status: Option<DeliveryStatus>,
    /// Provider error when delivery failed.
    #[sea_orm(column_type = "Text")]
    pub delivery_error: Option<String>,
    /// Time of the latest edit.
    pub edited_at: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// Relations of `messages`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `chat_id` → `chats`.
    #[sea_orm(
        belongs_to = "super::chats::Entity",
        from = "Column::ChatId",
        to = "super::chats::Column::Id",
        on_delete = "Restrict",
        fk_name = "fk_messages_chat_id"
    )]
    Chats,
    /// `channel_id` → `channels`.
    #[sea_orm(
        belongs_to = "super::channels::Entity",
        from = "Column::ChannelId",
        to = "super::channels::Column::Id",
        on_delete = "Restrict",
        fk_name = "fk_messages_channel_id"
    )]
    Channels,
    /// `author_agent_id` → `agents`.
    #[sea_orm(
        belongs_to = "super::agents::Entity",
        from = "Column::AuthorAgentId",
        to = "super::agents::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_messages_author_agent_id"
    )]
    Agents,
    /// `message_edits` rows whose `message_id` points here.
    #[sea_orm(has_many = "super::message_edits::Entity")]
    MessageEdits,
    /// `message_reactions` rows whose `message_id` points here.
    #[sea_orm(has_many = "super::message_reactions::Entity")]
    MessageReactions,
    /// `attachments` rows whose `message_id` points here.
    #[sea_orm(has_many = "super::attachments::Entity")]
    Attachments,
    /// `outbox` rows whose `message_id` points here.
    #[sea_orm(has_many = "super::outbox::Entity")]
    Outbox,
}

impl Related<super::chats::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chats.def()
    }
}

impl Related<super::channels::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Channels.def()
    }
}

impl Related<super::agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agents.def()
    }
}

impl Related<super::message_edits::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MessageEdits.def()
    }
}

impl Related<super::message_reactions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MessageReactions.def()
    }
}

impl Related<super::attachments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Attachments.def()
    }
}

impl Related<super::outbox::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Outbox.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
