//! The delivery pipeline: `enqueue` → validate and encode (per destination) → dedupe →
//! memory budget → one lane per destination (batcher → sender → response handling, with
//! pacing, retries and splits) → delivered or reported failed.
//!
//! It must never do network or disk I/O on the caller's thread, never lose an event silently
//! (every event is delivered, or counted and reported), and never hang (every wait has a
//! deadline).

pub mod batch;
pub mod budget;
pub mod client;
pub mod config;
pub mod dedupe;
pub mod engine;
pub mod flush;
pub mod hooks;
mod id_table;
pub mod inbox;
pub mod lane;
pub mod report;
pub mod retry;
pub mod runtime;
pub mod sender;

pub use client::Client;
pub use config::{ClientConfig, Overflow, RetryPolicy};
pub use dedupe::{DedupeStore, MemoryDedupe};
pub use hooks::Hooks;
pub use report::{Delivery, DeliveryReport, DestinationReport, FailedEvent, Outcome, Stats};
