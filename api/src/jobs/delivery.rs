//! The outbox worker: delivers queued replies through the channel's provider, with retries
//! and exponential backoff. Rows are claimed with a short lease (`locked_until`), with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several instances share the work; the lease is
//! renewed while a delivery runs, so a live worker keeps its row however long the provider
//! takes, and the rows of a worker that died are free again within one lease, for any
//! instance (or the restarted one) to pick up.
//!
//! Delivery is at least once: a provider call that succeeded just before its instance died
//! (or lost the database long enough for its lease to lapse) is made again by whoever takes
//! the row over, and the customer may get that reply twice.

use chrono::Utc;
use entity::enums::{AttachmentStatus, AuthorKind, ChannelKind, DeliveryStatus, OutboxStatus};
use entity::{attachments, channels, chats, contact_identities, messages, outbox};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Set, Statement,
};
use tokio_util::sync::CancellationToken;
use tracing::instrument;

use super::JobContext;
use crate::channels::{self as adapters, OutboundFile, OutboundMessage, OutboundTemplate, SendError};
use crate::domain::channels::Credentials;
use crate::domain::ids::{AgentId, ChatId, MessageId};
use crate::domain::ingest::moves_forward;
use crate::events::{self, EventKind, Subjects};

/// Rows claimed per round.
const BATCH: i64 = 16;

/// One claimed delivery. `attempts` (counted up by every claim) tells our claim from a later
/// one by another worker.
#[derive(Debug)]
struct Claimed {
    id: i64,
    message_id: i64,
    attempts: i32,
}

/// Claims due rows: PENDING, due, and not leased by a live worker.
async fn claim(ctx: &JobContext) -> Result<Vec<Claimed>, DbErr> {
    let now = crate::clock::now();
    let lease = lease_end(ctx, now);
    let backend = ctx.db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE outbox SET locked_until = $1, attempts = attempts + 1, updated_at = $2 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'PENDING' AND next_attempt_at <= $2 \
             AND (locked_until IS NULL OR locked_until < $2) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, message_id, attempts"
        }
        // SQLite runs one writer at a time, so the sub-select needs no row locks.
        _ => {
            "UPDATE outbox SET locked_until = ?1, attempts = attempts + 1, updated_at = ?2 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'PENDING' AND next_attempt_at <= ?2 \
             AND (locked_until IS NULL OR locked_until < ?2) ORDER BY id LIMIT ?3) \
             RETURNING id, message_id, attempts"
        }
    };
    let statement = Statement::from_sql_and_values(backend, sql, [lease.into(), now.into(), BATCH.into()]);
    let rows = ctx.db.query_all_raw(statement).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                id: row.try_get("", "id")?,
                message_id: row.try_get("", "message_id")?,
                attempts: row.try_get("", "attempts")?,
            })
        })
        .collect()
}

/// When a lease taken or renewed at `now` ends.
fn lease_end(ctx: &JobContext, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    now + chrono::Duration::from_std(ctx.lease).unwrap_or(chrono::Duration::seconds(10))
}

/// Extends our lease on a claimed row; `false` when the row is no longer ours to renew: done
/// (SENT, FAILED, or released for a retry) or claimed again by another worker after our
/// lease lapsed.
async fn renew(ctx: &JobContext, claimed: &Claimed) -> Result<bool, DbErr> {
    let now = crate::clock::now();
    let result = outbox::Entity::update_many()
        .col_expr(outbox::Column::LockedUntil, Expr::value(Some(lease_end(ctx, now))))
        .filter(outbox::Column::Id.eq(claimed.id))
        .filter(outbox::Column::Status.eq(OutboxStatus::Pending))
        .filter(outbox::Column::Attempts.eq(claimed.attempts))
        .filter(outbox::Column::LockedUntil.is_not_null())
        .exec(&ctx.db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Runs `work` (one row's delivery) while renewing the row's lease every third of the lease,
/// and stops renewing when it is done. A renewal that finds the row no longer ours stops the
/// renewals (the other worker will deliver too: at least once); one that fails on the
/// database is tried again at the next tick.
async fn leased<T>(ctx: &JobContext, claimed: &Claimed, work: impl Future<Output = T>) -> T {
    let heartbeat = async {
        let period = (ctx.lease / 3).max(std::time::Duration::from_millis(100));
        loop {
            tokio::time::sleep(period).await;
            match renew(ctx, claimed).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(outbox_id = claimed.id, "delivery lease lost; stopped renewing it");
                    return;
                }
                Err(err) => {
                    tracing::warn!(outbox_id = claimed.id, error = %err, "cannot renew a delivery lease")
                }
            }
        }
    };
    let mut work = std::pin::pin!(work);
    tokio::select! {
        output = &mut work => return output,
        () = heartbeat => {}
    }
    work.await
}

/// What a delivery needs besides the message: where it goes and how.
struct Route {
    channel: channels::Model,
    chat: chats::Model,
    recipient: String,
}

async fn route(ctx: &JobContext, message: &messages::Model) -> Result<Option<Route>, DbErr> {
    let Some(chat) = chats::Entity::find_by_id(message.chat_id).one(&ctx.db).await? else { return Ok(None) };
    let Some(channel) = channels::Entity::find_by_id(message.channel_id).one(&ctx.db).await? else {
        return Ok(None);
    };
    let identity = contact_identities::Entity::find()
        .filter(contact_identities::Column::ContactId.eq(chat.contact_id))
        .filter(contact_identities::Column::ChannelKind.eq(channel.kind))
        .one(&ctx.db)
        .await?;
    Ok(identity.map(|identity| Route { channel, chat, recipient: identity.external_id }))
}

/// Sends through the channel's provider.
pub async fn send(
    ctx: &JobContext,
    channel: &channels::Model,
    message: &OutboundMessage,
) -> Result<Option<String>, SendError> {
    let credentials = Credentials::of(channel);
    let secret = |value: &Option<String>| value.clone().unwrap_or_default();
    if message.template.is_some() && channel.kind != ChannelKind::Whatsapp {
        let reason = "message templates are sent on WhatsApp only".into();
        return Err(SendError::Permanent { reason, outside_window: false });
    }
    if message.hand_back {
        if channel.kind != ChannelKind::Messenger {
            let reason = "only Messenger conversations are handed back to a chatbot".into();
            return Err(SendError::Permanent { reason, outside_window: false });
        }
        let token = secret(&credentials.access_token);
        let metadata = message.text.as_deref();
        adapters::messenger::api::pass_thread_control(&ctx.apis, &token, &message.recipient, metadata)
            .await?;
        return Ok(None);
    }
    let sent = match channel.kind {
        ChannelKind::Whatsapp => {
            adapters::whatsapp::api::send(
                &ctx.apis,
                &secret(&credentials.access_token),
                &secret(&credentials.phone_number_id),
                message,
            )
            .await
        }
        ChannelKind::Messenger => {
            adapters::messenger::api::send(&ctx.apis, &secret(&credentials.access_token), message).await
        }
        ChannelKind::Telegram => {
            adapters::telegram::api::send(&ctx.apis, &secret(&credentials.bot_token), message).await
        }
    };
    sent.map(Some)
}

async fn files_of(ctx: &JobContext, message_id: i64) -> Result<Vec<OutboundFile>, String> {
    let rows = attachments::Entity::find()
        .filter(attachments::Column::MessageId.eq(message_id))
        .filter(attachments::Column::Status.eq(AttachmentStatus::Stored))
        .order_by_asc(attachments::Column::Id)
        .all(&ctx.db)
        .await
        .map_err(|err| err.to_string())?;
    let mut files = Vec::with_capacity(rows.len());
    for row in rows {
        let key = row.storage_key.clone().unwrap_or_default();
        let bytes = ctx.files.get(&key).await.map_err(|err| format!("cannot read a stored file: {err}"))?;
        files.push(OutboundFile {
            file_name: row.file_name.clone().unwrap_or_else(|| "file".into()),
            content_type: row.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
            bytes,
        });
    }
    Ok(files)
}

/// Delivers one claimed row and records the outcome.
#[instrument(skip(ctx, claimed), fields(outbox_id = claimed.id, message_id = claimed.message_id, attempt = claimed.attempts))]
async fn deliver(ctx: &JobContext, claimed: &Claimed) -> Result<(), DbErr> {
    let Some(message) = messages::Entity::find_by_id(claimed.message_id).one(&ctx.db).await? else {
        return Ok(());
    };
    let Some(route) = route(ctx, &message).await? else {
        return fail(ctx, claimed, &message, None, "the chat's contact has no identity on this channel")
            .await;
    };
    if !route.channel.active {
        return fail(ctx, claimed, &message, Some(&route.chat), "the channel is inactive").await;
    }
    let files = match files_of(ctx, message.id).await {
        Ok(files) => files,
        Err(reason) => return fail(ctx, claimed, &message, Some(&route.chat), &reason).await,
    };
    let template = match crate::domain::message_templates::send_of(&ctx.db, message.id).await? {
        Some(row) => Some(OutboundTemplate {
            name: row.name,
            language_code: row.language_code,
            // Written by `record_send` as an array of strings.
            parameters: serde_json::from_value(row.parameters).unwrap_or_default(),
        }),
        None => None,
    };
    let outbound = OutboundMessage {
        message_id: MessageId(message.id),
        recipient: route.recipient.clone(),
        text: message.text.clone(),
        files,
        // SYSTEM messages in the outbox are control actions; the only one is the hand-back.
        hand_back: message.author_kind == AuthorKind::System,
        template,
    };
    let result = send(ctx, &route.channel, &outbound).await;
    let outcome = match &result {
        Ok(_) => "sent",
        Err(SendError::Retryable { .. }) if (claimed.attempts as u32) < ctx.retry.max_attempts => "retry",
        Err(_) => "failed",
    };
    let provider = crate::metrics::provider(route.channel.kind);
    let recorded = match result {
        Ok(provider_id) => sent(ctx, claimed, &message, &route.chat, provider_id).await,
        Err(SendError::Retryable { reason, retry_after })
            if (claimed.attempts as u32) < ctx.retry.max_attempts =>
        {
            let delay = ctx.retry.delay(claimed.attempts as u32).max(retry_after.unwrap_or_default());
            tracing::warn!(%reason, delay_ms = delay.as_millis() as u64, "delivery failed; will retry");
            let next = crate::clock::now()
                + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(60));
            outbox::Entity::update_many()
                .col_expr(outbox::Column::NextAttemptAt, Expr::value(next))
                .col_expr(outbox::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
                .col_expr(outbox::Column::LastError, Expr::value(reason))
                .col_expr(outbox::Column::UpdatedAt, Expr::value(crate::clock::now()))
                .filter(outbox::Column::Id.eq(claimed.id))
                .exec(&ctx.db)
                .await?;
            Ok(())
        }
        Err(SendError::Retryable { reason, .. }) => {
            let reason = format!("gave up after {} attempts: {reason}", claimed.attempts);
            fail(ctx, claimed, &message, Some(&route.chat), &reason).await
        }
        Err(SendError::Permanent { reason, outside_window }) => {
            let reason = if outside_window {
                format!("{}: {reason}", adapters::OUTSIDE_WINDOW_PREFIX)
            } else {
                reason
            };
            fail(ctx, claimed, &message, Some(&route.chat), &reason).await
        }
    };
    // Counted once the outcome is recorded, so a scrape never sees a delivery counted while
    // its row is still pending.
    ctx.metrics.delivery(provider, outcome);
    recorded
}

async fn sent(
    ctx: &JobContext,
    claimed: &Claimed,
    message: &messages::Model,
    chat: &chats::Model,
    provider_id: Option<String>,
) -> Result<(), DbErr> {
    let txn = crate::db::write(&ctx.db).await?;
    let mut row: outbox::ActiveModel = outbox::Entity::find_by_id(claimed.id)
        .one(&txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("outbox row".into()))?
        .into();
    row.status = Set(OutboxStatus::Sent);
    row.locked_until = Set(None);
    row.last_error = Set(None);
    row.updated_at = Set(crate::clock::now());
    row.update(&txn).await?;
    let mut update: messages::ActiveModel = message.clone().into();
    update.provider_message_id = Set(provider_id);
    if moves_forward(message.delivery_status, DeliveryStatus::Sent) {
        update.delivery_status = Set(Some(DeliveryStatus::Sent));
    }
    update.update(&txn).await?;
    record(&txn, message, chat, DeliveryStatus::Sent, None).await?;
    txn.commit().await
}

async fn fail(
    ctx: &JobContext,
    claimed: &Claimed,
    message: &messages::Model,
    chat: Option<&chats::Model>,
    reason: &str,
) -> Result<(), DbErr> {
    tracing::warn!(%reason, "delivery failed for good");
    let txn = crate::db::write(&ctx.db).await?;
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Failed))
        .col_expr(outbox::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .col_expr(outbox::Column::LastError, Expr::value(reason))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(crate::clock::now()))
        .filter(outbox::Column::Id.eq(claimed.id))
        .exec(&txn)
        .await?;
    let mut update: messages::ActiveModel = message.clone().into();
    update.delivery_status = Set(Some(DeliveryStatus::Failed));
    update.delivery_error = Set(Some(reason.to_owned()));
    update.update(&txn).await?;
    if let Some(chat) = chat {
        record(&txn, message, chat, DeliveryStatus::Failed, Some(reason)).await?;
    }
    txn.commit().await
}

async fn record(
    db: &impl ConnectionTrait,
    message: &messages::Model,
    chat: &chats::Model,
    status: DeliveryStatus,
    error: Option<&str>,
) -> Result<(), DbErr> {
    let subjects =
        Subjects { chat: Some(ChatId(chat.id)), agent: chat.owner_id.map(AgentId), ..Default::default() };
    let payload = serde_json::json!({ "messageId": message.id, "status": status.as_str(), "error": error });
    events::record(db, EventKind::DeliveryStatusChanged, subjects, payload).await.map(|_| ())
}

/// Claims and delivers until nothing is due; returns how many rows it handled.
pub async fn drain(ctx: &JobContext) -> Result<usize, DbErr> {
    let mut handled = 0;
    loop {
        let claimed = claim(ctx).await?;
        if claimed.is_empty() {
            return Ok(handled);
        }
        handled += claimed.len();
        // Deliveries of one batch run concurrently; each records its own outcome.
        let results =
            futures_util::future::join_all(claimed.iter().map(|c| leased(ctx, c, deliver(ctx, c)))).await;
        for result in results {
            if let Err(err) = result {
                tracing::error!(error = %err, "a delivery outcome could not be recorded");
            }
        }
    }
}

/// The worker loop: drains the outbox when woken or every poll period.
pub async fn run(ctx: JobContext, cancel: CancellationToken) {
    loop {
        if let Err(err) = drain(&ctx).await {
            tracing::error!(error = %err, "delivery worker failed; retrying");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = ctx.outbox_ready.notified() => {}
            () = tokio::time::sleep(ctx.poll) => {}
        }
    }
}
