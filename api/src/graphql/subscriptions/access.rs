//! What a stream re-checks: a subscriber's session, role and membership whenever their access
//! changes, and per event whether they may read its chat.

use std::sync::Arc;

use async_graphql::Context;
use entity::events;
use sea_orm::DatabaseConnection;

use super::stream_reads;
use crate::domain::sessions::Principal;
use crate::events::Published;
use crate::events::topics::RecvError;
use crate::graphql::context::principal;
use crate::graphql::error::{coded, codes};

/// A per-event authorization check (true: deliver).
pub(super) type Recheck =
    Box<dyn Fn(Arc<Published>) -> futures_util::future::BoxFuture<'static, bool> + Send + Sync>;

/// What a subscription needs beyond a live session and an unchanged role, checked again
/// whenever the subscriber's access changes (for a queue: still one of its agents). Given the
/// principal as their session stands now; an error ends the stream.
pub(super) type Reauthorize = Box<
    dyn Fn(Principal) -> futures_util::future::BoxFuture<'static, async_graphql::Result<()>> + Send + Sync,
>;

/// Whether an event changes the subscriber's access: sign-out, disabling, password, role or
/// queue membership (ACCESS_CHANGED, recorded in the changing transaction and published on
/// every instance).
pub(super) fn changes_access_of(event: &events::Model, me: &Principal) -> bool {
    event.kind == crate::events::EventKind::AccessChanged.as_str() && event.agent_id == Some(me.agent_id.0)
}

/// Re-checks a subscriber's access: the session must still work, the role be the one the
/// stream was opened with, and `reauthorize` pass. The error that ends the stream otherwise.
pub(super) async fn still_allowed(
    db: &DatabaseConnection,
    principal: &Principal,
    reauthorize: Option<&Reauthorize>,
) -> Result<(), async_graphql::Error> {
    match crate::domain::sessions::current(db, principal).await {
        Ok(None) => Err(coded(codes::UNAUTHENTICATED, "the session has ended; sign in again")),
        Ok(Some(now)) if now.role != principal.role => {
            Err(coded(codes::FORBIDDEN, "your role changed; subscribe again"))
        }
        Ok(Some(now)) => match reauthorize {
            Some(reauthorize) => reauthorize(now).await,
            None => Ok(()),
        },
        Err(err) => {
            tracing::error!(error = %err, "cannot re-check a subscriber's access");
            Err(coded(codes::INTERNAL, "could not re-check your access; resubscribe"))
        }
    }
}

/// Completes when an ACCESS_CHANGED event about `me` arrives on `access` (or events were
/// dropped there, which may have hidden one); never when there is no such subscriber.
pub(super) async fn next_access_change(
    access: Option<&mut crate::events::topics::Subscriber>,
    me: &Principal,
) -> async_graphql::Result<()> {
    let Some(access) = access else { return std::future::pending().await };
    loop {
        match access.recv().await {
            Ok(event) if changes_access_of(&event, me) => return Ok(()),
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return Ok(()),
            Err(RecvError::Closed) => return std::future::pending().await,
        }
    }
}

/// Delivers only events whose chat the caller may read when the event reaches them.
pub(super) fn readable_chats_only(ctx: &Context<'_>) -> async_graphql::Result<Recheck> {
    let me = principal(ctx)?.clone();
    let db = stream_reads(ctx)?;
    Ok(Box::new(move |event: Arc<Published>| {
        let (db, me) = (db.clone(), me.clone());
        Box::pin(async move {
            match event.chat(&db).await {
                Ok(Some(chat)) => {
                    crate::domain::chats::may_see(&db, &me, &chat).await.unwrap_or_else(|err| {
                        tracing::error!(error = %err, "cannot check an event's chat");
                        false
                    })
                }
                Ok(None) => false,
                Err(err) => {
                    tracing::error!(error = %err, "cannot read an event's chat");
                    false
                }
            }
        }) as futures_util::future::BoxFuture<'static, bool>
    }))
}
