//! Tracardi's collector: `POST /track` (tracker payload, optionally
//! `?profile_less=true`) and `POST /collect/{EVENT_TYPE}/{SOURCE_ID}`.
//!
//! Tracardi is a FastAPI app, so it answers like one: the body schema is
//! checked first and every problem is listed as a 422 `detail` entry with a
//! `loc` path (pydantic v1 wording), then the source id is checked (401).
//! Profiles are handed out per session so a client that forgets the profile id
//! it was given gets the same one back, as Tracardi would find it through the
//! session.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::api::{ApiRequest, Outcome};
use crate::config::{knows, CollectorConfig};
use crate::validate::canonical_json;

/// Profile ids handed out, by session id.
#[derive(Debug, Default)]
pub(crate) struct TracardiState {
    profiles: HashMap<String, String>,
}

fn access_denied() -> Outcome {
    Outcome::reject(401, json!({"detail": "Access denied. Invalid source."}))
}

fn unprocessable(detail: Vec<Value>) -> Outcome {
    Outcome::reject(422, json!({"detail": detail}))
}

/// What `profile_less` means to FastAPI's bool parsing.
fn is_true(value: &str) -> bool {
    ["true", "1", "yes", "on"]
        .iter()
        .any(|t| value.eq_ignore_ascii_case(t))
}

/// The parsed body as an object, or the 422 `detail` FastAPI gives for
/// anything else.
fn body_object(req: &ApiRequest) -> Result<&Map<String, Value>, Vec<Value>> {
    match req.json() {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(vec![detail(
            &[json!("body")],
            "value is not a valid dict",
            "type_error.dict",
        )]),
        Err(message) => Err(vec![detail(
            &[json!("body"), json!(0)],
            message,
            "value_error.jsondecode",
        )]),
    }
}

pub(crate) fn track(
    config: &CollectorConfig,
    state: &mut TracardiState,
    req: &ApiRequest,
) -> Outcome {
    let body = match body_object(req) {
        Ok(body) => body,
        Err(detail) => return unprocessable(detail),
    };
    let ids = match validate_track(body) {
        Ok(ids) => ids,
        Err(errors) => return unprocessable(errors),
    };
    if !knows(&config.tracardi_sources, ids.source) {
        return access_denied();
    }
    let identities = match body.get("events") {
        Some(Value::Array(events)) => events.iter().map(canonical_json).collect(),
        _ => Vec::new(),
    };
    if req.query_param("profile_less").is_some_and(is_true) {
        return Outcome::accept(json!({"source": {"consent": false}}), identities);
    }
    let profile_id = match ids.profile {
        Some(given) => given.to_owned(),
        None => state
            .profiles
            .get(ids.session)
            .cloned()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    };
    state
        .profiles
        .insert(ids.session.to_owned(), profile_id.clone());
    let answer = json!({"profile": {"id": profile_id}, "source": {"consent": false}});
    Outcome::accept(answer, identities)
}

pub(crate) fn collect(
    config: &CollectorConfig,
    event_type: &str,
    source_id: &str,
    req: &ApiRequest,
) -> Outcome {
    let body = match body_object(req) {
        Ok(body) => body,
        Err(detail) => return unprocessable(detail),
    };
    if !knows(&config.tracardi_sources, source_id) {
        return access_denied();
    }
    let event = json!({"type": event_type, "properties": body});
    Outcome::accept(json!({}), vec![canonical_json(&event)])
}

fn detail(loc: &[Value], msg: &str, kind: &str) -> Value {
    json!({"loc": loc, "msg": msg, "type": kind})
}

/// The shape a field must have.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Str,
    Dict,
    NonEmptyList,
}

/// Collects every schema problem, like pydantic does.
#[derive(Debug, Default)]
struct Schema {
    errors: Vec<Value>,
}

impl Schema {
    /// The field if present with the right shape; records a problem otherwise.
    fn field<'a>(
        &mut self,
        parent: &'a Map<String, Value>,
        parent_loc: &[Value],
        key: &str,
        kind: Kind,
        required: bool,
    ) -> Option<&'a Value> {
        let mut loc = parent_loc.to_vec();
        loc.push(json!(key));
        let problem = match (parent.get(key), kind) {
            (None, _) if required => ("field required", "value_error.missing"),
            (Some(Value::Null), _) if required => (
                "none is not an allowed value",
                "type_error.none.not_allowed",
            ),
            (None | Some(Value::Null), _) => return None,
            (Some(Value::String(s)), Kind::Str) if s.is_empty() && required => (
                "ensure this value has at least 1 characters",
                "value_error.any_str.min_length",
            ),
            (Some(v @ Value::String(_)), Kind::Str) => return Some(v),
            (Some(_), Kind::Str) => ("str type expected", "type_error.str"),
            (Some(v @ Value::Object(_)), Kind::Dict) => return Some(v),
            (Some(_), Kind::Dict) => ("value is not a valid dict", "type_error.dict"),
            (Some(Value::Array(items)), Kind::NonEmptyList) if items.is_empty() => (
                "ensure this value has at least 1 items",
                "value_error.list.min_items",
            ),
            (Some(v @ Value::Array(_)), Kind::NonEmptyList) => return Some(v),
            (Some(_), Kind::NonEmptyList) => ("value is not a valid list", "type_error.list"),
        };
        self.errors.push(detail(&loc, problem.0, problem.1));
        None
    }

    /// The string `id` inside the object field `key`.
    fn with_id<'a>(
        &mut self,
        body: &'a Map<String, Value>,
        key: &str,
        required: bool,
    ) -> Option<&'a str> {
        let root = [json!("body")];
        match self.field(body, &root, key, Kind::Dict, required)? {
            Value::Object(obj) => self
                .field(obj, &[json!("body"), json!(key)], "id", Kind::Str, required)?
                .as_str(),
            _ => None,
        }
    }
}

/// The ids a valid `/track` payload carries.
#[derive(Debug)]
struct TrackIds<'a> {
    source: &'a str,
    session: &'a str,
    profile: Option<&'a str>,
}

/// The payload's ids, or every problem with it as 422 `detail` entries.
fn validate_track(body: &Map<String, Value>) -> Result<TrackIds<'_>, Vec<Value>> {
    let root = [json!("body")];
    let mut schema = Schema::default();
    let source = schema.with_id(body, "source", true);
    let session = schema.with_id(body, "session", true);
    let profile = schema.with_id(body, "profile", false);
    for key in ["context", "properties", "options"] {
        schema.field(body, &root, key, Kind::Dict, false);
    }
    if let Some(Value::Array(events)) =
        schema.field(body, &root, "events", Kind::NonEmptyList, true)
    {
        for (i, event) in events.iter().enumerate() {
            let loc = [json!("body"), json!("events"), json!(i)];
            let Some(event) = event.as_object() else {
                schema
                    .errors
                    .push(detail(&loc, "value is not a valid dict", "type_error.dict"));
                continue;
            };
            schema.field(event, &loc, "type", Kind::Str, true);
            schema.field(event, &loc, "properties", Kind::Dict, false);
        }
    }
    match (source, session) {
        (Some(source), Some(session)) if schema.errors.is_empty() => Ok(TrackIds {
            source,
            session,
            profile,
        }),
        _ => Err(schema.errors),
    }
}
