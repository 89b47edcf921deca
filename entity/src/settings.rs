//! `settings`: Key-value application settings.

use sea_orm::entity::prelude::*;

/// A row of `settings`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "settings")]
pub struct Model {
    /// Setting name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Setting value.
    #[sea_orm(column_type = "JsonBinary")]
    pub value: Json,
    /// Last update time.
    pub updated_at: DateTimeUtc,
}

/// Relations of `settings`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
