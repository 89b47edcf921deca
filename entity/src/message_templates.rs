//! `message_templates`: WhatsApp message templates approved by Meta, registered per channel.

use sea_orm::entity::prelude::*;

/// A row of `message_templates`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "message_templates")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The WhatsApp channel the template is approved for.
    pub channel_id: i64,
    /// The template's name as approved in WhatsApp Manager.
    pub name: String,
    /// Language code as approved (e.g. `en_US`).
    pub language_code: String,
    /// The body text with `{{1}}`, `{{2}}`... placeholders, for showing what was sent.
    #[sea_orm(column_type = "Text")]
    pub body_text: String,
    /// How many body parameters a send must give.
    pub parameter_count: i32,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last update time.
    pub updated_at: DateTimeUtc,
}

/// Relations of `message_templates`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `channel_id` → `channels`.
    #[sea_orm(
        belongs_to = "super::channels::Entity",
        from = "Column::ChannelId",
        to = "super::channels::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_message_templates_channel_id"
    )]
    Channels,
}

impl Related<super::channels::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Channels.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
