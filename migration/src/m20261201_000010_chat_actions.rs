//! Chat actions (DESIGN §1 "Cases and chat actions") and their webhook deliveries.
//!
//! `chat_actions` holds what an admin configured per queue: a caption, a kind (`CREATE_CASE`
//! or `WEBHOOK`) and, for webhooks, the URL and the signing secret (write-only through the
//! API; kept here in clear because every delivery signs with it, like the channels'
//! credentials). A deleted action keeps its row (`deleted_at`), so the runs that name it
//! still read.
//!
//! `chat_action_runs` is the webhook outbox: one row per `runChatAction` of a WEBHOOK action,
//! written in the transaction that ran it, claimed by the action delivery worker like
//! `outbox` rows (status, attempts, next attempt, lease). `idempotency_key` is the
//! `webhook-id` of every attempt; `body` the JSON sent, fixed when the run was made.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates `chat_actions` and `chat_action_runs` with their keys and indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChatActions::Table)
                    .if_not_exists()
                    .col(big_integer(ChatActions::Id).auto_increment().primary_key())
                    .col(big_integer(ChatActions::QueueId))
                    .col(string(ChatActions::Caption))
                    .col(string(ChatActions::Kind))
                    .col(text_null(ChatActions::Url))
                    .col(text_null(ChatActions::Secret))
                    .col(timestamp_with_time_zone_null(ChatActions::DeletedAt))
                    .col(timestamp_with_time_zone(ChatActions::CreatedAt))
                    .col(timestamp_with_time_zone(ChatActions::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_chat_actions_queue_id",
                        (ChatActions::Table, ChatActions::QueueId),
                        (Queues::Table, Queues::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_actions_queue_id")
                    .table(ChatActions::Table)
                    .col(ChatActions::QueueId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatActionRuns::Table)
                    .if_not_exists()
                    .col(big_integer(ChatActionRuns::Id).auto_increment().primary_key())
                    .col(big_integer(ChatActionRuns::ActionId))
                    .col(big_integer(ChatActionRuns::ChatId))
                    .col(big_integer(ChatActionRuns::AgentId))
                    .col(string(ChatActionRuns::IdempotencyKey))
                    .col(text(ChatActionRuns::Body))
                    .col(string(ChatActionRuns::Status))
                    .col(integer(ChatActionRuns::Attempts).default(0))
                    .col(timestamp_with_time_zone(ChatActionRuns::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(ChatActionRuns::LockedUntil))
                    .col(text_null(ChatActionRuns::LastError))
                    .col(timestamp_with_time_zone_null(ChatActionRuns::DeliveredAt))
                    .col(timestamp_with_time_zone(ChatActionRuns::CreatedAt))
                    .col(timestamp_with_time_zone(ChatActionRuns::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_chat_action_runs_action_id",
                        (ChatActionRuns::Table, ChatActionRuns::ActionId),
                        (ChatActions::Table, ChatActions::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_chat_action_runs_chat_id",
                        (ChatActionRuns::Table, ChatActionRuns::ChatId),
                        (Chats::Table, Chats::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_chat_action_runs_agent_id",
                        (ChatActionRuns::Table, ChatActionRuns::AgentId),
                        (Agents::Table, Agents::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            ("idx_chat_action_runs_idempotency_key", vec![ChatActionRuns::IdempotencyKey], true),
            (
                "idx_chat_action_runs_status_next_attempt_at",
                vec![ChatActionRuns::Status, ChatActionRuns::NextAttemptAt],
                false,
            ),
            ("idx_chat_action_runs_chat_id_id", vec![ChatActionRuns::ChatId, ChatActionRuns::Id], false),
        ] {
            let mut index = Index::create();
            index.name(name).table(ChatActionRuns::Table).if_not_exists();
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ChatActionRuns::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(ChatActions::Table).if_exists().to_owned()).await
    }
}

/// `chat_actions` table and columns.
#[derive(DeriveIden)]
enum ChatActions {
    Table,
    Id,
    QueueId,
    Caption,
    Kind,
    Url,
    Secret,
    DeletedAt,
    CreatedAt,
    UpdatedAt,
}

/// `chat_action_runs` table and columns.
#[derive(DeriveIden, Clone, Copy)]
enum ChatActionRuns {
    Table,
    Id,
    ActionId,
    ChatId,
    AgentId,
    IdempotencyKey,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    DeliveredAt,
    CreatedAt,
    UpdatedAt,
}

/// `queues` (referenced).
#[derive(DeriveIden)]
enum Queues {
    Table,
    Id,
}

/// `chats` (referenced).
#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
}

/// `agents` (referenced).
#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
}
