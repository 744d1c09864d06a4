//! Flush barriers. A flush covers exactly the events enqueued before it: each lane, when the
//! flush command reaches it (after every earlier event, channels being FIFO), records its
//! newest sequence number and how many events at or below it are still unsettled. Settling
//! counts down; the caller waits until every lane has registered and nothing covered is
//! left, or the deadline passes. Concurrent flushes each hold their own barrier over the
//! same deliveries, so they share the work instead of repeating it.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::report::{DeliveryReport, DestinationReport, FailedEvent, MAX_REPORTED_FAILURES};

#[derive(Debug)]
pub struct FlushProgress {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Debug)]
struct State {
    lanes_expected: usize,
    lanes_registered: usize,
    registered: Vec<bool>,
    outstanding: u64,
    destinations: Vec<DestinationReport>,
    failures: Vec<FailedEvent>,
}

impl FlushProgress {
    pub fn new(destinations: Vec<String>) -> FlushProgress {
        FlushProgress {
            state: Mutex::new(State {
                lanes_expected: destinations.len(),
                lanes_registered: 0,
                registered: vec![false; destinations.len()],
                outstanding: 0,
                destinations: destinations
                    .into_iter()
                    .map(|name| DestinationReport {
                        name,
                        ..Default::default()
                    })
                    .collect(),
                failures: Vec::new(),
            }),
            done: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A lane joins the barrier with `outstanding` events to settle.
    pub fn register(&self, lane: usize, outstanding: u64) {
        let mut s = self.lock();
        s.lanes_registered += 1;
        s.registered[lane] = true;
        s.outstanding += outstanding;
        s.destinations[lane].pending += outstanding;
        self.done.notify_all();
    }

    pub fn delivered(&self, lane: usize, count: u64) {
        let mut s = self.lock();
        s.outstanding -= count;
        s.destinations[lane].pending -= count;
        s.destinations[lane].delivered += count;
        self.done.notify_all();
    }

    pub fn failed(&self, lane: usize, failure: &FailedEvent) {
        let mut s = self.lock();
        s.outstanding -= 1;
        s.destinations[lane].pending -= 1;
        s.destinations[lane].failed += 1;
        if s.failures.len() < MAX_REPORTED_FAILURES {
            s.failures.push(failure.clone());
        }
        self.done.notify_all();
    }

    fn finished(s: &State) -> bool {
        s.lanes_registered == s.lanes_expected && s.outstanding == 0
    }

    pub fn is_finished(&self) -> bool {
        Self::finished(&self.lock())
    }

    /// Waits until finished or `timeout`, then reports. A lane that has not registered by
    /// then (busy, or the deadline was zero) reports `held(lane)` as pending: everything it
    /// holds, an upper bound of what the flush covers, rather than a false zero.
    pub fn wait(&self, timeout: Duration, held: impl Fn(usize) -> u64) -> DeliveryReport {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        while !Self::finished(&s) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            s = self
                .done
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let timed_out = !Self::finished(&s);
        for lane in 0..s.registered.len() {
            if !s.registered[lane] {
                let pending = held(lane);
                s.outstanding += pending;
                s.destinations[lane].pending += pending;
            }
        }
        DeliveryReport {
            delivered: s.destinations.iter().map(|d| d.delivered).sum(),
            failed: s.destinations.iter().map(|d| d.failed).sum(),
            pending: s.outstanding,
            timed_out,
            destinations: s.destinations.clone(),
            failures: s.failures.clone(),
            ..DeliveryReport::default()
        }
    }
}
