//! What the pipeline tells its caller: the outcome of each `track` call, the report of a
//! `flush`/`close`, failures handed to hooks, and the running counters behind `stats()`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

use crate::error::ValidationError;

/// What became of one `track`/`identify`/`alias` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Queued for `destinations`; `rejected` lists the destinations whose rules it broke.
    /// (Shared: an event queued for every destination lists the client's own list of names.)
    Queued {
        message_id: String,
        destinations: Arc<[String]>,
        rejected: Vec<ValidationError>,
    },
    /// The message id was already seen within the dedupe window; nothing was queued.
    Duplicate { message_id: String },
    /// Every destination that takes this kind of call rejected it.
    Rejected {
        message_id: String,
        errors: Vec<ValidationError>,
    },
    /// The memory budget was full (counted in `stats().dropped`).
    Dropped { message_id: String },
    /// No destination of this client has a form for this kind of call (e.g. identify with
    /// only Web Analyzer configured).
    Skipped { message_id: String },
}

impl Outcome {
    pub fn message_id(&self) -> &str {
        match self {
            Outcome::Queued { message_id, .. }
            | Outcome::Duplicate { message_id }
            | Outcome::Rejected { message_id, .. }
            | Outcome::Dropped { message_id }
            | Outcome::Skipped { message_id } => message_id,
        }
    }

    /// `queued`, `duplicate`, `rejected`, `dropped` or `skipped`.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Queued { .. } => "queued",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Dropped { .. } => "dropped",
            Outcome::Skipped { .. } => "skipped",
        }
    }

    pub fn errors(&self) -> &[ValidationError] {
        match self {
            Outcome::Queued { rejected, .. } => rejected,
            Outcome::Rejected { errors, .. } => errors,
            _ => &[],
        }
    }
}

/// One event that will not be delivered, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedEvent {
    pub destination: String,
    pub message_id: String,
    pub reason: String,
    /// The HTTP status that ended it, if a collector answered.
    pub status: Option<u16>,
    /// The event as it would have been sent (for a dead-letter file or a replay).
    pub body: String,
}

/// A batch the collector stored. `profile_id` is set when the collector assigned one (Tracardi).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub destination: String,
    pub message_ids: Vec<String>,
    pub status: u16,
    pub profile_id: Option<String>,
    pub attempts: u32,
}

/// Per-destination part of a [`DeliveryReport`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DestinationReport {
    pub name: String,
    pub delivered: u64,
    pub failed: u64,
    pub pending: u64,
}

/// Failures listed individually in one report at most; the counts stay exact beyond it.
pub const MAX_REPORTED_FAILURES: usize = 1_000;

/// The answer of `flush()`/`close()`: what happened to the events enqueued before the call.
/// `rejected`, `duplicates` and `dropped` are the client's running totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub delivered: u64,
    pub failed: u64,
    /// Not settled when the deadline passed (still queued, in flight or waiting to retry).
    pub pending: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub dropped: u64,
    pub timed_out: bool,
    pub destinations: Vec<DestinationReport>,
    pub failures: Vec<FailedEvent>,
}

impl DeliveryReport {
    /// Everything enqueued before the call was delivered.
    pub fn is_complete(&self) -> bool {
        self.failed == 0 && self.pending == 0
    }
}

/// Counters of one destination (or the client as a whole).
#[derive(Debug, Default)]
pub struct Counters {
    pub queued: AtomicU64,
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub rejected: AtomicU64,
    pub dropped: AtomicU64,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub splits: AtomicU64,
    pub bytes_sent: AtomicU64,
}

impl Counters {
    /// Events queued and not yet settled (delivered or failed): queued, in flight or waiting
    /// to retry.
    pub fn held(&self) -> u64 {
        let queued = self.queued.load(Ordering::Acquire);
        let settled = self.delivered.load(Ordering::Acquire) + self.failed.load(Ordering::Acquire);
        queued.saturating_sub(settled)
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self, name: &str) -> DestinationStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DestinationStats {
            name: name.to_string(),
            queued: get(&self.queued),
            delivered: get(&self.delivered),
            failed: get(&self.failed),
            rejected: get(&self.rejected),
            dropped: get(&self.dropped),
            requests: get(&self.requests),
            retries: get(&self.retries),
            rate_limited: get(&self.rate_limited),
            splits: get(&self.splits),
            bytes_sent: get(&self.bytes_sent),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DestinationStats {
    pub name: String,
    pub queued: u64,
    pub delivered: u64,
    pub failed: u64,
    pub rejected: u64,
    pub dropped: u64,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub splits: u64,
    pub bytes_sent: u64,
}

/// `stats()`: calls by outcome, what is held now, and per-destination counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub calls: u64,
    pub queued: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub dropped: u64,
    pub skipped: u64,
    pub delivered: u64,
    pub failed: u64,
    pub held_events: u64,
    pub held_bytes: u64,
    pub destinations: Vec<DestinationStats>,
}
