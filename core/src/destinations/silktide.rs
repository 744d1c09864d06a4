//! Silktide Analytics, server-side events (seed 002).
//!
//! `POST` to the property's region-specific endpoint URL (e.g. `https://a.eu.silktide.com/v1/events`)
//! with `propertyKey` (32 letters and digits), the visitor's `url`, `ip`, `viewWidth`,
//! `userAgent`, and `events[]`, each an `event` name plus its own fields. One request
//! describes one visitor context, so events are grouped by (url, ip, userAgent, viewWidth).
//! `ip` and `userAgent` are required: Silktide derives its temporary visitor id from them.

use std::net::IpAddr;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::config::{base_url, lenient};
use super::{
    envelope_with, event_too_large, event_with, missing_id, Destination, Encoded, Group, Limits,
    Peers, Request,
};
use crate::error::{ConfigError, ValidationError};
use crate::json::Object;
use crate::message::{Kind, Message};
use crate::time::Timestamp;
use crate::value::preview;

pub const KIND: &str = "silktide";
/// "a 32-character string of numbers and letters".
pub const PROPERTY_KEY_CHARS: usize = 32;
/// Not documented; conservative.
pub const MAX_BATCH_EVENTS: usize = 100;
pub const MAX_REQUEST_BYTES: usize = 500_000;
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub name: Option<String>,
    pub property_key: String,
    /// `window.stConfig.endpointUrl` on a page that runs Silktide, e.g. `https://a.eu.silktide.com/v1/events`.
    pub endpoint_url: String,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub allow_insecure_http: bool,
}

#[derive(Debug)]
pub struct Silktide {
    name: String,
    property_key: String,
    url: String,
}

impl Silktide {
    pub fn new(config: &Config) -> Result<Silktide, ConfigError> {
        let key = config.property_key.trim();
        if key.len() != PROPERTY_KEY_CHARS || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::new(
                "config.silktide.property_key",
                KIND,
                "property_key",
                format!(
                    "must be {PROPERTY_KEY_CHARS} letters and digits (window.stConfig.propertyKey)"
                ),
            ));
        }
        Ok(Silktide {
            name: config.name.clone().unwrap_or_else(|| KIND.to_string()),
            property_key: key.to_string(),
            url: base_url(
                KIND,
                "endpoint_url",
                &config.endpoint_url,
                config.allow_insecure_http,
            )?,
        })
    }

    fn visitor(&self, message: &Message) -> Result<(String, String), ValidationError> {
        let ip = message.context.ip.as_deref().ok_or_else(|| {
            missing_id(
                self,
                "ip",
                "context.ip",
                "Silktide needs the visitor's IP address (context.ip)",
            )
        })?;
        let ip: IpAddr = ip.trim().parse().map_err(|_| {
            ValidationError::new(
                "silktide.ip.invalid",
                &self.name,
                "context.ip",
                format!("{:?} is not an IPv4 or IPv6 address", preview(ip)),
            )
        })?;
        let agent = message.context.user_agent.as_deref().ok_or_else(|| {
            missing_id(
                self,
                "user_agent",
                "context.user_agent",
                "Silktide needs the visitor's User-Agent (context.user_agent)",
            )
        })?;
        Ok((ip.to_string(), agent.to_string()))
    }
}

impl Destination for Silktide {
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
        if message.kind != Kind::Track {
            return Ok(None);
        }
        let (ip, agent) = self.visitor(message)?;
        if message.properties.contains_key("event") {
            return Err(ValidationError::new(
                "silktide.properties.reserved_key",
                &self.name,
                "properties.event",
                "\"event\" holds the event name in Silktide; rename this property",
            ));
        }
        // {"event": name, then the properties in their order} ("event" is never one of them).
        let body = event_with(|out| {
            let mut event = Object::open(out);
            event.field_str("event", message.event.as_deref().unwrap_or(""));
            for (key, value) in &message.properties {
                event.value(key, value);
            }
            event.close();
        });
        let ctx = &message.context;
        let mut envelope = Map::new();
        envelope.insert(
            "propertyKey".into(),
            Value::String(self.property_key.clone()),
        );
        if let Some(url) = &ctx.url {
            envelope.insert("url".into(), Value::String(url.clone()));
        }
        envelope.insert("ip".into(), Value::String(ip));
        if let Some(width) = ctx.view_width {
            envelope.insert("viewWidth".into(), Value::from(width));
        }
        envelope.insert("userAgent".into(), Value::String(agent));
        // The serialized envelope is the group key: JSON escaping keeps two visitor contexts
        // apart whatever their url or user agent contain (a joined key with a separator did not).
        let key = serde_json::to_string(&envelope).unwrap_or_default();
        // The context travels with the event, so it counts towards the event's bytes: an
        // accepted event always fits in a request of its own.
        let bytes = body.len() + key.len();
        if bytes > MAX_EVENT_BYTES {
            return Err(event_too_large(self, bytes));
        }
        Ok(Some(Encoded {
            group: Some(Arc::new(Group { key, envelope })),
            body,
        }))
    }

    fn request(&self, group: &Group, events: &[&str], _sent_at: Timestamp) -> Request {
        Request {
            method: "POST",
            url: self.url.clone(),
            headers: vec![("content-type", "application/json".to_string())],
            body: envelope_with(&group.envelope, "events", events).into_bytes(),
        }
    }
}
