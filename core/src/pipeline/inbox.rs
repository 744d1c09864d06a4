//! Where `track()` leaves an encoded event for its lane.
//!
//! A channel send per event would wake the lane task per event: a cross-thread wake-up (a
//! futex call) on the caller's thread every time, several microseconds under load. The inbox
//! is a vector behind a lock held for a push; the caller wakes the lane only when the inbox
//! goes from idle to armed, and the lane lingers a moment before draining, so a burst costs
//! one wake-up, not one per event.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

use super::batch::Item;

/// How long a woken lane waits for more events before draining: long enough to gather a
/// burst, far below any flush interval.
pub const LINGER: Duration = Duration::from_millis(2);

#[derive(Debug, Default)]
pub struct Inbox {
    items: Mutex<Vec<Item>>,
    armed: AtomicBool,
    pub notify: Notify,
}

impl Inbox {
    pub fn push(&self, item: Item) {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(item);
        if !self.armed.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    /// Everything pushed so far, swapped into `spare` (which must be empty). Disarms first, so
    /// a push racing with the take either lands in this take or re-arms and wakes the lane
    /// again. The lane hands back its drained vector each time, so the caller's pushes land in
    /// a vector that already has room instead of regrowing one from nothing after every drain.
    pub fn take_into(&self, spare: &mut Vec<Item>) {
        debug_assert!(spare.is_empty());
        self.armed.store(false, Ordering::Release);
        std::mem::swap(
            &mut *self.items.lock().unwrap_or_else(|p| p.into_inner()),
            spare,
        );
    }
}
