//! Waiting lists read in order from their index (issue 15, item 3).
//!
//! `idx_chats_queue_id_status_created_at (queue_id, status, created_at)` found a queue's
//! waiting chats but not in the lists' order, which ties on `id`: every page sorted its
//! matches (`Incremental Sort`), and PostgreSQL's generic plan of the prepared page statement
//! preferred reading every waiting chat through `idx_chats_status_created_at_id` in order and
//! filtering by queue. Ending the index with `id` gives the page its order straight from the
//! queue's part of the index, so the page stops at its limit and both plans agree. It replaces
//! the old index (a prefix of it serves routing's look-ups as before), so chat writes maintain
//! no extra index.

use sea_orm_migration::prelude::*;

/// Replaces `idx_chats_queue_id_status_created_at` with the same columns and `id`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "CREATE INDEX IF NOT EXISTS idx_chats_queue_id_status_created_at_id ON chats (queue_id, status, created_at, id)",
            "DROP INDEX IF EXISTS idx_chats_queue_id_status_created_at",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "CREATE INDEX IF NOT EXISTS idx_chats_queue_id_status_created_at ON chats (queue_id, status, created_at)",
            "DROP INDEX IF EXISTS idx_chats_queue_id_status_created_at_id",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
