//! End to end: 200,000 events tracked and delivered to a Segment-spec destination on the
//! local collector. Prints the time inside `enqueue` and the wall time until the collector
//! has stored every event. Run: `cargo bench -p tracklane-core --bench deliver`.

use std::time::{Duration, Instant};

use serde_json::json;
use tracklane_collector::{CollectorConfig, RunningCollector};
use tracklane_core::{Client, ClientConfig, DestinationConfig, Message};

const EVENTS: usize = 200_000;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let collector = RunningCollector::start(CollectorConfig::default()).unwrap();
    let destination = DestinationConfig::from_json_with_env(
        json!({"type": "segment", "write_key": "test-segment-key", "base_url": format!("{}/segment", collector.url())}),
        &Default::default(),
    )
    .unwrap();
    let client = Client::new(ClientConfig::new(vec![destination])).unwrap();
    let started = Instant::now();
    let mut inside = Duration::ZERO;
    for n in 0..EVENTS {
        let mut m = Message::track("purchase");
        m.anonymous_id = Some("550e8400-e29b-41d4-a716-446655440000".into());
        m.properties
            .insert("order_id".into(), json!(format!("ORD-{n}")));
        m.properties.insert("amount".into(), json!("49.99"));
        m.properties.insert("currency".into(), json!("USD"));
        let t = Instant::now();
        client.enqueue(m).unwrap();
        inside += t.elapsed();
    }
    let report = client.flush(Duration::from_secs(60));
    let total = started.elapsed();
    let stored = collector.stats()["segment"]["unique_ids"]
        .as_u64()
        .unwrap_or(0);
    println!(
        "deliver/segment: {EVENTS} events, {:.2} µs per enqueue, delivered {} (collector stored {stored}) in {:.3} s, {} requests",
        inside.as_secs_f64() * 1e6 / EVENTS as f64,
        report.delivered,
        total.as_secs_f64(),
        client.stats().destinations[0].requests,
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
            println!(
                "peak RSS (process incl. in-process collector): {}",
                line.trim_start_matches("VmHWM:").trim()
            );
        }
    }
}
