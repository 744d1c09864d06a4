//! Client options, each with a named default and the reason for it. Bindings hand the core
//! one JSON object (`ClientConfig::from_json`); every option can also come from a
//! `TRACKLANE_*` environment variable, so nothing secret or deployment-specific has to be
//! in code.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::dedupe::{DedupeStore, DEFAULT_DEDUPE_MAX_IDS, DEFAULT_DEDUPE_WINDOW};
use super::hooks::Hooks;
use crate::destinations::config::snake_case;
use crate::destinations::{DestinationConfig, RateLimit};
use crate::error::ConfigError;

/// "Queue events and flush them periodically (e.g. every 5 seconds or every 25 events)" (seed 001).
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// Everything held, in encoded bytes: enough for a long outage at web-app rates.
pub const DEFAULT_MAX_QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// Everything held, in events (per destination copy): absorbs a 20,000-event burst to several
/// destinations during an outage many times over.
pub const DEFAULT_MAX_QUEUE_EVENTS: usize = 500_000;
/// "Set a timeout on HTTP requests (10 seconds recommended)" (seed 001).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests in flight per destination: enough to keep a fast collector busy, few enough
/// not to stampede a slow one.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;
/// Backoff: full jitter over base·2^attempt, capped.
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_secs(1);
pub const DEFAULT_RETRY_CAP: Duration = Duration::from_secs(60);
/// How long a batch keeps being retried: long enough to ride out a one-hour outage.
pub const DEFAULT_MAX_RETRY_DURATION: Duration = Duration::from_secs(2 * 3600);
/// Retry-After is honoured within these bounds (a collector asking for an hour is clamped).
pub const MIN_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(1);
pub const MAX_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(300);
/// What an `atexit`/`beforeExit` drain may take by default.
pub const DEFAULT_EXIT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default `flush()` deadline: a flush never hangs.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// Default wait of the `block` overflow policy before dropping anyway.
pub const DEFAULT_BLOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// What `track()` does when the memory budget is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Refuse the new event at once, count and report it (default: never slow a web request).
    DropNewest,
    /// Wait up to the timeout for room (imports), then drop.
    Block(Duration),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_duration: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            base: DEFAULT_RETRY_BASE,
            cap: DEFAULT_RETRY_CAP,
            max_duration: DEFAULT_MAX_RETRY_DURATION,
        }
    }
}

#[derive(Clone)]
pub struct ClientConfig {
    pub destinations: Vec<DestinationConfig>,
    pub flush_interval: Duration,
    /// Events per batch; `None` means each destination's maximum.
    pub flush_at: Option<usize>,
    pub max_queue_bytes: usize,
    pub max_queue_events: usize,
    pub overflow: Overflow,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub max_in_flight: usize,
    pub retry: RetryPolicy,
    /// Pacing overrides by destination name (defaults: each collector's documented limit).
    pub rate_limits: HashMap<String, RateLimit>,
    pub dedupe: bool,
    pub dedupe_window: Duration,
    pub dedupe_max_ids: usize,
    /// A shared store (e.g. Redis) instead of the in-memory one.
    pub dedupe_store: Option<Arc<dyn DedupeStore>>,
    /// Raise on any rule violation instead of reporting it (tests, development).
    pub strict: bool,
    /// Append events that finally failed here, one JSON object a line.
    pub dead_letter_path: Option<PathBuf>,
    pub hooks: Option<Arc<dyn Hooks>>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("destinations", &self.destinations.len())
            .field("flush_interval", &self.flush_interval)
            .field("flush_at", &self.flush_at)
            .field("overflow", &self.overflow)
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            destinations: Vec::new(),
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            flush_at: None,
            max_queue_bytes: DEFAULT_MAX_QUEUE_BYTES,
            max_queue_events: DEFAULT_MAX_QUEUE_EVENTS,
            overflow: Overflow::DropNewest,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            retry: RetryPolicy::default(),
            rate_limits: HashMap::new(),
            dedupe: true,
            dedupe_window: DEFAULT_DEDUPE_WINDOW,
            dedupe_max_ids: DEFAULT_DEDUPE_MAX_IDS,
            dedupe_store: None,
            strict: false,
            dead_letter_path: None,
            hooks: None,
        }
    }
}

impl ClientConfig {
    pub fn new(destinations: Vec<DestinationConfig>) -> ClientConfig {
        ClientConfig {
            destinations,
            ..ClientConfig::default()
        }
    }

    /// Reads client options from JSON (snake_case or camelCase), falling back to
    /// `TRACKLANE_<OPTION>` environment variables. Durations are `*_ms` numbers
    /// (`flush_interval_ms`); `overflow` is `"drop_newest"` or `"block"` (with
    /// `block_timeout_ms`). Without `destinations`, `TRACKLANE_DESTINATIONS` (comma-separated
    /// types) builds them from `TRACKLANE_<TYPE>_<FIELD>` variables.
    pub fn from_json(value: Value) -> Result<ClientConfig, ConfigError> {
        Self::from_json_with_env(value, &std::env::vars().collect())
    }

    pub fn from_json_with_env(
        value: Value,
        env: &HashMap<String, String>,
    ) -> Result<ClientConfig, ConfigError> {
        let Value::Object(object) = value else {
            return Err(invalid("options", "client options must be an object"));
        };
        let mut options = Map::new();
        for (key, value) in object {
            if !value.is_null() {
                options.insert(snake_case(&key), value);
            }
        }
        let mut config = ClientConfig::default();
        let env_value =
            |option: &str| env.get(&format!("TRACKLANE_{}", option.to_ascii_uppercase()));
        let mut take = |option: &str| -> Option<Value> {
            options
                .remove(option)
                .or_else(|| env_value(option).map(|s| Value::String(s.clone())))
        };
        config.destinations = destinations(take("destinations"), env)?;
        if let Some(v) = take("flush_interval_ms") {
            config.flush_interval = millis("flush_interval_ms", &v)?;
        }
        if let Some(v) = take("flush_at") {
            config.flush_at = Some(count("flush_at", &v)? as usize);
        }
        if let Some(v) = take("max_queue_bytes") {
            config.max_queue_bytes = count("max_queue_bytes", &v)? as usize;
        }
        if let Some(v) = take("max_queue_events") {
            config.max_queue_events = count("max_queue_events", &v)? as usize;
        }
        let block_timeout = match take("block_timeout_ms") {
            Some(v) => millis("block_timeout_ms", &v)?,
            None => DEFAULT_BLOCK_TIMEOUT,
        };
        if let Some(v) = take("overflow") {
            config.overflow = match v.as_str() {
                Some("drop_newest") => Overflow::DropNewest,
                Some("block") => Overflow::Block(block_timeout),
                _ => return Err(invalid("overflow", "must be \"drop_newest\" or \"block\"")),
            };
        }
        if let Some(v) = take("request_timeout_ms") {
            config.request_timeout = millis("request_timeout_ms", &v)?;
        }
        if let Some(v) = take("connect_timeout_ms") {
            config.connect_timeout = millis("connect_timeout_ms", &v)?;
        }
        if let Some(v) = take("max_in_flight") {
            config.max_in_flight = count("max_in_flight", &v)?.max(1) as usize;
        }
        if let Some(v) = take("retry_base_ms") {
            config.retry.base = millis("retry_base_ms", &v)?;
        }
        if let Some(v) = take("retry_cap_ms") {
            config.retry.cap = millis("retry_cap_ms", &v)?;
        }
        if let Some(v) = take("max_retry_duration_ms") {
            config.retry.max_duration = millis("max_retry_duration_ms", &v)?;
        }
        if let Some(v) = take("dedupe") {
            config.dedupe = flag("dedupe", &v)?;
        }
        if let Some(v) = take("dedupe_window_ms") {
            config.dedupe_window = millis("dedupe_window_ms", &v)?;
        }
        if let Some(v) = take("dedupe_max_ids") {
            config.dedupe_max_ids = count("dedupe_max_ids", &v)? as usize;
        }
        if let Some(v) = take("strict") {
            config.strict = flag("strict", &v)?;
        }
        if let Some(v) = take("dead_letter_path") {
            let path = v
                .as_str()
                .ok_or_else(|| invalid("dead_letter_path", "must be a path"))?;
            config.dead_letter_path = Some(PathBuf::from(path));
        }
        if let Some(v) = take("rate_limits") {
            config.rate_limits = rate_limits(&v)?;
        }
        if let Some((key, _)) = options.into_iter().next() {
            return Err(invalid(&key, "is not a client option"));
        }
        Ok(config)
    }
}

fn invalid(field: &str, message: &str) -> ConfigError {
    ConfigError::new(format!("config.client.{field}"), "client", field, message)
}

fn count(field: &str, value: &Value) -> Result<u64, ConfigError> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| invalid(field, "must be a non-negative whole number"))
}

fn millis(field: &str, value: &Value) -> Result<Duration, ConfigError> {
    count(field, value).map(Duration::from_millis)
}

fn flag(field: &str, value: &Value) -> Result<bool, ConfigError> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| invalid(field, "must be true or false"))
}

fn rate_limits(value: &Value) -> Result<HashMap<String, RateLimit>, ConfigError> {
    // From the environment the option is JSON text: TRACKLANE_RATE_LIMITS='{"wa": {...}}'.
    if let Value::String(text) = value {
        let parsed: Value = serde_json::from_str(text).map_err(|_| {
            invalid(
                "rate_limits",
                "must be JSON mapping destination names to {requests, per_ms}",
            )
        })?;
        if !parsed.is_string() {
            return rate_limits(&parsed);
        }
    }
    let Value::Object(map) = value else {
        return Err(invalid(
            "rate_limits",
            "must map destination names to {requests, per_ms}",
        ));
    };
    let mut out = HashMap::new();
    for (name, limit) in map {
        let requests = limit
            .get("requests")
            .map(|v| count("rate_limits.requests", v))
            .transpose()?;
        let per = limit
            .get("per_ms")
            .map(|v| millis("rate_limits.per_ms", v))
            .transpose()?;
        match (requests, per) {
            (Some(requests), Some(per)) if requests > 0 && !per.is_zero() => {
                out.insert(
                    name.clone(),
                    RateLimit {
                        requests: requests as u32,
                        per,
                    },
                );
            }
            _ => {
                return Err(invalid(
                    "rate_limits",
                    "each entry needs requests > 0 and per_ms > 0",
                ))
            }
        }
    }
    Ok(out)
}

fn destinations(
    value: Option<Value>,
    env: &HashMap<String, String>,
) -> Result<Vec<DestinationConfig>, ConfigError> {
    let list = match value {
        Some(Value::Array(list)) => list,
        Some(Value::String(kinds)) => kinds
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| serde_json::json!({ "type": k }))
            .collect(),
        Some(_) => return Err(invalid("destinations", "must be a list of destinations")),
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        out.push(DestinationConfig::from_json_with_env(item, env)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn with_env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rate_limits_come_from_the_environment_as_json_text() {
        let env = with_env(&[
            ("TRACKLANE_DESTINATIONS", "stdout"),
            (
                "TRACKLANE_RATE_LIMITS",
                r#"{"webanalyzer": {"requests": 120, "per_ms": 60000}}"#,
            ),
        ]);
        let config = ClientConfig::from_json_with_env(json!({}), &env).unwrap();
        let limit = config.rate_limits["webanalyzer"];
        assert_eq!(limit.requests, 120);
        assert_eq!(limit.per, Duration::from_secs(60));
    }

    #[test]
    fn rate_limits_that_are_not_json_name_the_option() {
        let env = with_env(&[
            ("TRACKLANE_DESTINATIONS", "stdout"),
            ("TRACKLANE_RATE_LIMITS", "120/min"),
        ]);
        let error = ClientConfig::from_json_with_env(json!({}), &env).unwrap_err();
        assert_eq!(error.code, "config.client.rate_limits");
        assert!(error.message.contains("JSON"), "{}", error.message);
    }
}
