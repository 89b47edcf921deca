//! The plain-SQL side of the history suite: the statements the server runs for `chatStats`
//! and for a history page, written out by hand and run through sqlx on the bench's own pool.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::panel::sql::Pool;

/// `chatStats(filter: { created: { from: $1, to: $2 } }, groupBy: [QUEUE, STATUS])` on
/// PostgreSQL, as api/src/domain/analytics/sql.rs builds it: one statement, grouped and
/// aggregated in the database.
pub const STATS_POSTGRES: &str = "SELECT queue_id, NULL::bigint, NULL::bigint, status, NULL::timestamptz, count(*), \
     count(tta), avg(tta), percentile_cont(0.5) WITHIN GROUP (ORDER BY tta), percentile_cont(0.9) WITHIN GROUP (ORDER BY tta), \
     count(frt), avg(frt), percentile_cont(0.5) WITHIN GROUP (ORDER BY frt), percentile_cont(0.9) WITHIN GROUP (ORDER BY frt), \
     count(dur), avg(dur), percentile_cont(0.5) WITHIN GROUP (ORDER BY dur), percentile_cont(0.9) WITHIN GROUP (ORDER BY dur), \
     count(ht), avg(ht), percentile_cont(0.5) WITHIN GROUP (ORDER BY ht), percentile_cont(0.9) WITHIN GROUP (ORDER BY ht) \
     FROM (SELECT queue_id, status, \
       ((date_part('epoch', accepted_at - queued_at) * 1000000)::bigint / 1000)::float8 / 1000 AS tta, \
       ((date_part('epoch', first_response_at - created_at) * 1000000)::bigint / 1000)::float8 / 1000 AS frt, \
       ((date_part('epoch', completed_at - created_at) * 1000000)::bigint / 1000)::float8 / 1000 AS dur, \
       CASE WHEN accepted_at IS NOT NULL THEN ((date_part('epoch', completed_at - accepted_at) * 1000000)::bigint / 1000)::float8 / 1000 \
         WHEN queued_at IS NULL THEN ((date_part('epoch', completed_at - created_at) * 1000000)::bigint / 1000)::float8 / 1000 END AS ht \
       FROM chats WHERE created_at >= $1 AND created_at < $2) AS c \
     GROUP BY queue_id, status LIMIT 1001";

/// What the server reads for `chatStats` on SQLite (it aggregates in Rust): the rows only.
pub const STATS_SQLITE: &str = "SELECT queue_id, owner_id, channel_id, status, created_at, queued_at, accepted_at, \
     first_response_at, completed_at FROM chats WHERE created_at >= $1 AND created_at < $2";

/// A history page, `chats(filter: { queueIds: [$1], statuses: [COMPLETED] }, orderBy:
/// { field: CREATED_AT, direction: DESC }, first: 50, after: ($2, $3))`: the keyset statement
/// the server runs, every column of the row.
const PAGE_AFTER: &str = "SELECT id, contact_id, channel_id, queue_id, owner_id, directed_agent_id, parent_chat_id, \
     status, completion_reason, created_at, accepted_at, first_response_at, completed_at, close_deadline, \
     last_message_at, updated_at, queued_at FROM chats \
     WHERE status IN ('COMPLETED') AND queue_id IN ($1) AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT 51";
/// The first page (no cursor).
const PAGE_FIRST: &str = "SELECT id, contact_id, channel_id, queue_id, owner_id, directed_agent_id, parent_chat_id, \
     status, completion_reason, created_at, accepted_at, first_response_at, completed_at, close_deadline, \
     last_message_at, updated_at, queued_at FROM chats \
     WHERE status IN ('COMPLETED') AND queue_id IN ($1) \
     ORDER BY created_at DESC, id DESC LIMIT 51";

/// Where a page starts: after this row's `(created_at, id)`.
pub type Cursor = (DateTime<Utc>, i64);

/// Runs the stats statement for `[from, to)`; answers (groups or rows, total chats).
pub async fn stats(pool: &Pool, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(usize, i64), String> {
    let result = match pool {
        Pool::Postgres(pool) => {
            sqlx::query(STATS_POSTGRES).bind(from).bind(to).fetch_all(pool).await.and_then(|rows| {
                let mut total = 0;
                for row in &rows {
                    total += row.try_get::<i64, _>(5)?;
                    for i in 6..22 {
                        if (i - 6) % 4 == 0 {
                            row.try_get::<i64, _>(i)?;
                        } else {
                            row.try_get::<Option<f64>, _>(i)?;
                        }
                    }
                    row.try_get::<Option<i64>, _>(0)?;
                    row.try_get::<Option<String>, _>(3)?;
                }
                Ok((rows.len(), total))
            })
        }
        Pool::Sqlite(pool) => {
            sqlx::query(STATS_SQLITE).bind(from).bind(to).fetch_all(pool).await.and_then(|rows| {
                for row in &rows {
                    row.try_get::<i64, _>(0)?;
                    row.try_get::<String, _>(3)?;
                    for i in 4..9 {
                        row.try_get::<Option<DateTime<Utc>>, _>(i)?;
                    }
                }
                Ok((rows.len(), rows.len() as i64))
            })
        }
    };
    result.map_err(|err| format!("SQL error: {err}"))
}

/// One history page of queue `queue` after `cursor`; answers the first row's id and the rows.
pub async fn page(pool: &Pool, queue: i64, cursor: Option<Cursor>) -> Result<(Option<i64>, usize), String> {
    macro_rules! run {
        ($pool:expr) => {{
            let query = match cursor {
                Some((at, id)) => sqlx::query(PAGE_AFTER).bind(queue).bind(at).bind(id),
                None => sqlx::query(PAGE_FIRST).bind(queue),
            };
            query.fetch_all($pool).await.and_then(|rows| {
                for row in &rows {
                    for i in [0, 1, 2, 3] {
                        row.try_get::<i64, _>(i)?;
                    }
                    for i in [4, 5, 6] {
                        row.try_get::<Option<i64>, _>(i)?;
                    }
                    row.try_get::<String, _>(7)?;
                    row.try_get::<Option<String>, _>(8)?;
                    row.try_get::<DateTime<Utc>, _>(9)?;
                    for i in 10..17 {
                        row.try_get::<Option<DateTime<Utc>>, _>(i)?;
                    }
                }
                let first = rows.first().map(|row| row.try_get::<i64, _>(0)).transpose()?;
                Ok((first, rows.len().min(50)))
            })
        }};
    }
    let result = match pool {
        Pool::Postgres(pool) => run!(pool),
        Pool::Sqlite(pool) => run!(pool),
    };
    result.map_err(|err| format!("SQL error: {err}"))
}

/// The `(created_at, id)` of the chat at 1-based position `position` of the page order: the
/// cursor page `position / 50 + 1` starts after (read once, untimed, with OFFSET).
pub async fn cursor_at(pool: &Pool, queue: i64, position: u64) -> anyhow::Result<Cursor> {
    let sql = format!(
        "SELECT created_at, id FROM chats WHERE status IN ('COMPLETED') AND queue_id IN ($1) \
         ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET {}",
        position.saturating_sub(1)
    );
    let sql = sqlx::AssertSqlSafe(sql);
    Ok(match pool {
        Pool::Postgres(pool) => sqlx::query_as(sql).bind(queue).fetch_one(pool).await?,
        Pool::Sqlite(pool) => sqlx::query_as(sql).bind(queue).fetch_one(pool).await?,
    })
}
