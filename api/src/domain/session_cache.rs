//! Recently checked sessions, so a busy agent's requests do not each read the sessions table.
//!
//! Entries are kept by the token itself: a token found here is byte for byte one whose
//! signature was verified, so only its expiry is checked again (verifying the signature and
//! decoding the claims was ~3 % of the server's CPU on the agent-panel read). A token not
//! found is verified in full. The database half of [`sessions::authenticate`] (is the session
//! still open, is the agent enabled, what is their role) is remembered for at most the
//! configured time-to-live. Everything that can change
//! that answer (signing out, ending an agent's sessions, disabling an agent, changing their
//! role) records an `ACCESS_CHANGED` event in the same transaction. Each instance forgets the
//! agent's cached sessions when that event reaches it through the event bus, and the instance
//! that made the change forgets them before it answers, so a signed-out token stops working
//! at once on that instance and within the event bus's delay (milliseconds) on the others.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::error::DomainResult;
use super::ids::AgentId;
use super::sessions::{self, Principal};
use crate::auth::TokenKeys;

/// Most sessions remembered; past it, stale entries are dropped first, then all.
const MAX_ENTRIES: usize = 100_000;

/// A session found live, and until when that answer may be reused.
#[derive(Clone, Debug)]
struct Entry {
    principal: Principal,
    /// When the session ends.
    expires_at: DateTime<Utc>,
    /// The token's own expiry (`exp`, seconds since the epoch).
    token_expires_at: i64,
    fresh_until: Instant,
}

/// Live sessions checked recently, by the token that named them.
#[derive(Debug)]
pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
    /// Bumped by every forget, so an answer read before a sign-out is never stored after it.
    generation: AtomicU64,
}

impl SessionCache {
    /// A cache that reuses an answer for `ttl`; a zero `ttl` turns caching off.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()), generation: AtomicU64::new(0) }
    }

    /// [`sessions::authenticate`], answered from the cache while the session's entry is fresh.
    pub async fn authenticate(
        &self,
        db: &impl ConnectionTrait,
        keys: &TokenKeys,
        token: &str,
    ) -> DomainResult<Principal> {
        if let Some(principal) = self.lookup(token) {
            return Ok(principal);
        }
        let claims = sessions::verify_token(keys, token)?;
        let generation = self.generation.load(Ordering::Acquire);
        let (principal, expires_at) = sessions::check_session(db, &claims).await?;
        self.store(generation, token, principal.clone(), expires_at, claims.exp);
        Ok(principal)
    }

    fn lookup(&self, token: &str) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().expect("session cache lock");
        let entry = entries.get(token)?;
        // The token's expiry as verification judges it (no leeway, the system clock).
        let token_live = u64::try_from(entry.token_expires_at)
            .is_ok_and(|exp| exp >= jsonwebtoken::get_current_timestamp());
        let usable =
            token_live && entry.fresh_until > Instant::now() && entry.expires_at > crate::clock::system_now();
        usable.then(|| entry.principal.clone())
    }

    fn store(
        &self,
        generation: u64,
        token: &str,
        principal: Principal,
        expires_at: DateTime<Utc>,
        token_expires_at: i64,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("session cache lock");
        // A forget since the database was read may have ended this very session.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, entry| entry.fresh_until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let entry = Entry { fresh_until: now + self.ttl, expires_at, token_expires_at, principal };
        entries.insert(token.to_owned(), entry);
    }

    /// Forgets every cached session of `agent` (their access changed).
    pub fn forget_agent(&self, agent: AgentId) {
        let mut entries = self.entries.lock().expect("session cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, entry| entry.principal.agent_id != agent);
    }

    /// Forgets everything (the event bus lost track, so any entry may be stale).
    pub fn forget_all(&self) {
        let mut entries = self.entries.lock().expect("session cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Sessions currently remembered.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("session cache lock").len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use entity::enums::Role;

    use super::*;

    fn principal(agent: i64, session: &str) -> Principal {
        Principal { agent_id: AgentId(agent), role: Role::Agent, session_id: session.into() }
    }

    fn later() -> DateTime<Utc> {
        crate::clock::system_now() + chrono::Duration::hours(1)
    }

    /// A token expiry an hour from now.
    fn token_later() -> i64 {
        later().timestamp()
    }

    #[test]
    fn remembers_fresh_sessions_by_their_token_only() {
        let cache = SessionCache::new(Duration::from_secs(60));
        cache.store(0, "t1", principal(7, "s1"), later(), token_later());
        assert_eq!(cache.lookup("t1"), Some(principal(7, "s1")));
        assert_eq!(cache.lookup("t1x"), None, "another token of the same session is verified anew");
        assert_eq!(cache.lookup("t2"), None);
    }

    #[test]
    fn expired_sessions_tokens_and_stale_entries_are_not_reused() {
        let cache = SessionCache::new(Duration::from_secs(60));
        cache.store(
            0,
            "t1",
            principal(7, "s1"),
            crate::clock::system_now() - chrono::Duration::seconds(1),
            token_later(),
        );
        assert_eq!(cache.lookup("t1"), None, "the session ended");
        let past = i64::try_from(jsonwebtoken::get_current_timestamp()).expect("a timestamp") - 1;
        cache.store(0, "t2", principal(7, "s2"), later(), past);
        assert_eq!(cache.lookup("t2"), None, "the token expired");
        let brief = SessionCache::new(Duration::from_nanos(1));
        brief.store(0, "t1", principal(7, "s1"), later(), token_later());
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(brief.lookup("t1"), None);
    }

    #[test]
    fn a_check_read_before_a_forget_is_not_stored_after_it() {
        let cache = SessionCache::new(Duration::from_secs(60));
        let generation = cache.generation.load(Ordering::Acquire);
        cache.forget_agent(AgentId(7)); // a sign-out lands while the session row is being read
        cache.store(generation, "t1", principal(7, "s1"), later(), token_later());
        assert!(cache.is_empty());
    }

    #[test]
    fn forgetting_an_agent_keeps_the_others() {
        let cache = SessionCache::new(Duration::from_secs(60));
        cache.store(0, "t1", principal(7, "s1"), later(), token_later());
        cache.store(0, "t2", principal(7, "s2"), later(), token_later());
        cache.store(0, "t3", principal(8, "s3"), later(), token_later());
        cache.forget_agent(AgentId(7));
        assert_eq!(cache.len(), 1);
        assert!(cache.lookup("t3").is_some());
        cache.forget_all();
        assert!(cache.is_empty());
    }

    #[test]
    fn a_zero_ttl_turns_caching_off() {
        let cache = SessionCache::new(Duration::ZERO);
        cache.store(0, "t1", principal(7, "s1"), later(), token_later());
        assert!(cache.is_empty());
    }
}
