//! What waits to be written to one WebSocket connection.
//!
//! Groups (see `super::shared`) push frames from their own tasks; the connection's task
//! writes them in order. The queue is unbounded so a push never waits on a slow client, but
//! it counts the `next` frames waiting: past the limit, a push is refused and the subscriber
//! is cut off with SUBSCRIPTION_OVERFLOW, so a client that stops reading costs at most
//! `limit` frames.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;

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

/// The sending side of a connection's queue.
#[derive(Clone, Debug)]
pub struct Outbox {
    sender: mpsc::UnboundedSender<Outgoing>,
    waiting: Arc<AtomicUsize>,
    limit: usize,
}

/// The connection's side: takes what was pushed.
#[derive(Debug)]
pub struct Inbox {
    receiver: mpsc::UnboundedReceiver<Outgoing>,
    waiting: Arc<AtomicUsize>,
}

/// A queue for one connection allowing `limit` `next` frames to wait.
pub fn channel(limit: usize) -> (Outbox, Inbox) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let waiting = Arc::new(AtomicUsize::new(0));
    (Outbox { sender, waiting: waiting.clone(), limit: limit.max(1) }, Inbox { receiver, waiting })
}

impl Outbox {
    /// Queues a `next` frame unless `limit` wait already.
    pub fn push_frame(&self, frame: String) -> Pushed {
        let waiting = self.waiting.fetch_add(1, Ordering::AcqRel);
        if waiting >= self.limit {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Pushed::Full(waiting);
        }
        match self.sender.send(Outgoing::Next(frame.into())) {
            Ok(()) => Pushed::Queued,
            Err(_) => Pushed::Closed,
        }
    }

    /// Queues anything else (uncounted: at most a few per subscription).
    pub fn push(&self, outgoing: Outgoing) {
        // A closed connection has nobody left to tell.
        let _ = self.sender.send(outgoing);
    }
}

impl Inbox {
    /// The next thing to write (never `None` while an `Outbox` lives, and the connection
    /// keeps one).
    pub async fn recv(&mut self) -> Option<Outgoing> {
        let outgoing = self.receiver.recv().await?;
        if matches!(outgoing, Outgoing::Next(_)) {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
        }
        Some(outgoing)
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
        assert!(matches!(inbox.recv().await, Some(Outgoing::Next(frame)) if frame.as_str() == "a"));
        assert_eq!(outbox.push_frame("e".into()), Pushed::Queued);
        drop(inbox);
        assert_eq!(outbox.push_frame("f".into()), Pushed::Full(2));
    }
}
