//! Batching: encoded events collect per group (the events that may share one request) until
//! the group reaches the destination's event or byte limit, or has waited the flush
//! interval. A sealed [`Batch`] is what one request carries; it keeps its events (and their
//! message ids) unchanged through retries and splits.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::destinations::{Group, Limits};

/// Request bytes kept free for what `request()` adds around the events (`sentAt`, keys).
const ENVELOPE_SLACK: usize = 128;

/// One encoded event waiting for delivery to one destination.
#[derive(Debug)]
pub struct Item {
    /// Order of arrival in its lane; flush barriers compare against it.
    pub seq: u64,
    /// The body followed by the message id: one string per event, which the lane hands back
    /// for reuse once the event is settled (see [`crate::bodies`]).
    text: String,
    body_len: usize,
    /// `None` for the destination's one group (see [`crate::destinations::Encoded`]).
    group: Option<Arc<Group>>,
    /// Shared with the event's items for its other destinations, if it went to several.
    pub spread: Option<Arc<Spread>>,
}

/// How an event queued for several destinations settled across their lanes: whether any
/// delivered it, once all have settled it. A lane that finally fails such an event learns from
/// it whether its id may be forgotten (see [`crate::pipeline::dedupe::DedupeStore::forget`]).
#[derive(Debug)]
pub struct Spread {
    unsettled: AtomicUsize,
    delivered: AtomicBool,
}

impl Spread {
    pub fn new(destinations: usize) -> Arc<Spread> {
        Arc::new(Spread {
            unsettled: AtomicUsize::new(destinations),
            delivered: AtomicBool::new(false),
        })
    }

    /// One destination delivered the event.
    pub fn delivered(&self) {
        self.delivered.store(true, Ordering::Relaxed);
        // Release: the lane that settles last sees the flag.
        self.unsettled.fetch_sub(1, Ordering::AcqRel);
    }

    /// One destination finally failed the event: `true` if it was the last to settle and no
    /// destination delivered it.
    pub fn failed_everywhere(&self) -> bool {
        self.unsettled.fetch_sub(1, Ordering::AcqRel) == 1
            && !self.delivered.load(Ordering::Relaxed)
    }
}

impl Item {
    /// An item for `body`, with the message id appended to the same string.
    pub fn new(
        mut body: String,
        message_id: &str,
        group: Option<Arc<Group>>,
        spread: Option<Arc<Spread>>,
    ) -> Item {
        let body_len = body.len();
        body.push_str(message_id);
        Item {
            seq: 0,
            text: body,
            body_len,
            group,
            spread,
        }
    }

    pub fn group(&self) -> &Group {
        Group::or_shared(&self.group)
    }

    pub fn body(&self) -> &str {
        &self.text[..self.body_len]
    }

    pub fn message_id(&self) -> &str {
        &self.text[self.body_len..]
    }

    /// The string, for reuse.
    pub fn into_text(self) -> String {
        self.text
    }
}

/// Events that travel in one request.
#[derive(Debug)]
pub struct Batch {
    group: Option<Arc<Group>>,
    pub items: Vec<Item>,
    pub bytes: usize,
    /// Transient failures so far (429s do not count).
    pub attempts: u32,
    /// When the first attempt failed; bounds the total retry time.
    pub failing_since: Option<Instant>,
}

impl Batch {
    fn new(group: Option<Arc<Group>>) -> Batch {
        Batch {
            group,
            items: Vec::new(),
            bytes: 0,
            attempts: 0,
            failing_since: None,
        }
    }

    pub fn group(&self) -> &Group {
        Group::or_shared(&self.group)
    }

    pub fn bodies(&self) -> Vec<&str> {
        self.items.iter().map(Item::body).collect()
    }

    /// Halves the batch (to isolate a bad event or get under a size limit). The halves keep
    /// the retry history so the total retry time stays bounded.
    pub fn split(mut self) -> (Batch, Batch) {
        let tail = self.items.split_off(self.items.len() / 2);
        let make = |items: Vec<Item>| Batch {
            group: self.group.clone(),
            bytes: items.iter().map(|i| i.body_len).sum(),
            items,
            attempts: self.attempts,
            failing_since: self.failing_since,
        };
        (make(std::mem::take(&mut self.items)), make(tail))
    }
}

struct Open {
    batch: Batch,
    opened: Instant,
    envelope: usize,
}

/// Open batches: the shared group's, and the others' by group key.
pub struct Batcher {
    max_events: usize,
    max_bytes: usize,
    interval: Duration,
    /// The batch of events that carry no group (the destination's one group): no key to
    /// hash or compare per event.
    shared: Option<Open>,
    open: HashMap<String, Open>,
    /// Group keys (`None`: the shared group) in the order their batch opened (stale entries
    /// skipped lazily).
    opened: VecDeque<(Instant, Option<String>)>,
    held: usize,
}

impl Batcher {
    pub fn new(limits: Limits, flush_at: Option<usize>, interval: Duration) -> Batcher {
        let max_events = flush_at
            .unwrap_or(limits.max_events)
            .clamp(1, limits.max_events);
        Batcher {
            max_events,
            max_bytes: limits.max_request_bytes,
            interval,
            shared: None,
            open: HashMap::new(),
            opened: VecDeque::new(),
            held: 0,
        }
    }

    /// Events waiting in open batches.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Adds an item; returns the batches this sealed (the group's previous batch when the
    /// item would not fit, and the new one when it reached the count).
    pub fn add(&mut self, item: Item, now: Instant) -> Vec<Batch> {
        let mut sealed = Vec::new();
        // The key outlives the item, which moves into its batch (a count raised only for
        // the groups that have one).
        let group = item.group.clone();
        let key = group.as_deref().map(|g| g.key.as_str());
        if let Some(open) = self.slot(key) {
            let bytes =
                open.envelope + open.batch.bytes + item.body_len + open.batch.items.len() + 1;
            if bytes > self.max_bytes {
                sealed.extend(self.seal(key));
            }
        }
        if self.slot(key).is_none() {
            let envelope = serde_json::to_string(&item.group().envelope).map_or(2, |s| s.len());
            let open = Open {
                batch: Batch::new(group.clone()),
                opened: now,
                envelope: envelope + ENVELOPE_SLACK,
            };
            self.opened.push_back((now, key.map(str::to_string)));
            match key {
                None => self.shared = Some(open),
                Some(key) => {
                    self.open.insert(key.to_string(), open);
                }
            }
        }
        let max_events = self.max_events;
        let open = self.slot(key).expect("opened above");
        open.batch.bytes += item.body_len;
        open.batch.items.push(item);
        let full = open.batch.items.len() >= max_events;
        self.held += 1;
        if full {
            sealed.extend(self.seal(key));
        }
        sealed
    }

    fn slot(&mut self, key: Option<&str>) -> Option<&mut Open> {
        match key {
            None => self.shared.as_mut(),
            Some(key) => self.open.get_mut(key),
        }
    }

    fn seal(&mut self, key: Option<&str>) -> Option<Batch> {
        let open = match key {
            None => self.shared.take(),
            Some(key) => self.open.remove(key),
        }?;
        self.held -= open.batch.items.len();
        Some(open.batch)
    }

    /// When the batch `key` names opened, if it is still open.
    fn opened_at(&self, key: Option<&str>) -> Option<Instant> {
        match key {
            None => self.shared.as_ref(),
            Some(key) => self.open.get(key),
        }
        .map(|o| o.opened)
    }

    /// Seals the batches that have waited the flush interval.
    pub fn seal_due(&mut self, now: Instant) -> Vec<Batch> {
        let mut sealed = Vec::new();
        while let Some((opened, key)) = self.opened.front() {
            if self.opened_at(key.as_deref()) != Some(*opened) {
                self.opened.pop_front();
                continue;
            }
            if now < *opened + self.interval {
                break;
            }
            if let Some((_, key)) = self.opened.pop_front() {
                sealed.extend(self.seal(key.as_deref()));
            }
        }
        sealed
    }

    /// Seals every open batch (flush, close).
    pub fn seal_all(&mut self) -> Vec<Batch> {
        self.opened.clear();
        self.held = 0;
        let shared = self.shared.take();
        let open = std::mem::take(&mut self.open);
        shared
            .into_iter()
            .chain(open.into_values())
            .map(|o| o.batch)
            .collect()
    }

    /// When the oldest open batch is due.
    pub fn next_due(&mut self) -> Option<Instant> {
        while let Some((opened, key)) = self.opened.front() {
            if self.opened_at(key.as_deref()) == Some(*opened) {
                return Some(*opened + self.interval);
            }
            self.opened.pop_front();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn item(seq: u64, group: &Option<Arc<Group>>, bytes: usize) -> Item {
        Item {
            seq,
            ..Item::new("x".repeat(bytes), &format!("m{seq}"), group.clone(), None)
        }
    }

    /// The group keyed `key`; `""` is the destination's one group, which events carry as
    /// `None`.
    fn group(key: &str) -> Option<Arc<Group>> {
        (!key.is_empty()).then(|| {
            Arc::new(Group {
                key: key.into(),
                envelope: Map::new(),
            })
        })
    }

    const LIMITS: Limits = Limits {
        max_events: 3,
        max_request_bytes: 1_000,
        max_event_bytes: 500,
    };

    #[test]
    fn a_spread_event_failed_everywhere_is_told_by_its_last_failure_only() {
        let all_failed = Spread::new(3);
        assert!(!all_failed.failed_everywhere());
        assert!(!all_failed.failed_everywhere());
        assert!(all_failed.failed_everywhere(), "the last of three");
        let one_delivered = Spread::new(3);
        assert!(!one_delivered.failed_everywhere());
        one_delivered.delivered();
        assert!(!one_delivered.failed_everywhere(), "delivered by one");
    }

    #[test]
    fn seals_at_the_event_count() {
        let mut b = Batcher::new(LIMITS, None, Duration::from_secs(5));
        let g = group("");
        let now = Instant::now();
        assert!(b.add(item(1, &g, 10), now).is_empty());
        assert!(b.add(item(2, &g, 10), now).is_empty());
        let sealed = b.add(item(3, &g, 10), now);
        assert_eq!(sealed.len(), 1);
        assert_eq!(sealed[0].items.len(), 3);
        assert_eq!(b.held(), 0);
    }

    #[test]
    fn seals_before_the_byte_limit_is_crossed() {
        let mut b = Batcher::new(LIMITS, None, Duration::from_secs(5));
        let g = group("");
        let now = Instant::now();
        assert!(b.add(item(1, &g, 400), now).is_empty());
        let sealed = b.add(item(2, &g, 500), now);
        assert_eq!(sealed.len(), 1, "the first must go alone");
        assert_eq!(sealed[0].items.len(), 1);
        assert_eq!(b.held(), 1);
    }

    #[test]
    fn groups_never_share_a_batch() {
        let mut b = Batcher::new(LIMITS, None, Duration::from_secs(5));
        let now = Instant::now();
        b.add(item(1, &group("p1"), 10), now);
        b.add(item(2, &group("p2"), 10), now);
        b.add(item(3, &group(""), 10), now);
        b.add(item(4, &group("p1"), 10), now);
        assert_eq!(b.held(), 4);
        let mut sealed = b.seal_all();
        assert_eq!(b.held(), 0);
        sealed.sort_by_key(|s| s.items[0].seq);
        let seqs: Vec<Vec<u64>> = sealed
            .iter()
            .map(|s| s.items.iter().map(|i| i.seq).collect())
            .collect();
        assert_eq!(seqs, [vec![1, 4], vec![2], vec![3]]);
        let keys: Vec<&str> = sealed.iter().map(|s| s.group().key.as_str()).collect();
        assert_eq!(keys, ["p1", "p2", ""]);
        assert!(b.seal_all().is_empty());
    }

    #[test]
    fn seals_by_time() {
        let mut b = Batcher::new(LIMITS, None, Duration::from_secs(5));
        let t0 = Instant::now();
        b.add(item(1, &group("a"), 10), t0);
        b.add(item(2, &group("b"), 10), t0 + Duration::from_secs(3));
        assert_eq!(b.next_due(), Some(t0 + Duration::from_secs(5)));
        assert!(b.seal_due(t0 + Duration::from_secs(4)).is_empty());
        let due = b.seal_due(t0 + Duration::from_secs(6));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].group().key, "a");
        assert_eq!(b.next_due(), Some(t0 + Duration::from_secs(8)));
    }

    #[test]
    fn the_shared_group_seals_by_count_and_by_time_like_any_other() {
        let mut b = Batcher::new(LIMITS, None, Duration::from_secs(5));
        let shared = group("");
        let t0 = Instant::now();
        b.add(item(1, &shared, 10), t0);
        b.add(item(2, &shared, 10), t0);
        let full = b.add(item(3, &shared, 10), t0);
        assert_eq!(full.len(), 1, "sealed at the event count");
        assert_eq!(full[0].items.len(), 3);
        // The batch it opens next is due an interval after it opened, not the first one.
        b.add(item(4, &shared, 10), t0 + Duration::from_secs(2));
        b.add(item(5, &group("k"), 10), t0 + Duration::from_secs(3));
        assert_eq!(b.next_due(), Some(t0 + Duration::from_secs(7)));
        let due = b.seal_due(t0 + Duration::from_secs(7));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].items[0].seq, 4);
        assert_eq!(due[0].group(), Group::shared());
        assert_eq!(b.held(), 1);
        assert_eq!(b.next_due(), Some(t0 + Duration::from_secs(8)));
    }

    #[test]
    fn split_halves_and_keeps_history() {
        let g = group("");
        let mut batch = Batch::new(g.clone());
        for i in 0..5 {
            batch.items.push(item(i, &g, 10));
        }
        batch.attempts = 2;
        let (a, b) = batch.split();
        assert_eq!((a.items.len(), b.items.len()), (2, 3));
        assert_eq!((a.attempts, b.attempts), (2, 2));
        assert_eq!(a.bytes, 20);
    }

    #[test]
    fn an_item_keeps_its_body_and_id_apart_in_one_string() {
        let item = Item::new("{\"n\":1}".to_string(), "evt-1", group(""), None);
        assert_eq!((item.body(), item.message_id()), ("{\"n\":1}", "evt-1"));
        assert_eq!(item.into_text(), "{\"n\":1}evt-1");
    }
}
