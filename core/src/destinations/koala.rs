//! Koala server-side API (seed 000).
//!
//! `POST {base}/web/projects/{public_key}/batch`, no auth header. One request carries one
//! `profile_id` (the visitor's `ko_id`), so events are grouped by profile. Identify is
//! `{profile_id, email}` on its own; track events carry `message_id` (Koala's idempotency
//! key), `type`, `event`, `properties` and `sent_at` (the event's time).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::config::{base_url, lenient, secret};
use super::{
    bytes_with_envelope, envelope_with, event_too_large, event_with, missing_id, Destination,
    Encoded, Group, Limits, Peers, Request,
};
use crate::error::{ConfigError, ValidationError};
use crate::json::{self, Object};
use crate::message::{Kind, Message};
use crate::time::Timestamp;
use crate::value::{is_uuid, preview};

pub const KIND: &str = "koala";
pub const DEFAULT_BASE_URL: &str = "https://api.getkoala.com";
/// Not documented; a conservative count so one request stays small.
pub const MAX_BATCH_EVENTS: usize = 100;
/// Not documented; chosen like Segment's 500 KB so no request is surprising.
pub const MAX_REQUEST_BYTES: usize = 500_000;
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub name: Option<String>,
    /// The workspace's public API key (it is part of the URL, not a secret).
    pub public_key: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub allow_insecure_http: bool,
}

#[derive(Debug)]
pub struct Koala {
    name: String,
    url: String,
}

impl Koala {
    pub fn new(config: &Config) -> Result<Koala, ConfigError> {
        let base = base_url(
            KIND,
            "base_url",
            config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            config.allow_insecure_http,
        )?;
        let key = secret(KIND, "public_key", &config.public_key)?;
        if !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::new(
                "config.koala.public_key",
                KIND,
                "public_key",
                "must be letters, digits, '-' or '_' (it is part of the URL path)",
            ));
        }
        Ok(Koala {
            name: config.name.clone().unwrap_or_else(|| KIND.to_string()),
            url: format!("{base}/web/projects/{key}/batch"),
        })
    }

    fn profile_id<'m>(&self, message: &'m Message) -> Result<&'m str, ValidationError> {
        let id = message.visitor_id().ok_or_else(|| {
            missing_id(
                self,
                "profile_id",
                "anonymous_id",
                "Koala needs the visitor's profile_id (the ko_id cookie); pass it as anonymous_id",
            )
        })?;
        if !is_uuid(id) {
            return Err(ValidationError::new(
                "koala.profile_id.invalid_uuid",
                &self.name,
                "anonymous_id",
                format!(
                    "{:?} is not a UUID; Koala profile ids are UUID v4",
                    preview(id)
                ),
            ));
        }
        Ok(id)
    }

    fn identify(&self, message: &Message, profile_id: &str) -> Result<Encoded, ValidationError> {
        let email = match message.traits.get("email") {
            Some(Value::String(email)) if email.contains('@') => email,
            Some(_) => {
                return Err(ValidationError::new(
                    "koala.email.invalid",
                    &self.name,
                    "traits.email",
                    "must be an email address",
                ))
            }
            None => {
                return Err(missing_id(
                    self,
                    "email",
                    "traits.email",
                    "Koala identifies visitors by email; set traits.email",
                ))
            }
        };
        let mut envelope = Map::new();
        envelope.insert("profile_id".into(), Value::String(profile_id.into()));
        envelope.insert("email".into(), Value::String(email.clone()));
        Ok(Encoded {
            group: Some(Arc::new(Group {
                key: format!("identify\u{1f}{profile_id}\u{1f}{email}"),
                envelope,
            })),
            body: String::new(),
        })
    }
}

impl Destination for Koala {
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

    fn encode(
        &self,
        message: &Message,
        _peers: &Peers,
    ) -> Result<Option<Encoded>, ValidationError> {
        if !matches!(message.kind, Kind::Track | Kind::Identify) {
            return Ok(None);
        }
        let profile_id = self.profile_id(message)?;
        if message.kind == Kind::Identify {
            let encoded = self.identify(message, profile_id)?;
            let bytes = bytes_with_envelope(&encoded);
            if bytes > MAX_EVENT_BYTES {
                return Err(event_too_large(self, bytes));
            }
            return Ok(Some(encoded));
        }
        // {"message_id", "type": "track", "event", "properties", "sent_at"}
        let body = event_with(|out| {
            let mut event = Object::open(out);
            event.field_str("message_id", &message.message_id);
            event.field_str("type", "track");
            event.field_str("event", message.event.as_deref().unwrap_or(""));
            json::push_map(event.field("properties"), &message.properties);
            json::push_timestamp(event.field("sent_at"), message.timestamp);
            event.close();
        });
        if body.len() > MAX_EVENT_BYTES {
            return Err(event_too_large(self, body.len()));
        }
        let mut envelope = Map::new();
        envelope.insert("profile_id".into(), Value::String(profile_id.into()));
        Ok(Some(Encoded {
            group: Some(Arc::new(Group {
                key: profile_id.to_string(),
                envelope,
            })),
            body,
        }))
    }

    fn request(&self, group: &Group, events: &[&str], _sent_at: Timestamp) -> Request {
        let body = if group.envelope.contains_key("email") {
            serde_json::to_string(&group.envelope).unwrap_or_default()
        } else {
            envelope_with(&group.envelope, "events", events)
        };
        Request {
            method: "POST",
            url: self.url.clone(),
            headers: vec![("content-type", "application/json".to_string())],
            body: body.into_bytes(),
        }
    }
}
