//! `persisted_queries`: GraphQL documents registered by their SHA-256 (Apollo's automatic
//! persisted queries), shared by every instance.

use sea_orm::entity::prelude::*;

/// A row of `persisted_queries`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "persisted_queries")]
pub struct Model {
    /// Lower-case hex SHA-256 of `query`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub hash: String,
    /// The document's text.
    #[sea_orm(column_type = "Text")]
    pub query: String,
    /// When it was first registered.
    pub created_at: DateTimeUtc,
}

/// Relations of `persisted_queries`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
