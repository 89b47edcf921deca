//! Persisted GraphQL documents (Apollo's automatic persisted queries), by their SHA-256, so
//! every instance behind a load balancer knows a document any of them registered.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{string, text, timestamp_with_time_zone};

/// Creates `persisted_queries`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PersistedQueries::Table)
                    .if_not_exists()
                    .col(string(PersistedQueries::Hash).primary_key())
                    .col(text(PersistedQueries::Query))
                    .col(timestamp_with_time_zone(PersistedQueries::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PersistedQueries::Table).to_owned()).await
    }
}

/// `persisted_queries` table and columns.
#[derive(DeriveIden)]
enum PersistedQueries {
    Table,
    Hash,
    Query,
    CreatedAt,
}
