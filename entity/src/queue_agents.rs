//! `queue_agents`: Membership of agents in queues.

use sea_orm::entity::prelude::*;

/// A row of `queue_agents`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "queue_agents")]
pub struct Model {
    /// Queue.
    #[sea_orm(primary_key, auto_increment = false)]
    pub queue_id: i64,
    /// Agent member of the queue.
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_id: i64,
    /// When the agent joined the queue.
    pub created_at: DateTimeUtc,
}

/// Relations of `queue_agents`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `queue_id` → `queues`.
    #[sea_orm(
        belongs_to = "super::queues::Entity",
        from = "Column::QueueId",
        to = "super::queues::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_queue_agents_queue_id"
    )]
    Queues,
    /// `agent_id` → `agents`.
    #[sea_orm(
        belongs_to = "super::agents::Entity",
        from = "Column::AgentId",
        to = "super::agents::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_queue_agents_agent_id"
    )]
    Agents,
}

impl Related<super::queues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Queues.def()
    }
}

impl Related<super::agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agents.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
