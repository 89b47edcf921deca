//! `chatStats` on PostgreSQL: one statement that groups and aggregates where the rows are.
//!
//! The inner select is the history's (`filter.condition(principal)`, the read rule included)
//! with each chat's grouped-by values and its four durations as SQL expressions that follow
//! [`history`](super::history)'s functions exactly (seconds, whole milliseconds as chrono's
//! `num_milliseconds` truncates, NULL where the function answers None). The outer select groups
//! it with `count`, `avg` and `percentile_cont(0.5)` and `(0.9)` (PostgreSQL sorts each
//! duration once for both: ordered-set aggregates over the same input share their state), at most `max_groups + 1` groups.
//!
//! Time buckets are computed in SQL in the requested zone: an hour as the creation instant less
//! the minutes and seconds past the zone's hour (as [`super::bucket`]); a day, week (ISO, from
//! Monday) or month as the local `date_trunc` of `created_at AT TIME ZONE zone`, answered as a
//! wall-clock time and turned into the bucket's instants by [`super::bucket_of_local`], with
//! the same rules for DST gaps and repeated hours as the Rust aggregation on SQLite.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use entity::chats;
use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Statement};

use super::{Group, GroupBy, Key, Summary};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::history::Filter;
use crate::domain::sessions::Principal;

/// Seconds from `from` to `to` (SQL expressions), truncated to whole milliseconds; NULL when
/// either is NULL.
///
/// In `float8` and `bigint` arithmetic: `date_part` answers the interval's seconds as a
/// `float8`, rounded to whole microseconds (what PostgreSQL stores, so exact), then cut to
/// whole milliseconds toward zero as `num_milliseconds` does. The same figures as
/// `EXTRACT(EPOCH …)`, which answers `numeric` and made the statement about 1.7 times slower
/// (docs/benchmarks.md, "History and analytics").
fn seconds(from: &str, to: &str) -> String {
    format!("((date_part('epoch', {to} - {from}) * 1000000)::bigint / 1000)::float8 / 1000")
}

/// The four durations, named as the outer select reads them: `history::time_to_accept`,
/// `first_response_time`, `duration` and `handling_time`.
fn durations() -> [(String, &'static str); 4] {
    [
        (seconds("queued_at", "accepted_at"), "tta"),
        (seconds("created_at", "first_response_at"), "frt"),
        (seconds("created_at", "completed_at"), "dur"),
        (
            format!(
                "CASE WHEN accepted_at IS NOT NULL THEN {} WHEN queued_at IS NULL THEN {} END",
                seconds("accepted_at", "completed_at"),
                seconds("created_at", "completed_at")
            ),
            "ht",
        ),
    ]
}

/// The bucket expression for `by` in the zone bound as `$1`: an instant (HOUR), or the local
/// start as a wall-clock time read as UTC (DAY, WEEK, MONTH).
fn bucket(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Hour => {
            "created_at - ((created_at AT TIME ZONE $1) - date_trunc('hour', created_at AT TIME ZONE $1))"
        }
        GroupBy::Week => "date_trunc('week', created_at AT TIME ZONE $1) AT TIME ZONE 'UTC'",
        GroupBy::Month => "date_trunc('month', created_at AT TIME ZONE $1) AT TIME ZONE 'UTC'",
        _ => "date_trunc('day', created_at AT TIME ZONE $1) AT TIME ZONE 'UTC'",
    }
}

/// The statement: the filtered chats' keys and durations, grouped and aggregated; `by` is
/// sorted, deduplicated, with at most one time.
pub fn statement(
    filter: &Filter,
    principal: &Principal,
    by: &[GroupBy],
    zone: Tz,
    max_groups: usize,
) -> DomainResult<Statement> {
    let mut inner = chats::Entity::find().filter(filter.condition(principal)?).select_only();
    // (outer select expression, GROUP BY column) per key, in `Key` order.
    let mut keys: Vec<(&str, Option<&str>)> = Vec::new();
    let mut key = |grouped: bool, column: &'static str, null: &'static str| {
        keys.push(if grouped { (column, Some(column)) } else { (null, None) });
    };
    key(by.contains(&GroupBy::Queue), "queue_id", "NULL::bigint");
    key(by.contains(&GroupBy::Agent), "owner_id", "NULL::bigint");
    key(by.contains(&GroupBy::Channel), "channel_id", "NULL::bigint");
    key(by.contains(&GroupBy::Status), "status", "NULL::text");
    let time = by.iter().copied().find(|b| b.is_time());
    key(time.is_some(), "bucket", "NULL::timestamptz");
    for (column, grouped) in [
        (chats::Column::QueueId, by.contains(&GroupBy::Queue)),
        (chats::Column::OwnerId, by.contains(&GroupBy::Agent)),
        (chats::Column::ChannelId, by.contains(&GroupBy::Channel)),
        (chats::Column::Status, by.contains(&GroupBy::Status)),
    ] {
        if grouped {
            inner = inner.column(column);
        }
    }
    if let Some(time) = time {
        inner = inner.expr_as(Expr::cust_with_values(bucket(time), [zone.name()]), "bucket");
    }
    let mut aggregates = vec!["count(*)".to_owned()];
    for (expression, name) in durations() {
        inner = inner.expr_as(Expr::cust(expression), name);
        aggregates.push(format!(
            "count({name}), avg({name}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {name}), \
             percentile_cont(0.9) WITHIN GROUP (ORDER BY {name})"
        ));
    }
    let inner = inner.build(sea_orm::DbBackend::Postgres);
    let select: Vec<&str> = keys.iter().map(|(select, _)| *select).collect();
    let group: Vec<&str> = keys.iter().filter_map(|(_, group)| *group).collect();
    let group_by = if group.is_empty() { String::new() } else { format!(" GROUP BY {}", group.join(", ")) };
    let sql = format!(
        "SELECT {}, {} FROM ({}) AS c{group_by} LIMIT {}",
        select.join(", "),
        aggregates.join(", "),
        inner.sql,
        max_groups + 1
    );
    Ok(Statement { sql, values: inner.values, db_backend: sea_orm::DbBackend::Postgres })
}

/// Runs [`statement`] and reads its groups (unsorted); more than `max_groups` is refused.
pub async fn groups(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &Filter,
    by: &[GroupBy],
    zone: Tz,
    max_groups: usize,
) -> DomainResult<Vec<Group>> {
    let rows = db.query_all_raw(statement(filter, principal, by, zone, max_groups)?).await?;
    if rows.len() > max_groups {
        return Err(DomainError::TooManyGroups { limit: max_groups });
    }
    let time = by.iter().copied().find(|b| b.is_time());
    let mut groups = Vec::with_capacity(rows.len());
    for row in rows {
        let summary = |at: usize| -> DomainResult<Summary> {
            let count: i64 = row.try_get_by_index(at)?;
            let average: Option<f64> = row.try_get_by_index(at + 1)?;
            let median: Option<f64> = row.try_get_by_index(at + 2)?;
            let p90: Option<f64> = row.try_get_by_index(at + 3)?;
            Ok(Summary { count: u64::try_from(count).unwrap_or(0), average, median, p90 })
        };
        let bucket: Option<DateTime<Utc>> = row.try_get_by_index(4)?;
        let key = Key {
            queue: row.try_get_by_index(0)?,
            agent: row.try_get_by_index(1)?,
            channel: row.try_get_by_index(2)?,
            status: row.try_get_by_index(3)?,
            bucket: match (time, bucket) {
                (Some(GroupBy::Hour), Some(start)) => Some((start, start + chrono::Duration::hours(1))),
                (Some(time), Some(local)) => Some(super::bucket_of_local(time, zone, local.naive_utc())),
                _ => None,
            },
        };
        let count: i64 = row.try_get_by_index(5)?;
        groups.push(Group {
            key,
            count: u64::try_from(count).unwrap_or(0),
            time_to_accept: summary(6)?,
            first_response_time: summary(10)?,
            duration: summary(14)?,
            handling_time: summary(18)?,
        });
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use entity::enums::Role;

    use super::*;
    use crate::domain::ids::AgentId;

    #[test]
    fn one_statement_with_the_zone_bound_and_the_group_limit() {
        let analyst = Principal { agent_id: AgentId(1), role: Role::Analyst, session_id: String::new() };
        let filter = Filter { queues: vec![7], ..Filter::default() };
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let by = [GroupBy::Status, GroupBy::Hour];
        let statement = statement(&filter, &analyst, &by, berlin, 1000).unwrap();
        let sql = &statement.sql;
        assert!(sql.contains("GROUP BY status, bucket LIMIT 1001"), "{sql}");
        assert!(sql.contains("percentile_cont(0.9) WITHIN GROUP (ORDER BY ht)"), "{sql}");
        assert!(sql.contains("NULL::bigint, NULL::bigint, NULL::bigint, status, bucket"), "{sql}");
        let values = statement.values.unwrap().0;
        assert_eq!(values.len(), 3, "the queue, and the zone at both places: {sql}");
        assert!(!sql.contains("Europe"), "the zone is bound, not spliced: {sql}");
        let agent = Principal { role: Role::Bot, ..analyst };
        assert!(super::statement(&filter, &agent, &by, berlin, 1000).is_err());
    }
}
