//! SQLite: WAL checkpoints off the writer's path.
//!
//! By default SQLite checkpoints inside the commit that takes the write-ahead log past 1,000
//! pages: that commit copies the log into the database file and syncs both before it returns,
//! so every few hundred webhooks one of them (and every writer queued behind it on the single
//! connection) waits for the disk. The writer opened by [`super::connect`] never checkpoints
//! (`wal_autocheckpoint = 0`); [`run`] does, on a connection of its own, every
//! [`INTERVAL`]: a PASSIVE checkpoint copies what no reader still needs while the writer goes
//! on appending, and the writer starts the log over once it has all been copied.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use tokio_util::sync::CancellationToken;

/// How often the log is checkpointed: often enough that it stays a few megabytes at the
/// highest ingestion rates, so that readers' look-ups in it stay short.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// Whether `url` names an SQLite database in a file (one with a write-ahead log).
pub fn applies_to(url: &str) -> bool {
    url.starts_with("sqlite") && !url.contains(":memory:") && !url.contains("mode=memory")
}

/// Checkpoints the log of the SQLite database at `url` every [`INTERVAL`] until `cancel`
/// fires, on a connection of its own; `metrics` shows the log's size at the last one.
pub async fn run(url: String, metrics: crate::metrics::Metrics, cancel: CancellationToken) {
    let db = match open(&url).await {
        Ok(db) => db,
        Err(err) => {
            // The log is then checkpointed only when the last connection closes.
            tracing::error!(error = %err, "cannot open the checkpoint connection");
            return;
        }
    };
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(INTERVAL) => {}
        }
        match checkpoint(&db).await {
            Ok(log) => metrics.checkpointed(log.frames, log.copied),
            Err(err) => tracing::warn!(error = %err, "WAL checkpoint failed"),
        }
    }
    // The last one, so that a stopped server leaves its log copied.
    if let Err(err) = checkpoint(&db).await {
        tracing::warn!(error = %err, "WAL checkpoint failed");
    }
    let _closing = db.close().await;
}

/// One connection that may write (a checkpoint writes the database file).
async fn open(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = super::pool_options(url, 1);
    options.map_sqlx_sqlite_opts(|opts| opts.create_if_missing(false).busy_timeout(Duration::from_secs(1)));
    sea_orm::Database::connect(options).await
}

/// The write-ahead log after a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Log {
    /// Frames (page versions) in it.
    frames: u64,
    /// How many of them are copied into the database file.
    copied: u64,
}

/// A PASSIVE checkpoint: it never waits for the writer or for readers, and copies what no
/// reader still needs.
async fn checkpoint(db: &DatabaseConnection) -> Result<Log, DbErr> {
    let statement = Statement::from_string(db.get_database_backend(), "PRAGMA wal_checkpoint(PASSIVE)");
    let Some(row) = db.query_one_raw(statement).await? else { return Ok(Log { frames: 0, copied: 0 }) };
    // (busy, frames in the log, frames copied); -1 when the database is not in WAL mode.
    let count = |index| row.try_get_by_index::<i64>(index).map(|n| u64::try_from(n).unwrap_or(0));
    Ok(Log { frames: count(1)?, copied: count(2)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_file_databases_have_a_log_to_checkpoint() {
        assert!(applies_to("sqlite://data/switchboard.db?mode=rwc"));
        assert!(!applies_to("sqlite::memory:"));
        assert!(!applies_to("sqlite://file?mode=memory&cache=shared"));
        assert!(!applies_to("postgres://localhost/switchboard"));
    }

    /// The writer `connect` opens leaves checkpoints to [`run`]; `run` copies the log.
    #[tokio::test]
    async fn the_writer_never_checkpoints_and_the_checkpointer_does() {
        let nanos = std::time::SystemTime::UNIX_EPOCH.elapsed().unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("switchboard-checkpoint-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/c.db?mode=rwc", dir.display());
        let writer = super::super::connect(&url, 1).await.unwrap();
        let setting = writer
            .query_one_raw(Statement::from_string(writer.get_database_backend(), "PRAGMA wal_autocheckpoint"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(setting.try_get_by_index::<i64>(0).unwrap(), 0);
        writer.execute_unprepared("CREATE TABLE t (v BLOB)").await.unwrap();
        // 2,000 pages, past the 1,000 at which SQLite would checkpoint by itself.
        for _ in 0..2_000 {
            writer.execute_unprepared("INSERT INTO t VALUES (zeroblob(4000))").await.unwrap();
        }
        let checkpointer = open(&url).await.unwrap();
        let log = checkpoint(&checkpointer).await.unwrap();
        assert!(log.frames >= 2_000, "the writer left its log to the checkpointer: {log:?}");
        assert_eq!(log.copied, log.frames, "nobody reads: all of it is copied");
        // The writer starts the log over once it is all copied.
        writer.execute_unprepared("INSERT INTO t VALUES (1)").await.unwrap();
        let after = checkpoint(&checkpointer).await.unwrap();
        assert!(after.frames < 10, "{after:?}");
        drop((writer, checkpointer));
        let _cleanup = std::fs::remove_dir_all(&dir);
    }
}
