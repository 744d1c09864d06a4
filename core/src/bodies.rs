//! Strings for encoded event bodies, reused. A body is written on the caller's thread and
//! freed on a lane's once settled; an allocator serves such a cross-thread pair through its
//! slow, locked path every time. Lanes hand settled bodies back here and encoders take them
//! again, so a steady stream of events allocates nothing for its bodies.
//!
//! Never blocks: a busy shared list (or one a vanished thread held when the process forked)
//! only means a new string, or a settled one freed as usual.

use std::cell::RefCell;
use std::sync::Mutex;

/// Strings kept at most, and the largest kept: a few batches of ordinary events (2 MB at
/// most), never a burst's worth or a huge event.
const KEEP: usize = 2_048;
const KEEP_CAPACITY: usize = 1_024;
/// Strings a thread takes from the shared list at once, so the lock is taken once per this
/// many events.
const REFILL: usize = 32;
/// Room left after a body for the message id its queue item appends (a UUID is 36 bytes).
pub const ID_ROOM: usize = 40;

static POOL: Pool = Pool::new();

thread_local! {
    static LOCAL: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// `body` in a reused string when one is at hand (in a new one, with [`ID_ROOM`], if not).
pub fn copy_of(body: &str) -> String {
    let reused = LOCAL
        .try_with(|local| POOL.take(&mut *local.try_borrow_mut().ok()?))
        .ok()
        .flatten();
    let mut text = reused.unwrap_or_default();
    text.clear();
    text.reserve(body.len() + ID_ROOM);
    text.push_str(body);
    text
}

/// Takes back the strings of settled events (up to [`KEEP`], none over [`KEEP_CAPACITY`]).
pub fn give_back(texts: impl IntoIterator<Item = String>) {
    POOL.give_back(texts);
}

/// The shared list; each thread keeps a few strings of its own in front of it.
struct Pool {
    shared: Mutex<Vec<String>>,
}

impl Pool {
    const fn new() -> Pool {
        Pool {
            shared: Mutex::new(Vec::new()),
        }
    }

    fn take(&self, local: &mut Vec<String>) -> Option<String> {
        if local.is_empty() {
            if let Ok(mut shared) = self.shared.try_lock() {
                let from = shared.len().saturating_sub(REFILL);
                local.extend(shared.drain(from..));
            }
        }
        local.pop()
    }

    fn give_back(&self, texts: impl IntoIterator<Item = String>) {
        let Ok(mut shared) = self.shared.try_lock() else {
            return;
        };
        let room = KEEP.saturating_sub(shared.len());
        let kept = texts
            .into_iter()
            .filter(|t| t.capacity() > 0 && t.capacity() <= KEEP_CAPACITY);
        shared.extend(kept.take(room));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_given_back_are_taken_again() {
        let pool = Pool::new();
        let given = String::with_capacity(100);
        let address = given.as_ptr();
        pool.give_back([given]);
        let mut local = Vec::new();
        let taken = pool.take(&mut local).expect("a string was given back");
        assert_eq!(taken.as_ptr(), address);
        assert_eq!(pool.take(&mut local), None);
    }

    #[test]
    fn a_bounded_number_of_ordinary_strings_is_kept() {
        let pool = Pool::new();
        pool.give_back([String::with_capacity(KEEP_CAPACITY + 1), String::new()]);
        assert!(
            pool.shared.lock().unwrap().is_empty(),
            "too large, or no buffer at all"
        );
        pool.give_back((0..KEEP + 10).map(|_| String::with_capacity(64)));
        assert_eq!(pool.shared.lock().unwrap().len(), KEEP);
    }

    #[test]
    fn a_thread_takes_several_strings_at_once() {
        let pool = Pool::new();
        pool.give_back((0..REFILL * 2).map(|_| String::with_capacity(64)));
        let mut local = Vec::new();
        pool.take(&mut local);
        assert_eq!(local.len(), REFILL - 1);
        assert_eq!(pool.shared.lock().unwrap().len(), REFILL);
    }

    #[test]
    fn a_copy_has_room_for_the_message_id() {
        let text = copy_of(r#"{"event":"purchase"}"#);
        assert_eq!(text, r#"{"event":"purchase"}"#);
        assert!(text.capacity() >= text.len() + ID_ROOM);
    }
}
