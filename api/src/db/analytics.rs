//! Where history and analytics reads run: the read replica when one is configured, else the
//! primary, always under the analytics statement timeout.
//!
//! Only reads that may be a little stale go here (docs/operations.md, "Read replica"): a
//! streaming replica replays the primary's writes some milliseconds (or, when it lags, much
//! longer) after they commit, so nothing that must read its own writes (mutations, `myChats`,
//! `chat(id)`, subscriptions, sign-in) may use it. Resolvers reach it through
//! `graphql::context::analytics_db` only; a unit test there keeps the list of callers short.
//!
//! On PostgreSQL the reads get a pool of their own, on the replica or on the primary, whose
//! connections are opened with `statement_timeout` (the server cancels a longer statement
//! with SQLSTATE 57014, see [`super::query_canceled`]) and `default_transaction_read_only`
//! (nothing is ever written through it, even by mistake). On SQLite they use the read-only
//! pool (or the single connection of an in-memory database); SQLite has no server to cancel
//! a statement, so `domain::reads::timed` stops waiting instead.
//!
//! The handle is a [`RequestDb::shared`] one: each statement borrows a connection and gives it
//! back at once. A pinned handle would let a request hold an analytics connection while it
//! waits for a primary one (and another request the reverse), which could deadlock the pools.

use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend, DbErr};

use super::{RequestDb, pool_options};

/// The handle history and analytics reads run through, with their time limit.
#[derive(Clone)]
pub struct AnalyticsDb {
    db: RequestDb,
    timeout: Duration,
    replica: bool,
}

impl AnalyticsDb {
    /// Reads through `pool` (a pool opened by [`connect`], the SQLite read-only pool, or the
    /// primary's) with `timeout`; `replica` says whether `pool` is a read replica.
    pub fn new(pool: DatabaseConnection, timeout: Duration, replica: bool) -> Self {
        Self { db: RequestDb::shared(pool), timeout, replica }
    }

    /// The handle to run statements on; wrap the read in `domain::reads::timed`.
    pub fn db(&self) -> &RequestDb {
        &self.db
    }

    /// The longest a read may run.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether reads go to a read replica.
    pub fn on_replica(&self) -> bool {
        self.replica
    }

    /// Whether the database is SQLite (where the timeout is enforced by waiting, not by the
    /// database server).
    pub fn is_sqlite(&self) -> bool {
        sea_orm::ConnectionTrait::get_database_backend(&self.db) == DbBackend::Sqlite
    }
}

/// On PostgreSQL, opens the analytics pool: on `read_url` (a replica) when given, else on
/// `primary_url`, with up to `max_connections` connections, each opened with
/// `statement_timeout` = `timeout` and read-only transactions. `None` on SQLite (its
/// read-only pool serves these reads).
pub async fn connect(
    primary_url: &str,
    read_url: Option<&str>,
    max_connections: u32,
    timeout: Duration,
) -> Result<Option<DatabaseConnection>, DbErr> {
    let url = read_url.unwrap_or(primary_url);
    if url.starts_with("sqlite") {
        return Ok(None);
    }
    let mut options = pool_options(url, max_connections.max(1));
    let millis = timeout.as_millis().max(1).to_string();
    options.map_sqlx_postgres_opts(move |opts| {
        opts.options([("statement_timeout", millis.as_str()), ("default_transaction_read_only", "on")])
            .application_name("switchboard-analytics")
    });
    sea_orm::Database::connect(options).await.map(Some)
}
