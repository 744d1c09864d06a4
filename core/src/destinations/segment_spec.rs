//! The Segment-spec batch format shared by Dreamdata (seed 004) and any Segment-compatible
//! `/v1/batch` collector (Segment, RudderStack, ...): `POST {base}/v1/batch`, HTTP Basic with
//! the key as user and an empty password, body `{"batch": [...], "sentAt": ...}`.
//! `dreamdata.rs` and `segment.rs` configure this one encoder.

use std::sync::Arc;

use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    envelope_with, event_too_large, gzip, json_array, missing_id, Destination, Encoded, Group,
    Limits, Peers, Request,
};
use crate::error::{mask_secret, ValidationError};
use crate::message::{Context, Kind, Message};
use crate::time::Timestamp;

/// Events per request when bytes allow: large batches are what make 200,000 events a second
/// possible, and the 500 KB byte limit is reached first for typical events.
pub const MAX_BATCH_EVENTS: usize = 2_000;
/// "limited to 500kb per request" (Dreamdata; Segment's HTTP API has the same limit).
pub const MAX_REQUEST_BYTES: usize = 500_000;

pub struct SegmentSpec {
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    pub(crate) authorization: String,
    pub(crate) url: String,
    pub(crate) gzip: bool,
    /// Segment proper has page and group calls; Dreamdata documents identify, track, alias.
    pub(crate) page_and_group: bool,
    pub(crate) max_event_bytes: usize,
    pub(crate) group: Arc<Group>,
}

impl std::fmt::Debug for SegmentSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("authorization", &mask_secret(&self.authorization))
            .field("url", &self.url)
            .field("gzip", &self.gzip)
            .finish()
    }
}

impl SegmentSpec {
    pub(crate) fn new(
        name: String,
        kind: &'static str,
        key: &str,
        base: &str,
        gzip: bool,
        page_and_group: bool,
        max_event_bytes: usize,
    ) -> SegmentSpec {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        SegmentSpec {
            name,
            kind,
            authorization: format!("Basic {basic}"),
            url: format!("{base}/v1/batch"),
            gzip,
            page_and_group,
            max_event_bytes,
            group: Group::shared(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anonymous_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traits: Option<&'a Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<&'a Map<String, Value>>,
    context: Map<String, Value>,
    timestamp: Timestamp,
}

/// The Segment `context` object: ip, page {url, referrer}, userAgent, campaign, library and
/// the caller's extra keys. The library defaults to tracklane's own name and version.
pub fn wire_context(ctx: &Context) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(ip) = &ctx.ip {
        out.insert("ip".into(), Value::String(ip.clone()));
    }
    let library = ctx.library.clone().unwrap_or_else(|| {
        let mut lib = Map::new();
        lib.insert("name".into(), Value::String(crate::LIBRARY_NAME.into()));
        lib.insert("version".into(), Value::String(crate::VERSION.into()));
        Value::Object(lib)
    });
    out.insert("library".into(), library);
    if ctx.url.is_some() || ctx.referrer.is_some() {
        let mut page = match ctx.extra.get("page") {
            Some(Value::Object(extra)) => extra.clone(),
            _ => Map::new(),
        };
        if let Some(referrer) = &ctx.referrer {
            page.insert("referrer".into(), Value::String(referrer.clone()));
        }
        if let Some(url) = &ctx.url {
            page.insert("url".into(), Value::String(url.clone()));
        }
        out.insert("page".into(), Value::Object(page));
    }
    if let Some(agent) = &ctx.user_agent {
        out.insert("userAgent".into(), Value::String(agent.clone()));
    }
    if let Some(width) = ctx.view_width {
        out.insert("screen".into(), serde_json::json!({ "width": width }));
    }
    if let Some(campaign) = &ctx.campaign {
        out.insert("campaign".into(), Value::Object(campaign.clone()));
    }
    for (key, value) in &ctx.extra {
        if !out.contains_key(key) {
            out.insert(key.clone(), value.clone());
        }
    }
    out
}

fn non_empty(map: &Map<String, Value>) -> Option<&Map<String, Value>> {
    (!map.is_empty()).then_some(map)
}

impl Destination for SegmentSpec {
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
            max_event_bytes: self.max_event_bytes,
        }
    }

    fn encode(
        &self,
        message: &Message,
        _peers: &Peers,
    ) -> Result<Option<Encoded>, ValidationError> {
        if matches!(message.kind, Kind::Page | Kind::Group) && !self.page_and_group {
            return Ok(None);
        }
        if message.user_id.is_none() && message.anonymous_id.is_none() {
            return Err(missing_id(
                self,
                "user_id",
                "user_id",
                "every message needs a user_id or an anonymous_id (\"cookieless\" is a valid anonymous_id)",
            ));
        }
        let traits = matches!(message.kind, Kind::Identify | Kind::Group)
            .then(|| non_empty(&message.traits))
            .flatten();
        let properties = matches!(message.kind, Kind::Track | Kind::Page)
            .then(|| non_empty(&message.properties))
            .flatten();
        let wire = WireMessage {
            kind: message.kind.as_str(),
            message_id: &message.message_id,
            user_id: message.user_id.as_deref(),
            anonymous_id: message.anonymous_id.as_deref(),
            previous_id: message
                .previous_id
                .as_deref()
                .filter(|_| message.kind == Kind::Alias),
            group_id: message
                .group_id
                .as_deref()
                .filter(|_| message.kind == Kind::Group),
            event: message
                .event
                .as_deref()
                .filter(|_| message.kind == Kind::Track),
            name: message
                .event
                .as_deref()
                .filter(|_| message.kind == Kind::Page),
            traits,
            properties,
            context: wire_context(&message.context),
            timestamp: message.timestamp,
        };
        let body = serde_json::to_string(&wire).unwrap_or_default();
        if body.len() > self.max_event_bytes {
            return Err(event_too_large(self, body.len()));
        }
        Ok(Some(Encoded {
            group: self.group.clone(),
            body,
        }))
    }

    fn request(&self, _group: &Group, events: &[&str], sent_at: Timestamp) -> Request {
        let mut envelope = Map::new();
        envelope.insert("sentAt".into(), Value::String(sent_at.to_string()));
        let json = envelope_with(&envelope, "batch", &json_array(events));
        let mut headers = vec![
            ("authorization", self.authorization.clone()),
            ("content-type", "application/json".to_string()),
        ];
        let body = if self.gzip {
            headers.push(("content-encoding", "gzip".to_string()));
            gzip(json.as_bytes())
        } else {
            json.into_bytes()
        };
        Request {
            method: "POST",
            url: self.url.clone(),
            headers,
            body,
        }
    }
}
