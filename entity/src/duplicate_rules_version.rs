//! `duplicate_rules_version`: one row naming the current state of `duplicate_rules`.

use sea_orm::entity::prelude::*;

/// The row of `duplicate_rules_version` (there is exactly one, id 1).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "duplicate_rules_version")]
pub struct Model {
    /// Primary key, always 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// A random text that a database trigger replaces in the same transaction as every change
    /// to `duplicate_rules`.
    pub version: String,
}

/// Relations of `duplicate_rules_version`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
