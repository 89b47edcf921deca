//! Routing off the request: the webhooks' new chats, routed by one run at a time whose
//! successor takes everything that arrived meanwhile.
//!
//! A provider's webhook is answered as soon as its messages commit; the chats they opened are
//! routed afterwards ([`AfterCommit::routed_in_background`]). At a few messages a second
//! that was a task per webhook. At hundreds a second each of those tasks spent a statement
//! looking whether anyone in the chat's queue takes chats at all, mostly to learn that
//! nobody does. Here a burst is routed by as few runs as the database allows: while a run is
//! under way, what arrives waits and is merged, and the next run takes all of it, with one
//! look for all its chats (see `after_commit`). The busier the database, the longer a run
//! and the more a run takes, as with a group commit.
//!
//! Every chat is looked at after its commit, which the look's argument needs (a member
//! who becomes able to take chats after the look routes the queue's waiting chats, this one
//! included): what is handed here has committed, and a run takes what was handed before it
//! starts.

use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::DatabaseConnection;

use super::after_commit;
use crate::domain::reroute::{AfterCommit, Reroute};

/// Routes what committed writes leave to route, on a task of its own, one run at a time.
#[derive(Clone)]
pub struct BackgroundRouting {
    merged: Merged,
    db: DatabaseConnection,
    reads: Option<DatabaseConnection>,
}

impl std::fmt::Debug for BackgroundRouting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundRouting").field("reads", &self.reads.is_some()).finish_non_exhaustive()
    }
}

impl BackgroundRouting {
    /// Routing on `db`, looking through `reads` where given (SQLite's read-only connections
    /// beside its single writer).
    pub fn new(db: DatabaseConnection, reads: Option<DatabaseConnection>) -> Self {
        Self { merged: Merged::default(), db, reads }
    }

    /// Routes `reroute` soon, without waiting: by a run started now if none is under way,
    /// otherwise by the run after it, together with whatever else arrives until then.
    fn route(&self, reroute: Reroute) {
        let (db, reads) = (self.db.clone(), self.reads.clone());
        self.merged.push(reroute, move |reroute| {
            let (db, reads) = (db.clone(), reads.clone());
            async move { after_commit(&db, reads.as_ref(), reroute).await }
        });
    }
}

impl<T> AfterCommit<T> {
    /// Gives the result at once and routes on `routing`'s task: for answers that must not
    /// wait for routing (a provider's webhook).
    pub fn routed_in_background(self, routing: &BackgroundRouting) -> T {
        let (value, reroute) = self.take_for_routing();
        routing.route(reroute);
        value
    }
}

/// What is waiting for the next run, and whether a run is under way.
#[derive(Default)]
struct Waiting {
    work: Reroute,
    running: bool,
    #[cfg(test)]
    runs: u64,
}

/// One run at a time of pushed work; work pushed during a run is merged and run next.
#[derive(Clone, Default)]
struct Merged {
    waiting: Arc<Mutex<Waiting>>,
}

/// Marks the runs idle when a run panics, so the next push starts one (the panicking run's work
/// is lost, as a panicking task's was; what waits is run by the next).
struct IdleOnPanic<'a>(&'a Merged);

impl Drop for IdleOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().running = false;
        }
    }
}

impl Merged {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `work` to what the next run takes; starts a task running `run` on it unless a
    /// run is under way (that task runs again when it finishes, while work waits).
    fn push<F, Fut>(&self, work: Reroute, run: F)
    where
        F: Fn(Reroute) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        if work.is_empty() {
            return;
        }
        {
            let mut waiting = self.lock();
            waiting.work = std::mem::take(&mut waiting.work).and(work);
            if waiting.running {
                return;
            }
            waiting.running = true;
        }
        let merged = self.clone();
        tokio::spawn(async move {
            let _idle_if_it_panics = IdleOnPanic(&merged);
            loop {
                let work = {
                    let mut waiting = merged.lock();
                    if waiting.work.is_empty() {
                        waiting.running = false;
                        return;
                    }
                    #[cfg(test)]
                    {
                        waiting.runs += 1;
                    }
                    std::mem::take(&mut waiting.work)
                };
                run(work).await;
            }
        });
    }

    /// Runs started so far.
    #[cfg(test)]
    fn runs(&self) -> u64 {
        self.lock().runs
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::{Notify, mpsc};

    use super::*;
    use crate::domain::ids::ChatId;

    /// Work routing chats `ids`.
    fn chats(ids: &[i64]) -> Reroute {
        Reroute::chats(ids.iter().copied().map(ChatId))
    }

    /// The chats of a run's work.
    fn ids(work: &Reroute) -> Vec<i64> {
        work.chat_ids().iter().map(|chat| chat.0).collect()
    }

    /// The next run's work (a hang would be the failure: work lost).
    async fn next(ran: &mut mpsc::UnboundedReceiver<Vec<i64>>) -> Vec<i64> {
        tokio::time::timeout(std::time::Duration::from_secs(10), ran.recv()).await.expect("a run").unwrap()
    }

    /// Waits until no run is under way (a hang would be the failure: never idle again).
    async fn idle(merged: &Merged) {
        let idle = async {
            while merged.lock().running {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), idle).await.expect("the runs go idle");
    }

    /// Work pushed while a run is under way waits for it, then goes in one run, in order.
    #[tokio::test]
    async fn work_pushed_during_a_run_is_merged_into_the_next() {
        let merged = Merged::default();
        let (done, mut ran) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let run = {
            let release = release.clone();
            move |work: Reroute| {
                let (done, release) = (done.clone(), release.clone());
                async move {
                    let first = ids(&work).first() == Some(&1);
                    done.send(ids(&work)).unwrap();
                    if first {
                        release.notified().await;
                    }
                }
            }
        };
        merged.push(chats(&[1]), run.clone());
        assert_eq!(next(&mut ran).await, [1], "the first push runs at once");
        for item in 2..=4 {
            merged.push(chats(&[item]), run.clone());
        }
        assert_eq!(merged.runs(), 1, "nothing else started while the first run is under way");
        release.notify_one();
        assert_eq!(next(&mut ran).await, [2, 3, 4], "what waited went in one run");
        // Once idle, a push starts a run again.
        idle(&merged).await;
        merged.push(chats(&[5]), run);
        assert_eq!(next(&mut ran).await, [5]);
        assert_eq!(merged.runs(), 3);
    }

    /// A run that panics does not stop the next push from starting one.
    #[tokio::test]
    async fn a_panicking_run_leaves_the_runs_idle() {
        let merged = Merged::default();
        let (done, mut ran) = mpsc::unbounded_channel();
        let run = move |work: Reroute| {
            let done = done.clone();
            async move {
                if ids(&work) == [0] {
                    panic!("a run that panics (expected in this test)");
                }
                done.send(ids(&work)).unwrap();
            }
        };
        merged.push(chats(&[0]), run.clone());
        idle(&merged).await;
        merged.push(chats(&[1]), run);
        assert_eq!(next(&mut ran).await, [1]);
    }

    /// Empty work starts nothing.
    #[tokio::test]
    async fn nothing_to_do_starts_no_run() {
        let merged = Merged::default();
        merged.push(Reroute::none(), |_| async { panic!("ran") });
        tokio::task::yield_now().await;
        assert_eq!(merged.runs(), 0);
        assert!(!merged.lock().running);
    }
}
