//! Silktide Analytics' server-side event endpoint, `POST /v1/events`.
//!
//! The property key travels in the body, so the body is parsed before the
//! key can be checked: a malformed key is a validation error (400), a
//! well-formed but unknown one is 401. `ip` and `userAgent` are required
//! because Silktide derives its visitor identifier from them.

use std::net::IpAddr;

use serde_json::{json, Map, Value};

use crate::api::{ApiRequest, Outcome};
use crate::config::{knows, CollectorConfig};
use crate::validate::{canonical_json, non_empty_str, present};

/// Property keys are 32 ASCII letters and digits.
const PROPERTY_KEY_LEN: usize = 32;

fn validation(message: String) -> Outcome {
    Outcome::reject(
        400,
        json!({"error": "validation_error", "message": message}),
    )
}

pub(crate) fn handle(config: &CollectorConfig, req: &ApiRequest) -> Outcome {
    let json_type = req.header("content-type").is_some_and(|ct| {
        ct.trim()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    if !json_type {
        return Outcome::reject(415, json!({"error": "unsupported_media_type"}));
    }
    let obj = match req.json() {
        Ok(Value::Object(obj)) => obj,
        Ok(_) => return validation("body: must be a JSON object".to_owned()),
        Err(message) => return validation(format!("body: {message}")),
    };
    let key = obj.get("propertyKey").and_then(Value::as_str);
    let Some(key) = key.filter(|k| is_property_key(k)) else {
        return validation(format!(
            "propertyKey: must be a {PROPERTY_KEY_LEN}-character alphanumeric string"
        ));
    };
    if !knows(&config.silktide_keys, key) {
        return Outcome::reject(401, json!({"error": "unauthorized"}));
    }
    match validate(obj) {
        Ok(identities) => Outcome::accept(json!({"ok": true}), identities),
        Err(message) => validation(message),
    }
}

fn is_property_key(key: &str) -> bool {
    key.len() == PROPERTY_KEY_LEN && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Everything after the key; the identities of the events if valid.
fn validate(obj: &Map<String, Value>) -> Result<Vec<String>, String> {
    let is_ip = |v: &Value| v.as_str().is_some_and(|ip| ip.parse::<IpAddr>().is_ok());
    match present(obj, "ip") {
        None => return Err("ip: is required".to_owned()),
        Some(ip) if !is_ip(ip) => return Err("ip: must be a valid IPv4 or IPv6 address".to_owned()),
        Some(_) => {}
    }
    if non_empty_str(obj.get("userAgent")).is_none() {
        return Err("userAgent: is required and must be a non-empty string".to_owned());
    }
    if present(obj, "url").is_some_and(|v| !v.is_string()) {
        return Err("url: must be a string".to_owned());
    }
    if present(obj, "viewWidth").is_some_and(|v| v.as_u64().is_none()) {
        return Err("viewWidth: must be a non-negative integer".to_owned());
    }
    let events = match obj.get("events") {
        Some(Value::Array(events)) if !events.is_empty() => events,
        _ => return Err("events: is required and must be a non-empty array".to_owned()),
    };
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let named = event
                .as_object()
                .is_some_and(|e| non_empty_str(e.get("event")).is_some());
            if named {
                Ok(canonical_json(event))
            } else {
                Err(format!(
                    "events[{i}].event: each event must be an object with a non-empty \"event\" name"
                ))
            }
        })
        .collect()
}
