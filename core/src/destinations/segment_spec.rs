//! The Segment-spec batch format shared by Dreamdata (seed 004) and any Segment-compatible
//! `/v1/batch` collector (Segment, RudderStack, ...): `POST {base}/v1/batch`, HTTP Basic with
//! the key as user and an empty password, body `{"batch": [...], "sentAt": ...}`.
//! `dreamdata.rs` and `segment.rs` configure this one encoder.

use base64::Engine;
use serde_json::{Map, Value};

use super::{
    envelope_with, event_too_large, event_with, gzipped_envelope_with, missing_id, Destination,
    Encoded, Group, Limits, Peers, Request,
};
use crate::error::{mask_secret, ValidationError};
use crate::json::{self, Object};
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
        }
    }
}

/// One Segment-spec message as JSON: type, messageId, the ids, event/name, traits or
/// properties, context, timestamp, in that order. Written with [`crate::json`] straight into
/// the encode buffer (the hot path of every `track`).
fn write_message(out: &mut Vec<u8>, message: &Message) {
    let kind = message.kind;
    let mut object = Object::open(out);
    object.field_str("type", kind.as_str());
    object.field_str("messageId", &message.message_id);
    let ids = [
        ("userId", message.user_id.as_deref()),
        ("anonymousId", message.anonymous_id.as_deref()),
        (
            "previousId",
            message
                .previous_id
                .as_deref()
                .filter(|_| kind == Kind::Alias),
        ),
        (
            "groupId",
            message.group_id.as_deref().filter(|_| kind == Kind::Group),
        ),
        (
            "event",
            message.event.as_deref().filter(|_| kind == Kind::Track),
        ),
        (
            "name",
            message.event.as_deref().filter(|_| kind == Kind::Page),
        ),
    ];
    for (key, value) in ids {
        if let Some(value) = value {
            object.field_str(key, value);
        }
    }
    let fields = match kind {
        Kind::Identify | Kind::Group => Some(("traits", &message.traits)),
        Kind::Track | Kind::Page => Some(("properties", &message.properties)),
        Kind::Alias => None,
    };
    if let Some((key, map)) = fields.filter(|(_, map)| !map.is_empty()) {
        json::push_map(object.field(key), map);
    }
    write_context(object.field("context"), &message.context);
    json::push_timestamp(object.field("timestamp"), message.timestamp);
    object.close();
}

/// The library stamp when the caller has not set one (`crate::LIBRARY_NAME` and
/// `crate::VERSION`, checked by `the_library_stamp_is_tracklanes_own` below).
const LIBRARY: &str = concat!(
    r#"{"name":"tracklane","version":""#,
    env!("CARGO_PKG_VERSION"),
    r#""}"#
);

/// The Segment `context` object: ip, library, page {referrer, url}, userAgent, screen,
/// campaign, then the caller's extra keys. The library defaults to tracklane's own name and
/// version.
fn write_context(out: &mut Vec<u8>, ctx: &Context) {
    let mut map = Object::open(out);
    if let Some(ip) = &ctx.ip {
        map.field_str("ip", ip);
    }
    match &ctx.library {
        Some(library) => map.value("library", library),
        None => map.field("library").extend_from_slice(LIBRARY.as_bytes()),
    }
    let page = ctx.url.is_some() || ctx.referrer.is_some();
    if page {
        write_page(map.field("page"), ctx);
    }
    if let Some(agent) = &ctx.user_agent {
        map.field_str("userAgent", agent);
    }
    if let Some(width) = ctx.view_width {
        let mut screen = Object::open(map.field("screen"));
        screen.value("width", &Value::from(width));
        screen.close();
    }
    if let Some(campaign) = &ctx.campaign {
        json::push_map(map.field("campaign"), campaign);
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
            map.value(key, value);
        }
    }
    map.close();
}

/// `page`: the caller's own `page` object from the extra keys, with url and referrer set.
fn write_page(out: &mut Vec<u8>, ctx: &Context) {
    let extra = match ctx.extra.get("page") {
        Some(Value::Object(extra)) => Some(extra),
        _ => None,
    };
    let mut map = Object::open(out);
    // The caller's keys keep their places; url and referrer replace theirs or come last.
    for (key, value) in extra.into_iter().flatten() {
        match (key.as_str(), &ctx.referrer, &ctx.url) {
            ("referrer", Some(referrer), _) => map.str(key, referrer),
            ("url", _, Some(url)) => map.str(key, url),
            _ => map.value(key, value),
        }
    }
    let has = |key: &str| extra.is_some_and(|e| e.contains_key(key));
    if let Some(referrer) = ctx.referrer.as_ref().filter(|_| !has("referrer")) {
        map.str("referrer", referrer);
    }
    if let Some(url) = ctx.url.as_ref().filter(|_| !has("url")) {
        map.str("url", url);
    }
    map.close();
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
        let body = event_with(|out| write_message(out, message));
        if body.len() > self.max_event_bytes {
            return Err(event_too_large(self, body.len()));
        }
        Ok(Some(Encoded { group: None, body }))
    }

    fn request(&self, _group: &Group, events: &[&str], sent_at: Timestamp) -> Request {
        let mut envelope = Map::new();
        envelope.insert("sentAt".into(), Value::String(sent_at.to_string()));
        let mut headers = vec![
            ("authorization", self.authorization.clone()),
            ("content-type", "application/json".to_string()),
        ];
        let body = if self.gzip {
            headers.push(("content-encoding", "gzip".to_string()));
            gzipped_envelope_with(&envelope, "batch", events)
        } else {
            envelope_with(&envelope, "batch", events).into_bytes()
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
        let mut wire = Vec::new();
        write_context(&mut wire, &context);
        assert_eq!(
            String::from_utf8(wire).unwrap(),
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

    #[test]
    fn the_library_stamp_is_tracklanes_own() {
        let stamp: Value = serde_json::from_str(LIBRARY).unwrap();
        assert_eq!(
            stamp,
            json!({"name": crate::LIBRARY_NAME, "version": crate::VERSION})
        );
    }
}
