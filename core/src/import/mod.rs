//! Imports of historical events: the language-neutral half of `import_events` (notebooks and
//! back-fills from CSV, JSON Lines or data frames).
//!
//! Every binding needs the same things to turn rows into messages, so they live here once:
//! how columns map onto the message ([`mapping`]), message ids derived deterministically from a
//! key or from an event's content, so the same import run twice sends nothing twice ([`ids`]),
//! the timestamp forms files hold ([`timestamp`]), which destinations keep a historical
//! timestamp at all, and a wait for room in the queue that an import can interrupt (it slows
//! down instead of dropping, and Ctrl-C still stops it). Reading files and data frames, fields
//! computed by the caller's functions, progress display and signal handling belong to each
//! binding.
//!
//! It must never do I/O, and the ids it derives must never change between versions (see
//! [`ids`]).

pub mod ids;
pub mod mapping;
pub mod timestamp;

use std::time::{Duration, Instant};

use crate::destinations::DestinationConfig;
use crate::pipeline::budget::Budget;

pub use ids::{assign_message_id, message_id_from_content, message_id_from_key};
pub use mapping::{unsupported_value, Layout, Properties, RowMapping};
pub use timestamp::{missing_timestamp, parse_timestamp, timestamp_from_epoch, EpochUnit};

/// How long one wait for room lasts before `keep_waiting` is asked again: short enough that
/// Ctrl-C feels immediate, long enough that a blocked import costs nothing.
pub const INTERRUPT_CHECK_EVERY: Duration = Duration::from_millis(100);

/// Whether events sent to this destination keep their own time. Web Analyzer, Silktide and
/// Tracardi have no field for it (their collectors stamp events on arrival), so an import to
/// them records the import time, and the binding warns. A new destination must answer here.
pub fn keeps_timestamp(destination: &DestinationConfig) -> bool {
    match destination {
        DestinationConfig::WebAnalyzer(_)
        | DestinationConfig::Silktide(_)
        | DestinationConfig::Tracardi(_) => false,
        DestinationConfig::Koala(_)
        | DestinationConfig::Dreamdata(_)
        | DestinationConfig::Segment(_)
        | DestinationConfig::File(_)
        | DestinationConfig::Stdout(_) => true,
    }
}

/// Takes room in `budget` like [`Budget::reserve_blocking`], but in slices of
/// [`INTERRUPT_CHECK_EVERY`], asking `keep_waiting` between them; `timeout` `None` waits as long
/// as `keep_waiting` says so. `false` if room never came, or the caller stopped waiting.
pub fn reserve_interruptibly(
    budget: &Budget,
    bytes: usize,
    events: usize,
    timeout: Option<Duration>,
    keep_waiting: &mut dyn FnMut() -> bool,
) -> bool {
    if budget.try_reserve(bytes, events) {
        return true;
    }
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let slice = match deadline {
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .min(INTERRUPT_CHECK_EVERY),
            None => INTERRUPT_CHECK_EVERY,
        };
        if budget.reserve_blocking(bytes, events, slice) {
            return true;
        }
        let expired = deadline.is_some_and(|d| Instant::now() >= d);
        if expired || !keep_waiting() {
            return false;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::message::Message;
    use crate::time::Timestamp;
    use serde_json::{json, Value};
    use std::sync::Arc;

    /// A track call by user `u1` with `properties` at `millis` (shared with `ids`' tests).
    pub(crate) fn purchase(properties: Value, millis: i64) -> Message {
        let mut m = Message::track("purchase");
        m.user_id = Some("u1".into());
        m.properties = properties.as_object().unwrap().clone();
        m.timestamp = Timestamp(millis);
        m
    }

    #[test]
    fn only_some_destinations_keep_a_timestamp() {
        let config = |v: Value| DestinationConfig::from_json_with_env(v, &Default::default());
        let wa = config(json!({"type": "webanalyzer", "api_key": "k", "website_id": 1})).unwrap();
        let segment = config(json!({"type": "segment", "write_key": "k"})).unwrap();
        assert!(!keeps_timestamp(&wa));
        assert!(keeps_timestamp(&segment));
    }

    #[test]
    fn interruptible_reserve_waits_for_room_and_stops_when_asked() {
        let budget = Arc::new(Budget::new(10, 10));
        assert!(budget.try_reserve(10, 1));
        let mut asked = 0;
        let mut stop_after_two = || {
            asked += 1;
            asked < 2
        };
        assert!(!reserve_interruptibly(
            &budget,
            5,
            1,
            None,
            &mut stop_after_two
        ));
        assert_eq!(asked, 2);
        let freer = {
            let budget = budget.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(250));
                budget.release(10, 1);
            })
        };
        assert!(reserve_interruptibly(&budget, 5, 1, None, &mut || true));
        freer.join().unwrap();
        assert!(!reserve_interruptibly(
            &budget,
            6,
            1,
            Some(Duration::from_millis(30)),
            &mut || true
        ));
    }

    #[test]
    fn a_per_call_block_waits_for_room_where_the_client_would_drop() {
        use crate::pipeline::{Client, ClientConfig, Outcome, Overflow};
        let path = std::env::temp_dir().join(format!(
            "tracklane-import-block-{}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let mut config = ClientConfig::from_json_with_env(
            json!({"destinations": [{"type": "file", "path": path}],
                   "max_queue_events": 1, "flush_interval_ms": 20}),
            &Default::default(),
        )
        .unwrap();
        config.overflow = Overflow::DropNewest;
        let client = Client::new(config).unwrap();
        let event = |n: i64| {
            let mut m = purchase(json!({ "n": n }), n);
            m.message_id = message_id_from_key(&n.to_string());
            m
        };
        assert_eq!(client.enqueue(event(1)).unwrap().status(), "queued");
        assert_eq!(client.enqueue(event(2)).unwrap().status(), "dropped");
        let forever = Overflow::Block(Duration::MAX);
        let waited = client
            .enqueue_with(event(3), forever, &mut || true)
            .unwrap();
        assert!(matches!(waited, Outcome::Queued { .. }), "{waited:?}");
        // Full again: a caller that stops waiting gets the event back as dropped.
        let mut asked = false;
        let stopped = client
            .enqueue_with(event(4), forever, &mut || {
                asked = true;
                false
            })
            .unwrap();
        assert!(asked || stopped.status() == "queued");
        let report = client.close(Duration::from_secs(5));
        assert_eq!(report.dropped, 1 + u64::from(stopped.status() == "dropped"));
        let lines = std::fs::read_to_string(&path).unwrap();
        assert!(lines.contains(&message_id_from_key("3")));
        let _ = std::fs::remove_file(&path);
    }
}
