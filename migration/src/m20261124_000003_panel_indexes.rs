//! Indexes for the agent panel: open offers without the history, a chat's latest messages.
//!
//! `assignments` keeps every offer, direction and acceptance forever, so an agent's rows grow
//! with every chat they take. The agent panel asks only for the open ones (`ended_at IS NULL`),
//! which are a handful per agent at any time: a partial index keeps that look-up as cheap on
//! the ten-thousandth chat as on the first.
//!
//! The panel also reads a chat's latest messages (`ORDER BY id DESC LIMIT n`): an index on
//! `(chat_id, id)` reads just those rows instead of sorting the whole conversation.

use sea_orm_migration::prelude::*;

/// Adds the partial index on open assignments and the index on a chat's messages by id.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Partial indexes are written by hand: the same SQL works on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_assignments_open_agent_id_kind \
                 ON assignments (agent_id, kind, chat_id) WHERE ended_at IS NULL",
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_messages_chat_id_id ON messages (chat_id, id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS idx_messages_chat_id_id").await?;
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_assignments_open_agent_id_kind")
            .await?;
        Ok(())
    }
}
