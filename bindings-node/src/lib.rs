//! The Node binding. It converts JS values to the core's messages and options, maps errors
//! to JS `Error`s with stable codes, and runs blocking calls off the event loop; all tracking
//! logic (validation, batching, retries, dedupe) lives in `tracklane-core`. The JS layer in
//! `js/` adds what is idiomatic in Node: defaults, the `beforeExit` flush, Express middleware.
//!
//! Files mirror `bindings-python/src/` (client, config, convert, errors, hooks).

mod client;
mod config;
mod convert;
mod errors;
mod hooks;

use napi_derive::napi;

/// The core's version (also the package's).
#[napi]
pub fn version() -> &'static str {
    tracklane_core::VERSION
}
