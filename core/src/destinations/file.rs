//! Local destinations for development, tests and dry runs: `file` appends JSON Lines to a
//! path, `stdout` prints them. Each line is the neutral message plus what every other
//! destination of the client would have sent for it (`{"message": ..., "wire": {...}}`), so a
//! dry run shows exactly the bytes a collector would get.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Destination, Encoded, Group, Limits, Peers, Request, Transport};
use crate::error::{ConfigError, ValidationError};
use crate::message::Message;
use crate::time::Timestamp;

/// Lines per write: large, since a local write is cheap.
pub const MAX_BATCH_EVENTS: usize = 1_000;
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;
/// One line at most 1 MiB: a larger message is almost certainly a mistake.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub name: Option<String>,
    pub path: PathBuf,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug)]
pub struct FileSink {
    name: String,
    kind: &'static str,
    transport: Transport,
}

impl FileSink {
    pub fn file(config: &FileConfig) -> Result<FileSink, ConfigError> {
        if config.path.as_os_str().is_empty() {
            return Err(ConfigError::new(
                "config.file.path",
                "file",
                "path",
                "is required",
            ));
        }
        Ok(FileSink {
            name: config.name.clone().unwrap_or_else(|| "file".to_string()),
            kind: "file",
            transport: Transport::File(config.path.clone()),
        })
    }

    pub fn stdout(config: &StdoutConfig) -> FileSink {
        FileSink {
            name: config.name.clone().unwrap_or_else(|| "stdout".to_string()),
            kind: "stdout",
            transport: Transport::Stdout,
        }
    }
}

impl Destination for FileSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        self.kind
    }

    fn limits(&self) -> Limits {
        Limits {
            max_events: MAX_BATCH_EVENTS,
            max_request_bytes: MAX_REQUEST_BYTES,
            max_event_bytes: MAX_EVENT_BYTES,
        }
    }

    fn transport(&self) -> Transport {
        self.transport.clone()
    }

    fn wants_peers(&self) -> bool {
        true
    }

    fn encode(&self, message: &Message, peers: &Peers) -> Result<Option<Encoded>, ValidationError> {
        let mut line = String::from("{\"message\":");
        line.push_str(&message.to_json().to_string());
        line.push_str(",\"wire\":{");
        for (i, (name, body)) in peers.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&serde_json::Value::String(name.to_string()).to_string());
            line.push(':');
            line.push_str(if body.is_empty() { "null" } else { body });
        }
        line.push_str("}}");
        if line.len() > MAX_EVENT_BYTES {
            return Err(super::event_too_large(self, line.len()));
        }
        Ok(Some(Encoded {
            group: None,
            body: line,
        }))
    }

    /// The "request" for a local sink is the block of lines to append.
    fn request(&self, _group: &Group, events: &[&str], _sent_at: Timestamp) -> Request {
        let mut body = String::with_capacity(events.iter().map(|e| e.len() + 1).sum());
        for event in events {
            body.push_str(event);
            body.push('\n');
        }
        Request {
            method: "WRITE",
            url: match &self.transport {
                Transport::File(path) => format!("file://{}", path.display()),
                _ => "stdout:".to_string(),
            },
            headers: Vec::new(),
            body: body.into_bytes(),
        }
    }
}
