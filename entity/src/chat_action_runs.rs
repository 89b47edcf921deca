//! `chat_action_runs`: Webhook deliveries of chat actions (an outbox of their own).

use crate::enums::ChatActionRunStatus;
use sea_orm::entity::prelude::*;

/// A row of `chat_action_runs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_action_runs")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The action run.
    pub action_id: i64,
    /// The chat it was run on.
    pub chat_id: i64,
    /// Who ran it.
    pub agent_id: i64,
    /// `webhook-id` of every attempt (unique).
    #[sea_orm(unique)]
    pub idempotency_key: String,
    /// The JSON body posted, fixed when the run was made.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Delivery state.
    pub status: ChatActionRunStatus,
    /// Delivery attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTimeUtc,
    /// Lease of the worker currently delivering it.
    pub locked_until: Option<DateTimeUtc>,
    /// Error of the last failed attempt.
    #[sea_orm(column_type = "Text")]
    pub last_error: Option<String>,
    /// When the receiver answered 2xx.
    pub delivered_at: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last update time.
    pub updated_at: DateTimeUtc,
}

/// Relations of `chat_action_runs`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `action_id` → `chat_actions`.
    #[sea_orm(
        belongs_to = "super::chat_actions::Entity",
        from = "Column::ActionId",
        to = "super::chat_actions::Column::Id",
        on_delete = "Restrict",
        fk_name = "fk_chat_action_runs_action_id"
    )]
    ChatActions,
}

impl Related<super::chat_actions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ChatActions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
