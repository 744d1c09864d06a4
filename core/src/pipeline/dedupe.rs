//! Client-side de-duplication by message id.
//!
//! A message id seen again within the window is dropped before it is queued, and the caller
//! is told (`Outcome::Duplicate`). That is what makes a replayed webhook (same Stripe event
//! id as message id) safe for collectors without server-side idempotency (Web Analyzer).
//! The store is a trait so a Redis store (`SET NX` with a TTL) can share the window across
//! processes and hosts later; the in-memory store is the default.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::time::Timestamp;

/// "Mark as processed (TTL: 48 hours)" — the window the seeds' webhook example uses.
pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(48 * 3600);
/// Ids remembered at most; the oldest are forgotten first. 1M ids cost about 40 MB at worst.
pub const DEFAULT_DEDUPE_MAX_IDS: usize = 1_000_000;
const SHARDS: usize = 16;

/// Remembers message ids for a window.
pub trait DedupeStore: Send + Sync + std::fmt::Debug {
    /// Records `id` and returns `true` if it was not seen within the window.
    fn first_sighting(&self, id: &str, now: Timestamp) -> bool;
    /// Forgets `id` (its message was not queued after all, so a retry must be accepted).
    fn forget(&self, id: &str);
    /// The store a forked child should use. The in-memory store starts empty (its locks may
    /// have been held by a thread that no longer exists); a shared store reconnects.
    fn for_child(&self) -> Arc<dyn DedupeStore>;
}

/// In-process store: 64-bit hashes of ids with their expiry, in 16 shards, oldest evicted
/// first once `max_ids` is reached.
#[derive(Debug)]
pub struct MemoryDedupe {
    hasher: foldhash::fast::RandomState,
    window_ms: i64,
    max_per_shard: usize,
    shards: Vec<Mutex<Shard>>,
}

/// The keys are already hashes (64 bits, per-process seed: with a million ids held, a new id
/// collides with one of them once in 10^13), so the maps use them as they are.
#[derive(Debug, Default, Clone, Copy)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys are hashed")
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Debug, Default)]
struct Shard {
    expiry: HashMap<u64, i64, BuildHasherDefault<AlreadyHashed>>,
    order: VecDeque<(u64, i64)>,
}

impl MemoryDedupe {
    pub fn new(window: Duration, max_ids: usize) -> MemoryDedupe {
        MemoryDedupe {
            hasher: foldhash::fast::RandomState::default(),
            window_ms: window.as_millis() as i64,
            max_per_shard: (max_ids / SHARDS).max(1),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// Picks the shard from middle bits: the maps index buckets by the low bits and tag them
    /// with the high ones, which must stay varied within a shard.
    fn shard(&self, hash: u64) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[(hash >> 32) as usize % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

impl DedupeStore for MemoryDedupe {
    fn first_sighting(&self, id: &str, now: Timestamp) -> bool {
        let hash = self.hash(id);
        let now = now.millis();
        let mut guard = self.shard(hash);
        let shard = &mut *guard;
        while let Some(&(old, expires)) = shard.order.front() {
            if expires > now && shard.order.len() < self.max_per_shard {
                break;
            }
            shard.order.pop_front();
            // Unless the id was seen again since (then a later entry in `order` owns it).
            if let Entry::Occupied(entry) = shard.expiry.entry(old) {
                if *entry.get() == expires {
                    entry.remove();
                }
            }
        }
        let expires = now + self.window_ms;
        match shard.expiry.entry(hash) {
            Entry::Occupied(entry) if *entry.get() > now => return false,
            Entry::Occupied(mut entry) => {
                entry.insert(expires);
            }
            Entry::Vacant(entry) => {
                entry.insert(expires);
            }
        }
        shard.order.push_back((hash, expires));
        true
    }

    fn forget(&self, id: &str) {
        let hash = self.hash(id);
        self.shard(hash).expiry.remove(&hash);
    }

    fn for_child(&self) -> Arc<dyn DedupeStore> {
        Arc::new(MemoryDedupe {
            hasher: foldhash::fast::RandomState::default(),
            window_ms: self.window_ms,
            max_per_shard: self.max_per_shard,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_seen_within_the_window_is_a_duplicate() {
        let store = MemoryDedupe::new(Duration::from_secs(60), 1000);
        let t = Timestamp(1_000_000);
        assert!(store.first_sighting("evt_1", t));
        assert!(!store.first_sighting("evt_1", Timestamp(t.0 + 59_000)));
        assert!(
            store.first_sighting("evt_1", Timestamp(t.0 + 61_000)),
            "window passed"
        );
    }

    #[test]
    fn forgotten_ids_are_accepted_again() {
        let store = MemoryDedupe::new(Duration::from_secs(60), 1000);
        assert!(store.first_sighting("a", Timestamp(0)));
        store.forget("a");
        assert!(store.first_sighting("a", Timestamp(1)));
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_are_evicted_first() {
        let store = MemoryDedupe::new(Duration::from_secs(3600), 16 * 10);
        for i in 0..10_000 {
            assert!(store.first_sighting(&format!("id-{i}"), Timestamp(i)));
        }
        let held: usize = store
            .shards
            .iter()
            .map(|s| s.lock().unwrap().expiry.len())
            .sum();
        assert!(held <= 16 * 10, "{held}");
        assert!(
            !store.first_sighting("id-9999", Timestamp(10_000)),
            "newest kept"
        );
        assert!(
            store.first_sighting("id-0", Timestamp(10_000)),
            "oldest evicted"
        );
    }
}
