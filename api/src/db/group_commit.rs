//! Group commit: small writes that arrive together share one transaction, each in a savepoint
//! of its own, and none is answered before that transaction commits.
//!
//! Per-transaction cost (BEGIN, COMMIT and its flush, and on SQLite the wait for the single
//! pooled connection) dominates a write of a few rows. A writer task takes every job waiting
//! at that moment (up to [`MAX_BATCH`]), runs them one after another in ONE write transaction,
//! commits once, and only then answers each job with its own result:
//! - A job that fails is rolled back to its savepoint and gets its error; the others of the
//!   batch stay in it.
//! - If the commit (or the transaction itself) fails, every job of the batch gets the error:
//!   nothing they wrote is kept, so nothing is acknowledged that is not committed.
//! - A job runs after the ones before it in the same batch and sees their rows.
//! - A job alone in its batch runs on the transaction itself (no savepoint to pay for): if it
//!   fails, the transaction is rolled back.
//!
//! The writer never sleeps to gather a batch: a lone job runs at once, and batches form only
//! from the jobs that arrived while the previous batch was running and committing.
//!
//! Several writers (lanes) may run side by side (PostgreSQL); a job names a key and every job
//! of one key goes to the same lane, so jobs about one thing never race each other.

use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Most jobs one transaction takes.
pub const MAX_BATCH: usize = 64;
/// Jobs that may wait for one writer before submitters wait for room (back-pressure).
const QUEUE: usize = 4 * MAX_BATCH;

/// One job's work: statements run on the transaction it is given (a savepoint of the batch's).
pub type Work<T> = Box<dyn for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, DbErr>> + Send>;

struct Job<T> {
    work: Work<T>,
    reply: oneshot::Sender<Result<T, DbErr>>,
}

/// Submits jobs to the writers. Cheap to clone.
pub struct GroupCommit<T> {
    lanes: Arc<[mpsc::Sender<Job<T>>]>,
}

impl<T> Clone for GroupCommit<T> {
    fn clone(&self) -> Self {
        Self { lanes: self.lanes.clone() }
    }
}

impl<T> std::fmt::Debug for GroupCommit<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").field("lanes", &self.lanes.len()).finish()
    }
}

/// The receiving ends of a [`GroupCommit`], until [`Writers::spawn`] starts a task on each.
pub struct Writers<T> {
    lanes: Vec<mpsc::Receiver<Job<T>>>,
}

/// What a writer does after every batch, besides answering the jobs.
#[derive(Clone)]
pub struct AfterBatch {
    /// Records the size of each batch (`/metrics`).
    pub metrics: crate::metrics::Metrics,
    /// Nudged after every commit, so the bus publishes the batch's events at once.
    pub bus: crate::events::bus::EventBus,
}

impl<T: Send + 'static> GroupCommit<T> {
    /// A handle with `writers` lanes (at least one), and the writers to spawn.
    pub fn new(writers: usize) -> (Self, Writers<T>) {
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..writers.max(1)).map(|_| mpsc::channel(QUEUE)).unzip();
        (Self { lanes: senders.into() }, Writers { lanes: receivers })
    }

    /// Runs `work` in the next batch of the lane of `key`, and answers once that batch has
    /// committed: `Ok` only when what `work` wrote is committed.
    pub async fn run(&self, key: u64, work: Work<T>) -> Result<T, DbErr> {
        let lane = &self.lanes[(key % self.lanes.len() as u64) as usize];
        let (reply, answer) = oneshot::channel();
        lane.send(Job { work, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

#[cfg(test)]
impl<T> GroupCommit<T> {
    /// Jobs queued and not yet taken by a writer, over every lane.
    pub(crate) fn waiting(&self) -> usize {
        self.lanes.iter().map(|lane| lane.max_capacity() - lane.capacity()).sum()
    }
}

/// The error when no writer takes or answers a job (the server is stopping).
fn stopped() -> DbErr {
    DbErr::Custom("the group-commit writer has stopped".to_owned())
}

impl<T: Send + 'static> Writers<T> {
    /// Starts one writer task per lane on `db`; each ends once `cancel` fires and its queue is
    /// empty, or when every handle is gone.
    pub fn spawn(
        self,
        name: &'static str,
        db: &DatabaseConnection,
        after: &AfterBatch,
        cancel: &CancellationToken,
    ) -> Vec<JoinHandle<()>> {
        self.lanes
            .into_iter()
            .enumerate()
            .map(|(lane, jobs)| {
                tokio::spawn(write_batches(name, lane, db.clone(), jobs, after.clone(), cancel.clone()))
            })
            .collect()
    }
}

async fn write_batches<T>(
    name: &'static str,
    lane: usize,
    db: DatabaseConnection,
    mut jobs: mpsc::Receiver<Job<T>>,
    after: AfterBatch,
    cancel: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        // Jobs first: a stopping server has drained its requests before it cancels, and any
        // job still queued then is answered rather than dropped.
        let taken = tokio::select! {
            biased;
            taken = jobs.recv_many(&mut batch, MAX_BATCH) => taken,
            () = cancel.cancelled() => return,
        };
        if taken == 0 {
            return;
        }
        let span = tracing::debug_span!("group_commit", writer = name, lane, size = taken);
        let committed = commit_batch(&db, &mut batch).instrument(span).await;
        after.metrics.group_commit_batch(taken);
        if committed {
            after.bus.nudge();
        }
    }
}

/// Runs, commits and answers one batch (emptying `batch`); whether it committed.
async fn commit_batch<T>(db: &DatabaseConnection, batch: &mut Vec<Job<T>>) -> bool {
    let txn = match crate::db::write(db).await {
        Ok(txn) => txn,
        Err(err) => {
            tracing::warn!(error = %err, "group commit cannot begin its transaction");
            fail_all(batch.drain(..).map(|job| job.reply), &err);
            return false;
        }
    };
    if batch.len() == 1
        && let Some(job) = batch.pop()
    {
        return commit_alone(txn, job).await;
    }
    let mut done = Vec::with_capacity(batch.len());
    let mut broken = None;
    for job in batch.drain(..) {
        if broken.is_some() {
            // Not run: answered with the batch's error below, as every job of it is.
            done.push((job.reply, Err(stopped())));
            continue;
        }
        match in_savepoint(&txn, job.work).await {
            Ok(result) => done.push((job.reply, result)),
            // The savepoint could not be opened, released or rolled back: the transaction is
            // in an unknown state (PostgreSQL would even answer COMMIT of an aborted
            // transaction with a silent rollback), so the whole batch fails.
            Err(err) => {
                done.push((job.reply, Err(err.clone())));
                broken = Some(err);
            }
        }
    }
    let outcome = match broken {
        Some(err) => {
            rollback(txn).await;
            Err(err)
        }
        None => txn.commit().await,
    };
    match outcome {
        Ok(()) => {
            for (reply, result) in done {
                // A submitter that stopped waiting (its request was cut off) is told nothing.
                let _gone = reply.send(result);
            }
            true
        }
        Err(err) => {
            tracing::warn!(error = %err, jobs = done.len(), "group commit failed; every job of the batch fails");
            fail_all(done.into_iter().map(|(reply, _)| reply), &err);
            false
        }
    }
}

/// A lone job needs no savepoint: it runs on the transaction itself, which is rolled back if
/// it fails. Two round trips fewer per message when nothing queues (one sender).
async fn commit_alone<T>(txn: DatabaseTransaction, job: Job<T>) -> bool {
    use futures_util::FutureExt;
    let ran = std::panic::AssertUnwindSafe((job.work)(&txn)).catch_unwind().await;
    let result = match ran {
        Ok(Ok(value)) => match txn.commit().await {
            Ok(()) => Ok(value),
            Err(err) => {
                tracing::warn!(error = %err, jobs = 1, "group commit failed; every job of the batch fails");
                Err(err)
            }
        },
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "a group-commit job failed; its transaction is rolled back");
            rollback(txn).await;
            Err(err)
        }
        Err(_panic) => {
            tracing::error!("a group-commit job panicked; its batch fails");
            rollback(txn).await;
            Err(DbErr::Custom("a job of the batch panicked".to_owned()))
        }
    };
    let committed = result.is_ok();
    // A submitter that stopped waiting (its request was cut off) is told nothing.
    let _gone = job.reply.send(result);
    committed
}

async fn rollback(txn: DatabaseTransaction) {
    if let Err(err) = txn.rollback().await {
        tracing::warn!(error = %err, "group commit rollback failed");
    }
}

fn fail_all<T>(replies: impl Iterator<Item = oneshot::Sender<Result<T, DbErr>>>, err: &DbErr) {
    for reply in replies {
        // As above: nobody waiting is fine.
        let _gone = reply.send(Err(err.clone()));
    }
}

/// Runs `work` in a savepoint of `txn`: released when it succeeds, rolled back when it fails.
/// The outer `Err` is a failure of the savepoint itself (the transaction is unusable); the
/// inner result is the job's.
/// A job that panics fails its whole batch (the savepoint's state is unknown) but not the
/// writer, which goes on with the next batch.
async fn in_savepoint<T>(txn: &DatabaseTransaction, work: Work<T>) -> Result<Result<T, DbErr>, DbErr> {
    use futures_util::FutureExt;
    let savepoint = txn.begin().await?;
    let ran = std::panic::AssertUnwindSafe(work(&savepoint)).catch_unwind().await;
    match ran {
        Ok(Ok(value)) => {
            savepoint.commit().await?;
            Ok(Ok(value))
        }
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "a group-commit job failed; rolled back to its savepoint");
            savepoint.rollback().await?;
            Ok(Err(err))
        }
        Err(_panic) => {
            tracing::error!("a group-commit job panicked; its batch fails");
            Err(DbErr::Custom("a job of the batch panicked".to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    fn after() -> AfterBatch {
        AfterBatch { metrics: crate::metrics::Metrics::new(), bus: crate::events::bus::EventBus::new(16) }
    }

    /// A job that runs `sql`.
    fn exec(sql: &'static str) -> Work<u64> {
        Box::new(move |txn| {
            Box::pin(async move {
                let backend = txn.get_database_backend();
                Ok(txn.execute_raw(Statement::from_string(backend, sql)).await?.rows_affected())
            })
        })
    }

    async fn count(db: &DatabaseConnection) -> i64 {
        let backend = db.get_database_backend();
        let row = db
            .query_one_raw(Statement::from_string(backend, "SELECT COUNT(*) AS n FROM probe"))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    }

    /// Jobs queued while no writer runs, then one writer: they are taken as one batch, the one
    /// that fails is rolled back alone, and each gets its own result after the commit.
    #[tokio::test]
    async fn a_failing_job_is_rolled_back_alone_and_the_batch_commits() {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        db.execute_unprepared("CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
            .await
            .unwrap();
        let (commit, writers) = GroupCommit::<u64>::new(1);
        let cancel = CancellationToken::new();
        let jobs = async {
            tokio::join!(
                commit.run(1, exec("INSERT INTO probe (v) VALUES ('a')")),
                commit.run(1, exec("INSERT INTO probe (v) VALUES ('a')")),
                commit.run(1, exec("INSERT INTO probe (v) VALUES ('b')")),
            )
        };
        let start = async {
            while commit.waiting() < 3 {
                tokio::task::yield_now().await;
            }
            writers.spawn("test", &db, &after(), &cancel)
        };
        let ((first, duplicate, third), handles) = tokio::join!(jobs, start);
        assert_eq!(first.unwrap(), 1);
        let err = duplicate.expect_err("the second 'a' breaks the unique index");
        assert!(matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))), "{err}");
        assert_eq!(third.unwrap(), 1, "the job after the failed one runs in the same transaction");
        assert_eq!(count(&db).await, 2);
        cancel.cancel();
        for handle in handles {
            handle.await.unwrap();
        }
    }

    /// When the batch's transaction cannot commit, no job of it is answered Ok.
    #[tokio::test]
    async fn a_failed_commit_fails_every_job() {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        db.execute_unprepared(
            "CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE, \
             parent INTEGER REFERENCES probe (id) DEFERRABLE INITIALLY DEFERRED)",
        )
        .await
        .unwrap();
        let (commit, writers) = GroupCommit::<u64>::new(1);
        let cancel = CancellationToken::new();
        let jobs = async {
            tokio::join!(
                commit.run(1, exec("INSERT INTO probe (v) VALUES ('a')")),
                // A deferred foreign key: checked only at COMMIT, which then fails.
                commit.run(1, exec("INSERT INTO probe (v, parent) VALUES ('b', 999)")),
            )
        };
        let start = async {
            while commit.waiting() < 2 {
                tokio::task::yield_now().await;
            }
            writers.spawn("test", &db, &after(), &cancel)
        };
        let ((first, second), handles) = tokio::join!(jobs, start);
        assert!(first.is_err() && second.is_err(), "{first:?} {second:?}");
        assert_eq!(count(&db).await, 0, "nothing of the batch was kept");
        // The writer goes on with the next batch.
        assert_eq!(commit.run(7, exec("INSERT INTO probe (v) VALUES ('c')")).await.unwrap(), 1);
        assert_eq!(count(&db).await, 1);
        cancel.cancel();
        for handle in handles {
            handle.await.unwrap();
        }
    }

    /// A job that panics fails its batch, and the writer goes on.
    #[tokio::test]
    async fn a_panicking_job_fails_its_batch_not_the_writer() {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        db.execute_unprepared("CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
            .await
            .unwrap();
        let (commit, writers) = GroupCommit::<u64>::new(1);
        let cancel = CancellationToken::new();
        let panics: Work<u64> = Box::new(|_| Box::pin(async { panic!("a bug in a job") }));
        let jobs = async {
            tokio::join!(commit.run(1, exec("INSERT INTO probe (v) VALUES ('a')")), commit.run(1, panics))
        };
        let start = async {
            while commit.waiting() < 2 {
                tokio::task::yield_now().await;
            }
            writers.spawn("test", &db, &after(), &cancel)
        };
        let ((first, second), handles) = tokio::join!(jobs, start);
        assert!(first.is_err() && second.is_err(), "{first:?} {second:?}");
        assert_eq!(count(&db).await, 0);
        assert_eq!(commit.run(1, exec("INSERT INTO probe (v) VALUES ('b')")).await.unwrap(), 1);
        cancel.cancel();
        for handle in handles {
            handle.await.unwrap();
        }
    }

    /// A job alone in its batch runs without a savepoint: when it fails, nothing it wrote is
    /// kept, and the next job is served.
    #[tokio::test]
    async fn a_lone_failing_job_leaves_nothing() {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        db.execute_unprepared("CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
            .await
            .unwrap();
        let (commit, writers) = GroupCommit::<u64>::new(1);
        let cancel = CancellationToken::new();
        let handles = writers.spawn("test", &db, &after(), &cancel);
        let half: Work<u64> = Box::new(|txn| {
            Box::pin(async move {
                let backend = txn.get_database_backend();
                txn.execute_raw(Statement::from_string(backend, "INSERT INTO probe (v) VALUES ('a')"))
                    .await?;
                txn.execute_raw(Statement::from_string(backend, "INSERT INTO probe (v) VALUES ('a')"))
                    .await?;
                Ok(2)
            })
        });
        assert!(commit.run(1, half).await.is_err());
        assert_eq!(count(&db).await, 0, "the first insert went with the failed job");
        assert_eq!(commit.run(1, exec("INSERT INTO probe (v) VALUES ('b')")).await.unwrap(), 1);
        assert_eq!(count(&db).await, 1);
        cancel.cancel();
        for handle in handles {
            handle.await.unwrap();
        }
    }
}
