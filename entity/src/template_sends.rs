//! `template_sends`: the template an outgoing message is sent as (WhatsApp template messages).

use sea_orm::entity::prelude::*;

/// A row of `template_sends`: one per outgoing message sent as a template.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "template_sends")]
pub struct Model {
    /// The message (primary key: at most one template per message).
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_id: i64,
    /// The template used (null once the template is deleted; the copy below stays).
    pub template_id: Option<i64>,
    /// The template's name, copied at send time.
    pub name: String,
    /// The template's language code, copied at send time.
    pub language_code: String,
    /// The body parameters, in order (a JSON array of strings).
    #[sea_orm(column_type = "JsonBinary")]
    pub parameters: Json,
}

/// Relations of `template_sends`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `message_id` → `messages`.
    #[sea_orm(
        belongs_to = "super::messages::Entity",
        from = "Column::MessageId",
        to = "super::messages::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_template_sends_message_id"
    )]
    Messages,
    /// `template_id` → `message_templates`.
    #[sea_orm(
        belongs_to = "super::message_templates::Entity",
        from = "Column::TemplateId",
        to = "super::message_templates::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_template_sends_template_id"
    )]
    MessageTemplates,
}

impl ActiveModelBehavior for ActiveModel {}
