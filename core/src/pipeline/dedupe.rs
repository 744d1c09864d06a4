//! Client-side de-duplication by message id.
//!
//! A message id seen again within the window is dropped before it is queued, and the caller
//! is told (`Outcome::Duplicate`). That is what makes a replayed webhook (same Stripe event
//! id as message id) safe for collectors without server-side idempotency (Web Analyzer).
//! The store is a trait so a Redis store (`SET NX` with a TTL) can share the window across
//! processes and hosts later; the in-memory store is the default.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::id_table::{Table, EMPTY};
use crate::time::Timestamp;

/// "Mark as processed (TTL: 48 hours)" — the window the seeds' webhook example uses.
pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(48 * 3600);
/// Ids remembered at most; the oldest are forgotten first. Measured RSS: 1M ids about 23 MB (a
/// slot in a table kept half to three quarters full, and a place in the eviction queue),
/// 200,000 about 6 MB.
pub const DEFAULT_DEDUPE_MAX_IDS: usize = 1_000_000;
const SHARDS: usize = 16;

/// Remembers message ids for a window.
pub trait DedupeStore: Send + Sync + std::fmt::Debug {
    /// Records `id` and returns `true` if it was not seen within the window.
    fn first_sighting(&self, id: &str, now: Timestamp) -> bool;
    /// Says `id` will be asked about soon (a call's validation and encoding come first): the
    /// in-memory store starts loading the slot it will probe so that the check finds it in
    /// cache; a shared store could send its request early. Does nothing by default.
    fn prefetch(&self, _id: &str) {}
    /// Forgets `id` (its message was not queued after all, so a retry must be accepted).
    fn forget(&self, id: &str);
    /// The client that asks this store is closed and will ask no more: the in-memory store lets
    /// its ids and their memory go (tens of MB when full) rather than hold them until the
    /// client itself is dropped. A shared store keeps them: other processes still ask.
    fn close(&self) {}
    /// The store a forked child should use. The in-memory store starts empty (its locks may
    /// have been held by a thread that no longer exists); a shared store reconnects.
    fn for_child(&self) -> Arc<dyn DedupeStore>;
}

/// In-process store: 64-bit hashes of ids with their expiry, in 16 shards, oldest evicted
/// first once `max_ids` is reached. An id is held for the window and at most a 1/1024 of it
/// more (see [`Shard::expiries`]).
#[derive(Debug)]
pub struct MemoryDedupe {
    hasher: foldhash::fast::RandomState,
    window_ms: i64,
    /// What expiries are rounded up to (see [`Shard::expiries`]).
    step_ms: i64,
    max_per_shard: usize,
    shards: Vec<Mutex<Shard>>,
    /// Where each shard's slots are, readable without its lock (see [`DedupeStore::prefetch`]).
    slots_at: Vec<SlotsAt>,
}

/// A shard's slot array and its size, published whenever the table moves, and the home slot
/// of the id the shard's next sighting will evict (0 while the shard is not full). Read
/// without the lock only to prefetch: a prefetch never faults, so a stale or torn value costs
/// nothing but a wasted load.
#[derive(Debug, Default)]
struct SlotsAt {
    base: AtomicUsize,
    size: AtomicUsize,
    victim: AtomicUsize,
}

impl SlotsAt {
    /// The address of `hash`'s home slot, or 0 before the shard's table exists.
    fn home(&self, hash: u64) -> usize {
        let base = self.base.load(Ordering::Relaxed);
        if base == 0 {
            return 0;
        }
        Table::home_address(base, self.size.load(Ordering::Relaxed), hash)
    }
}

/// Starts loading the cache line at `address` (0: nothing to load).
fn prefetch_line(address: usize) {
    if address == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint, not an access: it never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(address as *const i8);
    }
}

/// Expiries are rounded up to a step of this fraction of the window (a millisecond at least).
const EXPIRY_STEPS: i64 = 1024;

/// The ids a shard holds: each one in `ids` and once in `order` (oldest first), which says
/// when it goes. An entry of `order` whose id was forgotten is marked [`EMPTY`], so that
/// evicting it later cannot take out the same id seen again since.
#[derive(Debug, Default)]
struct Shard {
    ids: Table,
    order: VecDeque<u64>,
    /// When the entries of `order` expire, as runs in the same order: `(expires, count)`
    /// says the next `count` entries expire at `expires`. Expiries are rounded up to a step
    /// (a 1/1024 of the window), so the ids seen within one step share a run: a busy store
    /// keeps 8 bytes an id here rather than 16 (200,000 ids: 2.1 MB less).
    expiries: VecDeque<(i64, u32)>,
}

impl Shard {
    fn push(&mut self, hash: u64, expires: i64) {
        self.order.push_back(hash);
        match self.expiries.back_mut() {
            Some((last, count)) if *last == expires && *count < u32::MAX => *count += 1,
            _ => self.expiries.push_back((expires, 1)),
        }
    }

    /// The oldest entry and its expiry.
    fn oldest(&self) -> Option<(u64, i64)> {
        Some((*self.order.front()?, self.expiries.front()?.0))
    }

    fn pop_oldest(&mut self) {
        if self.order.pop_front().is_none() {
            return;
        }
        if let Some((_, count)) = self.expiries.front_mut() {
            *count -= 1;
            if *count == 0 {
                self.expiries.pop_front();
            }
        }
    }
}

impl MemoryDedupe {
    pub fn new(window: Duration, max_ids: usize) -> MemoryDedupe {
        MemoryDedupe {
            hasher: foldhash::fast::RandomState::default(),
            window_ms: window.as_millis() as i64,
            step_ms: (window.as_millis() as i64 / EXPIRY_STEPS).max(1),
            max_per_shard: (max_ids / SHARDS).max(1),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            slots_at: (0..SHARDS).map(|_| SlotsAt::default()).collect(),
        }
    }

    fn hash(&self, id: &str) -> u64 {
        // 0 marks an empty slot.
        self.hasher.hash_one(id).max(1)
    }

    /// Picks the shard from middle bits: a table indexes its slots by the low bits, which must
    /// stay varied within a shard.
    fn shard_index(hash: u64) -> usize {
        (hash >> 32) as usize % SHARDS
    }

    fn shard(&self, hash: u64) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[Self::shard_index(hash)]
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
        while let Some((old, expires)) = shard.oldest() {
            if expires > now && shard.order.len() < self.max_per_shard {
                break;
            }
            shard.pop_oldest();
            // `order` holds each id of `ids` once (a forgotten id's entry is EMPTY), so the
            // table holds no expired id (whatever a clock set back keeps longer).
            if old != EMPTY {
                shard.ids.remove(old);
            }
        }
        if shard.ids.contains(hash) {
            return false;
        }
        let size = shard.ids.capacity();
        shard.ids.insert(hash);
        let at = &self.slots_at[Self::shard_index(hash)];
        if shard.ids.capacity() != size {
            at.base.store(shard.ids.base(), Ordering::Relaxed);
            at.size.store(shard.ids.capacity(), Ordering::Relaxed);
        }
        let expires = now.saturating_add(self.window_ms);
        let step = self.step_ms;
        shard.push(
            hash,
            expires.saturating_add(step - 1).div_euclid(step) * step,
        );
        // A full shard evicts its oldest id on its next sighting: a slot far from any other
        // in a table larger than the cache, so it is prefetched with that sighting's own.
        let victim = match shard.order.front() {
            Some(&old) if old != EMPTY && shard.order.len() >= self.max_per_shard => at.home(old),
            _ => 0,
        };
        at.victim.store(victim, Ordering::Relaxed);
        true
    }

    fn prefetch(&self, id: &str) {
        let hash = self.hash(id);
        let at = &self.slots_at[Self::shard_index(hash)];
        prefetch_line(at.home(hash));
        prefetch_line(at.victim.load(Ordering::Relaxed));
    }

    fn forget(&self, id: &str) {
        let hash = self.hash(id);
        let mut shard = self.shard(hash);
        if shard.ids.remove(hash) {
            // Its entry in `order` is the newest for it, and near the end: the id is forgotten
            // just after its sighting (its event could not be queued).
            if let Some(entry) = shard.order.iter_mut().rev().find(|h| **h == hash) {
                *entry = EMPTY;
            }
        }
    }

    fn close(&self) {
        for (shard, at) in self.shards.iter().zip(&self.slots_at) {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            // Unpublished first: a prefetch must not aim at a table about to be freed.
            at.base.store(0, Ordering::Relaxed);
            at.victim.store(0, Ordering::Relaxed);
            *shard = Shard::default();
        }
    }

    fn for_child(&self) -> Arc<dyn DedupeStore> {
        Arc::new(MemoryDedupe {
            hasher: foldhash::fast::RandomState::default(),
            window_ms: self.window_ms,
            step_ms: self.step_ms,
            max_per_shard: self.max_per_shard,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            slots_at: (0..SHARDS).map(|_| SlotsAt::default()).collect(),
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
    fn an_id_is_held_for_the_window_and_at_most_a_step_more() {
        // A 1,024-second window: expiries are rounded up to whole seconds.
        let store = MemoryDedupe::new(Duration::from_secs(1024), 1000);
        assert!(store.first_sighting("a", Timestamp(0)));
        assert!(store.first_sighting("b", Timestamp(1)));
        assert!(!store.first_sighting("a", Timestamp(1_023_999)));
        assert!(
            store.first_sighting("a", Timestamp(1_024_000)),
            "a's window passed"
        );
        assert!(
            !store.first_sighting("b", Timestamp(1_024_999)),
            "b's window passed at 1,024,001; it is held to the end of that second"
        );
        assert!(store.first_sighting("b", Timestamp(1_025_000)));
    }

    #[test]
    fn ids_seen_within_a_step_share_one_expiry() {
        let store = MemoryDedupe::new(Duration::from_secs(1024), 100_000);
        for i in 0..10_000 {
            // Times 1 to 2,000 ms: two whole seconds of expiries, two runs a shard at most,
            // against 10,000 entries.
            assert!(store.first_sighting(&format!("id-{i}"), Timestamp(1 + i / 5)));
        }
        let (entries, runs) = store.shards.iter().fold((0, 0), |(e, r), shard| {
            let shard = shard.lock().unwrap();
            let counted: u32 = shard.expiries.iter().map(|(_, n)| n).sum();
            assert_eq!(
                counted as usize,
                shard.order.len(),
                "runs count every entry"
            );
            (e + shard.order.len(), r + shard.expiries.len())
        });
        assert_eq!(entries, 10_000);
        assert!(runs <= 2 * SHARDS, "{runs} runs");
        // And they go in order, the first second's before the second's.
        assert!(!store.first_sighting("id-9999", Timestamp(1_025_999)));
        assert!(store.first_sighting("id-0", Timestamp(1_025_999)));
        assert!(store.first_sighting("id-9999", Timestamp(1_026_000)));
    }

    #[test]
    fn a_prefetch_changes_no_answer() {
        let store = MemoryDedupe::new(Duration::from_secs(60), 1000);
        store.prefetch("evt_1");
        assert!(store.first_sighting("evt_1", Timestamp(0)));
        for i in 0..100 {
            store.prefetch(&format!("evt_{i}"));
        }
        assert!(!store.first_sighting("evt_1", Timestamp(1)));
        assert!(store.first_sighting("evt_2", Timestamp(1)));
    }

    #[test]
    fn a_closed_store_holds_no_ids_and_still_answers() {
        let store = MemoryDedupe::new(Duration::from_secs(60), 1000);
        for i in 0..500 {
            store.first_sighting(&format!("id-{i}"), Timestamp(0));
        }
        store.close();
        for shard in &store.shards {
            let shard = shard.lock().unwrap();
            let capacities = (shard.ids.capacity(), shard.order.capacity());
            assert_eq!((capacities, shard.expiries.capacity()), ((0, 0), 0));
        }
        store.prefetch("id-1");
        assert!(store.first_sighting("id-1", Timestamp(1)));
        assert!(!store.first_sighting("id-1", Timestamp(2)));
    }

    #[test]
    fn forgotten_ids_are_accepted_again() {
        let store = MemoryDedupe::new(Duration::from_secs(60), 1000);
        assert!(store.first_sighting("a", Timestamp(0)));
        store.forget("a");
        assert!(store.first_sighting("a", Timestamp(1)));
    }

    #[test]
    fn a_forgotten_id_seen_again_outlives_its_first_entry() {
        let store = MemoryDedupe::new(Duration::from_millis(100), 1000);
        assert!(store.first_sighting("a", Timestamp(0)));
        store.forget("a");
        assert!(store.first_sighting("a", Timestamp(50)), "forgotten");
        // The first sighting's entry expires at 100 and goes; the second's holds until 150.
        assert!(
            !store.first_sighting("a", Timestamp(120)),
            "the second sighting is still held"
        );
        assert!(store.first_sighting("a", Timestamp(160)), "window passed");
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
            .map(|s| s.lock().unwrap().ids.len())
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
