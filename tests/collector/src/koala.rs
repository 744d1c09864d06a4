//! Koala's server-side collection endpoint,
//! `POST /web/projects/{public_key}/batch`.
//!
//! One body can identify a profile (`email`), carry events, or both; the
//! public key in the path is the only credential. `message_id` is Koala's
//! idempotency key, so it is the event identity for duplicate counting.

use serde_json::{json, Map, Value};

use crate::api::{ApiRequest, Outcome};
use crate::config::{knows, CollectorConfig};
use crate::validate::{canonical_json, is_rfc3339, is_uuid, non_empty_str, present};

/// The only event type the endpoint takes.
const TRACK: &str = "track";

fn validation(message: String) -> Outcome {
    Outcome::reject(
        400,
        json!({"error": "validation_error", "message": message}),
    )
}

pub(crate) fn handle(config: &CollectorConfig, public_key: &str, req: &ApiRequest) -> Outcome {
    if !knows(&config.koala_keys, public_key) {
        return Outcome::reject(401, json!({"error": "unauthorized"}));
    }
    let body = match req.json() {
        Ok(body) => body,
        Err(message) => return validation(format!("body: {message}")),
    };
    match validate(body) {
        Ok(identities) => Outcome::accept(json!({"ok": true}), identities),
        Err(message) => validation(message),
    }
}

/// The identities of the events carried (none for an identify-only body).
fn validate(body: &Value) -> Result<Vec<String>, String> {
    let obj = body.as_object().ok_or("body: must be a JSON object")?;
    match present(obj, "profile_id") {
        None => return Err("profile_id: is required".to_owned()),
        Some(id) if !id.as_str().is_some_and(is_uuid) => {
            return Err("profile_id: must be a UUID string".to_owned())
        }
        Some(_) => {}
    }
    let email = present(obj, "email");
    if email.is_some() && !non_empty_str(email).is_some_and(|e| e.contains('@')) {
        return Err("email: must be a valid email address".to_owned());
    }
    let events = match present(obj, "events") {
        None => None,
        Some(Value::Array(events)) if events.is_empty() => {
            return Err("events: must not be empty".to_owned())
        }
        Some(Value::Array(events)) => Some(events),
        Some(_) => return Err("events: must be an array".to_owned()),
    };
    let Some(events) = events else {
        return match email {
            Some(_) => Ok(Vec::new()),
            None => Err("email: email and/or events is required".to_owned()),
        };
    };
    events
        .iter()
        .enumerate()
        .map(|(i, event)| validate_event(event, i))
        .collect()
}

/// One event's rules; its identity if valid.
fn validate_event(event: &Value, index: usize) -> Result<String, String> {
    let at = |field: &str, problem: &str| format!("events[{index}].{field}: {problem}");
    let obj = event
        .as_object()
        .ok_or_else(|| format!("events[{index}]: must be an object"))?;
    match present(obj, "type") {
        None => return Err(at("type", "is required")),
        Some(t) if t.as_str() != Some(TRACK) => {
            return Err(at("type", "must be \"track\""));
        }
        Some(_) => {}
    }
    if non_empty_str(present(obj, "event")).is_none() {
        return Err(at("event", "is required and must be a non-empty string"));
    }
    check_optional(
        obj,
        "properties",
        Value::is_object,
        "must be an object",
        &at,
    )?;
    check_optional(obj, "message_id", Value::is_string, "must be a string", &at)?;
    let is_timestamp = |v: &Value| v.as_str().is_some_and(is_rfc3339);
    check_optional(
        obj,
        "sent_at",
        is_timestamp,
        "must be an RFC 3339 timestamp",
        &at,
    )?;
    Ok(match obj.get("message_id").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => canonical_json(event),
    })
}

fn check_optional(
    obj: &Map<String, Value>,
    field: &str,
    ok: impl Fn(&Value) -> bool,
    problem: &str,
    at: &dyn Fn(&str, &str) -> String,
) -> Result<(), String> {
    match present(obj, field) {
        Some(value) if !ok(value) => Err(at(field, problem)),
        _ => Ok(()),
    }
}
