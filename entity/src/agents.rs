//! `agents`: People (and bots) who log in and handle chats.

use crate::enums::{AgentStatus, Role};
use sea_orm::entity::prelude::*;

/// A row of `agents`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Login e-mail, unique and stored lower-case.
    #[sea_orm(unique)]
    pub email: String,
    /// Password hash (PHC string).
    pub password_hash: String,
    /// What the agent may do.
    pub role: Role,
    /// The status the agent chose.
    pub status: AgentStatus,
    /// Whether the agent may log in.
    pub enabled: bool,
    /// When the agent last accepted a chat (for routing fairness).
    pub last_accepted_at: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last update time.
    pub updated_at: DateTimeUtc,
}

/// Relations of `agents`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `sessions` rows whose `agent_id` points here.
    #[sea_orm(has_many = "super::sessions::Entity")]
    Sessions,
    /// `queue_agents` rows whose `agent_id` points here.
    #[sea_orm(has_many = "super::queue_agents::Entity")]
    QueueAgents,
    /// `chats` rows whose `owner_id` points here.
    #[sea_orm(has_many = "super::chats::Entity", via_rel = "Relation::Owner")]
    OwnedChats,
    /// `chats` rows whose `directed_agent_id` points here.
    #[sea_orm(has_many = "super::chats::Entity", via_rel = "Relation::DirectedAgent")]
    DirectedChats,
    /// `messages` rows whose `author_agent_id` points here.
    #[sea_orm(has_many = "super::messages::Entity")]
    Messages,
    /// `assignments` rows whose `agent_id` points here.
    #[sea_orm(has_many = "super::assignments::Entity")]
    Assignments,
    /// `drafts` rows whose `agent_id` points here.
    #[sea_orm(has_many = "super::drafts::Entity")]
    Drafts,
    /// `cases` rows whose `assignee_id` points here.
    #[sea_orm(has_many = "super::cases::Entity")]
    Cases,
}

impl Related<super::sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl Related<super::queue_agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::QueueAgents.def()
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

impl Related<super::queues::Entity> for Entity {
    fn to() -> RelationDef {
        super::queue_agents::Relation::Queues.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::queue_agents::Relation::Agents.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
