//! `outbox`: Outgoing messages waiting to be delivered to a provider.

use crate::enums::OutboxStatus;
use sea_orm::entity::prelude::*;

/// A row of `outbox`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Message to send.
    pub message_id: i64,
    /// Channel to send it through.
    pub channel_id: i64,
    /// Delivery state.
    pub status: OutboxStatus,
    /// Delivery attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTimeUtc,
    /// Lease of the worker currently sending it.
    pub locked_until: Option<DateTimeUtc>,
    /// Error of the last failed attempt.
    #[sea_orm(column_type = "Text")]
    pub last_error: Option<String>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last update time.
    pub updated_at: DateTimeUtc,
}

/// Relations of `outbox`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `message_id` → `messages`.
    #[sea_orm(
        belongs_to = "super::messages::Entity",
        from = "Column::MessageId",
        to = "super::messages::Column::Id",
        on_delete = "Restrict",
        fk_name = "fk_outbox_message_id"
    )]
    Messages,
    /// `channel_id` → `channels`.
    #[sea_orm(
        belongs_to = "super::channels::Entity",
        from = "Column::ChannelId",
        to = "super::channels::Column::Id",
        on_delete = "Restrict",
        fk_name = "fk_outbox_channel_id"
    )]
    Channels,
}

impl Related<super::messages::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Messages.def()
    }
}

impl Related<super::channels::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Channels.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
