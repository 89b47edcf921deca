//! Who gets which event: subscribers are kept by the subject they follow, so an event wakes
//! only the subscribers it concerns.
//!
//! A single broadcast channel woke every subscriber for every event, each to throw most of
//! them away: with 10,000 agents online each generating events, that is 10,000 wake-ups per
//! event. Here an event goes to the subscribers of its agent, its queue and its chat (and of
//! [`Topic::All`]), each through its own bounded queue. A subscriber whose queue is full
//! misses the event and is told so on its next receive ([`RecvError::Lagged`]), as a lagging
//! broadcast receiver was.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::Published;

/// What a subscriber follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every event.
    All,
    /// Events naming this agent.
    Agent(i64),
    /// Events naming this queue.
    Queue(i64),
    /// Events naming this chat.
    Chat(i64),
}

impl Topic {
    /// Whether `event` names this topic's subject.
    pub fn covers(self, event: &entity::events::Model) -> bool {
        match self {
            Self::All => true,
            Self::Agent(id) => event.agent_id == Some(id),
            Self::Queue(id) => event.queue_id == Some(id),
            Self::Chat(id) => event.chat_id == Some(id),
        }
    }
}

/// Why a receive returned no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// The subscriber's queue was full: this many events were dropped for it.
    Lagged(u64),
    /// The bus is gone (shutdown).
    Closed,
}

/// One subscriber's bounded queue, shared by its slot in the registry and the subscriber.
///
/// A `VecDeque` behind a mutex rather than a channel: an idle subscriber's queue is empty and
/// an empty `VecDeque` holds no memory, where a tokio channel keeps a block of slots (~0.5 KiB
/// per subscriber, measured with heaptrack, for 10,000 idle panels).
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    /// Wakes the subscriber when an event is queued or the bus goes.
    ready: tokio::sync::Notify,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<Arc<Published>>,
    /// Events dropped because the queue was full, not yet reported.
    missed: u64,
    /// The bus is gone: nothing more will come.
    closed: bool,
}

impl Queue {
    fn state(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Slot {
    id: u64,
    queue: Arc<Queue>,
    capacity: usize,
}

impl Slot {
    /// Queues `event`; false when the queue is full (the event is counted as missed).
    fn offer(&self, event: &Arc<Published>) -> bool {
        let mut state = self.queue.state();
        if state.events.len() >= self.capacity {
            state.missed += 1;
            return false;
        }
        state.events.push_back(event.clone());
        drop(state);
        self.queue.ready.notify_one();
        true
    }
}

impl Drop for Slot {
    /// Out of the registry: either the subscriber left, or the bus is gone (tell it).
    fn drop(&mut self) {
        self.queue.state().closed = true;
        self.queue.ready.notify_one();
    }
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    topics: HashMap<Topic, Vec<Slot>>,
}

/// The subscribers of one bus, by topic.
#[derive(Clone, Default)]
pub struct Topics {
    registry: Arc<Mutex<Registry>>,
}

impl std::fmt::Debug for Topics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topics").field("subscribers", &self.len()).finish()
    }
}

impl Topics {
    /// A subscriber to `topic` that may fall `capacity` events behind.
    pub fn subscribe(&self, topic: Topic, capacity: usize) -> Subscriber {
        let queue = Arc::new(Queue::default());
        let mut registry = self.registry.lock().expect("topics lock");
        let id = registry.next_id;
        registry.next_id += 1;
        let slot = Slot { id, queue: queue.clone(), capacity: capacity.max(1) };
        // Most topics have one subscriber (an agent's panel): room for one, not four.
        registry.topics.entry(topic).or_insert_with(|| Vec::with_capacity(1)).push(slot);
        Subscriber { topic, id, queue, topics: self.clone() }
    }

    /// Hands `event` to the subscribers of every topic it names; returns how many of them
    /// missed it (their queue was full).
    pub fn publish(&self, event: &Arc<Published>) -> u64 {
        let mut subjects = [Some(Topic::All), None, None, None];
        subjects[1] = event.agent_id.map(Topic::Agent);
        subjects[2] = event.queue_id.map(Topic::Queue);
        subjects[3] = event.chat_id.map(Topic::Chat);
        let registry = self.registry.lock().expect("topics lock");
        let mut dropped = 0;
        for topic in subjects.into_iter().flatten() {
            for slot in registry.topics.get(&topic).into_iter().flatten() {
                if !slot.offer(event) {
                    dropped += 1;
                }
            }
        }
        dropped
    }

    /// Subscribers connected now.
    pub fn len(&self) -> usize {
        self.registry.lock().expect("topics lock").topics.values().map(Vec::len).sum()
    }

    /// Whether nobody is subscribed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn remove(&self, topic: Topic, id: u64) {
        let mut registry = self.registry.lock().expect("topics lock");
        if let Some(slots) = registry.topics.get_mut(&topic) {
            slots.retain(|slot| slot.id != id);
            if slots.is_empty() {
                registry.topics.remove(&topic);
            }
        }
    }
}

/// One subscriber's end: events of its topic, in the order they were published. Leaves the
/// registry when dropped.
pub struct Subscriber {
    topic: Topic,
    id: u64,
    queue: Arc<Queue>,
    topics: Topics,
}

impl Subscriber {
    /// The next event, or why there is none: events were dropped because this subscriber
    /// fell behind (reported once, before anything else), or the bus is gone.
    pub async fn recv(&mut self) -> Result<Arc<Published>, RecvError> {
        loop {
            // Made before looking, so a push in between still wakes it.
            let ready = self.queue.ready.notified();
            {
                let mut state = self.queue.state();
                if state.missed > 0 {
                    return Err(RecvError::Lagged(std::mem::take(&mut state.missed)));
                }
                if let Some(event) = state.events.pop_front() {
                    if state.events.is_empty() {
                        // Give back what a burst grew it to.
                        state.events = VecDeque::new();
                    }
                    return Ok(event);
                }
                if state.closed {
                    return Err(RecvError::Closed);
                }
            }
            ready.await;
        }
    }

    /// Whether no event waits (for tests).
    #[cfg(test)]
    fn is_idle(&self) -> bool {
        let state = self.queue.state();
        state.events.is_empty() && state.missed == 0
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.topics.remove(self.topic, self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, agent: Option<i64>, queue: Option<i64>, chat: Option<i64>) -> Arc<Published> {
        Arc::new(Published::new(entity::events::Model {
            id,
            kind: "CHAT_OFFERED".into(),
            chat_id: chat,
            agent_id: agent,
            queue_id: queue,
            payload: serde_json::json!({}),
            created_at: crate::clock::now(),
        }))
    }

    #[tokio::test]
    async fn events_reach_only_the_subscribers_of_their_subjects() {
        let topics = Topics::default();
        let mut ann = topics.subscribe(Topic::Agent(1), 8);
        let mut bob = topics.subscribe(Topic::Agent(2), 8);
        let mut queue = topics.subscribe(Topic::Queue(7), 8);
        let mut chat = topics.subscribe(Topic::Chat(9), 8);
        let mut all = topics.subscribe(Topic::All, 8);
        topics.publish(&event(1, Some(1), Some(7), Some(9)));
        topics.publish(&event(2, Some(2), None, None));

        assert_eq!(ann.recv().await.unwrap().id, 1);
        assert_eq!(bob.recv().await.unwrap().id, 2);
        assert_eq!(queue.recv().await.unwrap().id, 1);
        assert_eq!(chat.recv().await.unwrap().id, 1);
        assert_eq!(all.recv().await.unwrap().id, 1);
        assert_eq!(all.recv().await.unwrap().id, 2);
        for nothing_more in [&mut ann, &mut bob, &mut queue, &mut chat, &mut all] {
            assert!(nothing_more.is_idle());
        }
        assert!(Topic::Agent(1).covers(&event(3, Some(1), None, None)));
        assert!(!Topic::Queue(1).covers(&event(3, Some(1), None, None)));
    }

    #[tokio::test]
    async fn a_full_subscriber_is_told_it_missed_events_and_dropped_ones_leave() {
        let topics = Topics::default();
        let mut slow = topics.subscribe(Topic::Agent(1), 2);
        for id in 1..=5 {
            topics.publish(&event(id, Some(1), None, None));
        }
        assert_eq!(slow.recv().await.err(), Some(RecvError::Lagged(3)));
        assert_eq!(slow.recv().await.unwrap().id, 1);
        assert_eq!(slow.recv().await.unwrap().id, 2);
        assert_eq!(topics.len(), 1);
        drop(slow);
        assert!(topics.is_empty());
    }
}
