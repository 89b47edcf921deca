//! `assignments`: History of offers, directions, acceptances and transfers of chats.

use crate::enums::{AssignmentKind, AssignmentOutcome};
use sea_orm::entity::prelude::*;

/// A row of `assignments`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Chat.
    pub chat_id: i64,
    /// Agent involved.
    pub agent_id: Option<i64>,
    /// Queue involved (transfers to a queue).
    pub queue_id: Option<i64>,
    /// What happened.
    pub kind: AssignmentKind,
    /// How it ended.
    pub outcome: Option<AssignmentOutcome>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// When an unanswered offer lapses.
    pub deadline: Option<DateTimeUtc>,
    /// When it ended.
    pub ended_at: Option<DateTimeUtc>,
}

/// Relations of `assignments`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `chat_id` → `chats`.
    #[sea_orm(
        belongs_to = "super::chats::Entity",
        from = "Column::ChatId",
        to = "super::chats::Column::Id",
        on_delete = "Restrict",
        fk_name = "fk_assignments_chat_id"
    )]
    Chats,
    /// `agent_id` → `agents`.
    #[sea_orm(
        belongs_to = "super::agents::Entity",
        from = "Column::AgentId",
        to = "super::agents::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_assignments_agent_id"
    )]
    Agents,
    /// `queue_id` → `queues`.
    #[sea_orm(
        belongs_to = "super::queues::Entity",
        from = "Column::QueueId",
        to = "super::queues::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_assignments_queue_id"
    )]
    Queues,
}

impl Related<super::chats::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chats.def()
    }
}

impl Related<super::agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agents.def()
    }
}

impl Related<super::queues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Queues.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
