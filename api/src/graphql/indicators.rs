//! The Chats-section indicators (`chatIndicators`), the processing rate (`processingRate`) and
//! the case dynamics (`caseDynamics`).

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::analytics::ANALYSTS;
use super::cases::CasesFilter;
use super::context::{RoleGuard, analytics_db, principal};
use super::error::ResultExt;
use super::history::{ChatFilter, TimeRangeInput};
use super::types::case::CaseStatus;
use crate::domain::analytics::{self, StatsLimits};
use crate::domain::periods::{Period, Series};
use crate::domain::{dynamics, indicators, reads};
use crate::state::Limits;

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The length of the buckets a period is cut into.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::periods::BucketSize")]
pub enum TimeBucket {
    /// An hour of real time, aligned on the zone's hours (the repeated hour of an autumn
    /// change is two buckets).
    Hour,
    /// A day in the zone (a DST day has 23 or 25 hours).
    Day,
    /// A week from Monday.
    Week,
    /// A month.
    Month,
}

/// The Chats-section indicators of the chats matching a filter, as they stand now.
pub struct ChatIndicators(indicators::ChatIndicators);

/// The Chats-section indicators of the chats matching a filter, as they stand now
/// (docs/metrics.md has the definitions).
#[Object]
impl ChatIndicators {
    /// Chats matching the filter.
    async fn count(&self) -> i64 {
        count(self.0.count)
    }

    /// Of those, chats WAITING (in a queue, not yet accepted).
    async fn waiting(&self) -> i64 {
        count(self.0.waiting)
    }

    /// Of those, chats IN_PROGRESS (accepted, not completed).
    async fn in_progress(&self) -> i64 {
        count(self.0.in_progress)
    }

    /// The mean first response time, in seconds, over the chats an agent has answered (those
    /// not yet answered are left out, not counted as zero); null when none has been.
    async fn average_first_response_time(&self) -> Option<f64> {
        self.0.average_first_response_time
    }

    /// How many chats `averageFirstResponseTime` is over.
    async fn responded_count(&self) -> i64 {
        count(self.0.responded)
    }

    /// The mean chat duration (created → completed), in seconds, over the completed chats;
    /// open chats are left out (never "until now"); null when none is completed.
    async fn average_duration(&self) -> Option<f64> {
        self.0.average_duration
    }

    /// How many chats `averageDuration` is over.
    async fn completed_count(&self) -> i64 {
        count(self.0.completed)
    }
}

/// One bucket of `processingRate`.
#[derive(SimpleObject)]
pub struct ProcessingRateBucket {
    /// Start of the bucket (inclusive); the first bucket starts at the period's start.
    pub bucket_start: DateTime<Utc>,
    /// End of the bucket (exclusive); the last bucket ends at the period's end.
    pub bucket_end: DateTime<Utc>,
    /// Chats created in the bucket.
    pub created: i64,
    /// Chats completed in the bucket (whenever they were created).
    pub completed: i64,
}

/// How many cases of one bucket are in one status.
#[derive(SimpleObject)]
pub struct CaseStatusCount {
    /// The status (as the cases stand now).
    pub status: CaseStatus,
    /// How many.
    pub count: i64,
}

/// One bucket of `caseDynamics`.
#[derive(SimpleObject)]
pub struct CaseDynamicsBucket {
    /// Start of the bucket (inclusive); the first bucket starts at the period's start.
    pub bucket_start: DateTime<Utc>,
    /// End of the bucket (exclusive); the last bucket ends at the period's end.
    pub bucket_end: DateTime<Utc>,
    /// Cases registered in the bucket.
    pub created: i64,
    /// Those cases by the status they have now: every status, in life-cycle order (NEW,
    /// IN_PROGRESS, RESOLVED, CLOSED), zeros included.
    pub by_status: Vec<CaseStatusCount>,
}

/// The series asked for, checked: a bounded period in order and a known zone.
fn series(
    period: TimeRangeInput,
    bucket: TimeBucket,
    time_zone: Option<&str>,
) -> async_graphql::Result<Series> {
    let zone = analytics::zone(time_zone.unwrap_or("UTC")).gql()?;
    let period = Period::bounded(period.into()).gql()?;
    Ok(Series { period, size: bucket.into(), zone })
}

fn limits(ctx: &Context<'_>) -> async_graphql::Result<StatsLimits> {
    Ok(StatsLimits { max_groups: ctx.data::<Limits>()?.max_stats_groups })
}

/// Indicator and time-series queries.
#[derive(Default)]
pub struct IndicatorsQuery;

#[Object]
impl IndicatorsQuery {
    /// The Chats-section indicators of the chats matching `filter` (the filter of `chats`):
    /// how many are waiting and in progress now, and their average first response time and
    /// average duration, computed as the `Chat` fields are (docs/metrics.md). SUPERVISOR,
    /// ADMIN, ANALYST.
    #[graphql(guard = "RoleGuard::new(ANALYSTS)")]
    async fn chat_indicators(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which chats (as `chats`). Omitted: every chat.")] filter: Option<ChatFilter>,
    ) -> async_graphql::Result<ChatIndicators> {
        let filter = filter.unwrap_or_default().into_domain()?;
        let reads = analytics_db(ctx)?;
        let read = indicators::chat_indicators(reads.db(), principal(ctx)?, &filter);
        Ok(ChatIndicators(reads::timed(&reads, read).await.gql()?))
    }

    /// Chats created and chats completed per time bucket over `period`, among the chats
    /// matching `filter` (the filter of `chats`; every part of it still applies). A chat counts
    /// as created in the bucket of its creation and as completed in the bucket of its
    /// completion. Every bucket of the period is listed, in order, empty ones with zeros; the
    /// first and last are cut to the period. `period` needs both bounds, `from` before `to`,
    /// and an unknown `timeZone` is refused (BAD_USER_INPUT); more buckets than the server's
    /// limit (1,000 unless configured): TOO_MANY_GROUPS. SUPERVISOR, ADMIN, ANALYST.
    #[graphql(guard = "RoleGuard::new(ANALYSTS)")]
    async fn processing_rate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The period, `[from, to)`; both bounds required.")] period: TimeRangeInput,
        #[graphql(desc = "The bucket length.")] bucket: TimeBucket,
        #[graphql(desc = "IANA time zone of the buckets, e.g. `Europe/Berlin` (default UTC).")]
        time_zone: Option<String>,
        #[graphql(desc = "Which chats (as `chats`). Omitted: every chat.")] filter: Option<ChatFilter>,
    ) -> async_graphql::Result<Vec<ProcessingRateBucket>> {
        let series = series(period, bucket, time_zone.as_deref())?;
        let filter = filter.unwrap_or_default().into_domain()?;
        let limits = limits(ctx)?;
        let reads = analytics_db(ctx)?;
        let read = indicators::processing_rate(reads.db(), principal(ctx)?, &filter, series, limits);
        let buckets = reads::timed(&reads, read).await.gql()?;
        Ok(buckets
            .into_iter()
            .map(|b| ProcessingRateBucket {
                bucket_start: b.start,
                bucket_end: b.end,
                created: count(b.created),
                completed: count(b.completed),
            })
            .collect())
    }

    /// Cases registered per time bucket over `period`, in total and by the status each has
    /// now, among the cases matching `filter` (the filter of `cases`). Every bucket of the
    /// period is listed, in order, empty ones with zeros; the first and last are cut to the
    /// period. `period` needs both bounds, `from` before `to`, and an unknown `timeZone` is
    /// refused (BAD_USER_INPUT); more buckets than the server's limit: TOO_MANY_GROUPS.
    /// SUPERVISOR, ADMIN, ANALYST.
    #[graphql(guard = "RoleGuard::new(ANALYSTS)")]
    async fn case_dynamics(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The period, `[from, to)` of registration times; both bounds required.")]
        period: TimeRangeInput,
        #[graphql(desc = "The bucket length.")] bucket: TimeBucket,
        #[graphql(desc = "IANA time zone of the buckets, e.g. `Europe/Berlin` (default UTC).")]
        time_zone: Option<String>,
        #[graphql(desc = "Which cases (as `cases`). Omitted: every case.")] filter: Option<CasesFilter>,
    ) -> async_graphql::Result<Vec<CaseDynamicsBucket>> {
        let series = series(period, bucket, time_zone.as_deref())?;
        let filter = filter.unwrap_or_default().into_domain()?;
        let limits = limits(ctx)?;
        let reads = analytics_db(ctx)?;
        let read = dynamics::case_dynamics(reads.db(), principal(ctx)?, &filter, series, limits);
        let buckets = reads::timed(&reads, read).await.gql()?;
        Ok(buckets
            .into_iter()
            .map(|b| CaseDynamicsBucket {
                bucket_start: b.start,
                bucket_end: b.end,
                created: count(b.created),
                by_status: dynamics::STATUSES
                    .iter()
                    .zip(b.by_status)
                    .map(|(status, n)| CaseStatusCount { status: (*status).into(), count: count(n) })
                    .collect(),
            })
            .collect())
    }
}
