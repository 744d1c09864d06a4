//! Shared setup for the pipeline tests: a real collector on 127.0.0.1 and clients pointed at it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracklane_collector::{CollectorConfig, RunningCollector};
use tracklane_core::pipeline::report::{Delivery, FailedEvent};
use tracklane_core::{Client, ClientConfig, DestinationConfig, Hooks, Message};

pub const WA_KEY: &str = "test-wa-key";
pub const VISITOR: &str = "550e8400-e29b-41d4-a716-446655440000";

pub fn collector() -> RunningCollector {
    RunningCollector::start(CollectorConfig::default()).expect("collector starts")
}

/// Destination config for `kind` pointed at the collector.
pub fn destination(c: &RunningCollector, kind: &str) -> Value {
    let url = c.url();
    match kind {
        "webanalyzer" => {
            json!({"type": kind, "api_key": WA_KEY, "website_id": 1, "base_url": format!("{url}/api/v1")})
        }
        "koala" => json!({"type": kind, "public_key": "test-koala-key", "base_url": url}),
        "silktide" => {
            json!({"type": kind, "property_key": "8bce2be8c07a84a70e7104634b42878b", "endpoint_url": format!("{url}/v1/events")})
        }
        "tracardi" => json!({"type": kind, "source_id": "source-id", "base_url": url}),
        "dreamdata" => json!({"type": kind, "api_key": "test-dd-key", "base_url": url}),
        "segment" => {
            json!({"type": kind, "write_key": "test-segment-key", "base_url": format!("{url}/segment")})
        }
        other => panic!("unknown kind {other}"),
    }
}

/// Client options with fast retries, so fault tests finish in seconds.
pub fn fast_options(destinations: Vec<Value>) -> Value {
    json!({
        "destinations": destinations,
        "flush_interval_ms": 200,
        "retry_base_ms": 50,
        "retry_cap_ms": 500,
    })
}

pub fn client(options: Value) -> Client {
    Client::new(config(options)).expect("valid config")
}

pub fn config(options: Value) -> ClientConfig {
    ClientConfig::from_json_with_env(options, &Default::default()).expect("valid options")
}

pub fn dest_config(value: Value) -> DestinationConfig {
    DestinationConfig::from_json_with_env(value, &Default::default()).unwrap()
}

/// A track call every collector accepts (Silktide needs ip and user agent, Segment an id).
pub fn event(name: &str, n: usize) -> Message {
    let mut m = Message::track(name);
    m.anonymous_id = Some(VISITOR.to_string());
    m.properties.insert("seq".into(), json!(n.to_string()));
    m.context.ip = Some("84.14.132.114".into());
    m.context.user_agent = Some("Mozilla/5.0".into());
    m.context.url = Some("https://example.com/".into());
    m
}

pub fn stat(c: &RunningCollector, destination: &str, field: &str) -> u64 {
    c.stats()[destination][field].as_u64().unwrap_or(0)
}

/// Polls `check` until true or `timeout` passes.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// Records what hooks receive.
#[derive(Default)]
pub struct Recorder {
    pub failures: Mutex<Vec<FailedEvent>>,
    pub deliveries: Mutex<Vec<Delivery>>,
}

impl Hooks for Recorder {
    fn on_error(&self, failures: &[FailedEvent]) {
        self.failures.lock().unwrap().extend_from_slice(failures);
    }
    fn on_delivery(&self, delivery: &Delivery) {
        self.deliveries.lock().unwrap().push(delivery.clone());
    }
}

pub fn client_with_hooks(options: Value) -> (Client, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let mut config = config(options);
    config.hooks = Some(recorder.clone());
    (Client::new(config).unwrap(), recorder)
}
