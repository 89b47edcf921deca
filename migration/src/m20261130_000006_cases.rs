//! Indexes for the case list: by assignee, by account and by registration time.
//!
//! `cases(filter:)` filters on the assignee (an agent's "my cases"), the account and the
//! registration window, and pages newest first by id. The first migration indexed only the
//! contact, the chat and the creation time; without these, each of those filters would scan
//! the whole table once cases number in the hundreds of thousands. Each index ends with the
//! id so a filtered page is read in id order straight from the index.

use sea_orm_migration::prelude::*;

/// Adds `idx_cases_assignee_id_id`, `idx_cases_account_id_id` and `idx_cases_registered_at`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for sql in [
            "CREATE INDEX IF NOT EXISTS idx_cases_assignee_id_id ON cases (assignee_id, id)",
            "CREATE INDEX IF NOT EXISTS idx_cases_account_id_id ON cases (account_id, id)",
            "CREATE INDEX IF NOT EXISTS idx_cases_registered_at ON cases (registered_at, id)",
        ] {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_cases_registered_at", "idx_cases_account_id_id", "idx_cases_assignee_id_id"] {
            manager.get_connection().execute_unprepared(&format!("DROP INDEX IF EXISTS {name}")).await?;
        }
        Ok(())
    }
}
