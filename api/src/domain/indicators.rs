//! The Chats-section indicators (waiting, in progress, average first response time, average
//! duration) and the processing rate (chats created and completed per bucket over a period),
//! over the chats of the history filter (definitions in docs/metrics.md).
//!
//! The durations are those of the `Chat` fields, computed by the same functions
//! ([`history::first_response_time`], [`history::duration`]), so an average always agrees with
//! the chats it is over; open chats have no duration (never "until now"). Each read is one
//! statement.

use chrono::{DateTime, Utc};
use entity::chats;
use entity::enums::ChatStatus;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::analytics::StatsLimits;
use super::error::DomainResult;
use super::history::{self, Filter};
use super::periods::Series;
use super::sessions::Principal;

/// The indicators of a set of chats.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ChatIndicators {
    /// Chats matching the filter.
    pub count: u64,
    /// Of those, WAITING.
    pub waiting: u64,
    /// Of those, IN_PROGRESS.
    pub in_progress: u64,
    /// Of those, how many an agent has answered (have a first response time).
    pub responded: u64,
    /// The mean first response time of those, seconds.
    pub average_first_response_time: Option<f64>,
    /// Of those, how many are completed (have a duration).
    pub completed: u64,
    /// The mean duration of those, seconds.
    pub average_duration: Option<f64>,
}

/// A running mean.
#[derive(Default)]
struct Mean {
    count: u64,
    sum: f64,
}

impl Mean {
    fn add(&mut self, value: Option<f64>) {
        if let Some(value) = value {
            self.count += 1;
            self.sum += value;
        }
    }

    fn value(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// A chat with only the times the figures need (the others are never read).
fn timed_chat(
    status: ChatStatus,
    created: DateTime<Utc>,
    responded: Option<DateTime<Utc>>,
    completed: Option<DateTime<Utc>>,
) -> chats::Model {
    use crate::db::rows::ByColumns;
    chats::Model {
        status,
        created_at: created,
        first_response_at: responded,
        completed_at: completed,
        updated_at: created,
        ..chats::Model::placeholder()
    }
}

/// Status, creation, first response and completion times of a chat.
type IndicatorRow = (ChatStatus, DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The indicators of the chats `principal` may read that match `filter`, as they stand now.
pub async fn chat_indicators(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &Filter,
) -> DomainResult<ChatIndicators> {
    filter.check()?;
    let rows: Vec<IndicatorRow> = chats::Entity::find()
        .filter(filter.condition(principal)?)
        .select_only()
        .columns([
            chats::Column::Status,
            chats::Column::CreatedAt,
            chats::Column::FirstResponseAt,
            chats::Column::CompletedAt,
        ])
        .into_tuple()
        .all(db)
        .await?;
    let mut figures = ChatIndicators::default();
    let (mut response, mut duration) = (Mean::default(), Mean::default());
    for (status, created, responded, completed) in rows {
        figures.count += 1;
        match status {
            ChatStatus::Waiting => figures.waiting += 1,
            ChatStatus::InProgress => figures.in_progress += 1,
            _ => {}
        }
        let chat = timed_chat(status, created, responded, completed);
        response.add(history::first_response_time(&chat));
        duration.add(history::duration(&chat));
    }
    figures.responded = response.count;
    figures.average_first_response_time = response.value();
    figures.completed = duration.count;
    figures.average_duration = duration.value();
    Ok(figures)
}

/// One bucket of the processing rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateBucket {
    /// Start (inclusive).
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
    /// Chats created in it.
    pub created: u64,
    /// Chats completed in it.
    pub completed: u64,
}

/// Chats created and chats completed per bucket of `series`, among those `principal` may
/// read that match `filter`: a chat counts as created in the bucket of its creation time and
/// as completed in the bucket of its completion time, each when the period holds it. Every
/// bucket is answered, empty ones with zeros; more buckets than `limits.max_groups` is
/// TOO_MANY_GROUPS, before anything is read.
pub async fn processing_rate(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &Filter,
    series: Series,
    limits: StatsLimits,
) -> DomainResult<Vec<RateBucket>> {
    filter.check()?;
    let buckets = series.buckets(limits.max_groups)?;
    let period = series.period;
    let within =
        |column: chats::Column| Condition::all().add(column.gte(period.from)).add(column.lt(period.to));
    let rows: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = chats::Entity::find()
        .filter(filter.condition(principal)?)
        .filter(
            Condition::any().add(within(chats::Column::CreatedAt)).add(within(chats::Column::CompletedAt)),
        )
        .select_only()
        .columns([chats::Column::CreatedAt, chats::Column::CompletedAt])
        .into_tuple()
        .all(db)
        .await?;
    let mut out: Vec<RateBucket> = buckets
        .spans()
        .iter()
        .map(|&(start, end)| RateBucket { start, end, created: 0, completed: 0 })
        .collect();
    for (created, completed) in rows {
        if let Some(bucket) = buckets.index(created).and_then(|i| out.get_mut(i)) {
            bucket.created += 1;
        }
        if let Some(bucket) = completed.and_then(|at| buckets.index(at)).and_then(|i| out.get_mut(i)) {
            bucket.completed += 1;
        }
    }
    Ok(out)
}
