//! Which customers this instance has seen stored, to try the right one-round-trip path first.
//!
//! A message of a customer Switchboard knows is appended to their open chat
//! ([`super::append`]); a new customer's first message creates their contact and chat
//! ([`super::newcomer`]). Each path writes nothing when it does not apply, and the other is
//! tried next, so the order is only a matter of cost: trying the wrong one first is a wasted
//! statement on PostgreSQL and a wasted turn of the single writer on SQLite. Customers whose
//! identity was found or created here are remembered; a message from anyone else tries the
//! newcomer's path first. Forgetting costs one wasted try per returning customer (after a
//! restart, on another instance, or when the set is full and starts again), never a wrong
//! write: both paths check the database themselves.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use entity::enums::ChannelKind;

/// Customers remembered before the set starts again (about 100 bytes each).
pub const CAPACITY: usize = 100_000;

/// The customers (channel kind and external id) whose identity is stored, as far as this
/// instance has seen, and how many tries wrote nothing (for `/metrics`).
#[derive(Debug)]
pub struct KnownCustomers {
    seen: Mutex<Seen>,
    capacity: usize,
    missed_appends: AtomicU64,
    missed_welcomes: AtomicU64,
}

/// Tries of a path that found it did not apply and wrote nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MissedTries {
    /// Appends tried for a customer Switchboard did not know.
    pub appends: u64,
    /// New customers' statements or scripts tried for a customer it knew.
    pub welcomes: u64,
}

impl Default for KnownCustomers {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl KnownCustomers {
    /// A set that starts again once it holds `capacity` customers.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            seen: Mutex::default(),
            capacity: capacity.max(1),
            missed_appends: AtomicU64::new(0),
            missed_welcomes: AtomicU64::new(0),
        }
    }

    /// Whether the customer `external_id` of `kind` was seen stored.
    pub fn knows(&self, kind: ChannelKind, external_id: &str) -> bool {
        self.seen().ids.get(&kind).is_some_and(|ids| ids.contains(external_id))
    }

    /// Remembers that the customer's identity is stored.
    pub fn remember(&self, kind: ChannelKind, external_id: &str) {
        let mut guard = self.seen();
        let seen = &mut *guard;
        if seen.ids.get(&kind).is_some_and(|ids| ids.contains(external_id)) {
            return;
        }
        if seen.count >= self.capacity {
            *seen = Seen::default();
        }
        seen.ids.entry(kind).or_default().insert(external_id.to_owned());
        seen.count += 1;
    }

    /// Counts an append tried for a customer that turned out not to be known.
    pub(super) fn missed_append(&self) {
        self.missed_appends.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a new customer's statement tried for a customer that turned out to be known.
    pub(super) fn missed_welcome(&self) {
        self.missed_welcomes.fetch_add(1, Ordering::Relaxed);
    }

    /// The tries that wrote nothing so far.
    pub fn missed(&self) -> MissedTries {
        MissedTries {
            appends: self.missed_appends.load(Ordering::Relaxed),
            welcomes: self.missed_welcomes.load(Ordering::Relaxed),
        }
    }

    /// The set, also when a thread panicked holding it (a set of strings stays whole).
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// External ids by channel kind, and how many in all.
#[derive(Debug, Default)]
struct Seen {
    ids: HashMap<ChannelKind, HashSet<String>>,
    count: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_are_known_by_channel_kind_and_id_until_the_set_is_full() {
        let known = KnownCustomers::with_capacity(2);
        known.remember(ChannelKind::Whatsapp, "1");
        assert!(known.knows(ChannelKind::Whatsapp, "1"));
        assert!(!known.knows(ChannelKind::Telegram, "1"), "another channel kind's id");
        known.remember(ChannelKind::Telegram, "1");
        assert!(known.knows(ChannelKind::Telegram, "1"));
        // Remembering a known customer again neither counts nor empties the set.
        known.remember(ChannelKind::Telegram, "1");
        assert!(known.knows(ChannelKind::Whatsapp, "1"));
        // Full: it starts again with the newest.
        known.remember(ChannelKind::Messenger, "2");
        assert!(known.knows(ChannelKind::Messenger, "2"));
        assert!(!known.knows(ChannelKind::Whatsapp, "1"));
    }
}
