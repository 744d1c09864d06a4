//! The memory budget: one bound on everything the client holds for delivery (queued,
//! batched, in flight, waiting to retry), by bytes of encoded events and by event count.
//!
//! Reserved at `track()`, released when an event is settled (delivered or failed). When it is
//! full, `drop_newest` refuses the new event at once (a web request never waits on
//! analytics); `block` waits up to a timeout for room (imports slow down instead of losing).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Budget {
    max_bytes: usize,
    max_events: usize,
    bytes: AtomicUsize,
    events: AtomicUsize,
    /// Only `block` waiters touch this; the fast path is two atomics.
    room: (Mutex<()>, Condvar),
}

impl Budget {
    pub fn new(max_bytes: usize, max_events: usize) -> Budget {
        Budget {
            max_bytes,
            max_events,
            bytes: AtomicUsize::new(0),
            events: AtomicUsize::new(0),
            room: (Mutex::new(()), Condvar::new()),
        }
    }

    /// Takes `bytes` and `events` if both fit; never waits.
    pub fn try_reserve(&self, bytes: usize, events: usize) -> bool {
        let reserved_events = self.events.fetch_add(events, Ordering::AcqRel) + events;
        let reserved_bytes = self.bytes.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if reserved_events <= self.max_events && reserved_bytes <= self.max_bytes {
            return true;
        }
        self.events.fetch_sub(events, Ordering::AcqRel);
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        false
    }

    /// Takes room, waiting up to `timeout` for it. `false` if it never came (or the
    /// request is bigger than the whole budget).
    pub fn reserve_blocking(&self, bytes: usize, events: usize, timeout: Duration) -> bool {
        if self.try_reserve(bytes, events) {
            return true;
        }
        if bytes > self.max_bytes || events > self.max_events {
            return false;
        }
        let deadline = Instant::now() + timeout;
        let (lock, room) = &self.room;
        let mut guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if self.try_reserve(bytes, events) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            // Short waits: a release between our check and the wait is never missed for long.
            let wait = (deadline - now).min(Duration::from_millis(20));
            guard = room
                .wait_timeout(guard, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    pub fn release(&self, bytes: usize, events: usize) {
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.events.fetch_sub(events, Ordering::AcqRel);
        self.room.1.notify_all();
    }

    pub fn used(&self) -> (usize, usize) {
        (
            self.bytes.load(Ordering::Acquire),
            self.events.load(Ordering::Acquire),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn refuses_past_either_bound_and_frees_on_release() {
        let b = Budget::new(100, 2);
        assert!(b.try_reserve(60, 1));
        assert!(!b.try_reserve(60, 1), "bytes bound");
        assert!(b.try_reserve(10, 1));
        assert!(!b.try_reserve(1, 1), "event bound");
        b.release(60, 1);
        assert!(b.try_reserve(60, 1));
        assert_eq!(b.used(), (70, 2));
    }

    #[test]
    fn blocking_reserve_waits_for_room_then_times_out() {
        let b = Arc::new(Budget::new(10, 10));
        assert!(b.try_reserve(10, 1));
        let freer = {
            let b = b.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                b.release(10, 1);
            })
        };
        assert!(b.reserve_blocking(5, 1, Duration::from_secs(5)));
        freer.join().unwrap();
        assert!(!b.reserve_blocking(6, 1, Duration::from_millis(30)));
        assert!(
            !b.reserve_blocking(11, 1, Duration::from_secs(5)),
            "never fits"
        );
    }
}
