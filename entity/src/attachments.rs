//! `attachments`: Files attached to messages.

use crate::enums::AttachmentStatus;
use sea_orm::entity::prelude::*;

/// A row of `attachments`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Message the file belongs to.
    pub message_id: i64,
    /// Original file name.
    #[sea_orm(column_type = "Text")]
    pub file_name: Option<String>,
    /// MIME type.
    pub content_type: Option<String>,
    /// Size in bytes.
    pub size_bytes: Option<i64>,
    /// Key of the stored file.
    #[sea_orm(column_type = "Text")]
    pub storage_key: Option<String>,
    /// Provider-side file id.
    #[sea_orm(column_type = "Text")]
    pub provider_file_id: Option<String>,
    /// Storage state.
    pub status: AttachmentStatus,
    /// Why storage was refused or failed.
    #[sea_orm(column_type = "Text")]
    pub error: Option<String>,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// Relations of `attachments`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `message_id` → `messages`.
    #[sea_orm(
        belongs_to = "super::messages::Entity",
        from = "Column::MessageId",
        to = "super::messages::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_attachments_message_id"
    )]
    Messages,
}

impl Related<super::messages::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Messages.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
