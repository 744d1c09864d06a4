//! Web Analyzer App, Measurement Protocol (seed 001).
//!
//! `POST {base}/websites/{id}/track` for one event, `/track/batch` for up to 25; Bearer key;
//! 60 requests a minute per key. Payloads are flat, at most 10 keys, values at most 255
//! characters, and scalars travel as strings (the server casts them; we do it first so the
//! body is what the docs show). There is no message id on the wire, so the client-side
//! dedupe is the only protection against double counting here.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::config::{base_url, lenient, secret};
use super::{
    envelope_with, event_too_large, event_with, Destination, Encoded, Group, Limits, Peers,
    RateLimit, Request,
};
use crate::error::{mask_secret, ConfigError, ValidationError};
use crate::json::{self, Object};
use crate::message::{Kind, Message};
use crate::time::Timestamp;
use crate::value::{is_uuid, preview, scalar_to_string};

pub const KIND: &str = "webanalyzer";
/// The documented production endpoint.
pub const DEFAULT_BASE_URL: &str = "https://webanalyzerapp.com/api/v1";
/// "Send up to 25 events in a single request."
pub const MAX_BATCH_EVENTS: usize = 25;
/// "Max 128 characters."
pub const MAX_NAME_CHARS: usize = 128;
/// "Max 10 keys."
pub const MAX_PAYLOAD_KEYS: usize = 10;
/// "values max 255 characters."
pub const MAX_VALUE_CHARS: usize = 255;
/// 60 requests per minute per API key.
pub const RATE_LIMIT_PER_MINUTE: u32 = 60;
/// Not documented; ten keys of 255 characters stay far below it, so only absurd keys hit it.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Not documented; 25 events at the per-event cap would be 1.6 MB, so the batcher also splits by bytes.
pub const MAX_REQUEST_BYTES: usize = 1_000_000;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub name: Option<String>,
    pub api_key: String,
    #[serde(deserialize_with = "lenient::u64")]
    pub website_id: u64,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub allow_insecure_http: bool,
}

pub struct WebAnalyzer {
    name: String,
    api_key: String,
    track_url: String,
    batch_url: String,
}

impl std::fmt::Debug for WebAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebAnalyzer")
            .field("name", &self.name)
            .field("api_key", &mask_secret(&self.api_key))
            .field("track_url", &self.track_url)
            .finish()
    }
}

impl WebAnalyzer {
    pub fn new(config: &Config) -> Result<WebAnalyzer, ConfigError> {
        let base = base_url(
            KIND,
            "base_url",
            config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            config.allow_insecure_http,
        )?;
        if config.website_id == 0 {
            return Err(ConfigError::new(
                "config.webanalyzer.website_id",
                KIND,
                "website_id",
                "must be a positive website id",
            ));
        }
        let track_url = format!("{base}/websites/{}/track", config.website_id);
        Ok(WebAnalyzer {
            name: config.name.clone().unwrap_or_else(|| KIND.to_string()),
            api_key: secret(KIND, "api_key", &config.api_key)?,
            batch_url: format!("{track_url}/batch"),
            track_url,
        })
    }

    /// `wire` names the Web Analyzer field in the code (`webanalyzer.payload.too_many_keys`);
    /// `field` is the path in the neutral message, as for every other destination.
    fn error(
        &self,
        wire: &str,
        rule: &str,
        field: impl Into<String>,
        message: String,
    ) -> ValidationError {
        ValidationError::new(format!("{KIND}.{wire}.{rule}"), &self.name, field, message)
    }

    fn payload(
        &self,
        properties: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ValidationError> {
        let mut payload = Map::new();
        for (key, value) in properties {
            if value.is_null() {
                continue;
            }
            let text = scalar_to_string(value).ok_or_else(|| {
                self.error(
                    "payload",
                    "not_flat",
                    format!("properties.{key}"),
                    format!(
                        "is {}; Web Analyzer payloads are flat (strings, numbers, booleans)",
                        crate::value::type_name(value)
                    ),
                )
            })?;
            let chars = text.chars().count();
            if chars > MAX_VALUE_CHARS {
                return Err(self.error(
                    "payload",
                    "value_too_long",
                    format!("properties.{key}"),
                    format!(
                        "is {chars} characters; Web Analyzer accepts at most {MAX_VALUE_CHARS}"
                    ),
                ));
            }
            payload.insert(key.clone(), Value::String(text));
        }
        if payload.len() > MAX_PAYLOAD_KEYS {
            return Err(self.error(
                "payload",
                "too_many_keys",
                "properties",
                format!(
                    "has {} keys; Web Analyzer accepts at most {MAX_PAYLOAD_KEYS}",
                    payload.len()
                ),
            ));
        }
        Ok(payload)
    }
}

impl Destination for WebAnalyzer {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn limits(&self) -> Limits {
        Limits {
            max_events: MAX_BATCH_EVENTS,
            max_request_bytes: MAX_REQUEST_BYTES,
            max_event_bytes: MAX_EVENT_BYTES,
        }
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        Some(RateLimit {
            requests: RATE_LIMIT_PER_MINUTE,
            per: Duration::from_secs(60),
        })
    }

    fn encode(
        &self,
        message: &Message,
        _peers: &Peers,
    ) -> Result<Option<Encoded>, ValidationError> {
        if message.kind != Kind::Track {
            return Ok(None);
        }
        let name = message.event.as_deref().unwrap_or("");
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(self.error(
                "name",
                "too_long",
                "event",
                format!("is {chars} characters; Web Analyzer accepts at most {MAX_NAME_CHARS}"),
            ));
        }
        if let Some(visitor) = message.visitor_id() {
            if !is_uuid(visitor) {
                return Err(self.error(
                    "visitor_id",
                    "invalid_uuid",
                    "anonymous_id",
                    format!(
                        "{:?} is not a UUID; use the ot_vid value from the client-side tracker",
                        preview(visitor)
                    ),
                ));
            }
        }
        let payload = self.payload(&message.properties)?;
        // {"name", "payload" (if any), "visitor_id", "url", "referrer" (each if set)}
        let body = event_with(|out| {
            let mut event = Object::open(out);
            event.field_str("name", name);
            if !payload.is_empty() {
                json::push_map(event.field("payload"), &payload);
            }
            let optional = [
                ("visitor_id", message.visitor_id()),
                ("url", message.context.url.as_deref()),
                ("referrer", message.context.referrer.as_deref()),
            ];
            for (key, value) in optional {
                if let Some(value) = value {
                    event.field_str(key, value);
                }
            }
            event.close();
        });
        if body.len() > MAX_EVENT_BYTES {
            return Err(event_too_large(self, body.len()));
        }
        Ok(Some(Encoded { group: None, body }))
    }

    fn request(&self, _group: &Group, events: &[&str], _sent_at: Timestamp) -> Request {
        let (url, body) = match events {
            [single] => (self.track_url.clone(), single.to_string()),
            many => (
                self.batch_url.clone(),
                envelope_with(&Map::new(), "events", many),
            ),
        };
        Request {
            method: "POST",
            url,
            headers: vec![
                ("authorization", format!("Bearer {}", self.api_key)),
                ("content-type", "application/json".to_string()),
            ],
            body: body.into_bytes(),
        }
    }
}
