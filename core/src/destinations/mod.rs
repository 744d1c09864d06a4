//! Destinations: one file per collector, each owning everything about it (endpoint, auth,
//! limits, grouping, validation, encoding, response reading). Adding a collector means
//! adding one file and one arm in [`DestinationConfig`].
//!
//! The pipeline talks to a destination only through [`Destination`]: `encode` at `track()`
//! time (validate and serialize one event, off the network), `request` when a batch is sent,
//! `read_response` when the collector answers. A destination never does I/O itself.

pub mod config;
pub mod dreamdata;
pub mod file;
pub mod koala;
pub mod response;
pub mod segment;
pub mod segment_spec;
pub mod silktide;
pub mod tracardi;
pub mod webanalyzer;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{mask_secret, ValidationError};
use crate::message::Message;
use crate::time::Timestamp;

pub use config::DestinationConfig;
pub use response::{parse_retry_after, Response, Verdict};

/// Messages whose encodings share a `Group` may travel in one request (Koala: one profile;
/// Silktide: one visitor context; Tracardi: one session and profile). The envelope holds the
/// request-level fields the group's requests carry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Group {
    pub key: String,
    pub envelope: Map<String, Value>,
}

impl Group {
    /// The one group of destinations that put any events together (Web Analyzer, Segment,
    /// files): no key, no envelope. Their events carry no group of their own (`None`).
    pub fn shared() -> &'static Group {
        static SHARED: OnceLock<Group> = OnceLock::new();
        SHARED.get_or_init(|| Group {
            key: String::new(),
            envelope: Map::new(),
        })
    }

    /// The group an event, batch or item carries: its own, or [`Group::shared`] for `None`.
    pub fn or_shared(group: &Option<Arc<Group>>) -> &Group {
        group.as_deref().unwrap_or_else(|| Group::shared())
    }
}

/// One message encoded for one destination: its wire JSON (a fragment of the request body)
/// and the group it belongs to. Encoded once at `track()`, so byte budgets are exact and
/// retries resend identical bytes.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// `None` for the destination's one group ([`Group::shared`]): most events need no
    /// reference count of their own, which the caller's thread would raise and a lane's drop,
    /// bouncing one cache line between their cores at every event.
    pub group: Option<Arc<Group>>,
    pub body: String,
}

impl Encoded {
    pub fn group(&self) -> &Group {
        Group::or_shared(&self.group)
    }
}

/// How much one request may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Events per request (Web Analyzer: 25).
    pub max_events: usize,
    /// Bytes of uncompressed request body (Segment-spec: 500 KB).
    pub max_request_bytes: usize,
    /// Bytes of one encoded event (Segment: 32 KB).
    pub max_event_bytes: usize,
}

/// A collector's request budget: at most `requests` per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

/// Where a destination's batches go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    Http,
    /// Append JSON Lines to this file.
    File(std::path::PathBuf),
    Stdout,
}

/// One HTTP request, ready to send. `Debug` masks credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, String)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                if name.eq_ignore_ascii_case("authorization") {
                    (*name, mask_secret(value))
                } else {
                    (*name, value.clone())
                }
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// Encodings of the same message for the client's other destinations, by destination name:
/// what the `file`/`stdout` destinations record next to the neutral message.
pub type Peers<'a> = [(&'a str, &'a str)];

/// A collector (or a local sink) the pipeline can deliver to.
pub trait Destination: Send + Sync + fmt::Debug {
    /// Name unique within a client (defaults to the kind).
    fn name(&self) -> &str;
    /// The collector kind, the prefix of this destination's error codes (`webanalyzer`).
    fn kind(&self) -> &'static str;
    fn limits(&self) -> Limits;
    fn rate_limit(&self) -> Option<RateLimit> {
        None
    }
    fn transport(&self) -> Transport {
        Transport::Http
    }
    /// Local sinks want the other destinations' encodings of each message.
    fn wants_peers(&self) -> bool {
        false
    }
    /// Validates `message` against this collector's rules and encodes it. `Ok(None)` means
    /// this collector has no form for this kind of call (Web Analyzer has no identify) and
    /// the message simply does not go here.
    fn encode(&self, message: &Message, peers: &Peers) -> Result<Option<Encoded>, ValidationError>;
    /// The request carrying `events` (each an [`Encoded::body`] of `group`), stamped `sent_at`.
    fn request(&self, group: &Group, events: &[&str], sent_at: Timestamp) -> Request;
    /// What the collector's answer means for the batch.
    fn read_response(&self, _group: &Group, response: &Response) -> Verdict {
        response::default_verdict(response)
    }
}

/// Bytes of the request body `events` would make, given the envelope overhead `base` and
/// one separator between events.
pub fn batch_bytes(base: usize, event_bytes: usize, events: usize) -> usize {
    base + event_bytes + events.saturating_sub(1)
}

/// Error for an encoded event over the destination's per-event byte limit.
pub fn event_too_large(dest: &dyn Destination, bytes: usize) -> ValidationError {
    ValidationError::new(
        format!("{}.event.too_large", dest.kind()),
        dest.name(),
        "message",
        format!(
            "encodes to {bytes} bytes; {} accepts at most {} bytes per event",
            dest.kind(),
            dest.limits().max_event_bytes
        ),
    )
}

/// Bytes one event takes in a request of its own: its body plus its group's envelope (the
/// visitor context Silktide and Tracardi send once per request, Koala's identify). Checked
/// against `max_event_bytes`, so an accepted event always fits in a request, however large
/// its user agent or context.
pub fn bytes_with_envelope(encoded: &Encoded) -> usize {
    let envelope = serde_json::to_string(&encoded.group().envelope).map_or(0, |s| s.len());
    encoded.body.len() + envelope
}

/// One event's JSON body: serialized into a per-thread scratch buffer, then copied out once
/// into a string of about its length (a reused one, see [`crate::bodies`]). Queued bodies
/// wait (through an outage, for hours) and count against the memory budget by length, so
/// little slack is kept; a growing buffer would also be copied at every doubling.
pub fn event_json<T: Serialize + ?Sized>(value: &T) -> String {
    // Fails only for maps with non-string keys, which no wire type has.
    event_with(|buffer| {
        if serde_json::to_writer(&mut *buffer, value).is_err() {
            buffer.clear();
        }
    })
}

/// [`event_json`] for an encoder that writes its JSON itself (see [`crate::json`]).
pub fn event_with(write: impl FnOnce(&mut Vec<u8>)) -> String {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    /// A scratch buffer that grew past this (a huge event) is not kept.
    const KEEP: usize = 64 * 1024;
    // serde_json and `crate::json` write only UTF-8; checking costs a few nanoseconds and
    // keeps a careless `write` from ever producing an invalid `String`.
    let copy_out = |buffer: &mut Vec<u8>| {
        std::str::from_utf8(buffer)
            .map(crate::bodies::copy_of)
            .unwrap_or_default()
    };
    SCRATCH.with(|scratch| {
        let Ok(mut buffer) = scratch.try_borrow_mut() else {
            // Re-entered (an encoder encoding another event): a buffer of its own.
            let mut own = Vec::new();
            write(&mut own);
            return copy_out(&mut own);
        };
        buffer.clear();
        write(&mut buffer);
        let body = copy_out(&mut buffer);
        if buffer.capacity() > KEEP {
            *buffer = Vec::new();
        }
        body
    })
}

/// `envelope` with one more member, `key`, whose value is the array of the already-encoded
/// `events`: `{"profile_id":"…","events":[…]}`, written in one buffer without re-serializing
/// the events.
pub fn envelope_with(envelope: &Map<String, Value>, key: &str, events: &[&str]) -> String {
    let head = envelope_head(envelope);
    let mut out = String::with_capacity(envelope_bytes(&head, key, events));
    envelope_pieces(&head, key, events, |piece| out.push_str(piece));
    out
}

/// [`envelope_with`] gzipped (Segment-spec collectors accept `Content-Encoding: gzip`) as it
/// is written: the uncompressed request (up to 500 KB) never exists whole, only a staging
/// buffer of [`GZIP_CHUNK`] bytes.
pub fn gzipped_envelope_with(envelope: &Map<String, Value>, key: &str, events: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let head = envelope_head(envelope);
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(envelope_bytes(&head, key, events) / 4 + 64),
        flate2::Compression::fast(),
    );
    let mut chunk = String::with_capacity(GZIP_CHUNK);
    // Writing into a Vec cannot fail.
    envelope_pieces(&head, key, events, |piece| {
        if chunk.len() + piece.len() > GZIP_CHUNK && !chunk.is_empty() {
            let _ = encoder.write_all(chunk.as_bytes());
            chunk.clear();
        }
        chunk.push_str(piece);
    });
    let _ = encoder.write_all(chunk.as_bytes());
    encoder.finish().unwrap_or_default()
}

/// What [`gzipped_envelope_with`] hands the compressor at once.
const GZIP_CHUNK: usize = 32 * 1024;

/// The envelope's members as JSON (`{}` when it has none).
fn envelope_head(envelope: &Map<String, Value>) -> String {
    serde_json::to_string(envelope).unwrap_or_else(|_| "{}".to_string())
}

/// The bytes of [`envelope_with`]'s result.
fn envelope_bytes(head: &str, key: &str, events: &[&str]) -> usize {
    head.len() + key.len() + events.iter().map(|e| e.len() + 1).sum::<usize>() + 8
}

/// Hands `put` the pieces of [`envelope_with`]'s result in order; `head` is the envelope as
/// [`envelope_head`] wrote it.
fn envelope_pieces(head: &str, key: &str, events: &[&str], mut put: impl FnMut(&str)) {
    put(&head[..head.len() - 1]);
    if head.len() > 2 {
        put(",");
    }
    put("\"");
    put(key);
    put("\":[");
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            put(",");
        }
        put(event);
    }
    put("]}");
}

/// The rule error for a message without the id a collector needs to place it.
pub fn missing_id(
    dest: &dyn Destination,
    wire_field: &str,
    field: &str,
    message: &str,
) -> ValidationError {
    ValidationError::new(
        format!("{}.{wire_field}.required", dest.kind()),
        dest.name(),
        field,
        message.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gunzip(bytes: &[u8]) -> String {
        use std::io::Read;
        let mut out = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut out)
            .expect("gzip");
        out
    }

    #[test]
    fn an_envelope_holds_its_members_and_the_events_array() {
        let mut envelope = Map::new();
        envelope.insert("profile_id".into(), Value::from("p1"));
        let body = envelope_with(&envelope, "events", &[r#"{"n":1}"#, r#"{"n":2}"#]);
        assert_eq!(body, r#"{"profile_id":"p1","events":[{"n":1},{"n":2}]}"#);
        assert_eq!(envelope_with(&Map::new(), "batch", &[]), r#"{"batch":[]}"#);
    }

    #[test]
    fn a_gzipped_envelope_is_the_same_request_compressed() {
        // Events of every size around the staging chunk, some larger than it.
        let bodies: Vec<String> = (0..400)
            .map(|i| format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(i * i % 40_000)))
            .collect();
        let events: Vec<&str> = bodies.iter().map(String::as_str).collect();
        let mut envelope = Map::new();
        envelope.insert("sentAt".into(), Value::from("2026-12-07T00:00:00.000Z"));
        for n in [0, 1, 2, 50, 400] {
            let plain = envelope_with(&envelope, "batch", &events[..n]);
            let gzipped = gzipped_envelope_with(&envelope, "batch", &events[..n]);
            assert_eq!(gunzip(&gzipped), plain, "{n} events");
        }
    }
}
