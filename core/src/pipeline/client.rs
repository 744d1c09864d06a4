//! The client: the public face of the pipeline. `enqueue` validates, encodes, de-duplicates
//! and queues on the caller's thread without any I/O; `flush` and `close` wait, with a
//! deadline, for what was queued before them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use smallvec::SmallVec;

use super::batch::{Item, Spread};
use super::config::{ClientConfig, Overflow};
use super::engine::Engine;
use super::flush::FlushProgress;
use super::lane::Command;
use super::report::{Counters, DeliveryReport, Outcome, Stats};
use crate::destinations::Encoded;
use crate::error::{ConfigError, Error, ValidationError};
use crate::message::Message;
use crate::time::Timestamp;

/// Drops are logged at warn on the first and then every this many (a full budget under load
/// must not turn into a log flood).
const DROP_LOG_EVERY: u64 = 1_000;
/// Rejections are logged one by one for the first few, then every this many: every one is
/// reported to its caller in the outcome, and a bad import must not flood the log.
const REJECT_LOG_FIRST: u64 = 10;
const REJECT_LOG_EVERY: u64 = 1_000;

pub struct Client {
    config: ClientConfig,
    engine: ArcSwap<Engine>,
    closed: AtomicBool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let engine = self.engine.load();
        let names: Vec<&str> = engine.destinations.iter().map(|d| d.name()).collect();
        f.debug_struct("Client")
            .field("destinations", &names)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, ConfigError> {
        if config.destinations.is_empty() {
            return Err(ConfigError::new(
                "config.client.destinations",
                "client",
                "destinations",
                "at least one destination is required (or set TRACKLANE_DESTINATIONS)",
            ));
        }
        let engine = Engine::start(&config, None)?;
        let mut names: Vec<&str> = engine.destinations.iter().map(|d| d.name()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(ConfigError::new(
                "config.client.duplicate_name",
                pair[0],
                "name",
                format!(
                    "two destinations are named {:?}; give each a distinct name",
                    pair[0]
                ),
            ));
        }
        Ok(Client {
            config,
            engine: ArcSwap::from_pointee(engine),
            closed: AtomicBool::new(false),
        })
    }

    /// This process's engine; after a fork, a fresh one (the inherited one is leaked).
    fn engine(&self) -> arc_swap::Guard<Arc<Engine>> {
        let engine = self.engine.load();
        if engine.generation == crate::fork::generation() {
            return engine;
        }
        let dedupe = engine.dedupe.as_ref().map(|d| d.for_child());
        match Engine::start(&self.config, dedupe) {
            Ok(fresh) => {
                let previous = self.engine.compare_and_swap(&*engine, Arc::new(fresh));
                if Arc::ptr_eq(&previous, &engine) {
                    // Ours won: the inherited engine must never be dropped in this process.
                    std::mem::forget(Arc::clone(&previous));
                }
            }
            Err(e) => log::error!(target: "tracklane", "cannot rebuild after fork: {e}"),
        }
        self.engine.load()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Validates `message` for every destination, de-duplicates it by message id and queues
    /// it. Never does I/O; waits only under the `block` overflow policy. Rule violations are
    /// reported in the outcome, or returned as an error in strict mode.
    pub fn enqueue(&self, message: Message) -> Result<Outcome, Error> {
        self.enqueue_with(message, self.config.overflow, &mut || true)
    }

    /// [`Client::enqueue`] under a per-call overflow policy: an import blocks for room whatever
    /// the client's policy. While blocked, `keep_waiting` is asked every
    /// [`crate::import::INTERRUPT_CHECK_EVERY`]; once it says no, the event is dropped (Ctrl-C).
    pub fn enqueue_with(
        &self,
        mut message: Message,
        overflow: Overflow,
        keep_waiting: &mut dyn FnMut() -> bool,
    ) -> Result<Outcome, Error> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        let engine = self.engine();
        Engine::count(&engine.calls);
        message.normalize();
        if let Some(store) = &engine.dedupe {
            store.prefetch(&message.message_id);
        }
        if let Err(error) = message.validate() {
            return self.rejected(&engine, message.message_id, vec![error]);
        }
        let (encoded, errors) = encode_all(&engine, &message);
        // The message is done with: its id moves into the outcome instead of being copied.
        // (The rest is dropped where it lies, at the end: `drop(message)` copied all 656
        // bytes of it first.)
        let message_id = std::mem::take(&mut message.message_id);
        if self.config.strict && !errors.is_empty() {
            return self.rejected(&engine, message_id, errors);
        }
        for error in &errors {
            if let Some(i) = engine
                .destinations
                .iter()
                .position(|d| d.name() == error.destination)
            {
                Counters::add(&engine.counters[i].rejected, 1);
            }
        }
        if encoded.is_empty() {
            if errors.is_empty() {
                Engine::count(&engine.skipped);
                return Ok(Outcome::Skipped { message_id });
            }
            return self.rejected(&engine, message_id, errors);
        }
        if let Some(store) = &engine.dedupe {
            if !store.first_sighting(&message_id, Timestamp::now_coarse()) {
                Engine::count(&engine.duplicates);
                return Ok(Outcome::Duplicate { message_id });
            }
        }
        let bytes: usize = encoded.iter().map(|(_, e)| e.body.len()).sum();
        let reserved = match overflow {
            Overflow::DropNewest => engine.budget.try_reserve(bytes, encoded.len()),
            Overflow::Block(timeout) => crate::import::reserve_interruptibly(
                &engine.budget,
                bytes,
                encoded.len(),
                Some(timeout),
                keep_waiting,
            ),
        };
        if !reserved {
            return Ok(self.dropped(&engine, message_id, &encoded));
        }
        let destinations = if encoded.len() == engine.destinations.len() {
            engine.names.clone()
        } else {
            encoded
                .iter()
                .map(|(index, _)| engine.destinations[*index].name().to_string())
                .collect()
        };
        // Where the event goes to several destinations, their lanes learn from one another
        // whether any delivered it, before one that fails it forgets its id.
        let spread =
            (encoded.len() > 1 && engine.dedupe.is_some()).then(|| Spread::new(encoded.len()));
        for (index, e) in encoded {
            Counters::add(&engine.counters[index].queued, 1);
            engine.inboxes[index].push(Item::new(e.body, &message_id, e.group, spread.clone()));
        }
        Ok(Outcome::Queued {
            message_id,
            destinations,
            rejected: errors,
        })
    }

    /// Reports a message a binding could not even build (a value with no JSON form) the way
    /// `enqueue` reports a broken rule: counted in `stats().rejected`, logged under the same
    /// limits, returned as the outcome, or as the error in strict mode.
    pub fn reject(&self, message_id: String, error: ValidationError) -> Result<Outcome, Error> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        self.rejected(&self.engine(), message_id, vec![error])
    }

    fn rejected(
        &self,
        engine: &Engine,
        message_id: String,
        errors: Vec<ValidationError>,
    ) -> Result<Outcome, Error> {
        let n = Engine::count(&engine.rejected);
        if self.config.strict && !errors.is_empty() {
            // The caller gets the error; a log line would say it twice.
            return Err(Error::Validation(errors[0].clone()));
        }
        if n <= REJECT_LOG_FIRST || n.is_multiple_of(REJECT_LOG_EVERY) {
            let tally = if n > REJECT_LOG_FIRST {
                format!(" ({n} events rejected so far; not every one is logged)")
            } else {
                String::new()
            };
            for error in &errors {
                log::warn!(target: "tracklane", "event {message_id} rejected: {error}{tally}");
            }
        }
        Ok(Outcome::Rejected { message_id, errors })
    }

    fn dropped(
        &self,
        engine: &Engine,
        message_id: String,
        encoded: &[(usize, Encoded)],
    ) -> Outcome {
        if let Some(store) = &engine.dedupe {
            store.forget(&message_id);
        }
        for (index, _) in encoded {
            Counters::add(&engine.counters[*index].dropped, 1);
        }
        let n = Engine::count(&engine.dropped);
        if n == 1 || n.is_multiple_of(DROP_LOG_EVERY) {
            let (bytes, events) = engine.budget.used();
            log::warn!(
                target: "tracklane",
                "queue full ({events} events, {bytes} bytes held): event dropped ({n} so far); raise max_queue_bytes/max_queue_events or use overflow=block"
            );
        }
        Outcome::Dropped { message_id }
    }

    /// Waits until everything enqueued before this call is delivered or has failed, or until
    /// `timeout`; whatever is left is reported as pending (and keeps being delivered).
    pub fn flush(&self, timeout: Duration) -> DeliveryReport {
        let engine = self.engine();
        let names = engine
            .destinations
            .iter()
            .map(|d| d.name().to_string())
            .collect();
        let progress = Arc::new(FlushProgress::new(names));
        for (index, lane) in engine.lanes.iter().enumerate() {
            if lane.send(Command::Flush(progress.clone())).is_err() {
                progress.register(index, 0);
            }
        }
        let started = std::time::Instant::now();
        let mut report = progress.wait(timeout, |lane| engine.counters[lane].held());
        // Callbacks for what this flush covered have run by the time it returns.
        if let Some(hooks) = &engine.hooks {
            hooks.drain(timeout.saturating_sub(started.elapsed()));
        }
        report.rejected = Engine::get(&engine.rejected);
        report.duplicates = Engine::get(&engine.duplicates);
        report.dropped = Engine::get(&engine.dropped);
        report
    }

    /// Flushes with `timeout`, then stops accepting events. What was still pending is
    /// abandoned: reported to `on_error` and the dead-letter file. Calling it again returns at
    /// once.
    pub fn close(&self, timeout: Duration) -> DeliveryReport {
        if self.closed.swap(true, Ordering::AcqRel) {
            return DeliveryReport::default();
        }
        let report = self.flush(timeout);
        let engine = self.engine();
        // Always: a lane the flush did not hear from may still hold events, and a lane with
        // nothing left just stops retrying anything that comes after.
        for lane in &engine.lanes {
            let _ = lane.send(Command::Abandon);
        }
        // Only the client's own store: one passed in (`dedupe_store`) may serve other clients.
        let own = self.config.dedupe_store.is_none();
        if let Some(store) = engine.dedupe.as_ref().filter(|_| own) {
            store.close();
        }
        report
    }

    pub fn stats(&self) -> Stats {
        let engine = self.engine();
        let (held_bytes, held_events) = engine.budget.used();
        let destinations: Vec<_> = engine
            .destinations
            .iter()
            .zip(&engine.counters)
            .map(|(d, c)| c.snapshot(d.name()))
            .collect();
        Stats {
            calls: Engine::get(&engine.calls),
            queued: destinations.iter().map(|d| d.queued).sum(),
            duplicates: Engine::get(&engine.duplicates),
            rejected: Engine::get(&engine.rejected),
            dropped: Engine::get(&engine.dropped),
            skipped: Engine::get(&engine.skipped),
            delivered: Engine::get(&engine.totals.delivered),
            failed: Engine::get(&engine.totals.failed),
            held_events: held_events as u64,
            held_bytes: held_bytes as u64,
            destinations,
        }
    }

    /// Names of the configured destinations, in order.
    pub fn destination_names(&self) -> Vec<String> {
        self.engine()
            .destinations
            .iter()
            .map(|d| d.name().to_string())
            .collect()
    }
}

/// A message's encodings, by destination index: on the stack for one or two destinations
/// (one allocation fewer per call for most clients).
type Encodings = SmallVec<[(usize, Encoded); 2]>;

/// Encodes `message` for every destination: remote ones first, then local sinks with the
/// remote encodings as peers.
fn encode_all(engine: &Engine, message: &Message) -> (Encodings, Vec<ValidationError>) {
    let mut encoded = Encodings::new();
    let mut errors = Vec::new();
    for (index, destination) in engine.destinations.iter().enumerate() {
        if destination.wants_peers() {
            continue;
        }
        match destination.encode(message, &[]) {
            Ok(Some(e)) => encoded.push((index, e)),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if !engine.local_sinks.is_empty() {
        let peers: Vec<(&str, &str)> = encoded
            .iter()
            .map(|(i, e)| (engine.destinations[*i].name(), e.body.as_str()))
            .collect();
        let mut local = Vec::new();
        for &index in &engine.local_sinks {
            match engine.destinations[index].encode(message, &peers) {
                Ok(Some(e)) => local.push((index, e)),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        encoded.extend(local);
    }
    (encoded, errors)
}
