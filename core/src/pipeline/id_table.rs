//! The in-memory dedupe store's table of id hashes, and the memory it lives in. Apart from the
//! store because the memory is the hard part: tables large enough to miss the TLB on every
//! probe are mapped on huge pages, smaller ones come from the allocator (see [`Slots`]).
//! Never locks and never allocates outside `insert`: the store's shard lock covers it.

use std::ptr::NonNull;

/// Id hashes: open addressing with linear probing, one 8-byte slot per id (the expiry lives in
/// the shard's `order` alone), so a new id costs one cache line where a map with separate
/// control bytes costs two. The keys are already hashes (64 bits, per-process seed: with a
/// million ids held, a new id collides with one of them once in 10^13) and are used as they
/// are; 0 marks an empty slot. A hash's home slot is its low 32 bits scaled to the table's
/// size, which can be any size: the table grows by half, so it stays between half and three
/// quarters full (doubling left it as little as three eighths full: 200,000 ids took 4.2 MB,
/// 3 MB now).
#[derive(Debug, Default)]
pub(super) struct Table {
    slots: Slots,
    len: usize,
}

/// No id: an empty slot.
const EMPTY: u64 = 0;

/// A table's slots. A table of 1 MiB or more (a store of some 1.4 million ids and more) is
/// mapped for itself: aligned to 2 MiB, advised onto huge pages and given as many slots as
/// fill them, zeroed by the kernel and given back when it grows or is dropped. On 4 KiB pages
/// nearly every probe (and prefetch) in tables that large also misses the TLB, and a page walk
/// costs several memory loads, more in a virtual machine (a million ids, 16 tables of 925 KB,
/// still check in 93-120 ns). Smaller tables come from the allocator, which serves each
/// doubling from memory it already has: a fresh mapping for each would be first touched page
/// by page, a fault each.
struct Slots {
    start: NonNull<u64>,
    len: usize,
    owner: Owner,
}

/// Who gives a table's memory back, and how.
enum Owner {
    /// An empty table: nothing.
    None,
    /// A `Vec` with this capacity.
    Heap(usize),
    /// A mapping: its address and length.
    Mapped(usize, usize),
}

const HUGE_PAGE: usize = 2 << 20;
/// Tables from this size on are mapped on a huge page (or several).
const MAPPED_FROM: usize = HUGE_PAGE / 2;

impl Slots {
    /// At least `len` empty slots (`EMPTY` is all zero bytes): a mapped table has as many as
    /// fill its huge pages.
    fn zeroed(len: usize) -> Slots {
        let bytes = len * std::mem::size_of::<u64>();
        if bytes == 0 {
            return Slots::default();
        }
        if bytes < MAPPED_FROM {
            let mut slots = std::mem::ManuallyDrop::new(vec![EMPTY; len]);
            return Slots {
                start: NonNull::new(slots.as_mut_ptr()).expect("a Vec's buffer is not null"),
                len,
                owner: Owner::Heap(slots.capacity()),
            };
        }
        // Whole huge pages, every slot of them used, and room to slide the start up to the
        // next 2 MiB boundary.
        let len = bytes.next_multiple_of(HUGE_PAGE) / std::mem::size_of::<u64>();
        let length = bytes.next_multiple_of(HUGE_PAGE) + HUGE_PAGE;
        // SAFETY: a new private anonymous mapping; no existing memory is touched.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                length,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            std::alloc::handle_alloc_error(std::alloc::Layout::array::<u64>(len).unwrap());
        }
        #[cfg(target_os = "linux")]
        // SAFETY: advice on the mapping just made; refused advice (no THP) changes nothing.
        unsafe {
            libc::madvise(address, length, libc::MADV_HUGEPAGE);
        }
        let first = (address as usize).next_multiple_of(HUGE_PAGE);
        Slots {
            start: NonNull::new(first as *mut u64).expect("mmap returned a non-null address"),
            len,
            owner: Owner::Mapped(address as usize, length),
        }
    }
}

impl Default for Slots {
    fn default() -> Slots {
        Slots {
            start: NonNull::dangling(),
            len: 0,
            owner: Owner::None,
        }
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        match self.owner {
            Owner::None => {}
            // SAFETY: the parts of the `Vec` `zeroed` made and forgot, given back once.
            Owner::Heap(capacity) => unsafe {
                drop(Vec::from_raw_parts(self.start.as_ptr(), self.len, capacity));
            },
            // SAFETY: unmaps the mapping `zeroed` made, which nothing else refers to.
            Owner::Mapped(address, length) => unsafe {
                libc::munmap(address as *mut libc::c_void, length);
            },
        }
    }
}

impl std::ops::Deref for Slots {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        // SAFETY: `len` initialized slots from `start` lie in the memory `owner` holds (or none).
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for Slots {
    fn deref_mut(&mut self) -> &mut [u64] {
        // SAFETY: as in `deref`; `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.start.as_ptr(), self.len) }
    }
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Slots({})", self.len)
    }
}

// SAFETY: `Slots` owns its memory as a `Vec` owns its buffer; nothing else points into it.
unsafe impl Send for Slots {}
// SAFETY: shared access only reads (through `Deref`).
unsafe impl Sync for Slots {}

impl Table {
    /// Ids held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Slots, held or empty: the table grew when this changed.
    pub(super) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Where the slots start, for a prefetch that reads without the shard's lock.
    pub(super) fn base(&self) -> usize {
        self.slots.as_ptr() as usize
    }

    /// The address of `hash`'s home slot in a table whose [`Table::base`] and
    /// [`Table::capacity`] were `base` and `size` (read elsewhere, without the lock: only ever
    /// prefetched).
    pub(super) fn home_address(base: usize, size: usize, hash: u64) -> usize {
        base.wrapping_add(home(size, hash) * std::mem::size_of::<u64>())
    }

    /// Where `hash` is, or the empty slot where it would go. The table is never full.
    fn find(&self, hash: u64) -> (usize, bool) {
        let size = self.slots.len();
        let mut i = home(size, hash);
        loop {
            match self.slots[i] {
                h if h == hash => return (i, true),
                EMPTY => return (i, false),
                _ => i = next(size, i),
            }
        }
    }

    pub(super) fn contains(&self, hash: u64) -> bool {
        !self.slots.is_empty() && self.find(hash).1
    }

    /// Adds `hash` (nothing if it is there already).
    pub(super) fn insert(&mut self, hash: u64) {
        // Kept at most three quarters full: a probe run still fits in a cache line or two.
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let (i, found) = self.find(hash);
        if !found {
            self.len += 1;
            self.slots[i] = hash;
        }
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 3 / 2).max(16);
        let old = std::mem::replace(&mut self.slots, Slots::zeroed(size));
        for &hash in old.iter().filter(|&&h| h != EMPTY) {
            let (i, _) = self.find(hash);
            self.slots[i] = hash;
        }
    }

    /// Removes `hash`; says whether it was there. Later entries of the probe run shift back
    /// into the gap (no tombstones: lookups stay as short as the load allows).
    pub(super) fn remove(&mut self, hash: u64) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        let (mut gap, found) = self.find(hash);
        if !found {
            return false;
        }
        self.len -= 1;
        let size = self.slots.len();
        let mut j = gap;
        loop {
            j = next(size, j);
            let h = self.slots[j];
            if h == EMPTY {
                break;
            }
            let home = home(size, h);
            // Move `j` back unless its home lies cyclically in (gap, j].
            let stays = if gap <= j {
                gap < home && home <= j
            } else {
                gap < home || home <= j
            };
            if !stays {
                self.slots[gap] = h;
                gap = j;
            }
        }
        self.slots[gap] = EMPTY;
        true
    }
}

/// The home slot of `hash` in a table of `size` slots.
fn home(size: usize, hash: u64) -> usize {
    (((hash & 0xffff_ffff) * size as u64) >> 32) as usize
}

/// The slot after `i`, wrapping at the end of the table.
fn next(size: usize, i: usize) -> usize {
    if i + 1 == size {
        0
    } else {
        i + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_table_starts_on_a_huge_page_boundary_and_empty() {
        for len in [16, 1 << 16, 1 << 17, 1 << 18, 200_000] {
            let mut slots = Slots::zeroed(len);
            assert!(slots.len() >= len, "{len} slots");
            let len = slots.len();
            if len * std::mem::size_of::<u64>() >= MAPPED_FROM {
                assert_eq!(slots.as_ptr() as usize % HUGE_PAGE, 0, "{len} slots");
            }
            assert!(slots.iter().all(|&slot| slot == EMPTY));
            slots[len - 1] = 7;
            assert_eq!(slots[len - 1], 7);
        }
    }

    #[test]
    fn the_home_address_is_where_a_lone_id_is_stored() {
        let mut table = Table::default();
        let hash = 0x1234_5678_9abc_def1;
        table.insert(hash);
        let at = table.slots.iter().position(|&h| h == hash).unwrap();
        assert_eq!(
            Table::home_address(table.base(), table.capacity(), hash),
            &table.slots[at] as *const u64 as usize
        );
    }

    #[test]
    fn the_table_agrees_with_a_set_through_insertions_and_removals() {
        use std::collections::HashSet;
        // Hashes that differ only in the top bits of their low half crowd a few home slots
        // (some near the end of the table), so probe runs wrap and shift back.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut table = Table::default();
        let mut model: HashSet<u64> = HashSet::new();
        for step in 0..100_000 {
            let r = next();
            let hash = match r % 3 {
                0 => ((r % 64) << 26) | 1,
                1 => (((r >> 8) % 4096) << 20) | 1,
                _ => (r >> 1).max(1),
            };
            match (r >> 60) % 4 {
                0 => assert_eq!(table.remove(hash), model.remove(&hash), "step {step}"),
                _ => {
                    table.insert(hash);
                    model.insert(hash);
                }
            }
            if step % 9_973 == 0 {
                assert_eq!(table.len, model.len());
                for h in &model {
                    assert!(table.contains(*h), "hash {h} at step {step}");
                }
            }
            assert_eq!(table.contains(hash), model.contains(&hash), "step {step}");
        }
        let live = table.slots.iter().filter(|&&h| h != EMPTY).count();
        assert_eq!(live, model.len());
    }
}
