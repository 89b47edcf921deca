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
    merged: Merged<Reroute>,
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

/// Work that can be merged: what arrives while a run is under way is added to what the next
/// run takes.
pub(super) trait Merge: Default + Send + 'static {
    /// Adds `other` to this.
    fn merge(&mut self, other: Self);
    /// Whether there is nothing to do.
    fn is_empty(&self) -> bool;
}

impl Merge for Reroute {
    fn merge(&mut self, other: Self) {
        *self = std::mem::take(self).and(other);
    }

    fn is_empty(&self) -> bool {
        Reroute::is_empty(self)
    }
}

/// What is waiting for the next run, and whether a run is under way.
#[derive(Default)]
struct Waiting<T> {
    work: T,
    running: bool,
    runs: u64,
}

/// One run at a time of pushed work; work pushed during a run is merged and run next.
pub(super) struct Merged<T> {
    waiting: Arc<Mutex<Waiting<T>>>,
}

impl<T> Clone for Merged<T> {
    fn clone(&self) -> Self {
        Self { waiting: self.waiting.clone() }
    }
}

impl<T: Default> Default for Merged<T> {
    fn default() -> Self {
        Self { waiting: Arc::default() }
    }
}

/// Marks the runs idle when a run panics, so the next push starts one (the panicking run's work
/// is lost, as a panicking task's was; what waits is run by the next).
struct IdleOnPanic<'a, T: Merge>(&'a Merged<T>);

impl<T: Merge> Drop for IdleOnPanic<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().running = false;
        }
    }
}

impl<T: Merge> Merged<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting<T>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `work` to what the next run takes; starts a task running `run` on it unless a
    /// run is under way (that task runs again when it finishes, while work waits).
    pub(super) fn push<F, Fut>(&self, work: T, run: F)
    where
        F: Fn(T) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        if work.is_empty() {
            return;
        }
        {
            let mut waiting = self.lock();
            waiting.work.merge(work);
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
                    waiting.runs += 1;
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

    #[derive(Default, Debug, PartialEq)]
    struct Items(Vec<u32>);

    impl Merge for Items {
        fn merge(&mut self, other: Self) {
            self.0.extend(other.0);
        }
        fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    /// The next run's work (a hang would be the failure: work lost).
    async fn next(ran: &mut mpsc::UnboundedReceiver<Vec<u32>>) -> Vec<u32> {
        tokio::time::timeout(std::time::Duration::from_secs(10), ran.recv()).await.expect("a run").unwrap()
    }

    /// Waits until no run is under way (a hang would be the failure: never idle again).
    async fn idle(merged: &Merged<Items>) {
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
        let merged = Merged::<Items>::default();
        let (done, mut ran) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let run = {
            let release = release.clone();
            move |items: Items| {
                let (done, release) = (done.clone(), release.clone());
                async move {
                    let first = items.0.first() == Some(&1);
                    done.send(items.0).unwrap();
                    if first {
                        release.notified().await;
                    }
                }
            }
        };
        merged.push(Items(vec![1]), run.clone());
        assert_eq!(next(&mut ran).await, [1], "the first push runs at once");
        for item in 2..=4 {
            merged.push(Items(vec![item]), run.clone());
        }
        assert_eq!(merged.runs(), 1, "nothing else started while the first run is under way");
        release.notify_one();
        assert_eq!(next(&mut ran).await, [2, 3, 4], "what waited went in one run");
        // Once idle, a push starts a run again.
        idle(&merged).await;
        merged.push(Items(vec![5]), run);
        assert_eq!(next(&mut ran).await, [5]);
        assert_eq!(merged.runs(), 3);
    }

    /// A run that panics does not stop the next push from starting one.
    #[tokio::test]
    async fn a_panicking_run_leaves_the_runs_idle() {
        let merged = Merged::<Items>::default();
        let (done, mut ran) = mpsc::unbounded_channel();
        let run = move |items: Items| {
            let done = done.clone();
            async move {
                if items.0 == [0] {
                    panic!("a run that panics (expected in this test)");
                }
                done.send(items.0).unwrap();
            }
        };
        merged.push(Items(vec![0]), run.clone());
        idle(&merged).await;
        merged.push(Items(vec![1]), run);
        assert_eq!(next(&mut ran).await, [1]);
    }

    /// Empty work starts nothing.
    #[tokio::test]
    async fn nothing_to_do_starts_no_run() {
        let merged = Merged::<Items>::default();
        merged.push(Items::default(), |_| async { panic!("ran") });
        tokio::task::yield_now().await;
        assert_eq!(merged.runs(), 0);
        assert!(!merged.lock().running);
    }
}
