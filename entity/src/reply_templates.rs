//! `reply_templates`: Canned replies agents can insert.

use sea_orm::entity::prelude::*;

/// A row of `reply_templates`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reply_templates")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Template text.
    #[sea_orm(column_type = "Text")]
    pub text: String,
    /// Language of the template.
    pub language: Option<String>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last update time.
    pub updated_at: DateTimeUtc,
}

/// Relations of `reply_templates`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
