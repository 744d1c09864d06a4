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
        self.wake_if_finished(&s);
    }

    /// `count` covered events of `lane` were delivered (a lane counts a batch down at once).
    pub fn delivered(&self, lane: usize, count: u64) {
        if count == 0 {
            return;
        }
        let mut s = self.lock();
        s.outstanding -= count;
        s.destinations[lane].pending -= count;
        s.destinations[lane].delivered += count;
        self.wake_if_finished(&s);
    }

    /// Covered events of `lane` failed, these ones.
    pub fn failed<'a>(&self, lane: usize, failures: impl IntoIterator<Item = &'a FailedEvent>) {
        let mut s = self.lock();
        let mut count = 0;
        for failure in failures {
            count += 1;
            if s.failures.len() < MAX_REPORTED_FAILURES {
                s.failures.push(failure.clone());
            }
        }
        s.outstanding -= count;
        s.destinations[lane].pending -= count;
        s.destinations[lane].failed += count;
        self.wake_if_finished(&s);
    }

    /// Wakes the waiters once nothing is left: they wait for that alone, and a wake-up per
    /// settled batch (it used to be per event) was a futex call and a context switch each.
    fn wake_if_finished(&self, s: &State) {
        if Self::finished(s) {
            self.done.notify_all();
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn failure(id: &str) -> FailedEvent {
        FailedEvent {
            destination: "a".into(),
            message_id: id.into(),
            reason: "refused".into(),
            status: Some(400),
            body: "{}".into(),
        }
    }

    #[test]
    fn a_batch_counts_down_at_once_and_the_report_adds_up() {
        let progress = FlushProgress::new(vec!["a".into(), "b".into()]);
        progress.register(0, 5);
        progress.register(1, 0);
        progress.delivered(0, 3);
        progress.delivered(0, 0);
        progress.failed(0, &[failure("m1"), failure("m2")]);
        let report = progress.wait(Duration::ZERO, |_| 0);
        assert!(!report.timed_out);
        assert_eq!((report.delivered, report.failed, report.pending), (3, 2, 0));
        assert_eq!(report.destinations[0].delivered, 3);
        assert_eq!(report.destinations[0].failed, 2);
        let ids: Vec<&str> = report
            .failures
            .iter()
            .map(|f| f.message_id.as_str())
            .collect();
        assert_eq!(ids, ["m1", "m2"]);
    }

    #[test]
    fn a_waiter_wakes_when_the_last_covered_event_settles() {
        let progress = Arc::new(FlushProgress::new(vec!["a".into()]));
        progress.register(0, 4);
        let settler = {
            let progress = progress.clone();
            std::thread::spawn(move || {
                for _ in 0..4 {
                    std::thread::sleep(Duration::from_millis(20));
                    progress.delivered(0, 1);
                }
            })
        };
        let started = Instant::now();
        let report = progress.wait(Duration::from_secs(30), |_| 0);
        settler.join().unwrap();
        assert!(!report.timed_out);
        assert_eq!((report.delivered, report.pending), (4, 0));
        // Woken by the last settle, not by the deadline.
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_waiter_past_its_deadline_reports_what_is_left() {
        let progress = FlushProgress::new(vec!["a".into()]);
        progress.register(0, 3);
        progress.delivered(0, 1);
        let report = progress.wait(Duration::from_millis(30), |_| 0);
        assert!(report.timed_out);
        assert_eq!((report.delivered, report.pending), (1, 2));
    }
}
