//! History: when a chat entered its queue, and indexes for the history orders.
//!
//! *Time to accept* exists only for chats that waited in a queue (DESIGN §1 "Analytics and
//! history"): `chats.queued_at` records when a chat entered its queue WAITING (a new chat, a
//! chat transferred to a queue, a chatbot handing over); chats that never waited (transferred
//! straight to an agent, bot conversations) have none. Existing chats are back-filled from
//! their assignments: a chat that was offered, directed or accepted waited since its creation.
//!
//! The history list pages by `(time, id)` keysets in the chosen order; each order has its
//! index, so a deep page reads only its rows (`chats.created_at` alone did not order ties).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::timestamp_with_time_zone_null;

/// Adds `chats.queued_at` and the history indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index name, columns) of the history orders.
const INDEXES: [(&str, [Chats; 2]); 3] = [
    ("idx_chats_created_at_id", [Chats::CreatedAt, Chats::Id]),
    ("idx_chats_completed_at_id", [Chats::CompletedAt, Chats::Id]),
    ("idx_chats_last_message_at_id", [Chats::LastMessageAt, Chats::Id]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Chats::Table)
                    .add_column(timestamp_with_time_zone_null(Chats::QueuedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE chats SET queued_at = created_at WHERE status = 'WAITING' \
                 OR id IN (SELECT chat_id FROM assignments WHERE kind IN ('OFFER', 'DIRECTION', 'ACCEPTANCE'))",
            )
            .await?;
        for (name, [a, b]) in INDEXES {
            manager
                .create_index(
                    Index::create().name(name).table(Chats::Table).col(a).col(b).if_not_exists().to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager.drop_index(Index::drop().name(name).table(Chats::Table).to_owned()).await?;
        }
        manager.alter_table(Table::alter().table(Chats::Table).drop_column(Chats::QueuedAt).to_owned()).await
    }
}

/// `chats` table and the columns used here.
#[derive(DeriveIden, Clone, Copy)]
enum Chats {
    Table,
    Id,
    CreatedAt,
    CompletedAt,
    LastMessageAt,
    QueuedAt,
}
