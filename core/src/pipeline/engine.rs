//! The engine: everything a client owns in one process — built destinations, one lane task
//! per destination, the memory budget, the dedupe store and the counters.
//!
//! After `fork()` the child must not touch any of it (its tasks ran on threads the child does
//! not have, and its locks may be held forever), so the client builds a fresh engine in the
//! child and leaks the inherited one. The parent keeps sending what it had queued; the child
//! starts empty, so nothing is sent twice.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use super::budget::Budget;
use super::config::ClientConfig;
use super::dedupe::{DedupeStore, MemoryDedupe};
use super::hooks::Dispatcher;
use super::inbox::Inbox;
use super::lane::{Command, Lane, LaneContext};
use super::report::Counters;
use super::runtime;
use super::sender::http_client;
use crate::destinations::Destination;
use crate::error::ConfigError;

pub struct Engine {
    pub generation: u64,
    pub destinations: Vec<Arc<dyn Destination>>,
    /// Their names in order: what an outcome queued for every destination lists.
    pub names: Arc<[String]>,
    /// Indexes of destinations that record other destinations' encodings (file, stdout).
    pub local_sinks: Vec<usize>,
    /// Control channel of each lane (flush, abandon).
    pub lanes: Vec<UnboundedSender<Command>>,
    /// Where `enqueue` leaves each lane's events.
    pub inboxes: Vec<Arc<Inbox>>,
    pub budget: Arc<Budget>,
    pub dedupe: Option<Arc<dyn DedupeStore>>,
    pub counters: Vec<Arc<Counters>>,
    pub totals: Arc<Counters>,
    pub hooks: Option<Dispatcher>,
    pub calls: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    pub dropped: AtomicU64,
    pub skipped: AtomicU64,
}

impl Engine {
    /// Builds destinations and starts their lanes on this process's runtime.
    pub fn start(
        config: &ClientConfig,
        dedupe: Option<Arc<dyn DedupeStore>>,
    ) -> Result<Engine, ConfigError> {
        let destinations = config
            .destinations
            .iter()
            .map(|d| d.build())
            .collect::<Result<Vec<_>, _>>()?;
        let handle = runtime::handle();
        let http = http_client(config.connect_timeout, config.request_timeout);
        let budget = Arc::new(Budget::new(config.max_queue_bytes, config.max_queue_events));
        let hooks = config.hooks.clone().map(Dispatcher::start);
        let totals = Arc::new(Counters::default());
        let dedupe = match (config.dedupe, dedupe) {
            (false, _) => None,
            (true, Some(store)) => Some(store),
            (true, None) => Some(config.dedupe_store.clone().unwrap_or_else(|| {
                Arc::new(MemoryDedupe::new(
                    config.dedupe_window,
                    config.dedupe_max_ids,
                ))
            })),
        };
        let mut lanes = Vec::with_capacity(destinations.len());
        let mut inboxes = Vec::with_capacity(destinations.len());
        let mut counters = Vec::with_capacity(destinations.len());
        for (index, destination) in destinations.iter().enumerate() {
            let (tx, rx) = unbounded_channel();
            let lane_counters = Arc::new(Counters::default());
            let inbox = Arc::new(Inbox::default());
            let lane = Lane::new(
                LaneContext {
                    index,
                    destination: destination.clone(),
                    http: http.clone(),
                    budget: budget.clone(),
                    counters: lane_counters.clone(),
                    totals: totals.clone(),
                    hooks: hooks.clone(),
                    retry: config.retry,
                    max_in_flight: config.max_in_flight.max(1),
                    flush_at: config.flush_at,
                    flush_interval: config.flush_interval,
                    rate_limit: config
                        .rate_limits
                        .get(destination.name())
                        .copied()
                        .or_else(|| destination.rate_limit()),
                    dead_letter: config.dead_letter_path.clone(),
                    dedupe: dedupe.clone(),
                },
                inbox.clone(),
            );
            handle.spawn(lane.run(rx));
            lanes.push(tx);
            inboxes.push(inbox);
            counters.push(lane_counters);
        }
        let local_sinks = destinations
            .iter()
            .enumerate()
            .filter(|(_, d)| d.wants_peers())
            .map(|(i, _)| i)
            .collect();
        Ok(Engine {
            generation: crate::fork::generation(),
            names: destinations.iter().map(|d| d.name().to_string()).collect(),
            destinations,
            local_sinks,
            lanes,
            inboxes,
            budget,
            dedupe,
            counters,
            totals,
            hooks,
            calls: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        })
    }

    pub fn count(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
