//! The message ids this process makes, and knowing them again.
//!
//! Every message the caller gives no id gets one here, and the dedupe check that follows asks
//! after it; both are on every `track()` call's path. A random UUID v4 costs a draw from a
//! cryptographic generator and, in the dedupe store, a slot in a hash table that soon
//! outgrows the cache: a cache miss and a share of the table's growth on every call (in the
//! Node bench, 150-180 ns of a 1.3 µs call). An id made here needs neither. It is unique by
//! construction, and [`made_here`] gives back its sequence number, so the store can keep it
//! as one bit at that number (see `pipeline::dedupe`).
//!
//! An id is a UUID in the v4 layout (version 4, variant 10: any UUID parser or validator
//! takes it) whose 122 free bits are 60 drawn at random once per process, and drawn again in
//! a forked child, followed by 62 that are a keyed permutation of the process's count of ids
//! made. So within a process ids differ because the counts do, and across processes because
//! the random parts do (two processes share theirs with probability 2^-60, and even then
//! their permutation keys differ). The permutation keeps the ids from reading as a count of
//! the process's events; it is not a secret and nothing relies on it being one.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;

use crate::fork::PerGeneration;

/// A made id's text: `xxxxxxxx-xxxx-4xxx-` (the random part, the same for every id of a
/// process) then `yyyy-yyyyyyyyyyyy` (the variant bits and the permuted count).
const LENGTH: usize = 36;
const PREFIX: usize = 19;
const COUNT_BITS: u32 = 62;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
/// The UUID variant `10`, in the top bits of the id's second half.
const VARIANT: u64 = 0b10 << COUNT_BITS;

/// A fresh message id, unique in this process and, by its random part, across processes.
pub fn new_message_id() -> String {
    let maker = Maker::current();
    let count = maker.next.fetch_add(1, Ordering::Relaxed);
    debug_assert!(count <= COUNT_MASK, "2^62 ids made");
    let mut text = [0u8; LENGTH];
    text[..PREFIX].copy_from_slice(&maker.prefix);
    let low = VARIANT | permute(count, maker.key);
    write_hex(&mut text[PREFIX..PREFIX + 4], low >> 48);
    text[PREFIX + 4] = b'-';
    write_hex(&mut text[PREFIX + 5..], low);
    // Hex digits and hyphens only.
    String::from_utf8(text.to_vec()).unwrap_or_default()
}

/// The sequence number `id` was made with, if this process (since its last fork) made it
/// exactly so: lowercase, as [`new_message_id`] writes it. Anything else is somebody else's
/// id, including a text that only looks like one of ours (a count not made yet).
pub fn made_here(id: &str) -> Option<u64> {
    let maker = Maker::current();
    let text = id.as_bytes();
    if text.len() != LENGTH || text[..PREFIX] != maker.prefix || text[PREFIX + 4] != b'-' {
        return None;
    }
    let low = read_hex(&text[PREFIX..PREFIX + 4])? << 48 | read_hex(&text[PREFIX + 5..])?;
    if low & !COUNT_MASK != VARIANT {
        return None;
    }
    let count = unpermute(low & COUNT_MASK, maker.key);
    (count < maker.next.load(Ordering::Relaxed)).then_some(count)
}

/// Whether `id` starts as the ids this process makes do: a cheap first look (a comparison of
/// 19 bytes) for a caller that only needs to know which way [`made_here`] will likely go.
pub fn looks_made_here(id: &str) -> bool {
    id.len() == LENGTH && id.as_bytes()[..PREFIX] == Maker::current().prefix
}

/// One process's (one fork generation's) random part, permutation key and count.
struct Maker {
    prefix: [u8; PREFIX],
    key: u64,
    next: AtomicU64,
}

static MAKER: PerGeneration<Maker> = PerGeneration::new();

impl Maker {
    fn current() -> &'static Maker {
        MAKER.get(Maker::new, drop)
    }

    /// A new random part and key. The thread's generator is reseeded first: a forked child
    /// inherits its parent's generator state, and would draw the parent's next numbers.
    fn new() -> Maker {
        let mut rng = rand::rng();
        if let Err(e) = rng.reseed() {
            log::error!(target: "tracklane", "cannot reseed message ids: {e}");
        }
        let high = rng.next_u64() & !(0xF << 12) | 0x4 << 12;
        let mut prefix = [0u8; PREFIX];
        let mut digits = [0u8; 16];
        write_hex(&mut digits, high);
        prefix[..8].copy_from_slice(&digits[..8]);
        prefix[8] = b'-';
        prefix[9..13].copy_from_slice(&digits[8..12]);
        prefix[13] = b'-';
        prefix[14..18].copy_from_slice(&digits[12..]);
        prefix[18] = b'-';
        Maker {
            prefix,
            key: rng.next_u64(),
            next: AtomicU64::new(0),
        }
    }
}

/// Writes the low `out.len()` hex digits of `value`, lowercase, most significant first.
fn write_hex(out: &mut [u8], value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let n = out.len();
    for (i, digit) in out.iter_mut().enumerate() {
        *digit = DIGITS[(value >> (4 * (n - 1 - i)) & 0xF) as usize];
    }
}

/// Reads lowercase hex digits (as [`write_hex`] writes them; anything else is `None`). A table
/// and no branch per digit: every first sighting of an id reads one.
fn read_hex(text: &[u8]) -> Option<u64> {
    /// Each byte's digit value, or 0xFF for a byte that is not a lowercase hex digit.
    const VALUES: [u8; 256] = {
        let mut values = [0xFF; 256];
        let mut c = 0;
        while c < 10 {
            values[b'0' as usize + c] = c as u8;
            c += 1;
        }
        let mut c = 0;
        while c < 6 {
            values[b'a' as usize + c] = 10 + c as u8;
            c += 1;
        }
        values
    };
    let mut value = 0u64;
    let mut invalid = 0u8;
    for &c in text {
        let digit = VALUES[c as usize];
        invalid |= digit;
        value = value << 4 | u64::from(digit & 0xF);
    }
    (invalid & 0xF0 == 0).then_some(value)
}

// A bijection on 62 bits: a key, then two rounds of multiply (odd constants: invertible mod
// 2^62) and xorshift (invertible), after splitmix64's finalizer.
const M1: u64 = 0xbf58_476d_1ce4_e5b9;
const M2: u64 = 0x94d0_49bb_1331_11eb;
const M1_INVERSE: u64 = inverse(M1);
const M2_INVERSE: u64 = inverse(M2);

/// The inverse of odd `m` modulo 2^64 (and so modulo 2^62): Newton's iteration doubles the
/// correct low bits each round, from the 3 that `m` itself gets right.
const fn inverse(m: u64) -> u64 {
    let mut x = m;
    let mut round = 0;
    while round < 5 {
        x = x.wrapping_mul(2u64.wrapping_sub(m.wrapping_mul(x)));
        round += 1;
    }
    x
}

fn permute(count: u64, key: u64) -> u64 {
    let mut x = (count ^ key) & COUNT_MASK;
    x = x.wrapping_mul(M1) & COUNT_MASK;
    x ^= x >> 31;
    x = x.wrapping_mul(M2) & COUNT_MASK;
    x ^ x >> 29
}

fn unpermute(permuted: u64, key: u64) -> u64 {
    // x ^ x >> s is undone by y ^ y >> s ^ y >> 2s ^ ... while the shift is under 62 bits.
    let mut x = permuted ^ permuted >> 29 ^ permuted >> 58;
    x = x.wrapping_mul(M2_INVERSE) & COUNT_MASK;
    x ^= x >> 31;
    x = x.wrapping_mul(M1_INVERSE) & COUNT_MASK;
    (x ^ key) & COUNT_MASK
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn ids_are_uuids_in_the_v4_layout_and_distinct() {
        let ids: Vec<String> = (0..10_000).map(|_| new_message_id()).collect();
        for id in &ids {
            let uuid = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(uuid.get_version_num(), 4, "{id}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_eq!(uuid.hyphenated().to_string(), *id, "lowercase, hyphenated");
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        // The counted half does not read as a count: consecutive ids differ all over it.
        let (a, b) = (&ids[0][19..], &ids[1][19..]);
        let differing = a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count();
        assert!(differing > 6, "{a} {b}");
    }

    #[test]
    fn an_id_made_here_gives_back_its_count() {
        let first = made_here(&new_message_id()).expect("made here");
        let second = made_here(&new_message_id()).expect("made here");
        assert!(second > first, "{first} then {second}");
    }

    #[test]
    fn other_ids_are_not_taken_for_ours() {
        let id = new_message_id();
        assert!(looks_made_here(&id));
        let upper = id.to_uppercase();
        let mut other_digit = id.clone().into_bytes();
        other_digit[30] = if other_digit[30] == b'0' { b'1' } else { b'0' };
        let other_digit = String::from_utf8(other_digit).unwrap();
        for other in [
            "evt_1".to_string(),
            uuid::Uuid::new_v4().to_string(),
            upper,
            format!("{id} "),
            id[..35].to_string(),
            // Ours in form, but its count was not made yet (a count in 2^62).
            other_digit,
        ] {
            assert_eq!(made_here(&other), None, "{other}");
        }
        assert!(!looks_made_here("evt_1"));
    }

    proptest! {
        #[test]
        fn the_permutation_is_undone(count in 0..=COUNT_MASK, key in any::<u64>()) {
            let permuted = permute(count, key);
            prop_assert!(permuted <= COUNT_MASK);
            prop_assert_eq!(unpermute(permuted, key), count);
        }
    }

    #[test]
    fn hex_is_read_back_and_only_lowercase_digits_are_hex() {
        let mut text = [0u8; 16];
        write_hex(&mut text, 0x0123_4567_89ab_cdef);
        assert_eq!(&text, b"0123456789abcdef");
        assert_eq!(read_hex(&text), Some(0x0123_4567_89ab_cdef));
        for bad in [&b"00A0"[..], b"00g0", b"-000", b"00 0"] {
            assert_eq!(read_hex(bad), None);
        }
    }
}
