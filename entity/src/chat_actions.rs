//! `chat_actions`: Actions an agent may run on a chat, configured per queue.

use crate::enums::ChatActionKind;
use sea_orm::entity::prelude::*;

/// A row of `chat_actions`.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_actions")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The queue whose chats offer the action.
    pub queue_id: i64,
    /// The label agents see.
    pub caption: String,
    /// What the action does.
    pub kind: ChatActionKind,
    /// WEBHOOK: where runs are posted.
    #[sea_orm(column_type = "Text")]
    pub url: Option<String>,
    /// WEBHOOK: the signing secret (`whsec_` + base64). Never shown; `Debug` hides it.
    #[sea_orm(column_type = "Text")]
    pub secret: Option<String>,
    /// When the action was deleted (it keeps its row for the runs that name it).
    pub deleted_at: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last update time.
    pub updated_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("chat_actions::Model")
            .field("id", &self.id)
            .field("queue_id", &self.queue_id)
            .field("caption", &self.caption)
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("deleted_at", &self.deleted_at)
            .finish()
    }
}

/// Relations of `chat_actions`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `queue_id` → `queues`.
    #[sea_orm(
        belongs_to = "super::queues::Entity",
        from = "Column::QueueId",
        to = "super::queues::Column::Id",
        on_delete = "Restrict",
        fk_name = "fk_chat_actions_queue_id"
    )]
    Queues,
}

impl Related<super::queues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Queues.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
