//! Bot chats get a time limit (docs/chatbot.md): every message in a BOT_PROCESSING chat sets
//! its `close_deadline` to the queue's completion timeout later (60 minutes when the queue has
//! none), and the time-limit worker completes it (BOT_TIMEOUT) once that passes. Bot chats
//! opened before had no deadline, so nothing would ever complete them: this dates them from
//! their last message (or, with none, their creation), and the worker completes those whose
//! deadline has passed at that deadline. No schema change: the `(status, close_deadline)`
//! index already serves the worker's query.
//!
//! `down` leaves the deadlines: rows dated here cannot be told from rows dated by messages.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// Dates the open bot chats that have no close deadline.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The queue's completion timeout in minutes, or 60.
const MINUTES: &str =
    "COALESCE((SELECT completion_timeout_minutes FROM queues WHERE queues.id = chats.queue_id), 60)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let deadline = match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                format!("COALESCE(last_message_at, created_at) + {MINUTES} * INTERVAL '1 minute'")
            }
            // The format the server's own timestamps are read back in (RFC 3339, UTC).
            _ => format!(
                "strftime('%Y-%m-%dT%H:%M:%f+00:00', COALESCE(last_message_at, created_at), \
                 '+' || {MINUTES} || ' minutes')"
            ),
        };
        db.execute_unprepared(&format!(
            "UPDATE chats SET close_deadline = {deadline} \
             WHERE status = 'BOT_PROCESSING' AND close_deadline IS NULL"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
