//! `queues`: Queues that channels feed and agents serve.

use crate::enums::RoutingRule;
use sea_orm::entity::prelude::*;

/// A row of `queues`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "queues")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique name.
    #[sea_orm(unique)]
    pub name: String,
    /// How waiting chats are offered to agents.
    pub routing_rule: RoutingRule,
    /// Inactivity after which chats are completed automatically.
    pub completion_timeout_minutes: Option<i32>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last update time.
    pub updated_at: DateTimeUtc,
}

/// Relations of `queues`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `queue_agents` rows whose `queue_id` points here.
    #[sea_orm(has_many = "super::queue_agents::Entity")]
    QueueAgents,
    /// `channels` rows whose `queue_id` points here.
    #[sea_orm(has_many = "super::channels::Entity")]
    Channels,
    /// `chats` rows whose `queue_id` points here.
    #[sea_orm(has_many = "super::chats::Entity")]
    Chats,
    /// `assignments` rows whose `queue_id` points here.
    #[sea_orm(has_many = "super::assignments::Entity")]
    Assignments,
}

impl Related<super::queue_agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::QueueAgents.def()
    }
}

impl Related<super::channels::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Channels.def()
    }
}

impl Related<super::chats::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chats.def()
    }
}

impl Related<super::assignments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Assignments.def()
    }
}

impl Related<super::agents::Entity> for Entity {
    fn to() -> RelationDef {
        super::queue_agents::Relation::Agents.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::queue_agents::Relation::Queues.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
