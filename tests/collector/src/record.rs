//! What the collector received, and the counts tests assert on.
//!
//! Tests of an at-least-once SDK need two views: every request as it arrived
//! (to check wire format, headers, gzip) and per-destination totals with
//! duplicate detection (to check that nothing was lost and how much was sent
//! twice). Counters are kept incrementally so `/_stats` stays cheap after tens
//! of thousands of events.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::api::DESTINATIONS;

/// An event's identity as the recorder keeps it: its message id (or its canonical JSON when it
/// has none) hashed twice, with two seeds, into 128 bits. Two different ids share one only by
/// colliding in both hashes, and none costs an allocation (kept as strings, the Node bench's
/// 410,000 ids were half the collector's peak memory, 19 of 39 MB, and much of its recording
/// time).
pub(crate) type Identity = u128;

pub(crate) fn identity(text: &str) -> Identity {
    use std::hash::BuildHasher;
    const LOW: foldhash::fast::FixedState =
        foldhash::fast::FixedState::with_seed(0x7472_6163_6b6c_616e);
    const HIGH: foldhash::fast::FixedState =
        foldhash::fast::FixedState::with_seed(0x636f_6c6c_6563_746f);
    (u128::from(HIGH.hash_one(text)) << 64) | u128::from(LOW.hash_one(text))
}

/// One request as received, with what the collector answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// 1-based arrival order, across destinations.
    pub seq: u64,
    pub destination: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lower-cased names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The body parsed after gunzip; `Null` if it was not JSON.
    pub body: Value,
    /// Body length on the wire (before gunzip).
    pub raw_len: usize,
    pub gzip: bool,
    /// The status answered; 0 when the connection was dropped instead.
    pub status: u16,
    /// The mode of the fault that applied, if any.
    pub fault: Option<String>,
    /// Validated and stored.
    pub accepted: bool,
    /// Events carried, if accepted.
    pub events: usize,
}

/// Per-destination counters.
#[derive(Debug, Default)]
struct Counters {
    requests: u64,
    accepted_requests: u64,
    events: u64,
    /// Every identity seen.
    seen: foldhash::HashSet<Identity>,
    duplicate_ids: u64,
    statuses: BTreeMap<u16, u64>,
}

/// The numbers `/_stats` reports for one destination or the total.
#[derive(Debug, Default)]
struct Summary {
    requests: u64,
    accepted_requests: u64,
    events: u64,
    unique_ids: u64,
    duplicate_ids: u64,
    statuses: BTreeMap<u16, u64>,
}

impl Counters {
    fn summary(&self) -> Summary {
        Summary {
            requests: self.requests,
            accepted_requests: self.accepted_requests,
            events: self.events,
            unique_ids: self.seen.len() as u64,
            duplicate_ids: self.duplicate_ids,
            statuses: self.statuses.clone(),
        }
    }
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.requests += other.requests;
        self.accepted_requests += other.accepted_requests;
        self.events += other.events;
        self.unique_ids += other.unique_ids;
        self.duplicate_ids += other.duplicate_ids;
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
    }

    fn to_json(&self) -> Value {
        let statuses: Map<String, Value> = self
            .statuses
            .iter()
            .map(|(status, n)| (status.to_string(), json!(n)))
            .collect();
        json!({
            "requests": self.requests,
            "accepted_requests": self.accepted_requests,
            "events": self.events,
            "unique_ids": self.unique_ids,
            "duplicate_ids": self.duplicate_ids,
            "statuses": statuses,
        })
    }
}

/// All recorded requests and their counters.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    requests: Vec<RecordedRequest>,
    counters: HashMap<String, Counters>,
}

impl Recorder {
    /// Stores `request` (its `seq` is assigned here). `identities` has one
    /// entry per event of an accepted request; an identity seen before, in
    /// this request or an earlier one, counts as a duplicate.
    pub(crate) fn record(&mut self, mut request: RecordedRequest, identities: Vec<Identity>) {
        request.seq = self.requests.len() as u64 + 1;
        let counters = self
            .counters
            .entry(request.destination.clone())
            .or_default();
        counters.requests += 1;
        *counters.statuses.entry(request.status).or_default() += 1;
        if request.accepted {
            counters.accepted_requests += 1;
            counters.events += identities.len() as u64;
            for id in identities {
                if !counters.seen.insert(id) {
                    counters.duplicate_ids += 1;
                }
            }
        }
        self.requests.push(request);
    }

    /// Recorded requests, all or for one destination, in arrival order.
    pub(crate) fn requests(&self, destination: Option<&str>) -> Vec<RecordedRequest> {
        self.requests
            .iter()
            .filter(|r| destination.is_none_or(|d| r.destination == d))
            .cloned()
            .collect()
    }

    /// The `/_stats` document: every destination, then `"total"`.
    pub(crate) fn stats(&self) -> Value {
        let mut out = Map::new();
        let mut total = Summary::default();
        for destination in DESTINATIONS {
            let summary = self
                .counters
                .get(destination)
                .map(Counters::summary)
                .unwrap_or_default();
            total.add(&summary);
            out.insert(destination.to_owned(), summary.to_json());
        }
        out.insert("total".to_owned(), total.to_json());
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(destination: &str, status: u16, accepted: bool) -> RecordedRequest {
        RecordedRequest {
            seq: 0,
            destination: destination.to_owned(),
            method: "POST".to_owned(),
            path: "/".to_owned(),
            query: None,
            headers: BTreeMap::new(),
            body: Value::Null,
            raw_len: 0,
            gzip: false,
            status,
            fault: None,
            accepted,
            events: 0,
        }
    }

    #[test]
    fn duplicates_count_within_and_across_requests() {
        let mut rec = Recorder::default();
        let ids = |v: &[&str]| v.iter().map(|s| identity(s)).collect::<Vec<_>>();
        rec.record(request("segment", 200, true), ids(&["a", "b", "a"]));
        rec.record(request("segment", 200, true), ids(&["b", "c"]));
        rec.record(request("segment", 400, false), ids(&["d"]));
        let stats = rec.stats();
        let seg = &stats["segment"];
        assert_eq!(seg["requests"], 3);
        assert_eq!(seg["accepted_requests"], 2);
        assert_eq!(seg["events"], 5);
        assert_eq!(seg["unique_ids"], 3);
        assert_eq!(seg["duplicate_ids"], 2);
        assert_eq!(seg["statuses"]["400"], 1);
        assert_eq!(stats["total"]["events"], 5);
        assert_eq!(rec.requests(Some("segment"))[2].seq, 3);
        assert!(rec.requests(Some("koala")).is_empty());
    }
}
