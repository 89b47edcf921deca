//! The server's one source of the current time: [`now`], which tests and demos may move.
//!
//! Every time the server stores or compares as part of its rules (when a chat was created,
//! accepted or completed, deadlines and timeouts, offers, events, outbox schedules, retention)
//! comes from [`now`]. It is the system clock until a test moves it: [`set`] (time flows on from
//! an instant), [`freeze`] (time stands still), [`advance`] and [`reset`]. Nothing in the server
//! moves it, and there is no setting or API for it: it exists for tests (datasets with chosen
//! timestamps, timeouts without waiting) and demos.
//!
//! The clock is **process-wide**: every server in the process shares it, so tests that move it
//! must not run beside other tests of the same process (the `clocked` test binary runs them
//! one at a time).
//!
//! Left on the system clock, on purpose:
//! - **sign-in sessions and tokens** ([`system_now`]): a token's `exp` is checked by
//!   `jsonwebtoken` against the system clock, so the session row behind it (created, expires,
//!   ended, "signed in" checks) is kept on the same clock. Moving the clock never signs anyone
//!   out, and a test can move it days back or ahead with its agents still signed in;
//! - the time a statement waited, on the database's clock: storing a message in one statement
//!   (`domain::ingest::append`) adds it to [`now`] unless the clock is [`frozen`], which is
//!   what reading [`now`] after taking the chat's lock gives the general path;
//! - technical timers on `std::time::Instant` and `tokio::time`: worker polling, sleeps, the
//!   sign-in throttle, cache freshness and request durations in logs. Workers poll on real time
//!   and compare with [`now`], so a moved clock takes effect at their next poll.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// The clock in one atomic, so [`now`] is one load. An even value is twice an offset from the
/// system clock in milliseconds; an odd value, `2 × ms + 1`, a frozen instant in milliseconds
/// since the Unix epoch. Zero: the system clock.
static STATE: AtomicI64 = AtomicI64::new(0);

/// The current time: the system clock, moved by tests (see the module documentation).
pub fn now() -> DateTime<Utc> {
    read(STATE.load(Ordering::Relaxed), system_now())
}

/// The system clock, for what must not follow a moved clock (sessions and tokens, see the
/// module documentation). Everything else uses [`now`].
pub fn system_now() -> DateTime<Utc> {
    Utc::now()
}

/// Whether the clock stands still ([`freeze`]): what a statement that reads the database's
/// clock to let time flow on from [`now`] must know (see `domain::ingest::append`).
pub fn frozen() -> bool {
    is_frozen(STATE.load(Ordering::Relaxed))
}

/// Whether a clock state is a frozen instant (odd) rather than an offset (even).
fn is_frozen(state: i64) -> bool {
    state % 2 != 0
}

/// Moves the clock to `instant`; time flows on from there.
pub fn set(instant: DateTime<Utc>) {
    STATE.store(2 * (instant - system_now()).num_milliseconds(), Ordering::Relaxed);
}

/// Stops the clock at `instant` (to the millisecond) until it is set, advanced or reset.
pub fn freeze(instant: DateTime<Utc>) {
    STATE.store(2 * instant.timestamp_millis() + 1, Ordering::Relaxed);
}

/// Moves the clock forward by `by` (back when negative); a frozen clock stays frozen.
pub fn advance(by: Duration) {
    STATE.fetch_add(2 * by.num_milliseconds(), Ordering::Relaxed);
}

/// Back to the system clock.
pub fn reset() {
    STATE.store(0, Ordering::Relaxed);
}

/// The time a clock state shows when the system clock shows `system`.
fn read(state: i64, system: DateTime<Utc>) -> DateTime<Utc> {
    if state == 0 {
        system
    } else if state % 2 == 0 {
        system + Duration::milliseconds(state / 2)
    } else {
        DateTime::from_timestamp_millis((state - 1) / 2).unwrap_or(system)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The process-wide clock is never moved here (other unit tests run beside these); the
    // states are read as `now` would read them.
    #[test]
    fn states_read_as_offsets_or_frozen_instants() {
        let system = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").unwrap().to_utc();
        let at = DateTime::parse_from_rfc3339("2026-03-29T01:30:00.250Z").unwrap().to_utc();
        assert_eq!(read(0, system), system);
        assert_eq!(read(2 * -3_600_000, system), system - Duration::hours(1));
        let frozen = 2 * at.timestamp_millis() + 1;
        assert_eq!(read(frozen, system), at);
        assert_eq!(read(frozen + 2 * 90_000, system), at + Duration::seconds(90), "advanced while frozen");
        let before_1970 = DateTime::parse_from_rfc3339("1969-07-20T20:17:00Z").unwrap().to_utc();
        assert_eq!(read(2 * before_1970.timestamp_millis() + 1, system), before_1970);
        assert!(is_frozen(frozen) && is_frozen(2 * before_1970.timestamp_millis() + 1));
        assert!(!is_frozen(0) && !is_frozen(2 * -3_600_000) && !is_frozen(frozen + 1));
    }

    /// The rule this module exists for, as a check: nothing else reads the system's wall clock.
    #[test]
    fn the_time_is_read_only_here() {
        for file in crate::source_files::under("").iter().filter(|f| !f.path.ends_with("clock.rs")) {
            for reading in ["Utc::now", "Local::now", "SystemTime::now"] {
                assert!(
                    !file.text.contains(reading),
                    "{} reads the time with `{reading}`; use crate::clock::now (or clock::system_now \
                     for sessions and tokens)",
                    file.path.display()
                );
            }
        }
    }
}
