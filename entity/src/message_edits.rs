//! `message_edits`: History of message edits.

use sea_orm::entity::prelude::*;

/// A row of `message_edits`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "message_edits")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Edited message.
    pub message_id: i64,
    /// Text before the edit.
    #[sea_orm(column_type = "Text")]
    pub previous_text: Option<String>,
    /// Text after the edit.
    #[sea_orm(column_type = "Text")]
    pub text: Option<String>,
    /// Edit time.
    pub edited_at: DateTimeUtc,
}

/// Relations of `message_edits`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `message_id` → `messages`.
    #[sea_orm(
        belongs_to = "super::messages::Entity",
        from = "Column::MessageId",
        to = "super::messages::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_message_edits_message_id"
    )]
    Messages,
}

impl Related<super::messages::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Messages.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
