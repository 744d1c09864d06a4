//! The neutral message: what happened, described once, before any destination encodes it.
//!
//! Callers fill a [`Message`]; each destination maps it onto its own wire format. The
//! message carries its idempotency key (`message_id`, a UUID from [`new_message_id`] unless
//! the caller sets one) and its time (`timestamp`, now unless the caller sets one) from the
//! moment it is built, so retries and re-batching always resend the same id.

use serde_json::{Map, Value};

use crate::error::ValidationError;
pub use crate::message_id::new_message_id;
use crate::time::Timestamp;
use crate::value::{check_map_depth, contains_control};

/// Longest id (message, user, anonymous, previous, group, session) we accept: ids are keys,
/// not payloads, and every collector indexes them.
pub const MAX_ID_CHARS: usize = 255;
/// Longest event name in the neutral message; destinations may allow fewer (Web Analyzer: 128).
pub const MAX_EVENT_CHARS: usize = 512;

/// What kind of call this is. Page and group exist only in Segment-spec formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Track,
    Identify,
    Alias,
    Page,
    Group,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Track => "track",
            Kind::Identify => "identify",
            Kind::Alias => "alias",
            Kind::Page => "page",
            Kind::Group => "group",
        }
    }
}

/// Where the event happened: the visitor's request and the page, plus free keys.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub url: Option<String>,
    pub referrer: Option<String>,
    pub view_width: Option<u64>,
    pub campaign: Option<Map<String, Value>>,
    /// Overrides the library stamp (`{"name": "tracklane", "version": ...}`).
    pub library: Option<Value>,
    /// Any other context keys, passed through where a format has a free context object.
    pub extra: Map<String, Value>,
}

impl Context {
    pub fn is_empty(&self) -> bool {
        *self == Context::default()
    }

    /// Reads a context object as callers write it. Known keys may be snake_case or the
    /// Segment spelling (`user_agent`/`userAgent`, `view_width`/`viewWidth`); a Segment-style
    /// `page: {url, referrer}` fills url and referrer. Everything else goes to `extra`.
    pub fn from_json(object: Map<String, Value>) -> Result<Context, ValidationError> {
        let mut context = Context::default();
        for (key, value) in object {
            match key.as_str() {
                "ip" => context.ip = context_string("ip", value)?,
                "user_agent" | "userAgent" => {
                    context.user_agent = context_string("user_agent", value)?
                }
                "url" => context.url = context_string("url", value)?,
                "referrer" => context.referrer = context_string("referrer", value)?,
                "view_width" | "viewWidth" => context.view_width = view_width(value)?,
                "campaign" => context.campaign = context_object("campaign", value)?,
                "library" => context.library = Some(value),
                "page" => match value {
                    Value::Object(mut page) => {
                        if let Some(url) = page.remove("url") {
                            context.url = context_string("page.url", url)?;
                        }
                        if let Some(referrer) = page.remove("referrer") {
                            context.referrer = context_string("page.referrer", referrer)?;
                        }
                        if !page.is_empty() {
                            context.extra.insert("page".into(), Value::Object(page));
                        }
                    }
                    other => {
                        context.extra.insert("page".into(), other);
                    }
                },
                _ => {
                    context.extra.insert(key, value);
                }
            }
        }
        check_map_depth(&context.extra, "context")?;
        Ok(context)
    }
}

fn context_string(field: &str, value: Value) -> Result<Option<String>, ValidationError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(ValidationError::new(
            "message.context.not_string",
            "message",
            format!("context.{field}"),
            format!("must be a string, got {}", crate::value::type_name(&other)),
        )),
    }
}

fn context_object(
    field: &str,
    value: Value,
) -> Result<Option<Map<String, Value>>, ValidationError> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        other => Err(ValidationError::new(
            "message.context.not_object",
            "message",
            format!("context.{field}"),
            format!("must be an object, got {}", crate::value::type_name(&other)),
        )),
    }
}

fn view_width(value: Value) -> Result<Option<u64>, ValidationError> {
    match &value {
        Value::Null => Ok(None),
        Value::Number(n) if n.as_u64().is_some() => Ok(n.as_u64()),
        Value::Number(n) if n.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0) => {
            Ok(n.as_f64().map(|f| f as u64))
        }
        _ => Err(ValidationError::new(
            "message.context.view_width_invalid",
            "message",
            "context.view_width",
            "must be a non-negative whole number of pixels",
        )),
    }
}

/// One call, in the collector-neutral form.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub kind: Kind,
    /// Event name for track; page name for page.
    pub event: Option<String>,
    pub properties: Map<String, Value>,
    pub traits: Map<String, Value>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub previous_id: Option<String>,
    pub group_id: Option<String>,
    pub session_id: Option<String>,
    pub context: Context,
    pub timestamp: Timestamp,
    pub message_id: String,
}

impl Message {
    /// A message of `kind` stamped with a fresh UUID v4 id and the current time.
    pub fn new(kind: Kind) -> Message {
        Message {
            kind,
            event: None,
            properties: Map::new(),
            traits: Map::new(),
            user_id: None,
            anonymous_id: None,
            previous_id: None,
            group_id: None,
            session_id: None,
            context: Context::default(),
            timestamp: Timestamp::now(),
            message_id: new_message_id(),
        }
    }

    pub fn track(event: impl Into<String>) -> Message {
        Message {
            event: Some(event.into()),
            ..Message::new(Kind::Track)
        }
    }

    pub fn identify() -> Message {
        Message::new(Kind::Identify)
    }

    pub fn alias(previous_id: impl Into<String>, user_id: impl Into<String>) -> Message {
        Message {
            previous_id: Some(previous_id.into()),
            user_id: Some(user_id.into()),
            ..Message::new(Kind::Alias)
        }
    }

    /// The id a destination should use for the visitor: the anonymous id.
    pub fn visitor_id(&self) -> Option<&str> {
        self.anonymous_id.as_deref()
    }

    /// Treats empty ids as absent: a hidden form field with no client-side id posts `""`,
    /// and sending `""` as an id would be rejected by every collector.
    pub fn normalize(&mut self) {
        for id in [
            &mut self.user_id,
            &mut self.anonymous_id,
            &mut self.previous_id,
            &mut self.group_id,
            &mut self.session_id,
        ] {
            if id.as_deref().is_some_and(str::is_empty) {
                *id = None;
            }
        }
    }

    /// The rules every destination shares. Destination rules come after, in each destination.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_id("message_id", Some(&self.message_id), true)?;
        for (field, id) in [
            ("user_id", &self.user_id),
            ("anonymous_id", &self.anonymous_id),
            ("previous_id", &self.previous_id),
            ("group_id", &self.group_id),
            ("session_id", &self.session_id),
        ] {
            check_id(field, id.as_deref(), false)?;
        }
        match self.kind {
            Kind::Track => check_event_name(self.event.as_deref())?,
            Kind::Page => {
                if self.event.is_some() {
                    check_event_name(self.event.as_deref())?
                }
            }
            Kind::Alias => {
                require("previous_id", &self.previous_id)?;
                require("user_id", &self.user_id)?;
            }
            Kind::Group => require("group_id", &self.group_id)?,
            Kind::Identify => {}
        }
        check_map_depth(&self.properties, "properties")?;
        check_map_depth(&self.traits, "traits")
    }
}

fn require(field: &str, value: &Option<String>) -> Result<(), ValidationError> {
    if value.is_none() {
        return Err(ValidationError::new(
            format!("message.{field}.required"),
            "message",
            field,
            "is required for this kind of call",
        ));
    }
    Ok(())
}

fn check_event_name(event: Option<&str>) -> Result<(), ValidationError> {
    let name = event.unwrap_or("");
    if name.trim().is_empty() {
        return Err(ValidationError::new(
            "message.event.required",
            "message",
            "event",
            "an event name is required and must not be blank",
        ));
    }
    // Counting characters only when the bytes could exceed the limit (a char is ≥ 1 byte).
    if name.len() > MAX_EVENT_CHARS && name.chars().count() > MAX_EVENT_CHARS {
        return Err(ValidationError::new(
            "message.event.too_long",
            "message",
            "event",
            format!("must be at most {MAX_EVENT_CHARS} characters"),
        ));
    }
    if contains_control(name) {
        return Err(ValidationError::new(
            "message.event.control_characters",
            "message",
            "event",
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn check_id(field: &str, id: Option<&str>, required: bool) -> Result<(), ValidationError> {
    let Some(id) = id else { return Ok(()) };
    if required && id.is_empty() {
        return Err(ValidationError::new(
            format!("message.{field}.required"),
            "message",
            field,
            "must not be empty",
        ));
    }
    // Counting characters only when the bytes could exceed the limit (a char is ≥ 1 byte).
    if id.len() > MAX_ID_CHARS && id.chars().count() > MAX_ID_CHARS {
        return Err(ValidationError::new(
            format!("message.{field}.too_long"),
            "message",
            field,
            format!("must be at most {MAX_ID_CHARS} characters"),
        ));
    }
    if contains_control(id) {
        return Err(ValidationError::new(
            format!("message.{field}.control_characters"),
            "message",
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

impl Message {
    /// The neutral message as JSON (snake_case, absent fields left out): what the `file` and
    /// `stdout` destinations record and what reports show.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("type".into(), Value::String(self.kind.as_str().into()));
        out.insert("message_id".into(), Value::String(self.message_id.clone()));
        out.insert(
            "timestamp".into(),
            Value::String(self.timestamp.to_string()),
        );
        let ids = [
            ("event", &self.event),
            ("user_id", &self.user_id),
            ("anonymous_id", &self.anonymous_id),
            ("previous_id", &self.previous_id),
            ("group_id", &self.group_id),
            ("session_id", &self.session_id),
        ];
        for (key, value) in ids {
            if let Some(v) = value {
                out.insert(key.into(), Value::String(v.clone()));
            }
        }
        if !self.properties.is_empty() {
            out.insert("properties".into(), Value::Object(self.properties.clone()));
        }
        if !self.traits.is_empty() {
            out.insert("traits".into(), Value::Object(self.traits.clone()));
        }
        if !self.context.is_empty() {
            out.insert("context".into(), self.context.to_json());
        }
        Value::Object(out)
    }
}

impl Context {
    /// The context as JSON with snake_case keys and the extra keys merged in.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        let strings = [
            ("ip", &self.ip),
            ("user_agent", &self.user_agent),
            ("url", &self.url),
            ("referrer", &self.referrer),
        ];
        for (key, value) in strings {
            if let Some(v) = value {
                out.insert(key.into(), Value::String(v.clone()));
            }
        }
        if let Some(w) = self.view_width {
            out.insert("view_width".into(), Value::from(w));
        }
        if let Some(c) = &self.campaign {
            out.insert("campaign".into(), Value::Object(c.clone()));
        }
        if let Some(l) = &self.library {
            out.insert("library".into(), l.clone());
        }
        for (k, v) in &self.extra {
            out.insert(k.clone(), v.clone());
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_messages_get_a_uuid_v4_id_and_the_current_time() {
        let m = Message::track("signup");
        let id = uuid::Uuid::parse_str(&m.message_id).unwrap();
        assert_eq!(id.get_version_num(), 4);
        assert!((Timestamp::now().millis() - m.timestamp.millis()).abs() < 5_000);
        assert_ne!(m.message_id, Message::track("signup").message_id);
    }

    #[test]
    fn track_without_a_name_is_rejected() {
        for name in ["", "   "] {
            let err = Message::track(name).validate().unwrap_err();
            assert_eq!(err.code, "message.event.required");
            assert_eq!(err.field, "event");
        }
    }

    #[test]
    fn control_characters_in_names_and_ids_are_rejected() {
        let err = Message::track("sign\u{0}up").validate().unwrap_err();
        assert_eq!(err.code, "message.event.control_characters");
        let mut m = Message::track("ok");
        m.user_id = Some("u\n1".into());
        assert_eq!(
            m.validate().unwrap_err().code,
            "message.user_id.control_characters"
        );
    }

    #[test]
    fn huge_names_are_rejected_not_truncated() {
        let err = Message::track("x".repeat(1 << 20)).validate().unwrap_err();
        assert_eq!(err.code, "message.event.too_long");
    }

    #[test]
    fn alias_needs_both_ids() {
        let mut m = Message::alias("anon-1", "user-1");
        assert!(m.validate().is_ok());
        m.previous_id = None;
        assert_eq!(
            m.validate().unwrap_err().code,
            "message.previous_id.required"
        );
    }

    #[test]
    fn empty_ids_are_treated_as_absent() {
        let mut m = Message::track("purchase");
        m.anonymous_id = Some(String::new());
        m.normalize();
        assert_eq!(m.anonymous_id, None);
    }

    #[test]
    fn context_reads_snake_case_and_segment_spellings() {
        let ctx = Context::from_json(
            json!({"ip": "1.2.3.4", "userAgent": "UA", "page": {"url": "https://e.com/", "referrer": "r"},
                   "viewWidth": 979, "device": "iPhone X"})
            .as_object()
            .unwrap()
            .clone(),
        )
        .unwrap();
        assert_eq!(ctx.ip.as_deref(), Some("1.2.3.4"));
        assert_eq!(ctx.user_agent.as_deref(), Some("UA"));
        assert_eq!(ctx.url.as_deref(), Some("https://e.com/"));
        assert_eq!(ctx.view_width, Some(979));
        assert_eq!(ctx.extra["device"], "iPhone X");
    }

    #[test]
    fn context_with_wrong_types_names_the_field() {
        let err = Context::from_json(json!({"ip": 5}).as_object().unwrap().clone()).unwrap_err();
        assert_eq!(err.field, "context.ip");
        let err =
            Context::from_json(json!({"view_width": -3}).as_object().unwrap().clone()).unwrap_err();
        assert_eq!(err.field, "context.view_width");
    }
}
