//! Agents and their sessions inserted in SQL while the server is stopped (`createAgent` and
//! `login` hash or verify an Argon2 password each: minutes for 10,000 agents), and access
//! tokens forged for those sessions with the JWT secret the bench starts the server with.
//! Also reads the event log back, to check every delivery against it.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
// The SQL here is built from numbers and constants only: nothing untrusted goes in.
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

use super::Backend;

/// The `JWT_SECRET` `server.rs` starts every server with; the forged tokens must verify there
/// (if it changes, the check in `fanout::run` fails with a message pointing here).
const JWT_SECRET: &str = "switchboard-bench-jwt-secret-0123456789abcdef";
/// How long the seeded sessions and their tokens stay valid.
const SESSION_HOURS: i64 = 24;
/// The text timestamps look like on SQLite: RFC 3339, like the server writes them.
const SQLITE_TIME: &str = "'%Y-%m-%dT%H:%M:%f+00:00'";
/// Seeded agents' emails start with this, and their session ids with `fanout-`.
const EMAIL_PREFIX: &str = "fanout.";

/// A seeded agent, signed in.
#[derive(Clone, Debug)]
pub struct Agent {
    /// Row id.
    pub id: i64,
    /// Bearer token of its session.
    pub token: String,
}

/// One connection to the bench's database.
pub enum Conn {
    /// SQLite.
    Sqlite(SqliteConnection),
    /// PostgreSQL.
    Postgres(PgConnection),
}

/// The same code on either backend: `$name` is the SQLite or the PostgreSQL connection.
macro_rules! either {
    ($value:expr, $name:ident => $body:expr) => {
        match $value {
            Conn::Sqlite($name) => $body,
            Conn::Postgres($name) => $body,
        }
    };
}

impl Conn {
    /// Opens a connection to `url` (on SQLite in WAL mode with a busy timeout, as the server).
    pub async fn open(backend: Backend, url: &str) -> anyhow::Result<Self> {
        Ok(match backend {
            Backend::Sqlite => Self::Sqlite(
                SqliteConnectOptions::from_str(url)
                    .with_context(|| format!("not a SQLite URL: {url}"))?
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10))
                    .connect()
                    .await?,
            ),
            Backend::Postgres => Self::Postgres(
                PgConnectOptions::from_str(url).context("not a PostgreSQL URL")?.connect().await?,
            ),
        })
    }

    /// Runs SQL (one or more statements, no parameters) and returns the rows it changed.
    async fn exec(&mut self, sql: &str) -> anyhow::Result<u64> {
        let done = either!(self, c => sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(c).await.map(|r| r.rows_affected()));
        done.with_context(|| format!("SQL failed: {sql}"))
    }

    /// Runs a query whose rows are one integer.
    async fn ints(&mut self, sql: &str) -> anyhow::Result<Vec<i64>> {
        let rows: Result<Vec<i64>, sqlx::Error> =
            either!(self, c => sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_all(c).await);
        rows.with_context(|| format!("SQL failed: {sql}"))
    }

    /// Runs a query whose rows are two integers.
    async fn pairs(&mut self, sql: &str) -> anyhow::Result<Vec<(i64, i64)>> {
        let rows: Result<Vec<(i64, i64)>, sqlx::Error> =
            either!(self, c => sqlx::query_as(AssertSqlSafe(sql.to_owned())).fetch_all(c).await);
        rows.with_context(|| format!("SQL failed: {sql}"))
    }

    /// Closes the connection.
    pub async fn close(self) {
        if let Err(err) = either!(self, c => c.close().await) {
            eprintln!("fanout: closing the database connection: {err}");
        }
    }
}

/// Inserts `count` enabled AGENT-role agents, INACTIVE (so the first `setMyStatus(ACTIVE)`
/// changes their status and records an event), each with one open session, in one
/// transaction; returns them in id order with a token for each. They have no usable password
/// (`!` is no PHC string): they exist only through these sessions.
pub async fn agents(conn: &mut Conn, backend: Backend, count: usize) -> anyhow::Result<Vec<Agent>> {
    let (begin, series, now, expires) = match backend {
        Backend::Postgres => (
            "BEGIN",
            format!("s(n) AS (SELECT generate_series(1, {count}))"),
            "now()".to_owned(),
            format!("(now() + interval '{SESSION_HOURS} hours')"),
        ),
        Backend::Sqlite => (
            // Take the write lock up front, as the server does.
            "BEGIN IMMEDIATE",
            format!("s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count})"),
            format!("strftime({SQLITE_TIME}, 'now')"),
            format!("strftime({SQLITE_TIME}, 'now', '+{SESSION_HOURS} hours')"),
        ),
    };
    conn.exec(begin).await?;
    let inserted = conn
        .exec(&format!(
            "WITH RECURSIVE {series} \
             INSERT INTO agents (name, email, password_hash, role, status, enabled, created_at, updated_at) \
             SELECT 'Fan-out ' || n, '{EMAIL_PREFIX}' || n || '@example.com', '!', 'AGENT', 'INACTIVE', TRUE, \
               {now}, {now} FROM s ORDER BY n"
        ))
        .await?;
    ensure!(inserted == count as u64, "inserted {inserted} agents, expected {count}");
    let mine = format!("email LIKE '{EMAIL_PREFIX}%@example.com'");
    conn.exec(&format!(
        "INSERT INTO sessions (id, agent_id, created_at, expires_at, ended_at) \
         SELECT 'fanout-' || id, id, {now}, {expires}, NULL FROM agents WHERE {mine}"
    ))
    .await?;
    conn.exec("COMMIT").await?;

    let ids = conn.ints(&format!("SELECT id FROM agents WHERE {mine} ORDER BY id")).await?;
    ensure!(ids.len() == count, "found {} seeded agents, expected {count}", ids.len());
    let issued = chrono::Utc::now().timestamp();
    // A little before the session row expires, so the token is never the longer-lived one.
    let exp = issued + SESSION_HOURS * 3600 - 60;
    Ok(ids
        .into_iter()
        .map(|id| Agent { id, token: forge_token(id, &format!("fanout-{id}"), issued, exp) })
        .collect())
}

/// An HS256 JWT with the claims the server issues (`sub` = agent id as a string, `sid` =
/// session id, `iat`, `exp`), signed with [`JWT_SECRET`].
fn forge_token(agent: i64, session: &str, iat: i64, exp: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({ "sub": agent.to_string(), "sid": session, "iat": iat, "exp": exp });
    let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut mac = Hmac::<Sha256>::new_from_slice(JWT_SECRET.as_bytes()).expect("HMAC accepts any key length");
    mac.update(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// Every `AGENT_STATUS_CHANGED` event in the log: event id → the agent it concerns.
pub async fn status_events(conn: &mut Conn) -> anyhow::Result<HashMap<i64, i64>> {
    let rows = conn
        .pairs("SELECT id, agent_id FROM events WHERE kind = 'AGENT_STATUS_CHANGED' AND agent_id IS NOT NULL")
        .await?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_tokens_are_well_formed_hs256() {
        let token = forge_token(7, "fanout-7", 1_700_000_000, 1_700_086_400);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["sub"], "7");
        assert_eq!(claims["sid"], "fanout-7");
        let mut mac = Hmac::<Sha256>::new_from_slice(JWT_SECRET.as_bytes()).unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
    }
}
