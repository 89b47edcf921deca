//! Webhooks' channels, kept in memory for a moment so that a provider's burst of webhooks does
//! not read the same `channels` row once for each of them.
//!
//! A webhook needs its channel before anything else: its kind, whether it is active, the
//! secret its signature is checked with, the queue new chats go to. An entry is reused for at
//! most the configured time-to-live (`SWITCHBOARD_CHANNEL_CACHE_MS`, one second by default;
//! 0 turns the cache off). A change made through this instance (`updateChannel`) forgets the
//! entry before the mutation answers, so it applies here at once; another instance sharing the
//! PostgreSQL database applies it within the time-to-live. Unknown channels are not
//! remembered: a channel created a moment ago is found at once everywhere.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use entity::channels;
use sea_orm::ConnectionTrait;

use super::error::DomainResult;
use super::ids::ChannelId;

/// A channel read, and until when it may be reused.
#[derive(Clone, Debug)]
struct Entry {
    channel: channels::Model,
    fresh_until: Instant,
}

/// Channels read recently, by row id. Its `Debug` shows the count only: the rows carry their
/// credentials.
pub struct ChannelCache {
    ttl: Duration,
    entries: Mutex<HashMap<i64, Entry>>,
    /// Bumped by every forget, so a row read before a change is never stored after it.
    generation: AtomicU64,
}

impl std::fmt::Debug for ChannelCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelCache").field("ttl", &self.ttl).field("entries", &self.len()).finish()
    }
}

impl ChannelCache {
    /// A cache that reuses a channel for `ttl`; a zero `ttl` turns caching off.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()), generation: AtomicU64::new(0) }
    }

    /// [`super::channels::get`], answered from the cache while the channel's entry is fresh.
    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        id: ChannelId,
    ) -> DomainResult<Option<channels::Model>> {
        if let Some(channel) = self.lookup(id) {
            return Ok(Some(channel));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let channel = super::channels::get(db, id).await?;
        if let Some(channel) = &channel {
            self.store(generation, channel);
        }
        Ok(channel)
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Entry>> {
        // A poisoned lock only means a panic elsewhere while inserting: the map is whole.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lookup(&self, id: ChannelId) -> Option<channels::Model> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries();
        let entry = entries.get(&id.0)?;
        (entry.fresh_until > Instant::now()).then(|| entry.channel.clone())
    }

    fn store(&self, generation: u64, channel: &channels::Model) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        // A forget since the row was read may have been for this very change.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        let now = Instant::now();
        // Channels are few; stale entries go whenever one is stored.
        entries.retain(|_, entry| entry.fresh_until > now);
        entries.insert(channel.id, Entry { channel: channel.clone(), fresh_until: now + self.ttl });
    }

    /// Forgets channel `id` (it changed).
    pub fn forget(&self, id: ChannelId) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(&id.0);
    }

    /// Channels currently remembered.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::EntityTrait;

    use super::*;

    /// Reused while fresh; forgotten on change; never stored from a read that a forget
    /// overtook; off with a zero time-to-live.
    #[tokio::test]
    async fn reuses_a_channel_until_it_changes() {
        use sea_orm::ConnectionTrait;
        let db = crate::db::demo_for_tests().await;
        let channel = channels::Entity::find().one(&db).await.unwrap().expect("a demo channel");
        let id = ChannelId(channel.id);
        let cache = ChannelCache::new(Duration::from_secs(60));
        assert_eq!(cache.get(&db, id).await.unwrap().map(|c| c.name), Some(channel.name.clone()));
        let rename = format!("UPDATE channels SET name = 'renamed' WHERE id = {}", channel.id);
        db.execute_unprepared(&rename).await.unwrap();
        let reused = cache.get(&db, id).await.unwrap().unwrap();
        assert_eq!(reused.name, channel.name, "reused while fresh");
        cache.forget(id);
        assert_eq!(cache.get(&db, id).await.unwrap().unwrap().name, "renamed", "read again once forgotten");

        // A read that started before a forget is not stored.
        let generation = cache.generation.load(Ordering::Acquire);
        cache.forget(id);
        cache.store(generation, &reused);
        assert!(cache.lookup(id).is_none());

        cache.get(&db, id).await.unwrap();
        assert_eq!(cache.get(&db, ChannelId(-1)).await.unwrap(), None);
        assert_eq!(cache.len(), 1, "unknown channels are not remembered");

        let off = ChannelCache::new(Duration::ZERO);
        off.get(&db, id).await.unwrap();
        assert!(off.is_empty(), "a zero time-to-live keeps nothing");
    }
}
