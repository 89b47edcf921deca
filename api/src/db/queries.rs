//! PostgreSQL connections for GraphQL queries (held for a request) and for history and
//! analytics reads (taken per statement, see `db::analytics`), kept outside sqlx's pool.
//!
//! sqlx pings every connection it takes back (a `Sync`/`ReadyForQuery` round trip on a
//! spawned task; sqlx 0.9 has no switch for it), so a query that took one pooled connection
//! paid a second round trip after its answer, and the connection stayed busy meanwhile. A
//! query connection goes back to [`QueryConnections`] as it is (queries open no
//! transactions), unless its request was dropped in the middle of a statement: then it is
//! drained on a task of its own first (a ping, which waits for the answers the driver still
//! owes), so that the next request does not wait behind a statement nobody reads. A connection
//! whose statement failed for any reason but the database refusing it (a lost socket, a
//! protocol error) is closed, not kept; one idle for longer than [`PING_IF_IDLE_FOR`] is
//! checked before it is handed out, as the pool does. When the first statement on an idle
//! connection finds it dead (the database restarted, or an administrator terminated it), the
//! statement runs again on a new connection and every other idle one is closed (they most
//! likely died the same way): a query never fails for a connection that died while idle.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, ConnectOptions, Connection};
use sea_orm::{ConnAcquireErr, DatabaseConnection, DbErr, RuntimeErr, Statement};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a connection may sit idle before it is checked with a ping when handed out (a
/// proxy or firewall may have dropped it meanwhile); the pools use the same.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// Connections idle this long are closed instead of handed out.
const CLOSE_IF_IDLE_FOR: Duration = Duration::from_secs(600);

/// The `application_name` of GraphQL queries' connections.
pub const APPLICATION_NAME: &str = "switchboard-queries";

struct Set {
    options: PgConnectOptions,
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    /// One permit per connection that may be open; a checked-out connection holds one.
    permits: Arc<Semaphore>,
    max: u32,
    acquire_timeout: Duration,
}

/// Up to `max` PostgreSQL connections for queries, opened on demand with the primary pool's
/// options and kept open between requests. Cheap to clone.
#[derive(Clone)]
pub struct QueryConnections(Arc<Set>);

impl std::fmt::Debug for QueryConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (size, idle) = self.size_and_idle();
        f.debug_struct("QueryConnections").field("size", &size).field("idle", &idle).finish()
    }
}

impl QueryConnections {
    /// A set opening connections as `pool` opens its own (same URL, settings and acquire
    /// timeout) but named `application_name`, `None` unless `pool` is PostgreSQL's.
    pub fn for_pool(pool: &DatabaseConnection, max: u32, application_name: &str) -> Option<Self> {
        if pool.get_database_backend() != sea_orm::DbBackend::Postgres {
            return None;
        }
        let pool = pool.get_postgres_connection_pool();
        // Named so that `pg_stat_activity` tells them from the pool's.
        let options = (*pool.connect_options()).clone().application_name(application_name);
        let acquire_timeout = pool.options().get_acquire_timeout();
        let max = max.max(1);
        Some(Self(Arc::new(Set {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max as usize)),
            max,
            acquire_timeout,
        })))
    }

    /// Connections open now and how many of them are idle (for `/metrics`).
    pub fn size_and_idle(&self) -> (u32, u32) {
        let idle = self.idle().len() as u32;
        let out = self.0.max - self.0.permits.available_permits() as u32;
        (out + idle, idle)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(PgConnection, Instant)>> {
        // A panic while the lock was held cannot leave the list half-changed (push and pop).
        self.0.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A connection: an idle one if any (checked if it idled long), else a new one. Waits
    /// for a free slot up to the pool's acquire timeout (`ConnectionAcquire(Timeout)`).
    pub async fn acquire(&self) -> Result<QueryConnection, DbErr> {
        let permit = tokio::time::timeout(self.0.acquire_timeout, self.0.permits.clone().acquire_owned())
            .await
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed))?;
        loop {
            let Some((mut conn, since)) = self.idle().pop() else { break };
            let idled = since.elapsed();
            if idled >= CLOSE_IF_IDLE_FOR {
                tokio::spawn(conn.close());
                continue;
            }
            if idled >= PING_IF_IDLE_FOR && conn.ping().await.is_err() {
                continue;
            }
            return Ok(QueryConnection {
                conn: Some(conn),
                untried: true,
                in_flight: false,
                set: self.clone(),
                permit: Some(permit),
            });
        }
        let conn = self
            .0
            .options
            .connect()
            .await
            .map_err(|err| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(err))))?;
        Ok(QueryConnection {
            conn: Some(conn),
            untried: false,
            in_flight: false,
            set: self.clone(),
            permit: Some(permit),
        })
    }

    /// Closes every idle connection.
    fn close_idle(&self) {
        for (conn, _) in self.idle().drain(..) {
            tokio::spawn(conn.close());
        }
    }
}

/// A connection checked out of [`QueryConnections`]; it goes back when dropped, unless
/// a statement on it failed in a way that may have broken it
/// ([`QueryConnection::noted`]).
pub struct QueryConnection {
    conn: Option<PgConnection>,
    /// Taken from the idle ones and no statement run on it yet.
    untried: bool,
    /// A statement was started and has not finished: the request was dropped meanwhile.
    in_flight: bool,
    set: QueryConnections,
    /// Its place among the set's connections (`None` once handed to a drain).
    permit: Option<OwnedSemaphorePermit>,
}

/// Runs a statement on a connection.
pub type Run<T> = fn(&mut PgConnection, Statement) -> BoxFuture<'_, Result<T, sqlx::Error>>;

impl QueryConnection {
    /// The connection, to run a statement on.
    fn get(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        self.conn.as_mut().ok_or(sqlx::Error::PoolClosed)
    }

    /// `run`s `statement` on this connection. If this is the connection's first statement
    /// since it idled and it found the connection dead, closes the idle ones and runs the
    /// statement again on a new connection (module docs); queries only read, so running one
    /// twice is safe.
    pub async fn run<T>(&mut self, statement: Statement, run: Run<T>) -> Result<T, sqlx::Error> {
        let again = std::mem::take(&mut self.untried).then(|| statement.clone());
        self.in_flight = true;
        let result = run(self.get()?, statement).await;
        let result = match (result, again) {
            (Err(err), Some(statement)) if super::sqlx_unavailable(&err) => {
                self.conn = None;
                self.set.close_idle();
                self.conn = Some(self.set.0.options.connect().await?);
                run(self.get()?, statement).await
            }
            (result, _) => result,
        };
        self.in_flight = false;
        self.noted(result)
    }

    /// `result` of a statement run on this connection, noted: unless the database refused
    /// the statement itself (and the connection is fine), a failed connection is closed
    /// rather than reused.
    fn noted<T>(&mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if let Err(err) = &result {
            self.failed(err);
        }
        result
    }

    fn failed(&mut self, err: &sqlx::Error) {
        use sqlx::Error;
        let statement_only = match err {
            Error::Database(_) => !super::sqlx_unavailable(err),
            Error::RowNotFound
            | Error::ColumnDecode { .. }
            | Error::ColumnNotFound(_)
            | Error::ColumnIndexOutOfBounds { .. }
            | Error::Decode(_)
            | Error::TypeNotFound { .. } => true,
            _ => false,
        };
        if !statement_only {
            self.conn = None;
        }
    }
}

impl Drop for QueryConnection {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        if !self.in_flight {
            self.set.idle().push((conn, Instant::now()));
            return;
        }
        // Dropped mid-statement (its request went away): the statement may run on for long,
        // and the next request must not wait behind it. It is drained apart, as the pool
        // drains every connection, and keeps its place in the set meanwhile.
        let (set, permit) = (self.set.clone(), self.permit.take());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if conn.ping().await.is_ok() {
                    set.idle().push((conn, Instant::now()));
                }
                drop(permit);
            });
        }
    }
}
