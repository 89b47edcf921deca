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
//! (nothing is ever written through it, even by mistake). On SQLite they run on the request's
//! own handle (a query's one read-only connection); SQLite has no server to cancel a
//! statement, so `domain::reads::timed` sets a deadline on that connection
//! (`RequestDb::interrupt_at`) and stops waiting at the same moment.
//!
//! The PostgreSQL handle is a per-statement one: each statement takes a connection and gives
//! it back at once (one of [`QueryConnections`] opened like the pool's, so it goes back
//! unchecked; see `db::queries`). A pinned one would let a request hold an analytics connection
//! while it waits for a primary one (and another request the reverse), which could deadlock
//! the pools. On SQLite a second pool handle would be that very deadlock (a query holds its
//! read-only connection, the pool may have only one), hence the request's own.

use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend, DbErr};

use super::{QueryConnections, RequestDb, pool_options};

/// How history and analytics reads get their handle, kept for the server's life: the pool of
/// their own on PostgreSQL, nothing on SQLite (they use the request's handle).
#[derive(Clone)]
pub struct AnalyticsReads {
    own: Option<(DatabaseConnection, Option<QueryConnections>)>,
    timeout: Duration,
    replica: bool,
}

impl AnalyticsReads {
    /// Reads through `pool` when given (a pool opened by [`connect`], with up to
    /// `max_connections`), else through each request's handle, with `timeout`; `replica`
    /// says whether `pool` is a read replica.
    pub fn new(
        pool: Option<DatabaseConnection>,
        max_connections: u32,
        timeout: Duration,
        replica: bool,
    ) -> Self {
        let own = pool.map(|pool| {
            let queries = QueryConnections::for_pool(&pool, max_connections, APPLICATION_NAME);
            (pool, queries)
        });
        Self { own, timeout, replica }
    }

    /// The connections these reads take on PostgreSQL (for `/metrics`).
    pub fn connections(&self) -> Option<&QueryConnections> {
        self.own.as_ref().and_then(|(_, queries)| queries.as_ref())
    }

    /// The handle for a request whose other statements run on `request` (its statements are
    /// counted as `request`'s).
    pub fn handle(&self, request: &RequestDb) -> AnalyticsDb {
        let db = match &self.own {
            Some((pool, queries)) => RequestDb::shared_counted_with(pool.clone(), queries.as_ref(), request),
            None => request.clone(),
        };
        AnalyticsDb { db, timeout: self.timeout, replica: self.replica }
    }
}

/// The handle history and analytics reads run through, with their time limit.
#[derive(Clone)]
pub struct AnalyticsDb {
    db: RequestDb,
    timeout: Duration,
    replica: bool,
}

impl AnalyticsDb {
    /// Reads through `pool`, a statement at a time, with `timeout`; `replica` says whether
    /// `pool` is a read replica. (A server makes its handles with [`AnalyticsReads`].)
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

/// The `application_name` of the analytics connections.
const APPLICATION_NAME: &str = "switchboard-analytics";

/// On PostgreSQL, opens the analytics pool: on `read_url` (a replica) when given, else on
/// `primary_url`, with up to `max_connections` connections, each opened with
/// `statement_timeout` = `timeout` and read-only transactions. `None` on SQLite (each
/// request's handle serves these reads).
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
    // The reads take connections of their own opened with these options (`AnalyticsReads`);
    // the pool keeps none open once its start-up check is done.
    options.min_connections(0);
    let millis = timeout.as_millis().max(1).to_string();
    options.map_sqlx_postgres_opts(move |opts| {
        opts.options([("statement_timeout", millis.as_str()), ("default_transaction_read_only", "on")])
            .application_name(APPLICATION_NAME)
    });
    sea_orm::Database::connect(options).await.map(Some)
}
