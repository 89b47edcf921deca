//! The event bus: publishes committed event rows to subscribers, in id order.
//!
//! A tailer reads rows past the last one it published and hands each to the subscribers of
//! the subjects it names (`topics`).
//! It wakes on a local nudge, on PostgreSQL `NOTIFY` from any instance (the notification only
//! says "look"; the row is the truth), and on a short poll as a safety net. On PostgreSQL ids
//! are taken at insert but become visible at commit, so a lower id can appear after a higher
//! one: the tailer waits for a missing id for a short grace period before moving past it (a
//! rolled-back transaction leaves a gap for good).

use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::events;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::Published;
use super::topics::{Subscriber, Topic, Topics};

/// How long the tailer waits for a missing id before it treats it as rolled back.
const GAP_GRACE: Duration = Duration::from_millis(500);
/// Rows read per round.
const BATCH: u64 = 500;

/// Publishes committed events to the subscribers of this instance.
#[derive(Clone, Debug)]
pub struct EventBus {
    topics: Topics,
    capacity: usize,
    nudge: Arc<Notify>,
}

impl EventBus {
    /// A bus whose subscribers may fall `capacity` events behind before they miss some.
    pub fn new(capacity: usize) -> Self {
        Self { topics: Topics::default(), capacity: capacity.max(1), nudge: Arc::new(Notify::new()) }
    }

    /// A receiver of the events about `topic` published from now on.
    pub fn subscribe(&self, topic: Topic) -> Subscriber {
        self.topics.subscribe(topic, self.capacity)
    }

    /// Asks the tailer to look now (after a local commit).
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Subscribers currently connected.
    pub fn subscribers(&self) -> usize {
        self.topics.len()
    }
}

/// The id the tailer starts after: the newest committed event.
pub async fn newest(db: &DatabaseConnection) -> Result<i64, sea_orm::DbErr> {
    let id: Option<i64> = events::Entity::find()
        .select_only()
        .column(events::Column::Id)
        .order_by_desc(events::Column::Id)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(id.unwrap_or(0))
}

/// Tails the event table and publishes rows in id order until cancelled.
pub async fn run_tailer(
    db: DatabaseConnection,
    bus: EventBus,
    poll: Duration,
    metrics: crate::metrics::Metrics,
    cancel: CancellationToken,
) {
    let mut cursor = loop {
        match newest(&db).await {
            Ok(id) => break id,
            Err(err) => {
                tracing::error!(error = %err, "event tailer cannot start; retrying");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    let mut gap_since: Option<Instant> = None;
    loop {
        match events::Entity::find()
            .filter(events::Column::Id.gt(cursor))
            .order_by_asc(events::Column::Id)
            .limit(BATCH)
            .all(&db)
            .await
        {
            Ok(rows) => {
                let mut more = rows.len() as u64 == BATCH;
                for row in rows {
                    if row.id != cursor + 1 {
                        let since = *gap_since.get_or_insert_with(Instant::now);
                        if since.elapsed() < GAP_GRACE {
                            more = false;
                            break;
                        }
                        tracing::debug!(missing_from = cursor + 1, next = row.id, "skipping an event id gap");
                    }
                    gap_since = None;
                    cursor = row.id;
                    let created_at = row.created_at;
                    let dropped = bus.topics.publish(&Arc::new(Published::new(row)));
                    metrics.event_published(created_at, dropped);
                }
                if more {
                    continue;
                }
            }
            Err(err) => tracing::error!(error = %err, "event tailer read failed"),
        }
        let wait = if gap_since.is_some() { Duration::from_millis(20) } else { poll };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = bus.nudge.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Listens for other instances' commits (PostgreSQL) and nudges the tailer.
pub async fn run_listener(database_url: String, bus: EventBus, cancel: CancellationToken) {
    use sea_orm::sqlx::postgres::PgListener;
    loop {
        let listener = async {
            let mut listener = PgListener::connect(&database_url).await?;
            listener.listen(super::NOTIFY_CHANNEL).await?;
            loop {
                listener.recv().await?;
                bus.nudge();
            }
            #[allow(unreachable_code)]
            Ok::<(), sea_orm::sqlx::Error>(())
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            result = listener => {
                if let Err(err) = result {
                    tracing::warn!(error = %err, "event listener lost its connection; reconnecting");
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
