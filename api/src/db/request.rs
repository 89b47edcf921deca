//! The database handle a GraphQL request runs its statements through.
//!
//! sqlx checks every connection when it goes back to its pool: a `Sync`/`ReadyForQuery`
//! round trip on PostgreSQL, a hop to the worker thread on SQLite, on a spawned task. A
//! query whose resolvers each borrowed a connection paid that once per statement. A
//! [`RequestDb::pinned`] handle takes one connection at its first statement and keeps it
//! until the request is done; statements of fields that resolve concurrently take turns on
//! it. On PostgreSQL that connection comes from [`QueryConnections`], outside the pool, and
//! goes back unchecked (see `db::queries`); on SQLite from the pool, checked once per request.
//!
//! Pinning is for queries only. A request that holds a connection must never wait for a
//! second one from the same pool (enough such requests would each hold one and wait for
//! another); mutations open transactions on the pool, so they use [`RequestDb::shared`],
//! as do subscriptions (a WebSocket lives far longer than a statement).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, AssertSqlSafe, Sqlite};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult,
    RuntimeErr, Statement,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use super::queries::{QueryConnection, QueryConnections};

/// A connection taken for the rest of a request.
enum Held {
    Postgres(QueryConnection),
    Sqlite(PoolConnection<Sqlite>),
}

struct Inner {
    pool: DatabaseConnection,
    /// PostgreSQL: where a pinned handle takes its connection.
    queries: Option<QueryConnections>,
    /// Statements run through this handle (and its clones, and handles counted with it) so
    /// far.
    statements: Arc<AtomicU64>,
    /// `None`: every statement borrows from the pool. `Some`: the pinned connection, taken
    /// at the first statement.
    pinned: Option<Mutex<Option<Held>>>,
}

/// Where one request's statements run: the pool, or one connection held for the request.
/// Cheap to clone (DataLoaders keep a clone); the held connection goes back to its pool when
/// the last clone is dropped.
#[derive(Clone)]
pub struct RequestDb(Arc<Inner>);

impl RequestDb {
    /// Every statement borrows a connection from `pool` and returns it at once.
    pub fn shared(pool: DatabaseConnection) -> Self {
        Self(Arc::new(Inner { pool, queries: None, pinned: None, statements: Arc::default() }))
    }

    /// Every statement runs on one connection, taken at the first statement and held until
    /// the handle and its clones are dropped: on PostgreSQL one of `queries` (statements go
    /// to the pool without them), on SQLite one of `pool`. For queries only (module docs).
    pub fn pinned(pool: DatabaseConnection, queries: Option<&QueryConnections>) -> Self {
        let pins = match pool.get_database_backend() {
            DbBackend::Postgres => queries.is_some(),
            DbBackend::Sqlite => true,
            _ => false,
        };
        let pinned = pins.then(|| Mutex::new(None));
        Self(Arc::new(Inner { pool, queries: queries.cloned(), pinned, statements: Arc::default() }))
    }

    /// A [`Self::shared`] handle on `pool` whose statements count as `request`'s (a request's
    /// reads on another pool). With `queries` (PostgreSQL), each statement takes one of them
    /// instead of a pooled connection, and gives it back unchecked (`db::queries`).
    pub fn shared_counted_with(
        pool: DatabaseConnection,
        queries: Option<&QueryConnections>,
        request: &RequestDb,
    ) -> Self {
        let queries = queries.cloned();
        Self(Arc::new(Inner { pool, queries, pinned: None, statements: request.0.statements.clone() }))
    }

    /// Statements run through this handle and its clones so far (those inside transactions
    /// opened on the pool are not).
    pub fn statements(&self) -> u64 {
        self.0.statements.load(Ordering::Relaxed)
    }

    /// The held connection, taken from the pool first if this is the first statement.
    /// `None` when statements go to the pool.
    async fn held(&self) -> Result<Option<MappedMutexGuard<'_, Held>>, DbErr> {
        let Some(pinned) = &self.0.pinned else { return Ok(None) };
        let mut guard = pinned.lock().await;
        if guard.is_none() {
            let pool = &self.0.pool;
            *guard = Some(match &self.0.queries {
                Some(queries) => Held::Postgres(queries.acquire().await?),
                None => {
                    Held::Sqlite(pool.get_sqlite_connection_pool().acquire().await.map_err(acquire_error)?)
                }
            });
        }
        Ok(MutexGuard::try_map(guard, Option::as_mut).ok())
    }

    /// The connection for a statement (counted): the held one, or one of the query
    /// connections for this statement alone; `None` when the statement goes to the pool.
    async fn for_statement(&self) -> Result<Option<ForStatement<'_>>, DbErr> {
        self.0.statements.fetch_add(1, Ordering::Relaxed);
        if self.0.pinned.is_some() {
            return Ok(self.held().await?.map(ForStatement::Held));
        }
        match &self.0.queries {
            Some(queries) => Ok(Some(ForStatement::Own(Held::Postgres(queries.acquire().await?)))),
            None => Ok(None),
        }
    }

    /// On SQLite, makes every statement of this handle's held connection stop with
    /// SQLITE_INTERRUPT once `deadline` has passed (SQLite's progress handler, which asks
    /// every [`PROGRESS_STEPS`] virtual-machine steps), until [`Self::no_deadline`]. SQLite has
    /// no server to cancel a statement; this is its `statement_timeout`. `false` (nothing
    /// set) on PostgreSQL and for a shared handle, whose connection changes per statement.
    pub async fn interrupt_at(&self, deadline: std::time::Instant) -> Result<bool, DbErr> {
        let Some(mut held) = self.held().await? else { return Ok(false) };
        let Held::Sqlite(conn) = &mut *held else { return Ok(false) };
        let mut handle = conn.lock_handle().await.map_err(exec_error)?;
        handle.set_progress_handler(PROGRESS_STEPS, move || std::time::Instant::now() < deadline);
        Ok(true)
    }

    /// Takes away the deadline [`Self::interrupt_at`] set.
    pub async fn no_deadline(&self) -> Result<(), DbErr> {
        let Some(mut held) = self.held().await? else { return Ok(()) };
        if let Held::Sqlite(conn) = &mut *held {
            conn.lock_handle().await.map_err(exec_error)?.remove_progress_handler();
        }
        Ok(())
    }
}

/// A statement's connection: the one a pinned handle holds, or one taken for it alone.
enum ForStatement<'a> {
    Held(MappedMutexGuard<'a, Held>),
    Own(Held),
}

impl std::ops::Deref for ForStatement<'_> {
    type Target = Held;

    fn deref(&self) -> &Held {
        match self {
            Self::Held(held) => held,
            Self::Own(own) => own,
        }
    }
}

impl std::ops::DerefMut for ForStatement<'_> {
    fn deref_mut(&mut self) -> &mut Held {
        match self {
            Self::Held(held) => held,
            Self::Own(own) => own,
        }
    }
}

/// Virtual-machine steps between two looks at the clock of [`RequestDb::interrupt_at`]: a few
/// microseconds of work, so a statement stops within about a millisecond of its deadline.
const PROGRESS_STEPS: i32 = 10_000;

/// A statement's SQL and its bound values, in the form sqlx runs.
fn query(stmt: Statement) -> (AssertSqlSafe<String>, SqlxValues) {
    (AssertSqlSafe(stmt.sql), SqlxValues(stmt.values.unwrap_or(sea_orm::Values(Vec::new()))))
}

fn acquire_error(err: sqlx::Error) -> DbErr {
    match err {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        err => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(err))),
    }
}

fn exec_error(err: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err)))
}

fn query_error(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
}

#[async_trait::async_trait]
impl ConnectionTrait for RequestDb {
    fn get_database_backend(&self) -> DbBackend {
        self.0.pool.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let Some(mut held) = self.for_statement().await? else { return self.0.pool.execute_raw(stmt).await };
        match &mut *held {
            Held::Postgres(conn) => conn
                .run(stmt, |conn, stmt| {
                    let (sql, values) = query(stmt);
                    Box::pin(async move { sqlx::query_with(sql, values).execute(conn).await })
                })
                .await
                .map(Into::into),
            Held::Sqlite(conn) => {
                let (sql, values) = query(stmt);
                sqlx::query_with(sql, values).execute(&mut **conn).await.map(Into::into)
            }
        }
        .map_err(exec_error)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let Some(mut held) = self.for_statement().await? else {
            return self.0.pool.execute_unprepared(sql).await;
        };
        match &mut *held {
            Held::Postgres(conn) => conn
                .run(Statement::from_string(DbBackend::Postgres, sql), |conn, stmt| {
                    Box::pin(async move { sqlx::raw_sql(AssertSqlSafe(stmt.sql)).execute(conn).await })
                })
                .await
                .map(Into::into),
            Held::Sqlite(conn) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut **conn).await.map(Into::into)
            }
        }
        .map_err(exec_error)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let Some(mut held) = self.for_statement().await? else {
            return self.0.pool.query_one_raw(stmt).await;
        };
        match &mut *held {
            Held::Postgres(conn) => conn
                .run(stmt, |conn, stmt| {
                    let (sql, values) = query(stmt);
                    Box::pin(async move { sqlx::query_with(sql, values).fetch_optional(conn).await })
                })
                .await
                .map(|row| row.map(Into::into)),
            Held::Sqlite(conn) => {
                let (sql, values) = query(stmt);
                sqlx::query_with(sql, values).fetch_optional(&mut **conn).await.map(|row| row.map(Into::into))
            }
        }
        .map_err(query_error)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let Some(mut held) = self.for_statement().await? else {
            return self.0.pool.query_all_raw(stmt).await;
        };
        match &mut *held {
            Held::Postgres(conn) => conn
                .run(stmt, |conn, stmt| {
                    let (sql, values) = query(stmt);
                    Box::pin(async move { sqlx::query_with(sql, values).fetch_all(conn).await })
                })
                .await
                .map(|rows| rows.into_iter().map(Into::into).collect()),
            Held::Sqlite(conn) => {
                let (sql, values) = query(stmt);
                sqlx::query_with(sql, values)
                    .fetch_all(&mut **conn)
                    .await
                    .map(|rows| rows.into_iter().map(Into::into).collect())
            }
        }
        .map_err(query_error)
    }

    fn support_returning(&self) -> bool {
        self.0.pool.support_returning()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file database with a pool of two connections (in-memory SQLite would give each
    /// connection its own database).
    async fn pool(dir: &std::path::Path) -> DatabaseConnection {
        let url = format!("sqlite://{}?mode=rwc", dir.join("request.db").display());
        let mut options = sea_orm::ConnectOptions::new(url);
        options.max_connections(2).min_connections(2).sqlx_logging(false);
        sea_orm::Database::connect(options).await.unwrap()
    }

    fn scratch_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("switchboard-request-db-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Waits until every connection of `pool` is back (releases run on a spawned task).
    async fn all_idle(pool: &sqlx::SqlitePool) {
        for _ in 0..200 {
            if pool.num_idle() == pool.size() as usize {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("{} of {} connections still held", pool.size() as usize - pool.num_idle(), pool.size());
    }

    #[tokio::test]
    async fn a_pinned_handle_runs_every_statement_on_one_connection_and_gives_it_back() {
        let dir = scratch_dir();
        let pool = pool(&dir).await;
        let sqlite = pool.get_sqlite_connection_pool().clone();
        {
            let db = RequestDb::pinned(pool.clone(), None);
            // A TEMP table exists only on the connection that created it.
            db.execute_unprepared("CREATE TEMP TABLE seen (n INTEGER)").await.unwrap();
            let clone = db.clone();
            clone.execute_unprepared("INSERT INTO seen VALUES (1)").await.unwrap();
            let stmt = Statement::from_string(DbBackend::Sqlite, "SELECT COUNT(*) AS n FROM seen");
            for _ in 0..5 {
                let row = db.query_one_raw(stmt.clone()).await.unwrap().unwrap();
                assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1);
            }
            assert!(sqlite.num_idle() < sqlite.size() as usize, "the connection is held between statements");
        }
        // The last clone is gone: the connection goes back to the pool.
        all_idle(&sqlite).await;
        pool.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_shared_handle_borrows_per_statement() {
        let dir = scratch_dir();
        let pool = pool(&dir).await;
        let db = RequestDb::shared(pool.clone());
        let stmt = Statement::from_string(DbBackend::Sqlite, "SELECT 1 AS n");
        let row = db.query_one_raw(stmt).await.unwrap().unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1);
        all_idle(pool.get_sqlite_connection_pool()).await;
        pool.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
