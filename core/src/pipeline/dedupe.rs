//! Client-side de-duplication by message id.
//!
//! A message id seen again within the window is dropped before it is queued, and the caller
//! is told (`Outcome::Duplicate`). That is what makes a replayed webhook (same Stripe event
//! id as message id) safe for collectors without server-side idempotency (Web Analyzer).
//! The store is a trait so a Redis store (`SET NX` with a TTL) can share the window across
//! processes and hosts later; the in-memory store is the default.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::id_table::Table;
use crate::message_id::{looks_made_here, made_here};
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
    /// Forgets `id`: its message was not queued after all, or finally failed to be delivered,
    /// so a retry must be accepted.
    fn forget(&self, id: &str);
    /// The client that asks this store is closed and will ask no more: the in-memory store lets
    /// its ids and their memory go (tens of MB when full) rather than hold them until the
    /// client itself is dropped. A shared store keeps them: other processes still ask.
    fn close(&self) {}
    /// The store a forked child should use. The in-memory store starts empty (its locks may
    /// have been held by a thread that no longer exists); a shared store reconnects.
    fn for_child(&self) -> Arc<dyn DedupeStore>;
}

/// In-process store. Ids this process made (see [`crate::message_id`]: every message the caller
/// gave no id) are kept as a bit at their sequence number (see [`Made`]); any other id as a
/// 64-bit hash with its expiry, in 16 shards, oldest evicted first once `max_ids` is reached,
/// held for the window and at most a 1/1024 of it more (see [`Shard::expiries`]).
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
    /// The ids this process made that were seen.
    made: Mutex<Made>,
    /// The most words [`Made`] keeps: `max_ids` bits.
    max_made_words: usize,
}

/// The ids this process made that the store saw, one bit each at the id's sequence number:
/// 64-bit words from the one holding number `first` on, each with the latest expiry of the
/// ids set in it. A sighting sets a bit in a word the last few sightings touched: no hash and
/// no table slot far from the cache (`cargo bench --bench track`: 44 ns a sighting, against
/// 100-130 ns for the table), and a million ids take 250 KB instead of 23 MB.
///
/// Sequence numbers are the process's, not this store's: a window of `max_ids` numbers is kept,
/// so where several clients make ids at once each keeps fewer of its own. A word's ids expire
/// together, at the latest expiry among them, so an id is held for the window at least, and
/// longer by as long as the ids after it in its word took to be seen (a burst's worth of
/// milliseconds; at one event a minute, up to an hour of a 48-hour window).
#[derive(Debug, Default)]
struct Made {
    first: u64,
    words: VecDeque<u64>,
    expiries: VecDeque<i64>,
}

impl Made {
    /// Records `number`, seen at `now` and held until `expires`; `true` if it was not held.
    fn sight(&mut self, number: u64, now: i64, expires: i64, max_words: usize) -> bool {
        // Memory: words whose every id expired go from the front.
        while self.expiries.front().is_some_and(|&e| e <= now) {
            self.pop_front();
        }
        let word = number & !63;
        if self.words.is_empty() {
            self.first = word;
        }
        if word < self.first {
            // Made before the first word held: threads see the ids they made in their own
            // order, so a few words back is usual. Far back (the window moved on since) it is
            // not held, and not taken for a duplicate either.
            let behind = ((self.first - word) / 64) as usize;
            if self.words.len() + behind > max_words {
                return true;
            }
            for _ in 0..behind {
                self.words.push_front(0);
                self.expiries.push_front(expires);
            }
            self.first = word;
        }
        let mut index = ((word - self.first) / 64) as usize;
        if index >= self.words.len() + max_words {
            // So far on that nothing held would stay in the window: start again from it.
            *self = Made {
                first: word,
                ..Made::default()
            };
            index = 0;
        }
        while self.words.len() <= index {
            self.words.push_back(0);
            self.expiries.push_back(expires);
        }
        while self.words.len() > max_words {
            self.pop_front();
            index -= 1;
        }
        if self.expiries[index] <= now {
            // Every id in it expired (a word ahead of the front keeps its place until then).
            self.words[index] = 0;
        }
        let bit = 1u64 << (number % 64);
        if self.words[index] & bit != 0 {
            return false;
        }
        self.words[index] |= bit;
        self.expiries[index] = self.expiries[index].max(expires);
        true
    }

    fn forget(&mut self, number: u64) {
        if let Some(index) = number.checked_sub(self.first).map(|d| (d / 64) as usize) {
            if let Some(word) = self.words.get_mut(index) {
                *word &= !(1u64 << (number % 64));
            }
        }
    }

    fn pop_front(&mut self) {
        self.words.pop_front();
        self.expiries.pop_front();
        self.first += 64;
    }
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
/// when it goes. A forgotten id leaves the table at once and its entry in `order` stays, counted
/// in `stale`, so that evicting that entry later cannot take out the same id seen again since.
#[derive(Debug, Default)]
struct Shard {
    ids: Table,
    order: VecDeque<u64>,
    /// Entries of `order` whose id was forgotten, by id: the oldest entries for it (an id is
    /// seen again only once it left the table, so its one live entry is its newest).
    stale: HashMap<u64, u32>,
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

    /// Whether an entry of `hash` leaving `order` was a stale one (and counts it gone).
    fn take_stale(&mut self, hash: u64) -> bool {
        if self.stale.is_empty() {
            return false;
        }
        let Some(count) = self.stale.get_mut(&hash) else {
            return false;
        };
        *count -= 1;
        if *count == 0 {
            self.stale.remove(&hash);
        }
        true
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
            made: Mutex::new(Made::default()),
            max_made_words: max_ids.div_ceil(64).max(1),
        }
    }

    fn made(&self) -> std::sync::MutexGuard<'_, Made> {
        self.made.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When an id seen at `now` (ms) expires: the window on, rounded up to a step.
    fn expiry(&self, now: i64) -> i64 {
        let expires = now.saturating_add(self.window_ms);
        let step = self.step_ms;
        expires.saturating_add(step - 1).div_euclid(step) * step
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
        let now = now.millis();
        if let Some(number) = made_here(id) {
            let expires = self.expiry(now);
            return self.made().sight(number, now, expires, self.max_made_words);
        }
        let hash = self.hash(id);
        let mut guard = self.shard(hash);
        let shard = &mut *guard;
        while let Some((old, expires)) = shard.oldest() {
            if expires > now && shard.order.len() < self.max_per_shard {
                break;
            }
            shard.pop_oldest();
            // `order` holds each id of `ids` once (and the stale entries of forgotten ones), so
            // the table holds no expired id (whatever a clock set back keeps longer).
            if !shard.take_stale(old) {
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
        shard.push(hash, self.expiry(now));
        // A full shard evicts its oldest id on its next sighting: a slot far from any other
        // in a table larger than the cache, so it is prefetched with that sighting's own.
        let victim = match shard.order.front() {
            Some(&old) if shard.order.len() >= self.max_per_shard => at.home(old),
            _ => 0,
        };
        at.victim.store(victim, Ordering::Relaxed);
        true
    }

    fn prefetch(&self, id: &str) {
        if looks_made_here(id) {
            // Kept in `made`, which the last sightings left in cache.
            return;
        }
        let hash = self.hash(id);
        let at = &self.slots_at[Self::shard_index(hash)];
        prefetch_line(at.home(hash));
        prefetch_line(at.victim.load(Ordering::Relaxed));
    }

    fn forget(&self, id: &str) {
        if let Some(number) = made_here(id) {
            self.made().forget(number);
            return;
        }
        let hash = self.hash(id);
        let mut shard = self.shard(hash);
        if shard.ids.remove(hash) {
            // Its entry in `order` may be anywhere (an event that failed after hours of
            // retries): counted, not looked for.
            *shard.stale.entry(hash).or_default() += 1;
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
        *self.made() = Made::default();
    }

    fn for_child(&self) -> Arc<dyn DedupeStore> {
        Arc::new(MemoryDedupe {
            hasher: foldhash::fast::RandomState::default(),
            window_ms: self.window_ms,
            step_ms: self.step_ms,
            max_per_shard: self.max_per_shard,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            slots_at: (0..SHARDS).map(|_| SlotsAt::default()).collect(),
            made: Mutex::new(Made::default()),
            max_made_words: self.max_made_words,
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

    use crate::message_id::new_message_id;

    fn held_in_shards(store: &MemoryDedupe) -> usize {
        store
            .shards
            .iter()
            .map(|s| s.lock().unwrap().ids.len())
            .sum()
    }

    #[test]
    fn ids_made_here_are_held_as_bits_for_the_window() {
        let store = MemoryDedupe::new(Duration::from_secs(1024), 1000);
        let ids: Vec<String> = (0..200).map(|_| new_message_id()).collect();
        for id in &ids {
            store.prefetch(id);
            assert!(store.first_sighting(id, Timestamp(0)), "{id}");
        }
        assert_eq!(held_in_shards(&store), 0, "no hash table entry");
        assert!(store.made().words.len() <= 4, "200 consecutive numbers");
        for id in &ids {
            assert!(!store.first_sighting(id, Timestamp(1_023_999)), "{id}");
        }
        // Held to the end of the window's step (a second), then taken again.
        assert!(store.first_sighting(&ids[0], Timestamp(1_024_000)));
        assert!(!store.first_sighting(&ids[0], Timestamp(1_024_001)));
        // An id made and seen later is held from its own sighting.
        let later = new_message_id();
        assert!(store.first_sighting(&later, Timestamp(1_024_000)));
        assert!(!store.first_sighting(&later, Timestamp(2_047_999)));
        // Somebody else's id that looks like a UUID goes to the table as before.
        assert!(store.first_sighting("9b2a3e1c-0d4f-4a6b-8c7d-1e2f3a4b5c6d", Timestamp(0)));
        assert_eq!(held_in_shards(&store), 1);
    }

    #[test]
    fn ids_made_here_seen_out_of_order_are_all_held() {
        let store = MemoryDedupe::new(Duration::from_secs(60), 10_000);
        let ids: Vec<String> = (0..1000).map(|_| new_message_id()).collect();
        // Threads see the ids they made in their own order: here, last made first.
        for id in ids.iter().rev() {
            assert!(store.first_sighting(id, Timestamp(0)));
        }
        for id in &ids {
            assert!(!store.first_sighting(id, Timestamp(1)), "{id}");
        }
    }

    #[test]
    fn an_id_made_here_expires_with_its_word_not_with_the_front() {
        let store = MemoryDedupe::new(Duration::from_secs(1024), 10_000);
        let early = new_message_id();
        let between: Vec<String> = (0..64).map(|_| new_message_id()).collect();
        let late = between.last().unwrap();
        // The later id is seen first; the earlier one's word goes in front, expiring later.
        assert!(store.first_sighting(late, Timestamp(0)));
        assert!(store.first_sighting(&early, Timestamp(500_000)));
        assert!(!store.first_sighting(late, Timestamp(1_023_999)));
        assert!(
            store.first_sighting(late, Timestamp(1_024_000)),
            "its window passed, though a word in front of it is still held"
        );
        assert!(!store.first_sighting(&early, Timestamp(1_024_000)));
    }

    #[test]
    fn a_forgotten_id_made_here_is_accepted_again() {
        let store = MemoryDedupe::new(Duration::from_secs(60), 1000);
        let (a, b) = (new_message_id(), new_message_id());
        assert!(store.first_sighting(&a, Timestamp(0)));
        assert!(store.first_sighting(&b, Timestamp(0)));
        store.forget(&a);
        assert!(store.first_sighting(&a, Timestamp(1)));
        assert!(
            !store.first_sighting(&b, Timestamp(1)),
            "only a was forgotten"
        );
    }

    #[test]
    fn ids_made_here_are_bounded_by_max_ids_oldest_first() {
        let store = MemoryDedupe::new(Duration::from_secs(3600), 640);
        let ids: Vec<String> = (0..10_000).map(|_| new_message_id()).collect();
        for (i, id) in ids.iter().enumerate() {
            assert!(store.first_sighting(id, Timestamp(i as i64)));
        }
        assert!(store.made().words.len() <= 10, "640 numbers: 10 words");
        assert!(
            !store.first_sighting(&ids[9_999], Timestamp(10_000)),
            "newest kept"
        );
        assert!(
            store.first_sighting(&ids[0], Timestamp(10_000)),
            "oldest evicted"
        );
        // A number far past the window (other clients made many ids meanwhile) starts it again.
        let far: Vec<String> = (0..2_000).map(|_| new_message_id()).collect();
        assert!(store.first_sighting(&far[1_999], Timestamp(10_001)));
        assert_eq!(store.made().words.len(), 1);
        assert!(!store.first_sighting(&far[1_999], Timestamp(10_002)));
        assert!(
            store.first_sighting(&ids[9_999], Timestamp(10_002)),
            "out of the window"
        );
        store.close();
        assert_eq!(
            store.made().words.capacity(),
            0,
            "closed: memory given back"
        );
    }

    #[test]
    fn an_id_forgotten_long_after_its_sighting_is_accepted_again_and_held_again() {
        // A shard of 10 ids: evictions come around fast.
        let store = MemoryDedupe::new(Duration::from_secs(3600), 16 * 10);
        let mut t = 0;
        let mut sight = |store: &MemoryDedupe, id: &str| {
            t += 1;
            store.first_sighting(id, Timestamp(t))
        };
        assert!(sight(&store, "a"));
        for i in 0..5 {
            sight(&store, &format!("filler-{i}"));
        }
        // Seen, forgotten and seen again twice: two stale entries ahead of the live one.
        store.forget("a");
        assert!(sight(&store, "a"), "forgotten: taken again");
        store.forget("a");
        assert!(sight(&store, "a"));
        assert!(!sight(&store, "a"), "held again");
        // Evicting the stale entries (each filler id pushes out the oldest of its shard) leaves
        // the live one held until its own turn.
        let shard = MemoryDedupe::shard_index(store.hash("a"));
        let mut same_shard = (0..)
            .map(|i| format!("other-{i}"))
            .filter(|id| MemoryDedupe::shard_index(store.hash(id)) == shard);
        for _ in 0..7 {
            assert!(sight(&store, &same_shard.next().unwrap()));
        }
        assert!(!sight(&store, "a"), "its live entry is still in the shard");
        for _ in 0..10 {
            sight(&store, &same_shard.next().unwrap());
        }
        assert!(sight(&store, "a"), "evicted in its turn");
        assert!(store.shards[shard].lock().unwrap().stale.is_empty());
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
