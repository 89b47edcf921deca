//! Case dynamics: cases registered per bucket over a period, in total and by status
//! (definitions in docs/metrics.md).
//!
//! A case falls into the bucket of its registration time (`registeredAt`) and is counted under
//! the status it has now: cases keep no history of their statuses, so "by status" says where
//! the cases registered in a bucket stand today, not where they stood at the bucket's end.

use chrono::{DateTime, Utc};
use entity::cases;
use entity::enums::CaseStatus;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::analytics::StatsLimits;
use super::cases::{CaseFilter, Reader};
use super::error::DomainResult;
use super::periods::Series;
use super::sessions::Principal;

/// Every status, in life-cycle order: the order of [`CaseBucket::by_status`].
pub const STATUSES: [CaseStatus; 4] =
    [CaseStatus::New, CaseStatus::InProgress, CaseStatus::Resolved, CaseStatus::Closed];

/// One bucket of the case dynamics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaseBucket {
    /// Start (inclusive).
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
    /// Cases registered in it.
    pub created: u64,
    /// Of those, how many are in each status now, in the order of [`STATUSES`].
    pub by_status: [u64; 4],
}

fn position(status: CaseStatus) -> usize {
    match status {
        CaseStatus::New => 0,
        CaseStatus::InProgress => 1,
        CaseStatus::Resolved => 2,
        CaseStatus::Closed => 3,
    }
}

/// Cases registered per bucket of `series`, among those `principal` may read that match
/// `filter`, each also counted under its status. Every bucket is answered, empty ones with
/// zeros; more buckets than `limits.max_groups` is TOO_MANY_GROUPS, before anything is read.
pub async fn case_dynamics(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &CaseFilter,
    series: Series,
    limits: StatsLimits,
) -> DomainResult<Vec<CaseBucket>> {
    let buckets = series.buckets(limits.max_groups)?;
    let rows: Vec<(DateTime<Utc>, CaseStatus)> = cases::Entity::find()
        .filter(Reader::of(principal).condition())
        .filter(filter.condition())
        .filter(cases::Column::RegisteredAt.gte(series.period.from))
        .filter(cases::Column::RegisteredAt.lt(series.period.to))
        .select_only()
        .columns([cases::Column::RegisteredAt, cases::Column::Status])
        .into_tuple()
        .all(db)
        .await?;
    let mut out: Vec<CaseBucket> = buckets
        .spans()
        .iter()
        .map(|&(start, end)| CaseBucket { start, end, created: 0, by_status: [0; 4] })
        .collect();
    for (registered, status) in rows {
        if let Some(bucket) = buckets.index(registered).and_then(|i| out.get_mut(i)) {
            bucket.created += 1;
            bucket.by_status[position(status)] += 1;
        }
    }
    Ok(out)
}
