//! Web Analyzer App's server-side tracking ("Measurement Protocol").
//!
//! `POST /api/v1/websites/{id}/track` takes one event,
//! `POST /api/v1/websites/{id}/track/batch` up to 25. The checks run in the
//! order the real API answers them: key (401, then the quota and plan keys'
//! 402/403), website (404), rate limit (429 with Retry-After), then the body
//! (400). A batch is all or nothing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::api::{ApiRequest, Outcome};
use crate::config::{knows, CollectorConfig};
use crate::validate::{canonical_json, is_uuid, present};

/// The first `event_id` handed out, as in Web Analyzer App's example answer.
pub const FIRST_EVENT_ID: u64 = 4521;
const MAX_NAME_CHARS: usize = 128;
const MAX_PAYLOAD_KEYS: usize = 10;
const MAX_PAYLOAD_VALUE_CHARS: usize = 255;
const MAX_BATCH_EVENTS: usize = 25;

/// Rate-limit windows and the event id counter.
#[derive(Debug)]
pub(crate) struct WaState {
    windows: HashMap<String, Window>,
    next_event_id: u64,
}

impl Default for WaState {
    fn default() -> Self {
        WaState {
            windows: HashMap::new(),
            next_event_id: FIRST_EVENT_ID,
        }
    }
}

/// A fixed window: starts with the first request of a key, lasts the
/// configured length, counts every request that got past auth.
#[derive(Debug)]
struct Window {
    started: Instant,
    count: u64,
}

impl WaState {
    pub(crate) fn clear_rate_windows(&mut self) {
        self.windows.clear();
    }

    /// Counts one request for `key`; if that goes past the limit, the whole
    /// seconds (at least 1) until the window ends.
    fn count_request(&mut self, key: &str, config: &CollectorConfig) -> Option<u64> {
        let now = Instant::now();
        let length = Duration::from_millis(config.wa_rate_window_ms);
        let window = self.windows.entry(key.to_owned()).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= length {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        window.count += 1;
        if config.wa_rate_limit == 0 || window.count <= u64::from(config.wa_rate_limit) {
            return None;
        }
        let left = length.saturating_sub(now.duration_since(window.started));
        Some(left.as_millis().div_ceil(1000).max(1) as u64)
    }

    fn next_ids(&mut self, n: usize) -> Vec<u64> {
        let first = self.next_event_id;
        self.next_event_id += n as u64;
        (first..self.next_event_id).collect()
    }
}

fn error(status: u16, code: &str, message: &str) -> Outcome {
    Outcome::reject(
        status,
        json!({"ok": false, "error": code, "message": message}),
    )
}

fn validation(message: String) -> Outcome {
    error(400, "validation_error", &message)
}

/// Why a key was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denied {
    Unauthorized,
    QuotaReached,
    PlanRequired,
}

impl Denied {
    fn outcome(self) -> Outcome {
        match self {
            Denied::Unauthorized => error(401, "unauthorized", "Missing or invalid API key"),
            Denied::QuotaReached => {
                error(402, "monthly_limit_reached", "Monthly event quota exceeded")
            }
            Denied::PlanRequired => error(
                403,
                "plan_required",
                "Pro plan required for server-side tracking",
            ),
        }
    }
}

/// The configured key from `Authorization: Bearer KEY`.
fn authorize<'a>(config: &CollectorConfig, req: &'a ApiRequest) -> Result<&'a str, Denied> {
    let key = req.header("authorization").and_then(|h| {
        let (scheme, key) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
    });
    match key {
        Some(k) if k == config.wa_quota_key => Err(Denied::QuotaReached),
        Some(k) if k == config.wa_free_key => Err(Denied::PlanRequired),
        Some(k) if knows(&config.wa_keys, k) => Ok(k),
        _ => Err(Denied::Unauthorized),
    }
}

pub(crate) fn handle(
    config: &CollectorConfig,
    wa: &mut WaState,
    website_id: &str,
    batch: bool,
    req: &ApiRequest,
) -> Outcome {
    let key = match authorize(config, req) {
        Ok(key) => key,
        Err(denied) => return denied.outcome(),
    };
    let retry_after = wa.count_request(key, config);
    let known_site = website_id
        .parse::<u64>()
        .is_ok_and(|id| config.wa_website_ids.contains(&id));
    if !known_site {
        return error(
            404,
            "website_not_found",
            "Website ID does not exist or does not belong to your account",
        );
    }
    if let Some(secs) = retry_after {
        let body = json!({"ok": false, "error": "rate_limit_exceeded", "retry_after": secs});
        return Outcome::reject(429, body).with_header("retry-after", secs.to_string());
    }
    let body = match req.json() {
        Ok(body) => body,
        Err(message) => return validation(format!("body: {message}")),
    };
    let events = if batch {
        validate_batch(body)
    } else {
        validate_event(body, "").map(|()| vec![body])
    };
    let events = match events {
        Ok(events) => events,
        Err(message) => return validation(message),
    };
    let identities = events.iter().map(|e| canonical_json(e)).collect();
    let ids = wa.next_ids(events.len());
    let answer = match ids.as_slice() {
        [id] if !batch => json!({"ok": true, "event_id": id}),
        _ => json!({"ok": true, "processed": ids.len(), "event_ids": ids}),
    };
    Outcome::accept(answer, identities)
}

fn validate_batch(body: &Value) -> Result<Vec<&Value>, String> {
    let obj = body.as_object().ok_or("body: must be a JSON object")?;
    let events = match obj.get("events") {
        None | Some(Value::Null) => return Err("events: is required".to_owned()),
        Some(Value::Array(events)) => events,
        Some(_) => return Err("events: must be an array".to_owned()),
    };
    if events.is_empty() {
        return Err("events: must contain at least 1 event".to_owned());
    }
    if events.len() > MAX_BATCH_EVENTS {
        return Err(format!(
            "events: must contain at most {MAX_BATCH_EVENTS} events (got {})",
            events.len()
        ));
    }
    for (i, event) in events.iter().enumerate() {
        validate_event(event, &format!("events.{i}."))?;
    }
    Ok(events.iter().collect())
}

/// One event's rules; `prefix` locates it in the message (`"events.3."`).
fn validate_event(event: &Value, prefix: &str) -> Result<(), String> {
    let at = |field: &str, problem: &str| format!("{prefix}{field}: {problem}");
    let Some(obj) = event.as_object() else {
        let whole = if prefix.is_empty() {
            "body"
        } else {
            prefix.trim_end_matches('.')
        };
        return Err(format!("{whole}: must be a JSON object"));
    };
    match obj.get("name") {
        None | Some(Value::Null) => return Err(at("name", "is required")),
        Some(Value::String(name)) if name.is_empty() => {
            return Err(at("name", "must not be empty"))
        }
        Some(Value::String(name)) if name.chars().count() > MAX_NAME_CHARS => {
            let problem = format!("must be at most {MAX_NAME_CHARS} characters");
            return Err(at("name", &problem));
        }
        Some(Value::String(_)) => {}
        Some(_) => return Err(at("name", "must be a string")),
    }
    if let Some(payload) = present(obj, "payload") {
        let payload = payload
            .as_object()
            .ok_or_else(|| at("payload", "must be an object"))?;
        validate_payload(payload, &at)?;
    }
    if let Some(visitor) = present(obj, "visitor_id") {
        if !visitor.as_str().is_some_and(is_uuid) {
            return Err(at("visitor_id", "must be a valid UUID"));
        }
    }
    for field in ["url", "referrer"] {
        if present(obj, field).is_some_and(|v| !v.is_string()) {
            return Err(at(field, "must be a string"));
        }
    }
    Ok(())
}

fn validate_payload(
    payload: &Map<String, Value>,
    at: &dyn Fn(&str, &str) -> String,
) -> Result<(), String> {
    if payload.len() > MAX_PAYLOAD_KEYS {
        let problem = format!("must have at most {MAX_PAYLOAD_KEYS} keys");
        return Err(at("payload", &problem));
    }
    for (key, value) in payload {
        let field = format!("payload.{key}");
        match value {
            Value::Object(_) | Value::Array(_) => {
                let problem = "payload must be flat (no nested objects or arrays)";
                return Err(at(&field, problem));
            }
            Value::String(s) if s.chars().count() > MAX_PAYLOAD_VALUE_CHARS => {
                let problem = format!("must be at most {MAX_PAYLOAD_VALUE_CHARS} characters");
                return Err(at(&field, &problem));
            }
            _ => {}
        }
    }
    Ok(())
}
