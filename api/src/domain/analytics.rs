//! Aggregates over the chat history (`chatStats`): counts and the average, median and 90th
//! percentile of time to accept, first response time, duration and handling time, grouped by
//! queue, agent, channel, status and a time bucket in an IANA time zone (definitions in
//! docs/metrics.md).
//!
//! Three ways to the same figures: on PostgreSQL one SQL statement that groups and aggregates
//! where the rows are ([`sql`], its duration expressions follow [`history`](super::history)'s
//! functions exactly); on SQLite, which has no `percentile_cont`, the chats' times read and
//! aggregated here ([`aggregate`]) by the same functions as the `Chat` fields; and, for the
//! requests it serves on either database, the result cache ([`cache`]), which keeps the
//! groups of the part of a period that can no longer change and reads only the rest. Either
//! way a group's figures agree with its chats'. Buckets are half-open `[start, end)` in the
//! requested zone (a DST day has 23 or 25 hours), weeks start on Monday, and chats fall into
//! buckets by their creation time. Percentiles are continuous (linear interpolation, as
//! PostgreSQL's `percentile_cont`).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbBackend};

use super::error::{DomainError, DomainResult};
use super::history::Filter;
use super::sessions::Principal;

mod aggregate;
mod cache;
mod sql;

pub use cache::{Counts as CacheCounts, StatsCache, snapshot_statement};

/// What groups are keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupBy {
    /// The chat's queue.
    Queue,
    /// The chat's owner (no owner: a group of its own).
    Agent,
    /// The chat's channel.
    Channel,
    /// The chat's status.
    Status,
    /// The hour it was created, in the zone.
    Hour,
    /// The day.
    Day,
    /// The week, from Monday.
    Week,
    /// The month.
    Month,
}

impl GroupBy {
    fn is_time(self) -> bool {
        matches!(self, Self::Hour | Self::Day | Self::Week | Self::Month)
    }

    /// The shortest bucket, to bound how many a range makes.
    fn min_length(self) -> Duration {
        match self {
            Self::Hour => Duration::hours(1),
            Self::Day => Duration::hours(23),
            Self::Week => Duration::days(7) - Duration::hours(1),
            _ => Duration::days(28) - Duration::hours(1),
        }
    }
}

/// A group's key: the values of the grouped-by dimensions (None where not grouped, or an
/// agent group of chats without an owner).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The queue.
    pub queue: Option<i64>,
    /// The owner.
    pub agent: Option<i64>,
    /// The channel.
    pub channel: Option<i64>,
    /// The status.
    pub status: Option<String>,
    /// The bucket `[start, end)`.
    pub bucket: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Summary of one duration over a group's chats that have it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// How many chats have the duration.
    pub count: u64,
    /// Mean, seconds.
    pub average: Option<f64>,
    /// Median (continuous), seconds.
    pub median: Option<f64>,
    /// 90th percentile (continuous), seconds.
    pub p90: Option<f64>,
}

/// One group's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Its key.
    pub key: Key,
    /// Chats in it.
    pub count: u64,
    /// Time to accept (chats that waited and were accepted).
    pub time_to_accept: Summary,
    /// First response time.
    pub first_response_time: Summary,
    /// Duration (completed chats).
    pub duration: Summary,
    /// Handling time.
    pub handling_time: Summary,
}

/// A continuous percentile of sorted values (`p` in 0..=1).
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = p * last as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let fraction = position - below as f64;
    Some(sorted[below] + (sorted[above.min(last)] - sorted[below]) * fraction)
}

/// Reads an IANA zone name (`Europe/Berlin`, `UTC`).
pub fn zone(name: &str) -> DomainResult<Tz> {
    name.parse::<Tz>().map_err(|_| DomainError::invalid(format!("{name:?} is not an IANA time zone")))
}

/// The UTC instant of a local time, the earliest when the wall clock repeats; a local time in
/// a DST gap moves forward to the first that exists.
fn instant(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut local = local;
    for _ in 0..4 {
        if let Some(at) = zone.from_local_datetime(&local).earliest() {
            return at.with_timezone(&Utc);
        }
        local += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&local)
}

/// The bucket `[start, end)` holding `at`, in `zone`.
pub fn bucket(by: GroupBy, zone: Tz, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let local = at.with_timezone(&zone).naive_local();
    if by == GroupBy::Hour {
        // An hour of real time, aligned on the zone's hours: the minutes and seconds past the
        // local hour taken off (a repeated wall-clock hour in autumn is two buckets).
        use chrono::Timelike;
        let past = Duration::seconds(i64::from(local.minute() * 60 + local.second()))
            + Duration::nanoseconds(i64::from(local.nanosecond()));
        let start = at - past;
        return (start, start + Duration::hours(1));
    }
    bucket_of_local(by, zone, local)
}

/// The day, week or month bucket `[start, end)` in `zone` holding the wall-clock time `local`.
pub(crate) fn bucket_of_local(by: GroupBy, zone: Tz, local: NaiveDateTime) -> (DateTime<Utc>, DateTime<Utc>) {
    let day = local.date();
    let midnight = |date: NaiveDate| date.and_time(NaiveTime::MIN);
    let (start, end) = match by {
        GroupBy::Week => {
            let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
            (midnight(monday), midnight(monday + Duration::days(7)))
        }
        GroupBy::Month => {
            let first = day.with_day(1).unwrap_or(day);
            let next = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
            }
            .unwrap_or(first);
            (midnight(first), midnight(next))
        }
        _ => (midnight(day), midnight(day + Duration::days(1))),
    };
    (instant(zone, start), instant(zone, end))
}

/// Limits on one request.
#[derive(Clone, Copy, Debug)]
pub struct StatsLimits {
    /// Most groups an answer may have.
    pub max_groups: usize,
}

/// The figures of the chats `principal` may read that match `filter`, grouped by `by`.
/// Grouping by a time needs a bounded creation range; more groups than the limit is refused
/// (TOO_MANY_GROUPS) before anything is read when the range alone makes too many buckets.
/// The requests `cache` serves ([`StatsCache::serves`]) are answered through it.
pub async fn chat_stats(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &Filter,
    by: &[GroupBy],
    zone: Tz,
    limits: StatsLimits,
    cache: &StatsCache,
) -> DomainResult<Vec<Group>> {
    filter.check()?;
    let mut by = by.to_vec();
    by.sort_unstable();
    by.dedup();
    let times: Vec<GroupBy> = by.iter().copied().filter(|b| b.is_time()).collect();
    if times.len() > 1 {
        return Err(DomainError::invalid("group by one time bucket at most (HOUR, DAY, WEEK or MONTH)"));
    }
    if let Some(time) = times.first() {
        let (Some(from), Some(to)) = (filter.created.from, filter.created.to) else {
            return Err(DomainError::invalid(
                "grouping by a time needs a creation range with both bounds (filter.created.from and to)",
            ));
        };
        let buckets = (to - from).num_seconds() / time.min_length().num_seconds().max(1) + 1;
        if buckets > limits.max_groups as i64 {
            return Err(DomainError::TooManyGroups { limit: limits.max_groups });
        }
    }
    let max_groups = limits.max_groups;
    if cache.serves(principal, filter) {
        return cache.chat_stats(db, principal, filter, &by, zone, max_groups).await;
    }
    if db.get_database_backend() == DbBackend::Postgres {
        let mut groups = sql::groups(db, principal, filter, &by, zone, max_groups).await?;
        groups.sort_by(|a, b| a.key.cmp(&b.key));
        return Ok(groups);
    }
    let groups = aggregate::read(db, principal, filter, &by, zone, max_groups).await?;
    aggregate::finish(&groups, &aggregate::Groups::new(), max_groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn percentiles_are_continuous() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7.0], 0.9), Some(7.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((percentile(&ten, 0.9).unwrap() - 9.1).abs() < 1e-9);
    }

    #[test]
    fn buckets_follow_the_zone_and_its_daylight_saving() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-03-29: clocks go from 02:00 to 03:00 in Berlin; the day has 23 hours.
        let (start, end) = bucket(GroupBy::Day, berlin, utc("2026-03-29T12:00:00Z"));
        assert_eq!(start, utc("2026-03-28T23:00:00Z"));
        assert_eq!(end, utc("2026-03-29T22:00:00Z"));
        assert_eq!(end - start, Duration::hours(23));
        // 2026-10-25: back from 03:00 to 02:00; 25 hours.
        let (start, end) = bucket(GroupBy::Day, berlin, utc("2026-10-25T12:00:00Z"));
        assert_eq!(end - start, Duration::hours(25));
        // Weeks start on Monday (2026-03-02 is a Monday).
        let (start, _) = bucket(GroupBy::Week, Tz::UTC, utc("2026-03-08T23:59:59Z"));
        assert_eq!(start, utc("2026-03-02T00:00:00Z"));
        let (start, end) = bucket(GroupBy::Month, Tz::UTC, utc("2026-12-31T10:00:00Z"));
        assert_eq!((start, end), (utc("2026-12-01T00:00:00Z"), utc("2027-01-01T00:00:00Z")));
        let (start, end) = bucket(GroupBy::Hour, berlin, utc("2026-03-01T10:15:00Z"));
        assert_eq!((start, end), (utc("2026-03-01T10:00:00Z"), utc("2026-03-01T11:00:00Z")));
        // India is 5:30 ahead: its hours start at :30 UTC.
        let india: Tz = "Asia/Kolkata".parse().unwrap();
        let (start, _) = bucket(GroupBy::Hour, india, utc("2026-03-01T10:15:00Z"));
        assert_eq!(start, utc("2026-03-01T09:30:00Z"));
        // The repeated 02:00 hour of Berlin's autumn change is two buckets.
        let first = bucket(GroupBy::Hour, berlin, utc("2026-10-25T00:30:00Z"));
        let second = bucket(GroupBy::Hour, berlin, utc("2026-10-25T01:30:00Z"));
        assert_ne!(first, second);
        assert!(zone("Mars/Olympus").is_err());
    }
}
