//! `chatStats` computed here from the chats' times, by the same functions as the `Chat` fields
//! ([`history`]): on SQLite always (it has no `percentile_cont`), and on either database for
//! the requests the result cache serves ([`super::cache`]).
//!
//! A group keeps each duration's values sorted, with their sum, so that the groups of two
//! adjacent creation ranges combine exactly: the median and 90th percentile of both together
//! are read from the two sorted lists without merging them (the `rank`-th value of two sorted
//! lists is a binary search), with the same interpolation as [`super::percentile`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use entity::chats;
use entity::enums::ChatStatus;
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::{Group, GroupBy, Key, Summary, bucket};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::history::{self, Filter};
use crate::domain::sessions::Principal;

/// One duration's values over a group's chats, ascending, and their sum.
#[derive(Clone, Debug, Default)]
pub(super) struct Sorted {
    values: Vec<f64>,
    sum: f64,
}

impl Sorted {
    fn new(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        let sum = values.iter().sum();
        Self { values, sum }
    }

    /// The values of both, sorted (a merge of the two lists).
    fn union(&self, other: &Self) -> Self {
        let (mut a, mut b) = (self.values.iter().peekable(), other.values.iter().peekable());
        let mut values = Vec::with_capacity(self.values.len() + other.values.len());
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            if x.total_cmp(y).is_le() {
                values.extend(a.next());
            } else {
                values.extend(b.next());
            }
        }
        values.extend(a);
        values.extend(b);
        Self { values, sum: self.sum + other.sum }
    }
}

/// The `rank`-th smallest value (from 0) of two ascending lists together; `rank` is below the
/// sum of their lengths.
fn nth_of_two(a: &[f64], b: &[f64], rank: usize) -> f64 {
    // Take `i` values from `a` and `rank + 1 - i` from `b`: the right `i` is the one where
    // neither list's last taken value is above the other's first left.
    let wanted = rank + 1;
    let (mut low, mut high) = (wanted.saturating_sub(b.len()), wanted.min(a.len()));
    while low < high {
        let i = (low + high) / 2;
        let j = wanted - i;
        if a[i].total_cmp(&b[j - 1]).is_lt() {
            low = i + 1;
        } else {
            high = i;
        }
    }
    let i = low;
    let j = wanted - i;
    match (i.checked_sub(1).map(|n| a[n]), j.checked_sub(1).map(|n| b[n])) {
        (Some(x), Some(y)) => x.max(y),
        (Some(x), None) => x,
        (None, Some(y)) => y,
        (None, None) => unreachable!("rank + 1 values are taken"),
    }
}

/// A continuous percentile (`p` in 0..=1) of the values of two ascending lists together, as
/// [`super::percentile`] of their merge.
fn percentile_of_two(a: &[f64], b: &[f64], p: f64) -> Option<f64> {
    let last = (a.len() + b.len()).checked_sub(1)?;
    let position = p * last as f64;
    let below = position.floor() as usize;
    let above = (position.ceil() as usize).min(last);
    let fraction = position - below as f64;
    let low = nth_of_two(a, b, below);
    let high = if above == below { low } else { nth_of_two(a, b, above) };
    Some(low + (high - low) * fraction)
}

/// The summary of one duration over two parts of a group.
fn summarize(a: &Sorted, b: &Sorted) -> Summary {
    let count = a.values.len() + b.values.len();
    if count == 0 {
        return Summary::default();
    }
    Summary {
        count: count as u64,
        average: Some((a.sum + b.sum) / count as f64),
        median: percentile_of_two(&a.values, &b.values, 0.5),
        p90: percentile_of_two(&a.values, &b.values, 0.9),
    }
}

/// A group's chats: how many, and their time to accept, first response time, duration and
/// handling time (each over the chats that have it).
#[derive(Clone, Debug, Default)]
pub(super) struct Values {
    count: u64,
    durations: [Sorted; 4],
}

impl Values {
    /// How many duration values it keeps (its size in a cache).
    pub(super) fn len(&self) -> usize {
        self.durations.iter().map(|d| d.values.len()).sum()
    }

    fn union(&self, other: &Self) -> Self {
        Self {
            count: self.count + other.count,
            durations: std::array::from_fn(|n| self.durations[n].union(&other.durations[n])),
        }
    }
}

/// Groups by key.
pub(super) type Groups = BTreeMap<Key, Values>;

/// The groups of both (the chats of two disjoint ranges).
pub(super) fn union(a: &Groups, b: &Groups) -> Groups {
    let mut all = a.clone();
    for (key, values) in b {
        let merged = match all.get(key) {
            Some(mine) => mine.union(values),
            None => values.clone(),
        };
        all.insert(key.clone(), merged);
    }
    all
}

/// The figures of the groups of `a` and `b` together (the chats of two disjoint ranges),
/// ordered by key; more than `max_groups` groups: TOO_MANY_GROUPS.
pub(super) fn finish(a: &Groups, b: &Groups, max_groups: usize) -> DomainResult<Vec<Group>> {
    let empty = Values::default();
    let mut keys: Vec<&Key> = a.keys().chain(b.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.len() > max_groups {
        return Err(DomainError::TooManyGroups { limit: max_groups });
    }
    Ok(keys
        .into_iter()
        .map(|key| {
            let (x, y) = (a.get(key).unwrap_or(&empty), b.get(key).unwrap_or(&empty));
            let figure = |n: usize| summarize(&x.durations[n], &y.durations[n]);
            Group {
                key: key.clone(),
                count: x.count + y.count,
                time_to_accept: figure(0),
                first_response_time: figure(1),
                duration: figure(2),
                handling_time: figure(3),
            }
        })
        .collect())
}

/// Reads the chats `principal` may read that match `filter` and groups them by `by` (sorted,
/// deduplicated, at most one time) in `zone`; more than `max_groups` groups: TOO_MANY_GROUPS.
/// (Measured on PostgreSQL: reading the rows and grouping them here is as fast as the
/// database's `percentile_cont` over 150,000 chats, and faster than having the database sort
/// and send each group's values; docs/benchmarks.md.)
pub(super) async fn read(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &Filter,
    by: &[GroupBy],
    zone: Tz,
    max_groups: usize,
) -> DomainResult<Groups> {
    let rows = chats::Entity::find()
        .filter(filter.condition(principal)?)
        .select_only()
        .columns([
            chats::Column::QueueId,
            chats::Column::OwnerId,
            chats::Column::ChannelId,
            chats::Column::Status,
            chats::Column::CreatedAt,
            chats::Column::QueuedAt,
            chats::Column::AcceptedAt,
            chats::Column::FirstResponseAt,
            chats::Column::CompletedAt,
        ])
        .into_tuple::<Row>()
        .all(db)
        .await?;
    let mut groups: BTreeMap<Key, (u64, [Vec<f64>; 4])> = BTreeMap::new();
    for (queue, owner, channel, status, created, queued, accepted, responded, completed) in rows {
        let chat = chats::Model {
            id: 0,
            contact_id: 0,
            channel_id: channel,
            queue_id: queue,
            owner_id: owner,
            directed_agent_id: None,
            parent_chat_id: None,
            status,
            completion_reason: None,
            created_at: created,
            accepted_at: accepted,
            first_response_at: responded,
            completed_at: completed,
            close_deadline: None,
            last_message_at: None,
            updated_at: created,
            queued_at: queued,
        };
        let mut key = Key::default();
        for dimension in by {
            match dimension {
                GroupBy::Queue => key.queue = Some(queue),
                GroupBy::Agent => key.agent = owner,
                GroupBy::Channel => key.channel = Some(channel),
                GroupBy::Status => key.status = Some(status.as_str().to_owned()),
                time => key.bucket = Some(bucket(*time, zone, created)),
            }
        }
        if groups.len() >= max_groups && !groups.contains_key(&key) {
            return Err(DomainError::TooManyGroups { limit: max_groups });
        }
        let (count, durations) = groups.entry(key).or_default();
        *count += 1;
        let figures = [
            history::time_to_accept(&chat),
            history::first_response_time(&chat),
            history::duration(&chat),
            history::handling_time(&chat),
        ];
        for (values, figure) in durations.iter_mut().zip(figures) {
            values.extend(figure);
        }
    }
    Ok(groups
        .into_iter()
        .map(|(key, (count, durations))| (key, Values { count, durations: durations.map(Sorted::new) }))
        .collect())
}

type Row = (
    i64,
    Option<i64>,
    i64,
    ChatStatus,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

#[cfg(test)]
mod tests {
    use super::super::percentile;
    use super::*;

    fn sorted(values: &[f64]) -> Sorted {
        Sorted::new(values.to_vec())
    }

    #[test]
    fn two_sorted_lists_answer_as_their_merge() {
        // Every split of a few lists into two parts gives the merge's percentiles and sum.
        let lists: [&[f64]; 4] =
            [&[1.0, 2.0, 3.0, 4.0, 10.0], &[5.0, 5.0, 5.0], &[0.5, 9.0, 2.25, 7.0, 7.0, 1.0], &[3.0]];
        for list in lists {
            let mut merged = list.to_vec();
            merged.sort_by(f64::total_cmp);
            for mask in 0..(1u32 << list.len()) {
                let part = |inside: bool| {
                    let values = list.iter().enumerate().filter(|(n, _)| (mask & (1 << n) != 0) == inside);
                    sorted(&values.map(|(_, v)| *v).collect::<Vec<_>>())
                };
                let (a, b) = (part(true), part(false));
                for p in [0.0, 0.1, 0.5, 0.9, 1.0] {
                    assert_eq!(
                        percentile_of_two(&a.values, &b.values, p),
                        percentile(&merged, p),
                        "{list:?} {mask} {p}"
                    );
                }
                for (rank, value) in merged.iter().enumerate() {
                    assert_eq!(nth_of_two(&a.values, &b.values, rank), *value);
                }
                assert_eq!(a.union(&b).values, merged);
                let summary = summarize(&a, &b);
                assert_eq!(summary.count, merged.len() as u64);
                let average = merged.iter().sum::<f64>() / merged.len() as f64;
                assert!((summary.average.unwrap() - average).abs() < 1e-12);
            }
        }
        assert_eq!(summarize(&Sorted::default(), &Sorted::default()), Summary::default());
    }
}
