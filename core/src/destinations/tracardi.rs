//! Tracardi (seed 003).
//!
//! `POST {base}/track` with `source.id`, `session.id`, optional `profile.id`, `context` and
//! `events[]` (`type`, `properties`), grouped by (session, profile, context). Tracardi answers
//! with the profile id it assigned; we remember it per session and attach it to that
//! session's later requests, and hand it to the application through the delivery report.
//! Two profile-less forms: `?profile_less=true`, and `POST {base}/collect/{EVENT-TYPE}/{SOURCE-ID}`
//! with the event's properties as the whole body (one event per request).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::config::{base_url, lenient, secret};
use super::response::default_verdict;
use super::{
    bytes_with_envelope, envelope_with, event_json, event_too_large, Destination, Encoded, Group,
    Limits, Peers, Request, Response, Verdict,
};
use crate::error::{ConfigError, ValidationError};
use crate::message::{new_message_id, Kind, Message};
use crate::time::Timestamp;

pub const KIND: &str = "tracardi";
/// Not documented; conservative.
pub const MAX_BATCH_EVENTS: usize = 100;
pub const MAX_REQUEST_BYTES: usize = 500_000;
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// Sessions whose profile id we remember; the oldest half is forgotten past this, so a
/// long-running server cannot grow the map without bound.
pub const MAX_REMEMBERED_SESSIONS: usize = 100_000;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub name: Option<String>,
    /// Where Tracardi is installed, e.g. `https://tracardi.example.com`.
    pub base_url: String,
    /// The event source defined in Tracardi; an unknown one gets an authorization error.
    pub source_id: String,
    /// Send `POST /track?profile_less=true`: no profile is created or attached.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub profile_less: bool,
    /// Send each event as `POST /collect/{EVENT-TYPE}/{SOURCE-ID}` (profile-less, no session).
    #[serde(default, deserialize_with = "lenient::bool")]
    pub collect: bool,
    /// The `options` object (debugger, profile, saveSession, saveEvents).
    #[serde(default)]
    pub options: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub allow_insecure_http: bool,
}

#[derive(Debug)]
pub struct Tracardi {
    name: String,
    base: String,
    source_id: String,
    profile_less: bool,
    collect: bool,
    options: Option<Map<String, Value>>,
    /// session id → profile id assigned by Tracardi.
    profiles: Mutex<HashMap<String, (u64, String)>>,
}

impl Tracardi {
    pub fn new(config: &Config) -> Result<Tracardi, ConfigError> {
        Ok(Tracardi {
            name: config.name.clone().unwrap_or_else(|| KIND.to_string()),
            base: base_url(
                KIND,
                "base_url",
                &config.base_url,
                config.allow_insecure_http,
            )?,
            source_id: secret(KIND, "source_id", &config.source_id)?,
            profile_less: config.profile_less,
            collect: config.collect,
            options: config.options.clone(),
            profiles: Mutex::new(HashMap::new()),
        })
    }

    /// The profile id Tracardi assigned to `session`, if it told us.
    pub fn remembered_profile(&self, session: &str) -> Option<String> {
        let profiles = self.profiles.lock().unwrap_or_else(|p| p.into_inner());
        profiles.get(session).map(|(_, id)| id.clone())
    }

    fn remember(&self, session: &str, profile: &str) {
        let mut profiles = self.profiles.lock().unwrap_or_else(|p| p.into_inner());
        if profiles.len() >= MAX_REMEMBERED_SESSIONS {
            let mut ages: Vec<u64> = profiles.values().map(|(age, _)| *age).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            profiles.retain(|_, (age, _)| *age > cutoff);
        }
        let age = Timestamp::now().millis() as u64;
        profiles.insert(session.to_string(), (age, profile.to_string()));
    }

    fn context(message: &Message) -> Map<String, Value> {
        let ctx = &message.context;
        let mut out = Map::new();
        let known = [
            ("ip", &ctx.ip),
            ("user_agent", &ctx.user_agent),
            ("url", &ctx.url),
            ("referrer", &ctx.referrer),
        ];
        for (key, value) in known {
            if let Some(v) = value {
                out.insert(key.into(), Value::String(v.clone()));
            }
        }
        if let Some(w) = ctx.view_width {
            out.insert("view_width".into(), Value::from(w));
        }
        if let Some(c) = &ctx.campaign {
            out.insert("campaign".into(), Value::Object(c.clone()));
        }
        if let Some(l) = &ctx.library {
            out.insert("library".into(), l.clone());
        }
        for (k, v) in &ctx.extra {
            out.insert(k.clone(), v.clone());
        }
        out
    }

    fn encode_collect(&self, message: &Message) -> Encoded {
        let event = message.event.clone().unwrap_or_default();
        let mut envelope = Map::new();
        envelope.insert("type".into(), Value::String(event.clone()));
        Encoded {
            group: Some(Arc::new(Group {
                key: event,
                envelope,
            })),
            body: event_json(&message.properties),
        }
    }

    fn encode_track(&self, message: &Message) -> Encoded {
        let session = message.session_id.clone().unwrap_or_else(new_message_id);
        let mut envelope = Map::new();
        envelope.insert("source".into(), id_object(&self.source_id));
        envelope.insert("session".into(), id_object(&session));
        let profile = if self.profile_less {
            None
        } else {
            message.visitor_id()
        };
        if let Some(profile) = profile {
            envelope.insert("profile".into(), id_object(profile));
        }
        let context = Tracardi::context(message);
        let context_key = serde_json::to_string(&context).unwrap_or_default();
        if !context.is_empty() {
            envelope.insert("context".into(), Value::Object(context));
        }
        if let Some(options) = &self.options {
            envelope.insert("options".into(), Value::Object(options.clone()));
        }
        let mut event = Map::new();
        event.insert(
            "type".into(),
            Value::String(message.event.clone().unwrap_or_default()),
        );
        if !message.properties.is_empty() {
            event.insert(
                "properties".into(),
                Value::Object(message.properties.clone()),
            );
        }
        Encoded {
            group: Some(Arc::new(Group {
                key: format!(
                    "{session}\u{1f}{}\u{1f}{context_key}",
                    profile.unwrap_or("")
                ),
                envelope,
            })),
            body: event_json(&event),
        }
    }

    fn track_url(&self) -> String {
        if self.profile_less {
            format!("{}/track?profile_less=true", self.base)
        } else {
            format!("{}/track", self.base)
        }
    }
}

fn id_object(id: &str) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::String(id.to_string()));
    Value::Object(m)
}

fn session_of(group: &Group) -> Option<&str> {
    group.envelope.get("session")?.get("id")?.as_str()
}

/// Percent-encodes one URL path segment (the event type in `/collect/{EVENT-TYPE}/...`).
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Destination for Tracardi {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn limits(&self) -> Limits {
        Limits {
            max_events: if self.collect { 1 } else { MAX_BATCH_EVENTS },
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
        let encoded = if self.collect {
            self.encode_collect(message)
        } else {
            self.encode_track(message)
        };
        let bytes = bytes_with_envelope(&encoded);
        if bytes > MAX_EVENT_BYTES {
            return Err(event_too_large(self, bytes));
        }
        Ok(Some(encoded))
    }

    fn request(&self, group: &Group, events: &[&str], _sent_at: Timestamp) -> Request {
        let (url, body) = if self.collect {
            let event_type = group
                .envelope
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("");
            let url = format!(
                "{}/collect/{}/{}",
                self.base,
                path_segment(event_type),
                path_segment(&self.source_id)
            );
            (url, events.first().copied().unwrap_or("{}").to_string())
        } else {
            let mut envelope = group.envelope.clone();
            if !self.profile_less && !envelope.contains_key("profile") {
                if let Some(profile) = session_of(group).and_then(|s| self.remembered_profile(s)) {
                    envelope.insert("profile".into(), id_object(&profile));
                }
            }
            (self.track_url(), envelope_with(&envelope, "events", events))
        };
        Request {
            method: "POST",
            url,
            headers: vec![("content-type", "application/json".to_string())],
            body: body.into_bytes(),
        }
    }

    fn read_response(&self, group: &Group, response: &Response) -> Verdict {
        let verdict = default_verdict(response);
        if !matches!(verdict, Verdict::Delivered { .. }) || self.collect || self.profile_less {
            return verdict;
        }
        let profile = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|body| body.get("profile")?.get("id")?.as_str().map(str::to_string));
        if let (Some(profile), Some(session)) = (&profile, session_of(group)) {
            self.remember(session, profile);
        }
        Verdict::Delivered {
            profile_id: profile,
        }
    }
}
