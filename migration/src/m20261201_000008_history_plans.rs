//! Indexes for the history filters, chosen from measured query plans (docs/metrics.md
//! "Indexes behind history and analytics"; checked by tests/e2e/plans.rs on both databases).
//!
//! Every index on `chats` costs every chat write (a new chat, each status change, each
//! message's `last_message_at`), so this migration adds two and drops one:
//!
//! - `idx_chats_channel_id_created_at_id (channel_id, created_at, id)`: nothing led with the
//!   channel, so a history count or chatStats filtered by channel read the whole table
//!   (PostgreSQL `Seq Scan on chats`, SQLite `SCAN chats`), and so did the foreign key check
//!   when a channel is deleted. Ending with `(created_at, id)`, a channel's page in creation
//!   order is read in order.
//! - `idx_chats_status_created_at_id (status, created_at, id)`: on SQLite a status filter
//!   ("completed chats, newest first", the analysts' default list) searched the status index
//!   and sorted every match — nearly the whole table — for each page
//!   (`USE TEMP B-TREE FOR ORDER BY`); with it the page is read in order and stops at its
//!   limit. On PostgreSQL it lists the open statuses (rare) in order without a sort.
//! - `idx_chats_created_at (created_at)` is dropped: `idx_chats_created_at_id` (migration
//!   000007) serves everything it did, and PostgreSQL preferred the narrower one for
//!   creation-ordered pages, then sorted the ties (`Incremental Sort`) and checked the keyset
//!   cursor as a filter instead of an index condition.

use sea_orm_migration::prelude::*;

/// Adds the channel and status history indexes and drops the redundant `idx_chats_created_at`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "CREATE INDEX IF NOT EXISTS idx_chats_channel_id_created_at_id ON chats (channel_id, created_at, id)",
            "CREATE INDEX IF NOT EXISTS idx_chats_status_created_at_id ON chats (status, created_at, id)",
            "DROP INDEX IF EXISTS idx_chats_created_at",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "CREATE INDEX IF NOT EXISTS idx_chats_created_at ON chats (created_at)",
            "DROP INDEX IF EXISTS idx_chats_status_created_at_id",
            "DROP INDEX IF EXISTS idx_chats_channel_id_created_at_id",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
