//! The `chatStats` result cache: exact figures, most of them from memory.
//!
//! A chat's figures change until it is completed, and never after: a completed chat keeps its
//! queue, owner, channel, status, times and reason (chats are never deleted nor reopened; a
//! merge moves them to another contact, which is why a filter on the contact is not served
//! here). So every chat created before the oldest open chat is final, and the groups of a
//! request over `[from, upto)`, where `upto` is no later than that, are the same at every
//! later request. The cache keeps those groups ([`aggregate::Groups`], each duration's values
//! sorted) per request shape — the filter with its creation range's `from` but not its `to`,
//! the grouping and the zone — and reads only the chats created from `upto` on; the two parts
//! combine exactly ([`aggregate::finish`]). When the oldest open chat has moved on by
//! [`EXTEND_AFTER`], the kept part is extended to it (the rows in between read once).
//!
//! What could make a kept part wrong, and how it is ruled out:
//! - A chat inserted later with an earlier creation time (a write transaction that read the
//!   clock before the cache looked, and commits after): `upto` stays [`IN_FLIGHT`] behind
//!   both the server's clock and the database's (on a replica, the last replayed commit), and
//!   every request checks that no chat with an id above the largest seen when the part was
//!   read was created before `upto` (a primary-key range look-up); if one was, the part is
//!   read again.
//! - Concurrent requests of one shape wait for the one reading it (one read, not eight).
//!
//! At most [`READS_AT_ONCE`] parts are read at once. Memory is bounded by a budget of
//! duration values over all kept parts (8 bytes each); the least recently used parts go first,
//! and a part larger than the budget is not kept. The per-request work is then two statements
//! (the snapshot below, and the chats since `upto`) plus a binary search per percentile.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use super::aggregate::{self, Groups};
use super::{Group, GroupBy};
use crate::domain::error::DomainResult;
use crate::domain::history::{Filter, Range};
use entity::enums::Role;

use crate::domain::sessions::Principal;

/// How far `upto` stays behind the clocks, for write transactions still in flight.
pub const IN_FLIGHT: Duration = Duration::minutes(15);

/// How far the oldest open chat moves on before a kept part is extended to it.
pub const EXTEND_AFTER: Duration = Duration::minutes(15);

/// Most parts read at once, over all shapes: a part's read holds every chat of its range in
/// memory while it groups them (8 new shapes at once over 150,000 chats each took the
/// server's memory to about 0.5 GB on PostgreSQL and 1 GB on SQLite), and reading more at once
/// than there are cores only makes each slower.
pub const READS_AT_ONCE: usize = 2;

/// Most request shapes remembered at once (their keys, even when a shape keeps no part).
pub const MAX_SHAPES: usize = 1024;

/// How the cache answered, counted for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests answered from a kept part (plus the chats since).
    pub hits: u64,
    /// Parts read (a new shape, a part found stale, or one evicted).
    pub reads: u64,
    /// Parts extended to a newer oldest open chat.
    pub extensions: u64,
}

/// The groups of one request shape over `[from, upto)`.
struct Part {
    upto: DateTime<Utc>,
    /// The largest chat id when it was read.
    max_id: i64,
    groups: Groups,
    values: usize,
}

impl Part {
    fn new(upto: DateTime<Utc>, max_id: i64, groups: Groups) -> Arc<Self> {
        let values = groups.values().map(aggregate::Values::len).sum();
        Arc::new(Self { upto, max_id, groups, values })
    }
}

/// One request shape's kept part; its lock makes concurrent requests of the shape wait for
/// the one reading it.
#[derive(Default)]
struct Slot {
    part: tokio::sync::Mutex<Option<Arc<Part>>>,
    /// When it was last used (a tick of [`StatsCache::tick`]).
    used: AtomicU64,
    /// Duration values it keeps.
    values: AtomicUsize,
}

/// The cache; one per server.
pub struct StatsCache {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    budget: usize,
    tick: AtomicU64,
    reads_at_once: tokio::sync::Semaphore,
    hits: AtomicU64,
    reads: AtomicU64,
    extensions: AtomicU64,
}

impl std::fmt::Debug for StatsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsCache").field("budget", &self.budget).field("counts", &self.counts()).finish()
    }
}

/// What one statement tells about the chats before a request.
struct Snapshot {
    oldest_open: Option<DateTime<Utc>>,
    max_id: i64,
    /// A chat above the part's `max_id` created before its `upto`.
    stale: bool,
    /// The database's clock (PostgreSQL; on a replica the last replayed commit's time).
    database_time: Option<DateTime<Utc>>,
}

impl StatsCache {
    /// A cache keeping at most `budget_bytes` of duration values (0: nothing is kept).
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            slots: Mutex::default(),
            budget: budget_bytes / std::mem::size_of::<f64>(),
            tick: AtomicU64::new(0),
            reads_at_once: tokio::sync::Semaphore::new(READS_AT_ONCE),
            hits: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            extensions: AtomicU64::new(0),
        }
    }

    /// How it answered so far.
    pub fn counts(&self) -> Counts {
        Counts {
            hits: self.hits.load(Ordering::Relaxed),
            reads: self.reads.load(Ordering::Relaxed),
            extensions: self.extensions.load(Ordering::Relaxed),
        }
    }

    /// A turn to read a part ([`READS_AT_ONCE`]).
    async fn reading(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        // The semaphore is never closed; were it, reading without a turn is still correct.
        self.reads_at_once.acquire().await.ok()
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Slot>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether it serves a request: when it may keep anything, for roles that read every chat
    /// (an agent's read rule depends on assignments that change), and without a contact in the
    /// filter (merges move chats).
    pub(super) fn serves(&self, principal: &Principal, filter: &Filter) -> bool {
        self.budget > 0
            && matches!(principal.role, Role::Supervisor | Role::Admin | Role::Analyst)
            && filter.contact.is_none()
    }

    fn slot(&self, key: String) -> Arc<Slot> {
        let mut slots = self.slots();
        let slot = slots.entry(key).or_default().clone();
        slot.used.store(self.tick.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        Self::evict(&mut slots, &slot, self.budget);
        slot
    }

    /// Forgets the least recently used shapes other than `current` until the kept values fit
    /// `budget` and the shapes [`MAX_SHAPES`].
    fn evict(slots: &mut HashMap<String, Arc<Slot>>, current: &Slot, budget: usize) {
        let mut total: usize = slots.values().map(|s| s.values.load(Ordering::Relaxed)).sum();
        while total > budget || slots.len() > MAX_SHAPES {
            let oldest = slots
                .iter()
                .filter(|(_, other)| !std::ptr::eq(Arc::as_ptr(other), current))
                .min_by_key(|(_, other)| other.used.load(Ordering::Relaxed))
                .map(|(key, other)| (key.clone(), other.values.load(Ordering::Relaxed)));
            let Some((key, values)) = oldest else { break };
            slots.remove(&key);
            total -= values;
        }
    }

    /// Keeps `part` in `slot` if it fits the budget, then forgets the least recently used
    /// other parts until all fit.
    fn keep(&self, slot: &Slot, kept: &mut Option<Arc<Part>>, part: Arc<Part>) {
        if part.values > self.budget {
            *kept = None;
            slot.values.store(0, Ordering::Relaxed);
            return;
        }
        slot.values.store(part.values, Ordering::Relaxed);
        *kept = Some(part);
        Self::evict(&mut self.slots(), slot, self.budget);
    }

    /// `chatStats` for a request [`Self::serves`] accepts (`by` sorted and deduplicated, the filter
    /// checked).
    pub(super) async fn chat_stats(
        &self,
        db: &impl ConnectionTrait,
        principal: &Principal,
        filter: &Filter,
        by: &[GroupBy],
        zone: Tz,
        max_groups: usize,
    ) -> DomainResult<Vec<Group>> {
        let shape = Filter { created: Range { from: filter.created.from, to: None }, ..filter.clone() };
        let slot = self.slot(format!("{shape:?}|{by:?}|{zone}"));
        let mut kept = slot.part.lock().await;
        let snapshot = snapshot(db, kept.as_deref()).await?;
        if snapshot.stale {
            *kept = None;
            slot.values.store(0, Ordering::Relaxed);
        }
        let now = crate::clock::now();
        let upto = [
            Some(now - IN_FLIGHT),
            snapshot.database_time.map(|t| t - IN_FLIGHT),
            snapshot.oldest_open,
            filter.created.to,
        ]
        .into_iter()
        .flatten()
        .min()
        .filter(|upto| filter.created.from.is_none_or(|from| from < *upto));
        let range = |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| Filter {
            created: Range { from, to },
            ..filter.clone()
        };
        let part = match (kept.clone(), upto) {
            (_, None) => None,
            (Some(part), Some(upto)) if part.upto <= upto && upto - part.upto < EXTEND_AFTER => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(part)
            }
            (Some(part), Some(upto)) if part.upto <= upto => {
                let _reading = self.reading().await;
                let since =
                    aggregate::read(db, principal, &range(Some(part.upto), Some(upto)), by, zone, max_groups)
                        .await?;
                let extended = Part::new(upto, snapshot.max_id, aggregate::union(&part.groups, &since));
                self.extensions.fetch_add(1, Ordering::Relaxed);
                self.keep(&slot, &mut kept, extended.clone());
                Some(extended)
            }
            (_, Some(upto)) => {
                let _reading = self.reading().await;
                let groups = aggregate::read(
                    db,
                    principal,
                    &range(filter.created.from, Some(upto)),
                    by,
                    zone,
                    max_groups,
                )
                .await?;
                let read = Part::new(upto, snapshot.max_id, groups);
                self.reads.fetch_add(1, Ordering::Relaxed);
                self.keep(&slot, &mut kept, read.clone());
                Some(read)
            }
        };
        drop(kept);
        let (closed, from) = match &part {
            Some(part) => (&part.groups, Some(part.upto)),
            None => (&Groups::new(), filter.created.from),
        };
        let fresh = if filter.created.to.is_some_and(|to| from.is_some_and(|from| from >= to)) {
            Groups::new()
        } else {
            aggregate::read(db, principal, &range(from, filter.created.to), by, zone, max_groups).await?
        };
        aggregate::finish(closed, &fresh, max_groups)
    }
}

/// Most chats created since a part was read that a request checks; past that the part is read
/// anew (so the check stays a short primary-key range).
const SINCE: usize = 1000;

/// The oldest open chat, the largest chat id, whether `part` is stale, and the database's
/// clock: one statement, each part an index look-up. The chats since the part are read in id
/// order (`ORDER BY id LIMIT`), so that even PostgreSQL's generic plan for the prepared
/// statement, which cannot know how recent the bound id is, walks the primary key from it
/// rather than the table.
async fn snapshot(db: &impl ConnectionTrait, part: Option<&Part>) -> DomainResult<Snapshot> {
    let (max_id, upto) = match part {
        Some(part) => (part.max_id, part.upto),
        None => (i64::MAX, DateTime::<Utc>::UNIX_EPOCH),
    };
    let row = db
        .query_one_raw(snapshot_statement(db.get_database_backend(), max_id, upto))
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("the chats snapshot".into()))?;
    let since: i64 = row.try_get_by_index(2)?;
    let late: i64 = row.try_get_by_index(3)?;
    Ok(Snapshot {
        oldest_open: row.try_get_by_index(0)?,
        max_id: row.try_get_by_index::<Option<i64>>(1)?.unwrap_or(0),
        stale: late > 0 || since >= SINCE as i64,
        database_time: row.try_get_by_index(4)?,
    })
}

/// The statement of [`snapshot`] for a part read up to chat `max_id` and ending at `upto`
/// (public for the plans test, tests/e2e/plans.rs, which checks that even its generic plan on
/// PostgreSQL reads `chats` through indexes only).
pub fn snapshot_statement(backend: DbBackend, max_id: i64, upto: DateTime<Utc>) -> Statement {
    // SQLite numbers its parameters `?1`, `?2`; PostgreSQL `$1`, `$2`.
    let (id, upto_at, database_time) = match backend {
        DbBackend::Postgres => {
            ("$1", "$2", "CASE WHEN pg_is_in_recovery() THEN pg_last_xact_replay_timestamp() ELSE now() END")
        }
        _ => ("?1", "?2", "NULL"),
    };
    let values: Vec<Value> = vec![max_id.into(), upto.into()];
    let text = format!(
        "SELECT \
           (SELECT min(t) FROM ( \
              SELECT min(created_at) AS t FROM chats WHERE status = 'BOT_PROCESSING' \
              UNION ALL SELECT min(created_at) FROM chats WHERE status = 'WAITING' \
              UNION ALL SELECT min(created_at) FROM chats WHERE status = 'IN_PROGRESS') AS open) AS oldest_open, \
           (SELECT max(id) FROM chats) AS max_id, \
           (SELECT count(*) FROM (SELECT created_at FROM chats WHERE id > {id} ORDER BY id LIMIT {SINCE}) AS since) \
             AS since, \
           (SELECT count(*) FROM (SELECT created_at FROM chats WHERE id > {id} ORDER BY id LIMIT {SINCE}) AS since \
             WHERE created_at < {upto_at}) AS late, \
           {database_time} AS database_time"
    );
    Statement::from_sql_and_values(backend, text, values)
}
