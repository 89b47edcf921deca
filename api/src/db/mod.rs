//! Opening the database pools, applying migrations, and the handle requests run through.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};

pub mod analytics;
pub mod checkpoint;
pub mod queries;
mod request;
pub mod rows;
pub mod shape;
pub use analytics::{AnalyticsDb, AnalyticsReads};
pub use queries::QueryConnections;
pub use request::RequestDb;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

/// How long a statement may wait for a pooled connection on PostgreSQL. While the server is
/// down, sqlx keeps retrying a refused connection until this deadline, so it is how long a
/// request takes to learn the database is unreachable (and answer DATABASE_UNAVAILABLE); a
/// healthy pool hands out a connection in microseconds, and a wait of seconds means the
/// database is overloaded, when a retryable refusal is the better answer anyway.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// The same on SQLite. Every write goes through ONE pooled connection (see [`connect`]), so
/// writers queue in the pool under load, and seconds of queueing is ordinary there: a short
/// timeout would refuse normal traffic. A file database is never "unreachable" the way a
/// server is, so the long timeout costs nothing in an outage.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The pool settings every pool shares.
fn pool_options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    // SeaORM hands both its connect and acquire timeouts to sqlx's one acquire timeout, which
    // also bounds opening a new connection; only the acquire timeout is set.
    let acquire_timeout =
        if url.starts_with("sqlite") { SQLITE_ACQUIRE_TIMEOUT } else { POSTGRES_ACQUIRE_TIMEOUT };
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(acquire_timeout)
        // sqlx pings a connection on every check-out by default: a round trip per statement.
        // Only connections idle long enough to have been dropped by a proxy are checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    options
}

/// Opens a connection pool to `url`, tuned for the backend it names.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    Database::connect(writer_options(url, max_connections)).await
}

/// [`connect`], calling `released` each time the single writer of a SQLite file database
/// returns to its pool: after every transaction or statement it ran, so after every commit,
/// and before anything else can write. The event bus looks for new events then (SQLite has no
/// `NOTIFY`); a read through the read-only pool ([`connect_readers`]) sees what was committed.
/// PostgreSQL and in-memory SQLite (whose only connection is the one the bus would read
/// through) get no call.
pub async fn connect_announcing_writes(
    url: &str,
    max_connections: u32,
    released: impl Fn() + Send + Sync + 'static,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = writer_options(url, max_connections);
    if url.starts_with("sqlite") && !in_memory(url) {
        let released = std::sync::Arc::new(released);
        options.map_sqlx_sqlite_pool_opts(move |pool| {
            let released = released.clone();
            pool.after_release(move |_, _| {
                released();
                Box::pin(async { Ok(true) })
            })
        });
    }
    Database::connect(options).await
}

/// Whether `url` names an in-memory SQLite database (each pool opens its own).
fn in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// [`connect`]'s settings.
fn writer_options(url: &str, max_connections: u32) -> ConnectOptions {
    // SQLite runs one writer at a time whatever the pool size. With several connections,
    // writers that find the lock taken sleep in SQLite's busy handler (back-offs up to 100 ms)
    // and the lock often sits free while they sleep; one connection makes them queue fairly in
    // the pool instead (same throughput, a p99 several times lower; see docs/benchmarks.md).
    let max_connections = if url.starts_with("sqlite") { 1 } else { max_connections };
    let mut options = pool_options(url, max_connections);
    options
        // SQLite: WAL lets readers run beside the writer; a busy timeout makes concurrent
        // writers wait for the lock instead of failing; foreign keys are off by default there.
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Checkpoints run beside the writer, not inside its commits (`checkpoint`).
                .pragma("wal_autocheckpoint", "0")
        });
    options
}

/// Most connections of the SQLite read-only pool (reads are CPU-bound; a few per core).
const SQLITE_READERS: u32 = 4;

/// On SQLite, a pool of read-only connections beside the single writer, for GraphQL queries:
/// WAL lets them read while the writer writes, so reads use every core instead of queueing
/// on the one connection. `None` on PostgreSQL (its pool serves both) and for in-memory
/// SQLite (a second pool would open another, empty database).
pub async fn connect_readers(url: &str, max_connections: u32) -> Result<Option<DatabaseConnection>, DbErr> {
    if !url.starts_with("sqlite") || in_memory(url) {
        return Ok(None);
    }
    let mut options = pool_options(url, max_connections.clamp(1, SQLITE_READERS));
    options
        // The writer made the file WAL already (that setting is stored in the file).
        .map_sqlx_sqlite_opts(|opts| {
            opts.read_only(true).create_if_missing(false).busy_timeout(Duration::from_secs(10))
        });
    Database::connect(options).await.map(Some)
}

/// For unit tests: an in-memory SQLite database, migrated, with the demo data.
#[cfg(test)]
pub async fn demo_for_tests() -> DatabaseConnection {
    let db = connect("sqlite::memory:", 1).await.expect("an in-memory database");
    migrate(&db).await.expect("migrations");
    crate::domain::demo::seed_if_empty(&db).await.expect("the demo data");
    db
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Checks the database answers, for the readiness probe.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Whether a database error means the database cannot be reached right now (down,
/// restarting, the network gone, or no pooled connection free in time) rather than a
/// statement that failed: the one place that tells an outage, which is worth retrying, from
/// every other database error.
pub fn unavailable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(err))
        | DbErr::Exec(RuntimeErr::SqlxError(err))
        | DbErr::Query(RuntimeErr::SqlxError(err)) => sqlx_unavailable(err),
        _ => false,
    }
}

fn sqlx_unavailable(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_) | Error::Tls(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        // PostgreSQL's class 08 (connection exception) and the shutdown codes: 57P01
        // admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up).
        Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// Whether a database error is the database cancelling the statement: PostgreSQL's SQLSTATE
/// 57014 (query_canceled), what `statement_timeout` does to a statement that runs too long
/// (see `db::analytics`), or SQLite's SQLITE_INTERRUPT (9), what the deadline of
/// `RequestDb::interrupt_at` does. The one place that recognises them;
/// `domain::reads::timed` turns them into QUERY_TIMEOUT.
pub fn query_canceled(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(err)) | DbErr::Query(RuntimeErr::SqlxError(err)) => {
            matches!(&**err, sea_orm::sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("57014" | "9")))
        }
        _ => false,
    }
}

/// Begins a transaction that will write. On SQLite it starts `BEGIN IMMEDIATE`, taking the
/// write lock up front: a deferred transaction that reads and then writes can fail at once
/// with SQLITE_BUSY when another writer committed in between, while an immediate one waits
/// its turn (up to the busy timeout). On PostgreSQL it is a plain `BEGIN`.
pub async fn write<C: sea_orm::TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// `SELECT … FOR UPDATE` on PostgreSQL; SQLite's immediate transactions ([`write`]) already
/// hold the database's single write lock.
pub fn locked<E: sea_orm::EntityTrait>(
    db: &impl sea_orm::ConnectionTrait,
    select: sea_orm::Select<E>,
) -> sea_orm::Select<E> {
    use sea_orm::QuerySelect;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        select.lock_exclusive()
    } else {
        select
    }
}
