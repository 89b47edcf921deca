//! `duplicate_rules`: Rules for detecting duplicate contacts.

use sea_orm::entity::prelude::*;

/// A row of `duplicate_rules`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "duplicate_rules")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique name.
    #[sea_orm(unique)]
    pub name: String,
    /// JSON array of the contact field names that must match.
    #[sea_orm(column_type = "JsonBinary")]
    pub fields: Json,
    /// Whether the rule is applied.
    pub enabled: bool,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// Relations of `duplicate_rules`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
