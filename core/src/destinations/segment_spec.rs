//! The Segment-spec batch format shared by Dreamdata (seed 004) and any Segment-compatible
//! `/v1/batch` collector (Segment, RudderStack, ...): `POST {base}/v1/batch`, HTTP Basic with
//! the key as user and an empty password, body `{"batch": [...], "sentAt": ...}`.
//! `dreamdata.rs` and `segment.rs` configure this one encoder.

use std::sync::Arc;

use base64::Engine;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    envelope_with, event_json, event_too_large, gzip, json_array, missing_id, Destination, Encoded,
    Group, Limits, Peers, Request,
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
    context: WireContext<'a>,
    timestamp: Timestamp,
}

/// The Segment `context` object: ip, library, page {referrer, url}, userAgent, screen,
/// campaign, then the caller's extra keys. The library defaults to tracklane's own name and
/// version. Serialized straight from the message, without building an intermediate map.
struct WireContext<'a>(&'a Context);

#[derive(Serialize)]
struct Library {
    name: &'static str,
    version: &'static str,
}

const LIBRARY: Library = Library {
    name: crate::LIBRARY_NAME,
    version: crate::VERSION,
};

#[derive(Serialize)]
struct Screen {
    width: u64,
}

/// `page`: the caller's own `page` object from the extra keys, with url and referrer set.
struct WirePage<'a>(&'a Context);

impl Serialize for WirePage<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ctx = self.0;
        let extra = match ctx.extra.get("page") {
            Some(Value::Object(extra)) => Some(extra),
            _ => None,
        };
        let mut map = serializer.serialize_map(None)?;
        // The caller's keys keep their places; url and referrer replace theirs or come last.
        for (key, value) in extra.into_iter().flatten() {
            match (key.as_str(), &ctx.referrer, &ctx.url) {
                ("referrer", Some(referrer), _) => map.serialize_entry(key, referrer)?,
                ("url", _, Some(url)) => map.serialize_entry(key, url)?,
                _ => map.serialize_entry(key, value)?,
            }
        }
        let has = |key: &str| extra.is_some_and(|e| e.contains_key(key));
        if let Some(referrer) = ctx.referrer.as_ref().filter(|_| !has("referrer")) {
            map.serialize_entry("referrer", referrer)?;
        }
        if let Some(url) = ctx.url.as_ref().filter(|_| !has("url")) {
            map.serialize_entry("url", url)?;
        }
        map.end()
    }
}

impl Serialize for WireContext<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ctx = self.0;
        let mut map = serializer.serialize_map(None)?;
        if let Some(ip) = &ctx.ip {
            map.serialize_entry("ip", ip)?;
        }
        match &ctx.library {
            Some(library) => map.serialize_entry("library", library)?,
            None => map.serialize_entry("library", &LIBRARY)?,
        }
        let page = ctx.url.is_some() || ctx.referrer.is_some();
        if page {
            map.serialize_entry("page", &WirePage(ctx))?;
        }
        if let Some(agent) = &ctx.user_agent {
            map.serialize_entry("userAgent", agent)?;
        }
        if let Some(width) = ctx.view_width {
            map.serialize_entry("screen", &Screen { width })?;
        }
        if let Some(campaign) = &ctx.campaign {
            map.serialize_entry("campaign", campaign)?;
        }
        for (key, value) in &ctx.extra {
            let written = match key.as_str() {
                "ip" => ctx.ip.is_some(),
                "library" => true,
                "page" => page,
                "userAgent" => ctx.user_agent.is_some(),
                "screen" => ctx.view_width.is_some(),
                "campaign" => ctx.campaign.is_some(),
                _ => false,
            };
            if !written {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
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
            context: WireContext(&message.context),
            timestamp: message.timestamp,
        };
        let body = event_json(&wire);
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn context_merges_the_callers_page_and_keeps_key_order() {
        let Value::Object(object) = json!({
            "ip": "84.14.132.114",
            "page": {"title": "Pricing", "url": "https://old.example/"},
            "url": "https://example.com/pricing",
            "referrer": "https://google.com/",
            "user_agent": "Mozilla/5.0",
            "locale": "fr-FR",
            "screen": {"height": 900},
        }) else {
            unreachable!()
        };
        let context = Context::from_json(object).unwrap();
        let wire = serde_json::to_value(WireContext(&context)).unwrap();
        assert_eq!(
            serde_json::to_string(&wire).unwrap(),
            serde_json::to_string(&json!({
                "ip": "84.14.132.114",
                "library": {"name": crate::LIBRARY_NAME, "version": crate::VERSION},
                "page": {"title": "Pricing", "referrer": "https://google.com/", "url": "https://example.com/pricing"},
                "userAgent": "Mozilla/5.0",
                "locale": "fr-FR",
                "screen": {"height": 900},
            }))
            .unwrap()
        );
    }
}
