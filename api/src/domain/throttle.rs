//! Failed sign-ins counted per account and per client address, with growing lockouts.
//!
//! Each key (an account's normalised email, a client address) has a number of free failures.
//! The failure that uses up the last of them locks the key for a base delay, and each further
//! failure locks it for twice as long as the one before (base, 2 × base, 4 × base … up to a
//! maximum); while a key is locked every sign-in for it is refused before any password is
//! checked. A key's failures are forgotten
//! once the longest lockout has passed after its last lockout (or its last failure) ended; a
//! successful sign-in forgets the account's failures at once, but not the address's (an
//! attacker holding one good account could otherwise reset their address's count).
//!
//! Only failures count, so a busy office behind one address never trips the address limit
//! by signing in correctly. An account may have no more attempts in flight than it has free
//! failures left (but always one), and so may an address once it has failed, so a burst of
//! concurrent guesses cannot slip past the count before it is raised; a refused attempt is
//! told to wait the base delay.
//!
//! The counts are kept in memory, per instance: several instances each enforce their own.
//! Accounts are kept as keyed hashes of their emails (fixed size, no addresses in memory), IPv6
//! clients by their /64 (one subscriber's whole prefix), and the map is bounded: when full,
//! forgotten and unlocked keys make room first, and a new key that still finds no room is not
//! counted (a warning says so); holding that many keys locked would need far more password
//! checks than the hashing bound lets through.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the throttle counts and locks.
#[derive(Clone, Copy, Debug)]
pub struct ThrottleSettings {
    /// Failures an account may have; the last of them locks it.
    pub free_per_account: u32,
    /// Failures a client address may have; the last of them locks it.
    pub free_per_address: u32,
    /// The first lockout; each further failure doubles it.
    pub base: Duration,
    /// The longest lockout; also how long failures are remembered after a lockout ends.
    pub max: Duration,
    /// Most keys remembered.
    pub capacity: usize,
}

/// Keys remembered by default: about 8 MB.
pub const DEFAULT_CAPACITY: usize = 100_000;
/// How often a full map may be swept for room.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Account(u64),
    Address(IpAddr),
}

#[derive(Debug, Default)]
struct Entry {
    failures: u32,
    /// Attempts admitted and not yet finished.
    pending: u32,
    /// When the last failure, or the lockout it caused, ended.
    quiet_since: Option<Instant>,
    locked_until: Option<Instant>,
}

impl Entry {
    fn locked(&self, now: Instant) -> Option<Duration> {
        self.locked_until.filter(|until| *until > now).map(|until| until - now)
    }

    /// Whether its failures are old enough to forget (and nothing is in flight).
    fn forgotten(&self, now: Instant, window: Duration) -> bool {
        self.pending == 0
            && self.locked(now).is_none()
            && self.quiet_since.is_none_or(|since| now.saturating_duration_since(since) >= window)
    }
}

#[derive(Debug)]
struct Inner {
    entries: HashMap<Key, Entry>,
    next_sweep: Instant,
}

/// The sign-in throttle of one instance.
#[derive(Debug)]
pub struct SignInThrottle {
    settings: ThrottleSettings,
    /// Keys the email hashes, so hashes cannot be predicted.
    hasher: RandomState,
    inner: Mutex<Inner>,
}

/// A sign-in the throttle let through; say how it ended with [`Attempt::failed`] or
/// [`Attempt::succeeded`]. Dropped without either (an error, a cancelled request), it counts
/// as neither.
#[derive(Debug)]
#[must_use = "say whether the sign-in failed or succeeded"]
pub struct Attempt<'a> {
    throttle: &'a SignInThrottle,
    keys: [Option<Key>; 2],
    /// The keys whose `pending` this attempt raised.
    admitted: [bool; 2],
    finished: bool,
}

impl Attempt<'_> {
    /// The password was wrong (or the account unknown or disabled): counts a failure on the
    /// account and the address, locking them once their free failures are used up.
    pub fn failed(mut self) {
        self.finish(|throttle, inner, key, now| throttle.record_failure(inner, key, now));
    }

    /// The sign-in worked: the account's failures are forgotten (the address's are kept).
    pub fn succeeded(mut self) {
        self.finish(|_, inner, key, _| {
            if let Key::Account(_) = key
                && let Some(entry) = inner.entries.get_mut(&key)
            {
                entry.failures = 0;
                entry.locked_until = None;
                entry.quiet_since = None;
            }
        });
    }

    fn finish(&mut self, mut apply: impl FnMut(&SignInThrottle, &mut Inner, Key, Instant)) {
        self.finished = true;
        let now = Instant::now();
        let mut inner = self.throttle.lock();
        for (key, admitted) in self.keys.iter().zip(self.admitted) {
            let Some(key) = *key else { continue };
            if admitted && let Some(entry) = inner.entries.get_mut(&key) {
                entry.pending = entry.pending.saturating_sub(1);
            }
            apply(self.throttle, &mut inner, key, now);
            if inner.entries.get(&key).is_some_and(|entry| entry.failures == 0 && entry.pending == 0) {
                inner.entries.remove(&key);
            }
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.finish(|_, _, _, _| {});
        }
    }
}

impl SignInThrottle {
    /// An empty throttle.
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            hasher: RandomState::new(),
            inner: Mutex::new(Inner { entries: HashMap::new(), next_sweep: Instant::now() }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map holds counters only; one left half-updated by a panic is still usable.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn free(&self, key: Key) -> u32 {
        match key {
            Key::Account(_) => self.settings.free_per_account,
            Key::Address(_) => self.settings.free_per_address,
        }
    }

    fn keys(&self, email: &str, client: Option<IpAddr>) -> [Option<Key>; 2] {
        [Some(Key::Account(self.hasher.hash_one(email))), client.map(|ip| Key::Address(address_key(ip)))]
    }

    /// Lets a sign-in for `email` (normalised) from `client` go ahead, or says how long to
    /// wait: while the account or the address is locked, or while an attempt past their free
    /// failures is already in flight.
    pub fn begin(&self, email: &str, client: Option<IpAddr>) -> Result<Attempt<'_>, Duration> {
        let keys = self.keys(email, client);
        let now = Instant::now();
        let mut inner = self.lock();
        let mut wait = Duration::ZERO;
        for key in keys.iter().flatten() {
            let free = self.free(*key);
            let window = self.settings.max;
            let Some(entry) = inner.entries.get_mut(key) else { continue };
            if entry.forgotten(now, window) {
                *entry = Entry::default();
            }
            if let Some(left) = entry.locked(now) {
                wait = wait.max(left);
            } else if entry.pending > 0
                && entry.failures.saturating_add(entry.pending) >= free
                // An office behind one address signing in at once is not a burst of guesses.
                && (matches!(key, Key::Account(_)) || entry.failures > 0)
            {
                wait = wait.max(self.settings.base);
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        let mut admitted = [false; 2];
        for (key, admitted) in keys.iter().zip(&mut admitted) {
            if let Some(key) = key
                && let Some(entry) = self.entry(&mut inner, *key, now)
            {
                entry.pending += 1;
                *admitted = true;
            }
        }
        Ok(Attempt { throttle: self, keys, admitted, finished: false })
    }

    fn record_failure(&self, inner: &mut Inner, key: Key, now: Instant) {
        let free = self.free(key);
        let ThrottleSettings { base, max, .. } = self.settings;
        let Some(entry) = self.entry(inner, key, now) else { return };
        if entry.forgotten(now, max) {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.quiet_since = Some(now);
        if entry.failures >= free {
            let doublings = (entry.failures - free).min(31);
            let lockout = base.saturating_mul(1 << doublings).min(max);
            entry.locked_until = Some(now + lockout);
            entry.quiet_since = Some(now + lockout);
            let failures = entry.failures;
            let lockout_ms = u64::try_from(lockout.as_millis()).unwrap_or(u64::MAX);
            match key {
                // Accounts are known here only by a hash: the log names none.
                Key::Account(_) => tracing::warn!(failures, lockout_ms, "sign-in locked for an account"),
                Key::Address(address) => {
                    tracing::warn!(%address, failures, lockout_ms, "sign-in locked for a client address");
                }
            }
        }
    }

    /// The entry of `key`, made if missing and there is room.
    fn entry<'i>(&self, inner: &'i mut Inner, key: Key, now: Instant) -> Option<&'i mut Entry> {
        if !inner.entries.contains_key(&key) && inner.entries.len() >= self.settings.capacity {
            if now < inner.next_sweep {
                return None;
            }
            inner.next_sweep = now + SWEEP_EVERY;
            let window = self.settings.max;
            inner.entries.retain(|_, entry| !entry.forgotten(now, window));
            if inner.entries.len() >= self.settings.capacity {
                // Keys still within their free failures lose their count before locked ones.
                inner.entries.retain(|_, entry| entry.pending > 0 || entry.locked(now).is_some());
            }
            if inner.entries.len() >= self.settings.capacity {
                tracing::warn!(
                    keys = inner.entries.len(),
                    "sign-in throttle full of locked keys; new keys are not counted"
                );
                return None;
            }
        }
        Some(inner.entries.entry(key).or_default())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

/// The address a client is counted by: IPv4 as is, IPv6 by its /64 (IPv4-mapped IPv6 as the
/// IPv4 address).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(free_per_account: u32, free_per_address: u32) -> SignInThrottle {
        SignInThrottle::new(ThrottleSettings {
            free_per_account,
            free_per_address,
            base: Duration::from_secs(60),
            max: Duration::from_secs(600),
            capacity: 100,
        })
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("an address"))
    }

    #[test]
    fn locks_an_account_after_its_free_failures_with_doubling_lockouts() {
        let throttle = throttle(2, 100);
        for _ in 0..2 {
            throttle.begin("a@x.io", ip("10.0.0.1")).expect("a free attempt").failed();
        }
        let first = throttle.begin("a@x.io", ip("10.0.0.2")).expect_err("locked after 2 failures");
        assert!(first > Duration::from_secs(59) && first <= Duration::from_secs(60), "{first:?}");
        // Another account from the same address is unaffected.
        throttle.begin("b@x.io", ip("10.0.0.1")).expect("another account").succeeded();

        // The next failure (once the lockout ends) doubles it.
        throttle.lock().entries.values_mut().for_each(|entry| entry.locked_until = None);
        throttle.begin("a@x.io", None).expect("the lockout is over").failed();
        let second = throttle.begin("a@x.io", None).expect_err("locked again");
        assert!(second > Duration::from_secs(119), "{second:?}");

        // A success forgets the account's failures.
        throttle.lock().entries.values_mut().for_each(|entry| entry.locked_until = None);
        throttle.begin("a@x.io", None).expect("the lockout is over").succeeded();
        throttle.begin("a@x.io", None).expect("forgotten").failed();
        throttle.begin("a@x.io", None).expect("one failure is free").succeeded();
    }

    #[test]
    fn locks_an_address_trying_many_accounts_and_ipv6_counts_by_prefix() {
        let throttle = throttle(100, 3);
        for n in 0..3 {
            throttle.begin(&format!("{n}@x.io"), ip("2001:db8::1")).expect("free").failed();
        }
        throttle.begin("new@x.io", ip("2001:db8::ffff")).expect_err("same /64, locked");
        throttle.begin("new@x.io", ip("2001:db8:0:1::1")).expect("another /64").succeeded();
        // Successes never count against an address.
        for _ in 0..10 {
            throttle.begin("ok@x.io", ip("10.0.0.9")).expect("successes are free").succeeded();
        }
    }

    #[test]
    fn past_the_free_failures_one_attempt_at_a_time() {
        let throttle = throttle(2, 100);
        let first = throttle.begin("a@x.io", None).expect("free");
        let second = throttle.begin("a@x.io", None).expect("free");
        throttle.begin("a@x.io", None).expect_err("a third could be a lock-worthy failure");
        first.failed();
        drop(second); // neither failed nor succeeded (an error): frees its place
        throttle.begin("a@x.io", None).expect("one failure so far").failed();
        throttle.begin("a@x.io", None).expect_err("locked");
    }

    #[test]
    fn many_sign_ins_at_once_from_one_address_are_not_a_burst_of_guesses() {
        let throttle = throttle(100, 2);
        let attempts: Vec<_> = (0..10)
            .map(|n| throttle.begin(&format!("{n}@x.io"), ip("10.0.0.1")).expect("no failures yet"))
            .collect();
        attempts.into_iter().for_each(Attempt::succeeded);
        throttle.begin("0@x.io", ip("10.0.0.1")).expect("free").failed();
        let _first = throttle.begin("1@x.io", ip("10.0.0.1")).expect("one failure left");
        throttle.begin("2@x.io", ip("10.0.0.1")).expect_err("once failing, one at a time");
    }

    #[test]
    fn stays_within_capacity() {
        let throttle = throttle(5, 1000);
        for n in 0..500 {
            throttle.begin(&format!("{n}@x.io"), None).expect("unlocked").failed();
        }
        assert!(throttle.len() <= 100, "{}", throttle.len());
        // Successes and unfinished attempts leave nothing behind.
        let throttle = self::throttle(5, 1000);
        throttle.begin("a@x.io", ip("10.0.0.1")).expect("free").succeeded();
        drop(throttle.begin("b@x.io", ip("10.0.0.1")).expect("free"));
        assert_eq!(throttle.len(), 0);
    }
}
