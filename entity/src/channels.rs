//! `channels`: Provider accounts (a WhatsApp number, a Telegram bot...) feeding a queue.

use crate::enums::ChannelKind;
use sea_orm::entity::prelude::*;

/// A row of `channels`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "channels")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Provider.
    pub kind: ChannelKind,
    /// Display name.
    pub name: String,
    /// Whether the channel receives and sends messages.
    pub active: bool,
    /// Default language of the channel.
    pub language: Option<String>,
    /// Queue new chats of this channel go to.
    pub queue_id: i64,
    /// Provider credentials (write-only through the API).
    #[sea_orm(column_type = "JsonBinary")]
    pub credentials: Json,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last update time.
    pub updated_at: DateTimeUtc,
}

/// Relations of `channels`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `queue_id` → `queues`.
    #[sea_orm(
        belongs_to = "super::queues::Entity",
        from = "Column::QueueId",
        to = "super::queues::Column::Id",
        on_delete = "Restrict",
        fk_name = "fk_channels_queue_id"
    )]
    Queues,
    /// `chats` rows whose `channel_id` points here.
    #[sea_orm(has_many = "super::chats::Entity")]
    Chats,
    /// `messages` rows whose `channel_id` points here.
    #[sea_orm(has_many = "super::messages::Entity")]
    Messages,
    /// `outbox` rows whose `channel_id` points here.
    #[sea_orm(has_many = "super::outbox::Entity")]
    Outbox,
}

impl Related<super::queues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Queues.def()
    }
}

impl Related<super::chats::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chats.def()
    }
}

impl Related<super::messages::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Messages.def()
    }
}

impl Related<super::outbox::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Outbox.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
