//! `message_reactions`: Reactions (emoji) to messages.

use crate::enums::AuthorKind;
use sea_orm::entity::prelude::*;

/// A row of `message_reactions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "message_reactions")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Message reacted to.
    pub message_id: i64,
    /// The reaction (an emoji).
    pub reaction: String,
    /// Who reacted.
    pub author_kind: AuthorKind,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// Relations of `message_reactions`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `message_id` → `messages`.
    #[sea_orm(
        belongs_to = "super::messages::Entity",
        from = "Column::MessageId",
        to = "super::messages::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_message_reactions_message_id"
    )]
    Messages,
}

impl Related<super::messages::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Messages.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
