//! SQLite: messages stored several to one write transaction, each by its one-hop script.
//!
//! SQLite has one writer. Appending a message alone holds it for three hops to the driver's
//! worker thread (`BEGIN IMMEDIATE`, the script of [`super::append`], `COMMIT`) and then hands
//! it to the next webhook through the pool. Here the messages that arrive while the writer is
//! busy wait in a queue, and one task writes them all in one transaction: one hop per message,
//! `BEGIN` and `COMMIT` once per batch. A returning customer's message goes in by
//! [`super::append`]'s script, a new customer's (searched for similar contacts beforehand) by
//! [`super::newcomer`]'s. Every webhook is answered only after its batch
//! committed. When a batch fails, it is rolled back whole and each of its messages is written
//! alone by its own webhook (the general path), which then answers for itself.
//!
//! The writing runs in a spawned task, not in a request's future: a webhook whose client goes
//! away must not abandon the messages of the others.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use entity::channels;
use sea_orm::DatabaseConnection;
use tokio::sync::oneshot;

use super::append::{self, Scripted};
use super::newcomer::{self, Newcomer};
use crate::channels::InboundMessage;

/// Most messages in one transaction, so one batch never holds the writer for long.
const MAX_BATCH: usize = 64;

/// The queue of messages to append, and whether a task is writing it. Its `Debug` shows the
/// counts only: the queued channels carry their credentials.
pub struct Batcher {
    db: DatabaseConnection,
    queue: Mutex<Queue>,
    batches: AtomicU64,
    messages: AtomicU64,
}

/// How much the [`Batcher`] wrote so far (for `/metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Batches committed.
    pub batches: u64,
    /// Messages in them (stored, redelivered, or left to the general path).
    pub messages: u64,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    writing: bool,
}

struct Job {
    channel: channels::Model,
    message: InboundMessage,
    /// For a new customer's message: who they are. `None`: appended.
    newcomer: Option<Newcomer>,
    answer: oneshot::Sender<Option<Scripted>>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").field("counts", &self.counts()).finish_non_exhaustive()
    }
}

impl Batcher {
    /// A batcher writing through `db` (SQLite's single writer).
    pub fn new(db: DatabaseConnection) -> Arc<Self> {
        Arc::new(Self {
            db,
            queue: Mutex::default(),
            batches: AtomicU64::new(0),
            messages: AtomicU64::new(0),
        })
    }

    /// Batches and their messages committed so far.
    pub fn counts(&self) -> BatchCounts {
        BatchCounts {
            batches: self.batches.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
        }
    }

    /// Appends `message` with whatever else is waiting; what [`append::in_one_script`] found,
    /// once committed. `None` when its batch failed (nothing of it was written): store it
    /// alone. Call only where [`append::applies`].
    pub(super) async fn append(
        self: &Arc<Self>,
        channel: &channels::Model,
        message: &InboundMessage,
    ) -> Option<Scripted> {
        self.write_with_others(channel, message, None).await
    }

    /// Stores a new customer's first message (their contact and chat with it) with whatever
    /// else is waiting, once their similar contacts are searched on `reads` (off the writer).
    /// The similar-contact count, and what [`newcomer::in_one_script`] found once committed
    /// (`None` when its batch failed: store it alone). Call only where [`newcomer::applies`].
    pub(super) async fn welcome(
        self: &Arc<Self>,
        reads: &DatabaseConnection,
        channel: &channels::Model,
        message: &InboundMessage,
    ) -> Result<(usize, Option<Scripted>), sea_orm::DbErr> {
        let newcomer = Newcomer::search(reads, channel, message).await?;
        let similar = newcomer.similar();
        Ok((similar, self.write_with_others(channel, message, Some(newcomer)).await))
    }

    /// Queues a job and waits for its batch; starts the writer if none is writing.
    async fn write_with_others(
        self: &Arc<Self>,
        channel: &channels::Model,
        message: &InboundMessage,
        newcomer: Option<Newcomer>,
    ) -> Option<Scripted> {
        let (answer, answered) = oneshot::channel();
        let job = Job { channel: channel.clone(), message: message.clone(), newcomer, answer };
        let start = {
            let mut queue = self.queue();
            queue.jobs.push(job);
            !std::mem::replace(&mut queue.writing, true)
        };
        if start {
            tokio::spawn(self.clone().write_queue());
        }
        answered.await.ok().flatten()
    }

    /// Writes batches until the queue is empty.
    async fn write_queue(self: Arc<Self>) {
        let _unwinding = Unwinding(&self);
        loop {
            let jobs: Vec<Job> = {
                let mut queue = self.queue();
                if queue.jobs.is_empty() {
                    queue.writing = false;
                    return;
                }
                let take = queue.jobs.len().min(MAX_BATCH);
                queue.jobs.drain(..take).collect()
            };
            match self.write(&jobs).await {
                Ok(found) => {
                    for (job, found) in jobs.into_iter().zip(found) {
                        let _ = job.answer.send(Some(found));
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, messages = jobs.len(), "a batch of messages rolled back; each is written alone");
                    for job in jobs {
                        let _ = job.answer.send(None);
                    }
                }
            }
        }
    }

    /// The queue, also when a writer panicked holding it (its state stays whole).
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One transaction: each job's script, then the commit.
    #[tracing::instrument(skip_all, fields(messages = jobs.len()))]
    async fn write(&self, jobs: &[Job]) -> Result<Vec<Scripted>, sea_orm::DbErr> {
        let txn = crate::db::write(&self.db).await?;
        let mut found = Vec::with_capacity(jobs.len());
        for job in jobs {
            found.push(match &job.newcomer {
                None => append::in_one_script(&txn, &job.channel, &job.message).await?,
                Some(newcomer) => newcomer::in_one_script(&txn, &job.channel, &job.message, newcomer).await?,
            });
        }
        txn.commit().await?;
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.messages.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        Ok(found)
    }
}

/// If the writing task panics, lets the next message start a writer again, and answers the
/// messages waiting (their senders dropped: each is written alone).
struct Unwinding<'a>(&'a Batcher);

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut queue = self.0.queue();
            queue.writing = false;
            queue.jobs.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use entity::enums::{AuthorKind, Direction, MessageKind};
    use sea_orm::{EntityTrait, TransactionTrait};

    use super::*;
    use crate::channels::Customer;

    fn message(n: usize) -> InboundMessage {
        InboundMessage {
            provider_message_id: format!("batch-{n}"),
            customer: Customer { external_id: format!("someone-{n}"), ..Customer::default() },
            direction: Direction::Incoming,
            author_kind: AuthorKind::Contact,
            sent_at: crate::clock::now(),
            kind: MessageKind::Text,
            text: Some("hello".into()),
            attachments: Vec::new(),
            standby: false,
        }
    }

    /// Yields until `check` holds, for up to 10 seconds.
    async fn until(what: &str, mut check: impl FnMut() -> bool) {
        let wait = async {
            while !check() {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("waited 10 s for {what}"));
    }

    /// Messages arriving while the writer is busy are written together: one transaction for
    /// all that waited, each answered after it.
    #[tokio::test]
    async fn messages_waiting_for_the_writer_go_in_one_transaction() {
        let db = crate::db::demo_for_tests().await;
        let channel = channels::Entity::find().one(&db).await.unwrap().expect("a demo channel");
        let batcher = Batcher::new(db.clone());
        // The test holds SQLite's one pooled connection: the writer waits for it.
        let busy = db.begin().await.unwrap();
        let spawn = |n: usize| {
            let (batcher, channel) = (batcher.clone(), channel.clone());
            tokio::spawn(async move { batcher.append(&channel, &message(n)).await })
        };
        let mut appends = vec![spawn(0)];
        until("the writer to take the first message", || {
            batcher.queue().writing && batcher.queue().jobs.is_empty()
        })
        .await;
        // The writer took the first message and waits; four more queue behind it.
        appends.extend((1..5).map(spawn));
        until("four messages to queue", || batcher.queue().jobs.len() == 4).await;
        assert_eq!(batcher.counts(), BatchCounts::default(), "nothing written while the writer waits");
        busy.rollback().await.unwrap();
        for append in appends {
            // Unknown customers: nothing to append, left to the general path.
            assert_eq!(append.await.unwrap(), Some(Scripted::New { known: false }));
        }
        assert_eq!(
            batcher.counts(),
            BatchCounts { batches: 2, messages: 5 },
            "the four that waited went together"
        );
        assert!(!batcher.queue().writing, "the writer ends with the queue");
    }

    /// A batch that fails writes nothing and answers `None` to each of its messages (each is
    /// then written alone); the next message starts a writer again.
    #[tokio::test]
    async fn a_failed_batch_answers_each_to_write_alone() {
        use sea_orm::ConnectionTrait;
        let db = crate::db::demo_for_tests().await;
        let channel = channels::Entity::find().one(&db).await.unwrap().expect("a demo channel");
        let batcher = Batcher::new(db.clone());
        // Every script fails while its event table is missing.
        db.execute_unprepared("ALTER TABLE events RENAME TO events_away").await.unwrap();
        let failed: Vec<_> = (0..3)
            .map(|n| {
                let (batcher, channel) = (batcher.clone(), channel.clone());
                tokio::spawn(async move { batcher.append(&channel, &message(n)).await })
            })
            .collect();
        for append in failed {
            assert_eq!(append.await.unwrap(), None, "write it alone");
        }
        assert_eq!(batcher.counts(), BatchCounts::default(), "nothing committed");
        db.execute_unprepared("ALTER TABLE events_away RENAME TO events").await.unwrap();
        assert_eq!(batcher.append(&channel, &message(9)).await, Some(Scripted::New { known: false }));
        assert_eq!(batcher.counts(), BatchCounts { batches: 1, messages: 1 });
        // The writer ends once it finds the queue empty (after answering).
        until("the writer to end", || !batcher.queue().writing).await;
    }
}
