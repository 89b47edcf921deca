//! `drafts`: Unsent reply of an agent in a chat.

use sea_orm::entity::prelude::*;

/// A row of `drafts`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "drafts")]
pub struct Model {
    /// Chat.
    #[sea_orm(primary_key, auto_increment = false)]
    pub chat_id: i64,
    /// Agent writing.
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_id: i64,
    /// Draft text.
    #[sea_orm(column_type = "Text")]
    pub text: String,
    /// Last update time.
    pub updated_at: DateTimeUtc,
}

/// Relations of `drafts`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `chat_id` → `chats`.
    #[sea_orm(
        belongs_to = "super::chats::Entity",
        from = "Column::ChatId",
        to = "super::chats::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_drafts_chat_id"
    )]
    Chats,
    /// `agent_id` → `agents`.
    #[sea_orm(
        belongs_to = "super::agents::Entity",
        from = "Column::AgentId",
        to = "super::agents::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_drafts_agent_id"
    )]
    Agents,
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

impl ActiveModelBehavior for ActiveModel {}
