//! Where `track()` leaves an encoded event for its lane.
//!
//! A channel send per event would wake the lane task per event: a cross-thread wake-up (a
//! futex call) on the caller's thread every time, several microseconds under load. The inbox
//! is a vector behind a lock held for a push; the caller wakes the lane only when the inbox
//! goes from idle to armed, and the lane lingers a moment before draining, so a burst costs
//! one wake-up, not one per event.
//!
//! The inbox also keeps the strings of settled events for the next pushes: an event's string
//! is allocated on the caller's thread and freed on the lane's, and an allocator serves such
//! a pair through its slow, locked path every time; reused, it costs a copy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::batch::Item;
use crate::destinations::Group;

/// How long a woken lane waits for more events before draining: long enough to gather a
/// burst, far below any flush interval.
pub const LINGER: Duration = Duration::from_millis(2);

/// Strings kept for reuse at most, and the largest kept: a few batches' worth of ordinary
/// events (under 1 MB), never a burst's or a huge event's.
const KEEP_STRINGS: usize = 2_048;
const KEEP_CAPACITY: usize = 1_024;

#[derive(Debug, Default)]
pub struct Inbox {
    state: Mutex<State>,
    armed: AtomicBool,
    pub notify: Notify,
}

#[derive(Debug, Default)]
struct State {
    items: Vec<Item>,
    free: Vec<String>,
}

impl Inbox {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, body: &str, message_id: &str, group: Arc<Group>) {
        {
            let mut state = self.state();
            let text = state.free.pop().unwrap_or_default();
            state.items.push(Item::new(text, body, message_id, group));
        }
        if !self.armed.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    /// Takes back the strings of settled events.
    pub fn recycle(&self, items: Vec<Item>) {
        let mut state = self.state();
        let room = KEEP_STRINGS.saturating_sub(state.free.len());
        let texts = items
            .into_iter()
            .map(Item::into_text)
            .filter(|t| t.capacity() <= KEEP_CAPACITY);
        state.free.extend(texts.take(room));
    }

    /// Everything pushed so far, swapped into `spare` (which must be empty). Disarms first, so
    /// a push racing with the take either lands in this take or re-arms and wakes the lane
    /// again. The lane hands back its drained vector each time, so the caller's pushes land in
    /// a vector that already has room instead of regrowing one from nothing after every drain.
    pub fn take_into(&self, spare: &mut Vec<Item>) {
        debug_assert!(spare.is_empty());
        self.armed.store(false, Ordering::Release);
        std::mem::swap(&mut self.state().items, spare);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> Arc<Group> {
        Arc::new(Group {
            key: String::new(),
            envelope: serde_json::Map::new(),
        })
    }

    fn take(inbox: &Inbox) -> Vec<Item> {
        let mut items = Vec::new();
        inbox.take_into(&mut items);
        items
    }

    #[test]
    fn a_settled_event_string_is_reused_by_the_next_push() {
        let inbox = Inbox::default();
        inbox.push(r#"{"event":"first"}"#, "m1", group());
        let first = take(&inbox);
        let reused = first[0].body().as_ptr();
        inbox.recycle(first);
        inbox.push(r#"{"n":2}"#, "m2", group());
        let second = take(&inbox);
        assert_eq!(
            (second[0].body(), second[0].message_id()),
            (r#"{"n":2}"#, "m2")
        );
        assert_eq!(
            second[0].body().as_ptr(),
            reused,
            "the string was not reused"
        );
    }

    #[test]
    fn only_a_bounded_number_of_ordinary_strings_is_kept() {
        let inbox = Inbox::default();
        let huge = "x".repeat(KEEP_CAPACITY + 1);
        inbox.push(&huge, "big", group());
        for i in 0..KEEP_STRINGS + 10 {
            inbox.push("{}", &format!("m{i}"), group());
        }
        inbox.recycle(take(&inbox));
        let state = inbox.state();
        assert_eq!(state.free.len(), KEEP_STRINGS);
        assert!(state.free.iter().all(|t| t.capacity() <= KEEP_CAPACITY));
    }
}
