//! A subscription's stream: the log replayed after `after`, then live events from the bus,
//! with no gap and no duplicate between them, cut off with SUBSCRIPTION_OVERFLOW when the
//! subscriber falls behind and ended when their access does.

use std::sync::Arc;

use async_graphql::{Context, ID};
use entity::events;
use futures_util::Stream;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::access::{Reauthorize, Recheck, changes_access_of, next_access_change, still_allowed};
use super::{Filter, SharedStream, StreamConfig, stream_reads};
use crate::domain::sessions::Principal;
use crate::events::Published;
use crate::events::bus::EventBus;
use crate::events::topics::{RecvError, Topic};
use crate::graphql::context::principal;
use crate::graphql::detached;
use crate::graphql::error::{ResultExt, coded, codes};
use crate::graphql::types::event::Event;

fn parse_after(after: Option<ID>) -> async_graphql::Result<Option<i64>> {
    after
        .map(|id| id.parse::<i64>().map_err(|_| coded(codes::BAD_USER_INPUT, "after must be an event id")))
        .transpose()
}

/// Refuses an `after` older than what the log still holds.
async fn check_retained(db: &DatabaseConnection, after: i64) -> async_graphql::Result<()> {
    let purged = crate::domain::settings::events_purged_through(db).await.gql()?;
    if after < purged {
        return Err(coded(
            "EVENTS_EXPIRED",
            format!(
                "events up to {purged} are no longer kept; refetch with queries and subscribe without `after`"
            ),
        ));
    }
    Ok(())
}

/// The stream: replay after `after` from the log, then live events from the bus.
/// Handed to the group running it when there is one (see `crate::graphql::detached`).
pub(super) async fn stream(
    ctx: &Context<'_>,
    filter: Filter,
    after: Option<ID>,
    recheck: Option<Recheck>,
    reauthorize: Option<Reauthorize>,
) -> async_graphql::Result<EventStream> {
    // An execution for one event never sets a live stream up, even for a resolver that does
    // not look for its event first (it would then run its own set-up per event, but answer
    // the one event and end): the group's loop waits for each execution to end.
    if let Some(one) = detached::one_event(ctx) {
        return Ok(one);
    }
    // Boxed while it starts: its database reads would otherwise stay in the state async-graphql
    // keeps for the stream's whole life (measured with heaptrack; see docs/benchmarks.md).
    let published = Box::pin(published(ctx, filter, after, recheck, reauthorize)).await?;
    Ok(detached::hand_over_or_run(ctx, futures_util::StreamExt::boxed(published)))
}

/// What the `Event` subscriptions answer.
pub(super) type EventStream = futures_util::stream::BoxStream<'static, async_graphql::Result<Event>>;

/// The events that change agents' workload rows, with the resume, overflow and access
/// re-checks of every stream (for `crate::graphql::workload`).
pub(in crate::graphql) async fn workload_events(
    ctx: &Context<'_>,
    after: Option<ID>,
) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Arc<Published>>> + use<>> {
    // Boxed while it starts, as in [`stream`].
    Box::pin(published(ctx, Filter::Workload, after, None, None)).await
}

/// [`stream`]'s events as published.
async fn published(
    ctx: &Context<'_>,
    filter: Filter,
    after: Option<ID>,
    recheck: Option<Recheck>,
    reauthorize: Option<Reauthorize>,
) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Arc<Published>>> + use<>> {
    let principal: Principal = principal(ctx)?.clone();
    let db = stream_reads(ctx)?;
    let bus = ctx.data::<EventBus>()?.clone();
    let config = *ctx.data::<StreamConfig>()?;
    let metrics = ctx.data::<crate::jobs::JobContext>()?.metrics.clone();
    let shared = ctx.data_opt::<SharedStream>().cloned();
    let after = parse_after(after)?;
    if let Some(after) = after {
        check_retained(&db, after).await?;
    }
    // Subscribe before reading the log, so nothing committed in between is missed; ids
    // already replayed are skipped when they come through the bus.
    let mut live = bus.subscribe(filter.topic());
    // Access changes arrive as events about the subscriber; a stream that does not follow
    // its own agent listens for them beside its topic.
    let mut access = (filter.topic() != Topic::Agent(principal.agent_id.0))
        .then(|| bus.subscribe(Topic::Agent(principal.agent_id.0)));
    // Checked once the bus is listening: a change committed before this is seen here, one
    // committed after arrives as an event.
    still_allowed(&db, &principal, reauthorize.as_ref()).await?;
    // Without `after`, the stream starts at the newest committed event: older ones the bus
    // has not published yet must not leak in.
    let start = match after {
        Some(after) => after,
        None => {
            crate::events::bus::newest(&db).await.map_err(|e| crate::graphql::error::from_domain(e.into()))?
        }
    };
    // The stream's state is what an idle subscriber costs: the futures that read the
    // database are boxed, so they take memory only while they run.
    Ok(async_stream::stream! {
        let _active = match &shared {
            None => Some(metrics.subscription_started()),
            Some(shared) => {
                (shared.live)();
                None
            }
        };
        // Boxed, like every database read of the stream (above).
        let allowed = || Box::pin(still_allowed(&db, &principal, reauthorize.as_ref()));
        let mut last = start;
        if after.is_some() {
            loop {
                let page = Box::pin(
                    filter
                        .apply(events::Entity::find().filter(events::Column::Id.gt(last)))
                        .order_by_asc(events::Column::Id)
                        .limit(500)
                        .all(&db),
                )
                .await;
                match page {
                    Ok(rows) if rows.is_empty() => break,
                    Ok(rows) => {
                        // The replay reads only the stream's kinds, not the ACCESS_CHANGED events
                        // among them: access is checked again for every page read, so a change
                        // committed while the log was replayed ends the stream before the page
                        // goes out (one committed after it arrives live).
                        if let Err(err) = allowed().await {
                            yield Err(err);
                            return;
                        }
                        for row in rows {
                            last = row.id;
                            let row = Arc::new(Published::new(row));
                            if let Some(recheck) = &recheck && !recheck(row.clone()).await {
                                continue;
                            }
                            SharedStream::yielding(shared.as_ref(), &row);
                            yield Ok(row);
                        }
                    }
                    Err(err) => {
                        // Logged and coded in one place (DATABASE_UNAVAILABLE in an outage):
                        // the client resubscribes with the last id it received.
                        yield Err(crate::graphql::error::from_domain(err.into()));
                        return;
                    }
                }
            }
        }
        let mut check = tokio::time::interval(config.session_check);
        check.tick().await;
        loop {
            tokio::select! {
                // An access change published before a live event is seen before it.
                biased;
                changed = next_access_change(access.as_mut(), &principal) => {
                    if let Err(err) = changed {
                        yield Err(err);
                        return;
                    }
                    if let Err(err) = allowed().await {
                        yield Err(err);
                        return;
                    }
                }
                received = live.recv() => match received {
                    Ok(event) => {
                        if changes_access_of(&event, &principal)
                            && let Err(err) = allowed().await
                        {
                            yield Err(err);
                            return;
                        }
                        if event.id <= last || !filter.matches(&event) {
                            continue;
                        }
                        last = event.id;
                        if let Some(recheck) = &recheck && !recheck(event.clone()).await {
                            continue;
                        }
                        SharedStream::yielding(shared.as_ref(), &event);
                        yield Ok(event);
                    }
                    Err(RecvError::Lagged(missed)) => {
                        yield Err(coded(
                            "SUBSCRIPTION_OVERFLOW",
                            format!("this subscriber fell {missed} events behind; resubscribe with after: \"{last}\""),
                        ));
                        return;
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = check.tick() => {
                    // Expiry has no event; access changes missed on the way are caught here too.
                    if let Err(err) = allowed().await {
                        yield Err(err);
                        return;
                    }
                }
            }
        }
    })
}
