//! `sessions`: Login sessions; the id is the JWT's `sid`.

use sea_orm::entity::prelude::*;

/// A row of `sessions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// Random UUID, the JWT's `sid`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Agent who logged in.
    pub agent_id: i64,
    /// Login time.
    pub created_at: DateTimeUtc,
    /// Expiry time.
    pub expires_at: DateTimeUtc,
    /// Logout (or revocation) time.
    pub ended_at: Option<DateTimeUtc>,
}

/// Relations of `sessions`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `agent_id` → `agents`.
    #[sea_orm(
        belongs_to = "super::agents::Entity",
        from = "Column::AgentId",
        to = "super::agents::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_sessions_agent_id"
    )]
    Agents,
}

impl Related<super::agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agents.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
