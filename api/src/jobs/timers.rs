//! Time limits: accept timeouts of directed chats, and completion timeouts of chats in
//! progress and of chatbot conversations (BOT_PROCESSING, docs/chatbot.md). Deadlines live on
//! rows, so the worker survives restarts; each expiry is re-checked under a row lock
//! (PostgreSQL) or the write lock (SQLite) and applied with a compare-and-set, so several
//! instances never handle one twice.

use tokio_util::sync::CancellationToken;

use super::JobContext;
use crate::domain::lifecycle;

/// Handles everything due now; returns how many expiries it acted on.
pub async fn tick(ctx: &JobContext) -> crate::domain::DomainResult<usize> {
    let (lapsed, expired) = lifecycle::due(&ctx.db, 100).await?;
    let mut acted = 0;
    for assignment in lapsed {
        acted += usize::from(lifecycle::lapse(&ctx.db, assignment).await?.routed(&ctx.db).await);
    }
    for chat in expired {
        acted += usize::from(lifecycle::expire(&ctx.db, chat).await?.routed(&ctx.db).await);
    }
    Ok(acted)
}

/// The worker loop.
pub async fn run(ctx: JobContext, cancel: CancellationToken) {
    loop {
        if let Err(err) = tick(&ctx).await {
            tracing::error!(error = %err, "time-limit worker failed; retrying");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(ctx.poll) => {}
        }
    }
}
