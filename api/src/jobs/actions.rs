//! The chat-action webhook worker: delivers `chat_action_runs` rows to their action's URL,
//! signed the Standard Webhooks way, with retries and exponential backoff
//! (`SWITCHBOARD_DELIVERY_*`, shared with the outbox).
//!
//! Rows are claimed like the outbox's (a short lease, `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL). Every attempt of one run carries the same `webhook-id` (the run's idempotency
//! key) and body, with a fresh `webhook-timestamp` and signature. An answer 2xx is DELIVERED;
//! any other status or a network error is retried until `SWITCHBOARD_DELIVERY_MAX_ATTEMPTS`,
//! then FAILED. Outcomes are recorded only for our own claim (`attempts` unchanged), so a
//! worker whose lease lapsed never overwrites a later one's. Delivery is at least once: a
//! receiver that answered after the lease lapsed may see the same `webhook-id` again, and
//! should skip ids it has processed.

use chrono::{DateTime, Utc};
use entity::chat_action_runs;
use entity::enums::ChatActionRunStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, Statement};
use tokio_util::sync::CancellationToken;
use tracing::instrument;

use super::JobContext;
use crate::channels::client::describe_error;
use crate::domain::chat_actions::webhook;

/// Rows claimed per round.
const BATCH: i64 = 16;
/// Longest piece of a receiver's answer kept in `last_error`.
const MAX_ERROR_BODY: usize = 200;

/// One claimed run.
#[derive(Debug)]
struct Claimed {
    id: i64,
    attempts: i32,
}

async fn claim(ctx: &JobContext) -> Result<Vec<Claimed>, DbErr> {
    let now = crate::clock::now();
    let lease = now + chrono::Duration::from_std(ctx.lease).unwrap_or(chrono::Duration::seconds(10));
    let backend = ctx.db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE chat_action_runs SET locked_until = $1, attempts = attempts + 1, updated_at = $2 \
             WHERE id IN (SELECT id FROM chat_action_runs WHERE status = 'PENDING' AND next_attempt_at <= $2 \
             AND (locked_until IS NULL OR locked_until < $2) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, attempts"
        }
        // SQLite runs one writer at a time, so the sub-select needs no row locks.
        _ => {
            "UPDATE chat_action_runs SET locked_until = ?1, attempts = attempts + 1, updated_at = ?2 \
             WHERE id IN (SELECT id FROM chat_action_runs WHERE status = 'PENDING' AND next_attempt_at <= ?2 \
             AND (locked_until IS NULL OR locked_until < ?2) ORDER BY id LIMIT ?3) \
             RETURNING id, attempts"
        }
    };
    let statement = Statement::from_sql_and_values(backend, sql, [lease.into(), now.into(), BATCH.into()]);
    let rows = ctx.db.query_all_raw(statement).await?;
    rows.into_iter()
        .map(|row| Ok(Claimed { id: row.try_get("", "id")?, attempts: row.try_get("", "attempts")? }))
        .collect()
}

/// How one attempt went.
enum Attempt {
    Delivered,
    /// Worth trying again (non-2xx, network error).
    Retry(String),
    /// Not worth trying again (the action was deleted or lost its URL).
    GiveUp(String),
}

/// Posts one claimed run.
async fn attempt(ctx: &JobContext, run: &chat_action_runs::Model) -> Result<Attempt, DbErr> {
    let Some(action) = entity::chat_actions::Entity::find_by_id(run.action_id).one(&ctx.db).await? else {
        return Ok(Attempt::GiveUp("the action no longer exists".into()));
    };
    if action.deleted_at.is_some() {
        return Ok(Attempt::GiveUp("the action was deleted".into()));
    }
    let (Some(url), Some(secret)) = (action.url.as_deref(), action.secret.as_deref()) else {
        return Ok(Attempt::GiveUp("the action has no URL or secret".into()));
    };
    let timestamp = crate::clock::now().timestamp();
    let Some(signature) = webhook::signature(secret, &run.idempotency_key, timestamp, &run.body) else {
        return Ok(Attempt::GiveUp("the action's secret is not a valid secret".into()));
    };
    let sent = ctx
        .apis
        .http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &run.idempotency_key)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(run.body.clone())
        .send()
        .await;
    Ok(match sent {
        Ok(response) if response.status().is_success() => Attempt::Delivered,
        Ok(response) => {
            let status = response.status();
            // An answer whose body cannot be read is described by its status alone.
            let text = response.text().await.unwrap_or_default();
            let text: String = text.chars().take(MAX_ERROR_BODY).collect();
            Attempt::Retry(if text.trim().is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {}", text.trim())
            })
        }
        // Without the URL: it may carry a token.
        Err(err) => Attempt::Retry(describe_error(err)),
    })
}

/// Delivers one claimed run and records the outcome.
#[instrument(skip(ctx, claimed), fields(run_id = claimed.id, attempt = claimed.attempts))]
async fn deliver(ctx: &JobContext, claimed: &Claimed) -> Result<(), DbErr> {
    let Some(run) = chat_action_runs::Entity::find_by_id(claimed.id).one(&ctx.db).await? else {
        return Ok(());
    };
    let outcome = attempt(ctx, &run).await?;
    let now = crate::clock::now();
    let ours = chat_action_runs::Entity::update_many()
        .col_expr(chat_action_runs::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(chat_action_runs::Column::UpdatedAt, Expr::value(now))
        .filter(chat_action_runs::Column::Id.eq(claimed.id))
        .filter(chat_action_runs::Column::Status.eq(ChatActionRunStatus::Pending))
        .filter(chat_action_runs::Column::Attempts.eq(claimed.attempts));
    let update = match outcome {
        Attempt::Delivered => ours
            .col_expr(chat_action_runs::Column::Status, Expr::value(ChatActionRunStatus::Delivered))
            .col_expr(chat_action_runs::Column::DeliveredAt, Expr::value(Some(now)))
            .col_expr(chat_action_runs::Column::LastError, Expr::value(Option::<String>::None)),
        Attempt::Retry(reason) if (claimed.attempts as u32) < ctx.retry.max_attempts => {
            let delay = ctx.retry.delay(claimed.attempts as u32);
            tracing::warn!(%reason, delay_ms = delay.as_millis() as u64, "action webhook failed; will retry");
            let next = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(60));
            ours.col_expr(chat_action_runs::Column::NextAttemptAt, Expr::value(next))
                .col_expr(chat_action_runs::Column::LastError, Expr::value(Some(reason)))
        }
        Attempt::Retry(reason) => {
            let reason = format!("gave up after {} attempts: {reason}", claimed.attempts);
            tracing::warn!(%reason, "action webhook failed for good");
            ours.col_expr(chat_action_runs::Column::Status, Expr::value(ChatActionRunStatus::Failed))
                .col_expr(chat_action_runs::Column::LastError, Expr::value(Some(reason)))
        }
        Attempt::GiveUp(reason) => {
            tracing::warn!(%reason, "action webhook failed for good");
            ours.col_expr(chat_action_runs::Column::Status, Expr::value(ChatActionRunStatus::Failed))
                .col_expr(chat_action_runs::Column::LastError, Expr::value(Some(reason)))
        }
    };
    if update.exec(&ctx.db).await?.rows_affected == 0 {
        tracing::warn!("action webhook lease lost; another worker's outcome stands");
    }
    Ok(())
}

/// Claims and delivers until nothing is due; returns how many runs it handled.
pub async fn drain(ctx: &JobContext) -> Result<usize, DbErr> {
    let mut handled = 0;
    loop {
        let claimed = claim(ctx).await?;
        if claimed.is_empty() {
            return Ok(handled);
        }
        handled += claimed.len();
        let results = futures_util::future::join_all(claimed.iter().map(|c| deliver(ctx, c))).await;
        for result in results {
            if let Err(err) = result {
                tracing::error!(error = %err, "an action webhook outcome could not be recorded");
            }
        }
    }
}

/// The worker loop: drains due runs when woken (a run was made on this instance) or every
/// poll period.
pub async fn run(ctx: JobContext, cancel: CancellationToken) {
    loop {
        if let Err(err) = drain(&ctx).await {
            tracing::error!(error = %err, "action webhook worker failed; retrying");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = ctx.actions_ready.notified() => {}
            () = tokio::time::sleep(ctx.poll) => {}
        }
    }
}
