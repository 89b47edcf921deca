//! At most one open (not completed) chat per contact and channel, enforced by the database so
//! two webhooks arriving at once for a new conversation cannot open two chats; and at most one
//! outbox row per message.

use sea_orm_migration::prelude::*;

/// Adds the partial unique index on open chats and the unique outbox message.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Partial indexes are written by hand: the same SQL works on SQLite and PostgreSQL.
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_chats_open_contact_channel \
             ON chats (contact_id, channel_id) WHERE status <> 'COMPLETED'",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_outbox_message_id ON outbox (message_id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS uq_outbox_message_id").await?;
        db.execute_unprepared("DROP INDEX IF EXISTS uq_chats_open_contact_channel").await?;
        Ok(())
    }
}
