//! Periods cut into time buckets, for the figures that count things per bucket over a bounded
//! period (processing rate, case dynamics): every bucket of the period is listed, empty ones
//! too, so a chart has no holes.
//!
//! Buckets are those of `chatStats` ([`analytics::bucket`]): half-open `[start, end)` in an
//! IANA zone (a DST day has 23 or 25 hours), weeks from Monday. The first and last buckets are
//! cut to the period when it does not start or end on a bucket boundary, so a bucket never
//! reaches outside what was asked for.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::analytics::{self, GroupBy};
use super::error::{DomainError, DomainResult};
use super::history::Range;

/// The length of a bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketSize {
    /// An hour of real time, aligned on the zone's hours.
    Hour,
    /// A day in the zone.
    Day,
    /// A week from Monday, in the zone.
    Week,
    /// A month in the zone.
    Month,
}

impl BucketSize {
    fn group_by(self) -> GroupBy {
        match self {
            Self::Hour => GroupBy::Hour,
            Self::Day => GroupBy::Day,
            Self::Week => GroupBy::Week,
            Self::Month => GroupBy::Month,
        }
    }
}

/// A bounded period `[from, to)`, `from` before `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// Inclusive start.
    pub from: DateTime<Utc>,
    /// Exclusive end.
    pub to: DateTime<Utc>,
}

impl Period {
    /// The period of `range`, which must have both bounds, in order (BAD_USER_INPUT
    /// otherwise: an unbounded period could make any number of buckets).
    pub fn bounded(range: Range) -> DomainResult<Self> {
        let (Some(from), Some(to)) = (range.from, range.to) else {
            return Err(DomainError::invalid("period needs both `from` and `to`"));
        };
        if from >= to {
            return Err(DomainError::invalid("period: `from` must be before `to`"));
        }
        Ok(Self { from, to })
    }
}

/// What a series of buckets is asked for: a period, cut into buckets of a size, in a zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Series {
    /// The period.
    pub period: Period,
    /// The bucket size.
    pub size: BucketSize,
    /// The zone buckets are aligned in.
    pub zone: Tz,
}

impl Series {
    /// The series' buckets; more than `max` is TOO_MANY_GROUPS (see [`Buckets::of`]).
    pub fn buckets(&self, max: usize) -> DomainResult<Buckets> {
        Buckets::of(self.period, self.size, self.zone, max)
    }
}

/// The buckets of a period, in time order; they cover it exactly, without gaps or overlaps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buckets(Vec<(DateTime<Utc>, DateTime<Utc>)>);

impl Buckets {
    /// Cuts `period` into buckets of `size` in `zone`; more than `max` buckets is
    /// TOO_MANY_GROUPS (counted exactly, before anything is read, without making more than
    /// `max + 1` of them).
    pub fn of(period: Period, size: BucketSize, zone: Tz, max: usize) -> DomainResult<Self> {
        let by = size.group_by();
        let mut buckets = Vec::new();
        let mut at = period.from;
        while at < period.to {
            if buckets.len() >= max {
                return Err(DomainError::TooManyGroups { limit: max });
            }
            let (_, end) = analytics::bucket(by, zone, at);
            // A bucket always ends after the instant it holds; should a zone's rules ever say
            // otherwise, stop rather than loop.
            if end <= at {
                return Err(DomainError::invalid("the time zone's rules give an empty bucket here"));
            }
            let end = end.min(period.to);
            buckets.push((at, end));
            at = end;
        }
        Ok(Self(buckets))
    }

    /// The buckets, `[start, end)` each.
    pub fn spans(&self) -> &[(DateTime<Utc>, DateTime<Utc>)] {
        &self.0
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never, for a valid period).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The position of the bucket holding `at`, if the period holds it.
    pub fn index(&self, at: DateTime<Utc>) -> Option<usize> {
        let after = self.0.partition_point(|(start, _)| *start <= at);
        let position = after.checked_sub(1)?;
        (at < self.0[position].1).then_some(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn period(from: &str, to: &str) -> Period {
        Period::bounded(Range { from: Some(utc(from)), to: Some(utc(to)) }).unwrap()
    }

    #[test]
    fn periods_need_both_bounds_in_order() {
        let at = Some(utc("2026-10-25T00:00:00Z"));
        for range in [Range::default(), Range { from: at, to: None }, Range { from: None, to: at }] {
            assert_eq!(Period::bounded(range).unwrap_err().code(), "BAD_USER_INPUT");
        }
        assert_eq!(Period::bounded(Range { from: at, to: at }).unwrap_err().code(), "BAD_USER_INPUT");
    }

    #[test]
    fn buckets_cover_the_period_across_a_dst_change() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Berlin local midnights from the 24th to the 27th of October 2026; the 25th has 25
        // hours (clocks go back from 03:00 to 02:00).
        let days =
            Buckets::of(period("2026-10-23T22:00:00Z", "2026-10-26T23:00:00Z"), BucketSize::Day, berlin, 10)
                .unwrap();
        assert_eq!(
            days.spans(),
            [
                (utc("2026-10-23T22:00:00Z"), utc("2026-10-24T22:00:00Z")),
                (utc("2026-10-24T22:00:00Z"), utc("2026-10-25T23:00:00Z")),
                (utc("2026-10-25T23:00:00Z"), utc("2026-10-26T23:00:00Z")),
            ]
        );
        assert_eq!(days.index(utc("2026-10-23T21:59:59Z")), None);
        assert_eq!(days.index(utc("2026-10-23T22:00:00Z")), Some(0));
        assert_eq!(days.index(utc("2026-10-25T22:59:59Z")), Some(1));
        assert_eq!(days.index(utc("2026-10-25T23:00:00Z")), Some(2));
        assert_eq!(days.index(utc("2026-10-26T23:00:00Z")), None);
        // A period off the boundaries: the first and last buckets are cut to it.
        let cut =
            Buckets::of(period("2026-10-24T12:00:00Z", "2026-10-25T06:00:00Z"), BucketSize::Day, berlin, 10)
                .unwrap();
        assert_eq!(
            cut.spans(),
            [
                (utc("2026-10-24T12:00:00Z"), utc("2026-10-24T22:00:00Z")),
                (utc("2026-10-24T22:00:00Z"), utc("2026-10-25T06:00:00Z")),
            ]
        );
        // The repeated hour is two buckets.
        let hours =
            Buckets::of(period("2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z"), BucketSize::Hour, berlin, 10)
                .unwrap();
        assert_eq!(hours.len(), 2);
    }

    #[test]
    fn too_many_buckets_are_refused_exactly() {
        let day = period("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
        assert_eq!(Buckets::of(day, BucketSize::Hour, Tz::UTC, 24).unwrap().len(), 24);
        let err = Buckets::of(day, BucketSize::Hour, Tz::UTC, 23).unwrap_err();
        assert_eq!(err.code(), "TOO_MANY_GROUPS");
        // Centuries of hours stop at the limit, not after making them all.
        let long = period("2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z");
        assert_eq!(Buckets::of(long, BucketSize::Hour, Tz::UTC, 1000).unwrap_err().code(), "TOO_MANY_GROUPS");
        let months = Buckets::of(long, BucketSize::Month, Tz::UTC, 20_000).unwrap();
        assert_eq!(months.len(), 999 * 12);
    }
}
