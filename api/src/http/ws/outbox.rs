//! What waits to be written to one WebSocket connection.
//!
//! Groups (see `super::shared`) push frames from their own tasks; the connection's task
//! writes them in order. A push never waits on a slow client, but the queue counts the
//! `next` frames waiting: past the limit, a push is refused and the subscriber
//! is cut off with SUBSCRIPTION_OVERFLOW, so a client that stops reading costs at most
//! `limit` frames.

use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;

/// One thing to write.
#[derive(Debug)]
pub enum Outgoing {
    /// A text frame.
    Frame(Utf8Bytes),
    /// A `next` frame, counted against the limit until written.
    Next(Utf8Bytes),
    /// The end of operation `id` (a JSON string): the connection forgets the membership
    /// `token` and writes `complete`.
    Complete {
        /// The operation id, JSON-encoded.
        id: String,
        /// The membership that ended (an id may have been reused since).
        token: u64,
    },
}

/// The outcome of [`Outbox::push_frame`].
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Queued for writing.
    Queued,
    /// Refused: this many frames wait already.
    Full(usize),
    /// The connection is gone.
    Closed,
}

/// What is queued, shared by both sides.
#[derive(Debug, Default)]
struct Queue {
    items: std::collections::VecDeque<Outgoing>,
    /// `next` frames among `items`.
    frames: usize,
    /// The connection is gone: pushes are dropped.
    closed: bool,
}

#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the connection when something is queued.
    ready: tokio::sync::Notify,
}

impl Shared {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The sending side of a connection's queue.
///
/// A `VecDeque` behind a mutex rather than a channel: an idle connection's queue is empty,
/// and an empty `VecDeque` holds no memory (a channel keeps a block of slots per
/// connection, ~2 KiB each for 10,000 idle subscribers).
#[derive(Clone, Debug)]
pub struct Outbox {
    shared: Arc<Shared>,
    limit: usize,
}

/// The connection's side: takes what was pushed.
#[derive(Debug)]
pub struct Inbox {
    shared: Arc<Shared>,
}

/// A queue for one connection allowing `limit` `next` frames to wait.
pub fn channel(limit: usize) -> (Outbox, Inbox) {
    let shared = Arc::new(Shared::default());
    (Outbox { shared: shared.clone(), limit: limit.max(1) }, Inbox { shared })
}

impl Outbox {
    /// Queues a `next` frame unless `limit` wait already.
    pub fn push_frame(&self, frame: Utf8Bytes) -> Pushed {
        let mut queue = self.shared.queue();
        if queue.closed {
            return Pushed::Closed;
        }
        if queue.frames >= self.limit {
            return Pushed::Full(queue.frames);
        }
        queue.frames += 1;
        queue.items.push_back(Outgoing::Next(frame));
        drop(queue);
        self.shared.ready.notify_one();
        Pushed::Queued
    }

    /// Queues anything else (uncounted: at most a few per subscription).
    pub fn push(&self, outgoing: Outgoing) {
        let mut queue = self.shared.queue();
        // A closed connection has nobody left to tell.
        if !queue.closed {
            queue.items.push_back(outgoing);
            drop(queue);
            self.shared.ready.notify_one();
        }
    }
}

impl Inbox {
    /// The next thing to write, waiting until something is queued.
    pub async fn recv(&mut self) -> Outgoing {
        loop {
            let ready = self.shared.ready.notified();
            {
                let mut queue = self.shared.queue();
                if let Some(outgoing) = queue.items.pop_front() {
                    if matches!(outgoing, Outgoing::Next(_)) {
                        queue.frames -= 1;
                    }
                    if queue.items.is_empty() {
                        // Give back what a burst grew it to.
                        queue.items = std::collections::VecDeque::new();
                    }
                    return outgoing;
                }
            }
            ready.await;
        }
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut queue = self.shared.queue();
        queue.closed = true;
        queue.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_frames_past_the_limit_until_some_are_taken() {
        let (outbox, mut inbox) = channel(2);
        assert_eq!(outbox.push_frame("a".into()), Pushed::Queued);
        assert_eq!(outbox.push_frame("b".into()), Pushed::Queued);
        assert_eq!(outbox.push_frame("c".into()), Pushed::Full(2));
        // Control messages are never refused.
        outbox.push(Outgoing::Frame("d".into()));
        assert!(matches!(inbox.recv().await, Outgoing::Next(frame) if frame.as_str() == "a"));
        assert_eq!(outbox.push_frame("e".into()), Pushed::Queued);
        assert!(matches!(inbox.recv().await, Outgoing::Next(frame) if frame.as_str() == "b"));
        assert!(matches!(inbox.recv().await, Outgoing::Frame(frame) if frame.as_str() == "d"));
        // A push wakes a waiting receiver.
        let waiting = tokio::spawn(async move { (inbox.recv().await, inbox.recv().await, inbox) });
        tokio::task::yield_now().await;
        assert_eq!(outbox.push_frame("g".into()), Pushed::Queued);
        let (e, g, inbox) = waiting.await.unwrap();
        assert!(
            matches!((e, g), (Outgoing::Next(e), Outgoing::Next(g)) if e.as_str() == "e" && g.as_str() == "g")
        );
        drop(inbox);
        assert_eq!(outbox.push_frame("f".into()), Pushed::Closed);
    }
}
