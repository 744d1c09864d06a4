//! tracklane's core: the neutral message, the collectors it can be sent to, and (in
//! `pipeline`) the machinery that delivers it. Plain Rust — no pyo3, no napi: the Python and
//! Node packages are thin bindings over this crate.

pub mod bodies;
pub mod destinations;
pub mod error;
pub mod fork;
pub mod import;
pub mod json;
pub mod message;
pub mod message_id;
pub mod pipeline;
pub mod time;
pub mod value;

pub use destinations::{Destination, DestinationConfig};
pub use error::{ConfigError, Error, ValidationError};
pub use message::{Context, Kind, Message};
pub use pipeline::{Client, ClientConfig, DeliveryReport, Hooks, Outcome, Overflow, Stats};
pub use time::Timestamp;

/// Goes into every payload that has a place for the sending library (Segment `context.library`).
pub const LIBRARY_NAME: &str = "tracklane";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
