//! Talking to the database directly with sqlx: a dedicated connection for seeding, and a pool
//! for the plain-SQL version of the agent-panel read.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::types::chrono::{DateTime, Utc};
// The bench builds its seeding SQL itself, from numbers only: nothing untrusted goes in.
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

use crate::Backend;

/// The same code on either backend: `$name` is the SQLite or the PostgreSQL value.
macro_rules! either {
    ($value:expr, $name:ident => $body:expr) => {
        match $value {
            Self::Sqlite($name) => $body,
            Self::Postgres($name) => $body,
        }
    };
}

/// The caller's chats in progress with their contacts' names (`myChats.active`).
const ACTIVE: &str = "SELECT c.id, c.status, ct.name FROM chats c JOIN contacts ct ON ct.id = c.contact_id \
     WHERE c.owner_id = $1 AND c.status = 'IN_PROGRESS' ORDER BY c.accepted_at, c.id";
/// Waiting chats directed to the caller or offered to them (`myChats.new`).
const NEW: &str = "SELECT c.id FROM chats c WHERE c.status = 'WAITING' AND (c.directed_agent_id = $1 \
     OR c.id IN (SELECT a.chat_id FROM assignments a \
     WHERE a.agent_id = $1 AND a.kind = 'OFFER' AND a.ended_at IS NULL)) ORDER BY c.created_at, c.id";
/// One chat with its contact (`chat(id) { contact }`); who may read it is checked on the row.
const CHAT: &str = "SELECT c.id, c.status, c.owner_id, c.directed_agent_id, ct.name, ct.mobile_phone \
     FROM chats c JOIN contacts ct ON ct.id = c.contact_id WHERE c.id = $1";
/// A chat's latest 20 messages (`messages(last: 20)`).
const MESSAGES: &str =
    "SELECT id, direction, text, created_at FROM messages WHERE chat_id = $1 ORDER BY id DESC LIMIT 20";

/// SQLite options as the server sets them: WAL, `synchronous=NORMAL`, a 10 s busy timeout,
/// foreign keys on.
fn sqlite_options(url: &str) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)
        .with_context(|| format!("not a SQLite URL: {url}"))?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true))
}

fn postgres_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).context("not a PostgreSQL URL")
}

/// One connection, for seeding.
pub enum Conn {
    /// SQLite.
    Sqlite(SqliteConnection),
    /// PostgreSQL.
    Postgres(PgConnection),
}

impl Conn {
    /// Opens a connection to `url` (on SQLite with a 256 MiB page cache, for bulk inserts).
    pub async fn open(backend: Backend, url: &str) -> anyhow::Result<Self> {
        Ok(match backend {
            Backend::Sqlite => {
                Self::Sqlite(sqlite_options(url)?.pragma("cache_size", "-262144").connect().await?)
            }
            Backend::Postgres => Self::Postgres(postgres_options(url)?.connect().await?),
        })
    }

    /// Runs SQL (one or more statements, no parameters) and returns the rows it changed.
    pub async fn exec(&mut self, sql: &str) -> anyhow::Result<u64> {
        let done = either!(self, c => sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(c).await.map(|r| r.rows_affected()));
        done.with_context(|| format!("SQL failed: {}", sql.chars().take(300).collect::<String>()))
    }

    /// Runs a query whose rows are one integer.
    pub async fn ints(&mut self, sql: &str) -> anyhow::Result<Vec<i64>> {
        let rows: Result<Vec<i64>, sqlx::Error> =
            either!(self, c => sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_all(c).await);
        rows.with_context(|| format!("SQL failed: {sql}"))
    }

    /// Runs a query whose rows are two integers.
    pub async fn pairs(&mut self, sql: &str) -> anyhow::Result<Vec<(i64, i64)>> {
        let rows: Result<Vec<(i64, i64)>, sqlx::Error> =
            either!(self, c => sqlx::query_as(AssertSqlSafe(sql.to_owned())).fetch_all(c).await);
        rows.with_context(|| format!("SQL failed: {sql}"))
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = either!(self, c => c.close().await);
    }
}

/// Row counts of one plain-SQL panel read, to check it against the seeded data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PanelRows {
    /// Chats in progress.
    pub active: usize,
    /// Waiting chats offered or directed.
    pub new: usize,
    /// Messages read.
    pub messages: usize,
}

/// A row of [`CHAT`]: id, status, owner, directed agent, contact name and mobile phone.
type ChatRow = (i64, String, Option<i64>, Option<i64>, String, Option<String>);

/// A pool for the plain-SQL reads.
#[derive(Clone)]
pub enum Pool {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

impl Pool {
    /// Opens `size` connections to `url` (all of them at once, so none opens while timed).
    pub async fn open(backend: Backend, url: &str, size: u32) -> anyhow::Result<Self> {
        let size = size.max(1);
        Ok(match backend {
            Backend::Sqlite => Self::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(size)
                    .min_connections(size)
                    .connect_with(sqlite_options(url)?)
                    .await?,
            ),
            Backend::Postgres => Self::Postgres(
                PgPoolOptions::new()
                    .max_connections(size)
                    .min_connections(size)
                    .connect_with(postgres_options(url)?)
                    .await?,
            ),
        })
    }

    /// The agent panel as plain SQL, on one pooled connection: `agent`'s chats in progress
    /// with contact names, the waiting chats offered or directed to them, chat `chat` with its
    /// contact (which the agent must own or have directed to them), and its latest 20
    /// messages. Every column the GraphQL read returns is decoded.
    pub async fn panel_read(&self, agent: i64, chat: i64) -> Result<PanelRows, String> {
        let read = either!(self, pool => async {
            let mut conn = pool.acquire().await?;
            let active: Vec<(i64, String, String)> =
                sqlx::query_as(ACTIVE).bind(agent).fetch_all(&mut *conn).await?;
            let new: Vec<(i64,)> = sqlx::query_as(NEW).bind(agent).fetch_all(&mut *conn).await?;
            let found: Option<ChatRow> =
                sqlx::query_as(CHAT).bind(chat).fetch_optional(&mut *conn).await?;
            let messages: Vec<(i64, String, Option<String>, DateTime<Utc>)> =
                sqlx::query_as(MESSAGES).bind(chat).fetch_all(&mut *conn).await?;
            Ok::<_, sqlx::Error>((active, new, found, messages))
        }.await);
        let (active, new, found, messages) = read.map_err(|err| format!("SQL error: {err}"))?;
        match found {
            Some((_, _, owner, directed, _, _)) if owner == Some(agent) || directed == Some(agent) => {}
            Some(_) => return Err(format!("chat {chat} is not visible to agent {agent}")),
            None => return Err(format!("chat {chat} not found")),
        }
        Ok(PanelRows { active: active.len(), new: new.len(), messages: messages.len() })
    }

    /// PostgreSQL only: transactions committed or rolled back in this database so far (each
    /// statement outside an explicit transaction is one). The statistics lag up to a second.
    pub async fn pg_transactions(&self) -> Option<i64> {
        let Self::Postgres(pool) = self else { return None };
        let sql = "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database \
                   WHERE datname = current_database()";
        sqlx::query_scalar(sql).fetch_one(pool).await.ok()
    }

    /// Closes every connection.
    pub async fn close(&self) {
        either!(self, pool => pool.close().await);
    }
}
