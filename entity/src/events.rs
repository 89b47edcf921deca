//! `events`: Append-only event log (monotonic ids); no foreign keys so it outlives what it mentions.

use sea_orm::entity::prelude::*;

/// A row of `events`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    /// Primary key, monotonic.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Event kind.
    pub kind: String,
    /// Chat concerned.
    pub chat_id: Option<i64>,
    /// Agent concerned.
    pub agent_id: Option<i64>,
    /// Queue concerned.
    pub queue_id: Option<i64>,
    /// Event payload.
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// Relations of `events`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
