//! Injected failures.
//!
//! The SDK's delivery guarantees (retry on 5xx, honour Retry-After, survive a
//! lost connection, never lose an acknowledged batch, tolerate duplicates after
//! a lost ack) can only be tested if the collector misbehaves on command. A
//! fault is matched against each API request before anything else happens to it.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::{Outcome, DESTINATIONS};

/// Status a `status` fault answers when none is given.
pub const DEFAULT_FAULT_STATUS: u16 = 503;
/// How long a `delay` fault sleeps when no `delay_ms` is given.
pub const DEFAULT_DELAY_MS: u64 = 1_000;
/// Matches every destination.
pub const ANY_DESTINATION: &str = "*";

/// What a fault does to a matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// Answer `status` (and `body`, `retry_after`) without validating or storing.
    Status,
    /// Sleep `delay_ms`, then handle the request normally.
    Delay,
    /// Close the connection without answering; nothing is stored.
    Drop,
    /// Validate and store the request, then close the connection without answering.
    LostAck,
}

impl FaultMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultMode::Status => "status",
            FaultMode::Delay => "delay",
            FaultMode::Drop => "drop",
            FaultMode::LostAck => "lost_ack",
        }
    }
}

/// One injected failure; the same JSON as `POST /_faults`.
///
/// Without `for_ms`, `count` or `fraction` it stays active until cleared. When
/// several are given, all must hold for the fault to apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// A destination name (`"segment"`, `"webanalyzer"`, ...) or `"*"`.
    #[serde(default = "any_destination")]
    pub destination: String,
    pub mode: FaultMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` header value, sent verbatim: seconds or an HTTP-date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// Body to answer instead of `{"error":"injected"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Active for this long from when it is added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_ms: Option<u64>,
    /// Applies to the next `count` matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Applies to each matching request with this probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

fn any_destination() -> String {
    ANY_DESTINATION.to_owned()
}

impl Fault {
    /// A fault with only a destination and a mode: active until cleared.
    pub fn new(destination: impl Into<String>, mode: FaultMode) -> Self {
        Fault {
            destination: destination.into(),
            mode,
            status: None,
            retry_after: None,
            body: None,
            for_ms: None,
            count: None,
            fraction: None,
            delay_ms: None,
        }
    }

    /// A `status` fault answering `status`.
    pub fn status(destination: impl Into<String>, status: u16) -> Self {
        Fault {
            status: Some(status),
            ..Fault::new(destination, FaultMode::Status)
        }
    }

    /// A `delay` fault sleeping `delay_ms`.
    pub fn delay(destination: impl Into<String>, delay_ms: u64) -> Self {
        Fault {
            delay_ms: Some(delay_ms),
            ..Fault::new(destination, FaultMode::Delay)
        }
    }

    pub fn with_retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn for_ms(mut self, ms: u64) -> Self {
        self.for_ms = Some(ms);
        self
    }

    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    pub fn fraction(mut self, fraction: f64) -> Self {
        self.fraction = Some(fraction);
        self
    }

    /// Why this fault can't be installed, if it can't.
    pub fn validate(&self) -> Result<(), String> {
        if self.destination != ANY_DESTINATION && !DESTINATIONS.contains(&&*self.destination) {
            return Err(format!(
                "destination: must be \"*\" or one of {}",
                DESTINATIONS.join(", ")
            ));
        }
        if let Some(status) = self.status {
            if !(100..=599).contains(&status) {
                return Err("status: must be between 100 and 599".to_owned());
            }
        }
        if let Some(fraction) = self.fraction {
            if !(0.0..=1.0).contains(&fraction) {
                return Err("fraction: must be between 0 and 1".to_owned());
            }
        }
        match &self.retry_after {
            Some(v) if !is_retry_after(v) => {
                Err("retry_after: must be whole seconds or an HTTP-date".to_owned())
            }
            _ => Ok(()),
        }
    }

    /// The answer a `status` fault gives.
    pub(crate) fn injected_outcome(&self) -> Outcome {
        let status = self.status.unwrap_or(DEFAULT_FAULT_STATUS);
        let body = self
            .body
            .clone()
            .unwrap_or_else(|| json!({"error": "injected"}));
        let outcome = Outcome::reject(status, body);
        match &self.retry_after {
            Some(value) => outcome.with_header("retry-after", value.clone()),
            None => outcome,
        }
    }

    pub(crate) fn delay_duration(&self) -> Duration {
        Duration::from_millis(self.delay_ms.unwrap_or(DEFAULT_DELAY_MS))
    }
}

fn is_retry_after(value: &str) -> bool {
    let seconds = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    seconds || httpdate::parse_http_date(value).is_ok()
}

/// The installed faults, in the order they were added.
#[derive(Debug, Default)]
pub(crate) struct FaultSet {
    active: Vec<ActiveFault>,
}

#[derive(Debug)]
struct ActiveFault {
    fault: Fault,
    until: Option<Instant>,
    remaining: Option<u64>,
}

impl ActiveFault {
    fn expired(&self, now: Instant) -> bool {
        self.until.is_some_and(|until| now >= until) || self.remaining == Some(0)
    }

    fn matches(&self, destination: &str) -> bool {
        self.fault.destination == ANY_DESTINATION || self.fault.destination == destination
    }
}

impl FaultSet {
    pub(crate) fn add(&mut self, fault: Fault) {
        let until = fault
            .for_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms));
        let remaining = fault.count;
        self.active.push(ActiveFault {
            fault,
            until,
            remaining,
        });
    }

    pub(crate) fn clear(&mut self) {
        self.active.clear();
    }

    pub(crate) fn list(&self) -> Vec<Fault> {
        self.active.iter().map(|a| a.fault.clone()).collect()
    }

    /// The first fault that applies to a request for `destination`, using up
    /// one of its `count` if it has one.
    pub(crate) fn take(&mut self, destination: &str) -> Option<Fault> {
        let now = Instant::now();
        self.active.retain(|a| !a.expired(now));
        let hit = self.active.iter_mut().find(|a| {
            a.matches(destination) && a.fault.fraction.is_none_or(|f| random_unit() < f)
        })?;
        if let Some(remaining) = hit.remaining.as_mut() {
            *remaining -= 1;
        }
        Some(hit.fault.clone())
    }
}

/// A uniform number in [0, 1). A v4 UUID is 122 random bits from the OS-seeded
/// generator the crate already depends on, so no extra RNG crate is needed.
fn random_unit() -> f64 {
    const MANTISSA_BITS: u32 = 53;
    let bits = uuid::Uuid::new_v4().as_u128() >> (128 - MANTISSA_BITS);
    bits as f64 / (1u64 << MANTISSA_BITS) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_limited_fault_runs_out() {
        let mut set = FaultSet::default();
        set.add(Fault::status("segment", 503).count(2));
        assert!(set.take("koala").is_none());
        assert!(set.take("segment").is_some());
        assert!(set.take("segment").is_some());
        assert!(set.take("segment").is_none());
    }

    #[test]
    fn first_matching_fault_wins() {
        let mut set = FaultSet::default();
        set.add(Fault::status("koala", 500));
        set.add(Fault::status(ANY_DESTINATION, 502));
        assert_eq!(set.take("koala").and_then(|f| f.status), Some(500));
        assert_eq!(set.take("segment").and_then(|f| f.status), Some(502));
    }

    #[test]
    fn random_unit_stays_in_range() {
        assert!((0..1000)
            .map(|_| random_unit())
            .all(|x| (0.0..1.0).contains(&x)));
    }

    #[test]
    fn validate_rejects_unknown_destination_and_bad_retry_after() {
        assert!(Fault::status("segmnt", 503).validate().is_err());
        let bad = Fault::status("*", 503).with_retry_after("soon");
        assert!(bad.validate().is_err());
        let date = Fault::status("*", 503).with_retry_after("Wed, 21 Oct 2015 07:28:00 GMT");
        assert!(date.validate().is_ok());
    }
}
