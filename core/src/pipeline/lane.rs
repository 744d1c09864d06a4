//! A lane: everything one destination does with its events, in one task. It batches what
//! arrives, sends ready batches within its in-flight and pacing limits, retries transient
//! failures with backoff, pauses on 429 until Retry-After, splits batches a collector
//! refuses as bad or too large, and settles each event exactly once (delivered or failed),
//! releasing its share of the memory budget and counting down flush barriers.
//!
//! A lane never sleeps inline: waiting is a deadline in the select loop, so a lane that is
//! backing off keeps accepting and batching, and one slow collector never holds up another
//! lane.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;

use super::batch::{Batch, Batcher, Item};
use super::budget::Budget;
use super::config::RetryPolicy;
use super::dedupe::DedupeStore;
use super::flush::FlushProgress;
use super::hooks::Dispatcher;
use super::inbox::{Inbox, LINGER};
use super::report::{Counters, Delivery, FailedEvent};
use super::retry::{backoff, rate_limit_pause, Pacer};
use super::sender::{send, Attempt};
use crate::destinations::{Destination, RateLimit, Verdict};

/// Control messages into a lane (events arrive through its [`Inbox`]). A lane drains its
/// inbox before acting on a command, so a flush covers every event pushed before it.
pub enum Command {
    Flush(Arc<FlushProgress>),
    /// Give up on everything not yet sent (close after its deadline); in-flight requests
    /// finish and are reported.
    Abandon,
}

/// What a lane shares with its engine.
pub struct LaneContext {
    pub index: usize,
    pub destination: Arc<dyn Destination>,
    pub http: reqwest::Client,
    pub budget: Arc<Budget>,
    pub counters: Arc<Counters>,
    pub totals: Arc<Counters>,
    pub hooks: Option<Dispatcher>,
    pub retry: RetryPolicy,
    pub max_in_flight: usize,
    pub flush_at: Option<usize>,
    pub flush_interval: Duration,
    pub rate_limit: Option<RateLimit>,
    pub dead_letter: Option<PathBuf>,
    /// The dedupe store, which forgets the ids of events that finally failed (see [`Lane::fail`]).
    pub dedupe: Option<Arc<dyn DedupeStore>>,
}

struct Barrier {
    newest: u64,
    progress: Arc<FlushProgress>,
}

/// The most a lane keeps of its spare inbox vector between drains (about 512 KB of items):
/// far more than the events that arrive within one linger.
const SPARE_CAPACITY: usize = 8_192;

pub struct Lane {
    cx: LaneContext,
    batcher: Batcher,
    ready: VecDeque<Batch>,
    retrying: Vec<(Instant, Batch)>,
    in_flight: JoinSet<(Batch, Attempt)>,
    paused_until: Option<Instant>,
    rate_limit_streak: u32,
    pacer: Option<Pacer>,
    next_seq: u64,
    outstanding: u64,
    barriers: Vec<Barrier>,
    abandoned: bool,
    inbox: Arc<Inbox>,
    /// Set when the inbox woke us: drain it then.
    drain_at: Option<Instant>,
    /// The vector the inbox's next take swaps in (see [`Inbox::take_into`]).
    spare: Vec<Item>,
}

impl Lane {
    pub fn new(cx: LaneContext, inbox: Arc<Inbox>) -> Lane {
        Lane {
            batcher: Batcher::new(cx.destination.limits(), cx.flush_at, cx.flush_interval),
            pacer: cx.rate_limit.map(Pacer::new),
            cx,
            ready: VecDeque::new(),
            retrying: Vec::new(),
            in_flight: JoinSet::new(),
            paused_until: None,
            rate_limit_streak: 0,
            next_seq: 0,
            outstanding: 0,
            barriers: Vec::new(),
            abandoned: false,
            inbox,
            drain_at: None,
            spare: Vec::new(),
        }
    }

    /// Runs until the client is gone (or abandoned it) and every event is settled.
    pub async fn run(mut self, mut rx: UnboundedReceiver<Command>) {
        let mut open = true;
        let inbox = self.inbox.clone();
        loop {
            self.dispatch(Instant::now());
            if !open && self.outstanding == 0 && self.in_flight.is_empty() {
                break;
            }
            let wake = self.next_wake();
            tokio::select! {
                command = rx.recv(), if open => match command {
                    Some(command) => {
                        self.drain_inbox();
                        self.handle(command);
                    }
                    None => {
                        // The client is gone: deliver what is left, then stop.
                        open = false;
                        self.drain_inbox();
                        let sealed = self.batcher.seal_all();
                        self.ready.extend(sealed);
                    }
                },
                _ = inbox.notify.notified(), if open && self.drain_at.is_none() => {
                    self.drain_at = Some(Instant::now() + LINGER);
                }
                Some(joined) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    if let Ok((batch, attempt)) = joined {
                        self.settle_attempt(batch, attempt);
                    }
                }
                _ = sleep_until(wake), if wake.is_some() => self.on_timer(Instant::now()),
            }
        }
    }

    fn drain_inbox(&mut self) {
        self.drain_at = None;
        let now = Instant::now();
        let mut items = std::mem::take(&mut self.spare);
        self.inbox.take_into(&mut items);
        for mut item in items.drain(..) {
            self.next_seq += 1;
            item.seq = self.next_seq;
            self.outstanding += 1;
            let sealed = self.batcher.add(item, now);
            self.ready.extend(sealed);
        }
        // A burst the lane could not keep up with must not pin its peak size for good.
        items.shrink_to(SPARE_CAPACITY);
        self.spare = items;
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Flush(progress) => {
                let sealed = self.batcher.seal_all();
                self.ready.extend(sealed);
                progress.register(self.cx.index, self.outstanding);
                if self.outstanding > 0 {
                    self.barriers.push(Barrier {
                        newest: self.next_seq,
                        progress,
                    });
                }
            }
            Command::Abandon => self.abandon(),
        }
    }

    fn next_wake(&mut self) -> Option<Instant> {
        let mut wake = self.batcher.next_due();
        if let Some(drain_at) = self.drain_at {
            wake = Some(wake.map_or(drain_at, |w| w.min(drain_at)));
        }
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                wake = Some(wake.map_or(t, |w| w.min(t)));
            }
        };
        consider(self.retrying.iter().map(|(due, _)| *due).min());
        if !self.ready.is_empty() && self.in_flight.len() < self.cx.max_in_flight {
            consider(self.paused_until);
            consider(self.pacer.as_ref().map(Pacer::ready_at));
        }
        wake
    }

    fn on_timer(&mut self, now: Instant) {
        if self.drain_at.is_some_and(|t| t <= now) {
            self.drain_inbox();
        }
        let sealed = self.batcher.seal_due(now);
        self.ready.extend(sealed);
        if self.retrying.iter().any(|(due, _)| *due <= now) {
            let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.retrying)
                .into_iter()
                .partition(|(d, _)| *d <= now);
            self.retrying = waiting;
            for (_, batch) in due.into_iter().rev() {
                self.ready.push_front(batch);
            }
        }
    }

    /// Starts as many ready batches as the in-flight cap, a 429 pause and pacing allow.
    fn dispatch(&mut self, now: Instant) {
        while self.in_flight.len() < self.cx.max_in_flight && !self.ready.is_empty() {
            if self.paused_until.is_some_and(|until| until > now) {
                return;
            }
            if self.pacer.as_ref().is_some_and(|p| p.ready_at() > now) {
                return;
            }
            let Some(batch) = self.ready.pop_front() else {
                return;
            };
            if let Some(pacer) = &mut self.pacer {
                pacer.sent(now);
            }
            let http = self.cx.http.clone();
            let destination = self.cx.destination.clone();
            self.in_flight.spawn(async move {
                let attempt = send(&http, &destination, &batch).await;
                (batch, attempt)
            });
        }
    }

    fn settle_attempt(&mut self, mut batch: Batch, attempt: Attempt) {
        Counters::add(&self.cx.counters.requests, 1);
        Counters::add(&self.cx.counters.bytes_sent, attempt.bytes_sent as u64);
        let now = Instant::now();
        match attempt.verdict {
            Verdict::Delivered { profile_id } => {
                self.rate_limit_streak = 0;
                self.delivered(batch, attempt.status, profile_id);
            }
            _ if self.abandoned => {
                let reason = "abandoned: the client was closed before this batch was delivered";
                self.fail(batch, reason.to_string(), attempt.status);
            }
            Verdict::Retry { after, reason } => {
                batch.attempts += 1;
                let since = *batch.failing_since.get_or_insert(now);
                if now.duration_since(since) >= self.cx.retry.max_duration {
                    let reason = format!("{reason}; gave up after {} attempts", batch.attempts);
                    return self.fail(batch, reason, attempt.status);
                }
                Counters::add(&self.cx.counters.retries, 1);
                let delay = backoff(&self.cx.retry, batch.attempts - 1, after);
                log::debug!(target: "tracklane", "{}: {reason}; retrying in {delay:?}", self.cx.destination.name());
                self.retrying.push((now + delay, batch));
            }
            Verdict::RateLimited { after } => {
                self.rate_limit_streak += 1;
                Counters::add(&self.cx.counters.rate_limited, 1);
                // A 429 spends no retry budget: the collector is healthy and told us when to
                // come back. The memory budget bounds what can pile up meanwhile.
                let pause = rate_limit_pause(&self.cx.retry, after, self.rate_limit_streak - 1);
                let until = now + pause;
                self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
                log::info!(target: "tracklane", "{}: rate limited; pausing {pause:?}", self.cx.destination.name());
                self.ready.push_front(batch);
            }
            Verdict::BadRequest { reason } | Verdict::TooLarge { reason } => {
                if batch.items.len() > 1 {
                    Counters::add(&self.cx.counters.splits, 1);
                    let (first, second) = batch.split();
                    self.ready.push_front(second);
                    self.ready.push_front(first);
                } else {
                    self.fail(batch, reason, attempt.status);
                }
            }
            Verdict::Rejected { reason, .. } => self.fail(batch, reason, attempt.status),
        }
    }

    fn delivered(&mut self, batch: Batch, status: Option<u16>, profile_id: Option<String>) {
        let count = batch.items.len() as u64;
        for spread in batch.items.iter().filter_map(|i| i.spread.as_ref()) {
            spread.delivered();
        }
        Counters::add(&self.cx.counters.delivered, count);
        Counters::add(&self.cx.totals.delivered, count);
        if let Some(hooks) = self.cx.hooks.as_ref().filter(|h| h.wants_deliveries()) {
            hooks.delivery(Delivery {
                destination: self.cx.destination.name().to_string(),
                message_ids: batch
                    .items
                    .iter()
                    .map(|i| i.message_id().to_string())
                    .collect(),
                status: status.unwrap_or(0),
                profile_id,
                attempts: batch.attempts + 1,
            });
        }
        let index = self.cx.index;
        self.settle(batch, |progress, covered| {
            progress.delivered(index, covered.count() as u64)
        });
    }

    fn fail(&mut self, batch: Batch, reason: String, status: Option<u16>) {
        let count = batch.items.len() as u64;
        Counters::add(&self.cx.counters.failed, count);
        Counters::add(&self.cx.totals.failed, count);
        let name = self.cx.destination.name().to_string();
        log::warn!(target: "tracklane", "{name}: {count} event(s) not delivered: {reason}");
        // Never delivered, so a replay of one (from on_error, the flush report or the dead-letter
        // file) must be taken, not answered `duplicate`: its id is forgotten first. An event
        // that went to several destinations is forgotten by the last of their lanes to settle
        // it, and only if none delivered it: a replay would reach that one twice.
        if let Some(store) = &self.cx.dedupe {
            for item in &batch.items {
                if item.spread.as_ref().is_none_or(|s| s.failed_everywhere()) {
                    store.forget(item.message_id());
                }
            }
        }
        let failures: Vec<FailedEvent> = batch
            .items
            .iter()
            .map(|item| FailedEvent {
                destination: name.clone(),
                message_id: item.message_id().to_string(),
                reason: reason.clone(),
                status,
                body: item.body().to_string(),
            })
            .collect();
        if let Some(path) = self.cx.dead_letter.clone() {
            let lines: String = failures
                .iter()
                .map(|f| serde_json::to_string(f).unwrap_or_default() + "\n")
                .collect();
            tokio::task::spawn_blocking(move || dead_letter(&path, lines.as_bytes()));
        }
        // Hooks are queued before the flush barrier counts down, so a flush that returns has
        // seen its callbacks run.
        if let Some(hooks) = &self.cx.hooks {
            hooks.error(failures.clone());
        }
        let index = self.cx.index;
        self.settle(batch, |progress, covered| {
            progress.failed(index, covered.map(|i| &failures[i]))
        });
    }

    /// Releases the batch's budget, counts it down on every flush barrier it falls under (once
    /// per barrier, with the indices of the items the barrier covers), and hands its strings
    /// back for reuse.
    fn settle(
        &mut self,
        batch: Batch,
        mut count_down: impl FnMut(&FlushProgress, &mut dyn Iterator<Item = usize>),
    ) {
        let bytes: usize = batch.items.iter().map(|i| i.body().len()).sum();
        self.cx.budget.release(bytes, batch.items.len());
        self.outstanding -= batch.items.len() as u64;
        for barrier in &self.barriers {
            let mut covered = batch
                .items
                .iter()
                .enumerate()
                .filter(|(_, item)| item.seq <= barrier.newest)
                .map(|(i, _)| i);
            count_down(&barrier.progress, &mut covered);
        }
        self.barriers.retain(|b| !b.progress.is_finished());
        crate::bodies::give_back(batch.items.into_iter().map(Item::into_text));
    }

    fn abandon(&mut self) {
        self.abandoned = true;
        let mut batches = self.batcher.seal_all();
        batches.extend(self.ready.drain(..));
        batches.extend(self.retrying.drain(..).map(|(_, b)| b));
        for batch in batches {
            let reason = "abandoned: the client was closed before this batch was delivered";
            self.fail(batch, reason.to_string(), None);
        }
    }
}

async fn sleep_until(when: Option<Instant>) {
    match when {
        Some(when) => tokio::time::sleep_until(when.into()).await,
        None => std::future::pending().await,
    }
}

fn dead_letter(path: &std::path::Path, lines: &[u8]) {
    use std::io::Write;
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(lines));
    if let Err(e) = written {
        log::error!(target: "tracklane", "cannot write the dead-letter file {}: {e}", path.display());
    }
}
