//! `enqueue` with 3-key properties (the time a caller spends in track), and each
//! destination's encoder. Run: `cargo bench -p tracklane-core --bench track`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use tracklane_collector::{CollectorConfig, RunningCollector};
use tracklane_core::destinations::Group;
use tracklane_core::pipeline::dedupe::{DedupeStore, MemoryDedupe};
use tracklane_core::pipeline::report::Outcome;
use tracklane_core::time::Timestamp;
use tracklane_core::{Client, ClientConfig, DestinationConfig, Message};

const VISITOR: &str = "550e8400-e29b-41d4-a716-446655440000";

fn message() -> Message {
    let mut m = Message::track("purchase");
    m.anonymous_id = Some(VISITOR.into());
    m.properties.insert("order_id".into(), json!("ORD-1234"));
    m.properties.insert("amount".into(), json!("49.99"));
    m.properties.insert("currency".into(), json!("USD"));
    m.context.ip = Some("84.14.132.114".into());
    m.context.user_agent = Some("Mozilla/5.0".into());
    m
}

fn destination(kind: &str) -> DestinationConfig {
    // A closed port: the bench measures the caller's side; nothing needs to arrive.
    let base = "http://127.0.0.1:9";
    let config = match kind {
        "webanalyzer" => json!({"type": kind, "api_key": "k", "website_id": 1, "base_url": base}),
        "koala" => json!({"type": kind, "public_key": "k", "base_url": base}),
        "silktide" => {
            json!({"type": kind, "property_key": "8bce2be8c07a84a70e7104634b42878b", "endpoint_url": base})
        }
        "tracardi" => json!({"type": kind, "source_id": "s", "base_url": base}),
        "dreamdata" => json!({"type": kind, "api_key": "k", "base_url": base}),
        "segment" => json!({"type": kind, "write_key": "k", "base_url": base}),
        _ => json!({"type": "stdout"}),
    };
    DestinationConfig::from_json_with_env(config, &Default::default()).unwrap()
}

/// Time inside `enqueue` only: each message is built before the clock starts, and what was
/// queued is flushed (to a collector in this process) after every 10,000, so neither the queue
/// nor a retry backlog grows across samples. Delivery runs on the background threads while
/// the clock runs, as it does in an application.
fn enqueue(c: &mut Criterion) {
    // Counts and ids, not every body (as in `deliver`): it shares this machine's cores.
    let collector = RunningCollector::start(CollectorConfig {
        keep_bodies: false,
        ..CollectorConfig::default()
    })
    .unwrap();
    let config = json!({
        "type": "segment",
        "write_key": "test-segment-key",
        "base_url": format!("{}/segment", collector.url()),
    });
    let destination = DestinationConfig::from_json_with_env(config, &Default::default()).unwrap();
    let client = Client::new(ClientConfig::new(vec![destination])).unwrap();
    let template = message();
    c.bench_function("enqueue/segment (3-key properties)", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            let mut left = iterations;
            while left > 0 {
                let chunk = left.min(10_000);
                left -= chunk;
                // Each message is built just before its call (warm in cache, as in an
                // application); the clock runs inside `enqueue` only.
                for _ in 0..chunk {
                    let mut m = template.clone();
                    m.message_id = tracklane_core::message::new_message_id();
                    let started = Instant::now();
                    let outcome = client.enqueue(m).unwrap();
                    total += started.elapsed();
                    assert!(matches!(outcome, Outcome::Queued { .. }));
                }
                client.flush(Duration::from_secs(60));
            }
            total
        })
    });
}

/// The steps of `enqueue` apart, to see where its time goes.
fn steps(c: &mut Criterion) {
    let m = message();
    c.bench_function("step/validate", |b| {
        b.iter(|| black_box(&m).validate().unwrap())
    });
    // Ids the caller gave (random UUIDs, held in the store's hash table); ids tracklane made
    // (held as a bit each) come after.
    let store = MemoryDedupe::new(Duration::from_secs(3600), 1_000_000);
    let ids: Vec<String> = (0..1_000_000)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let mut next = 0;
    c.bench_function("step/dedupe (first sighting)", |b| {
        b.iter(|| {
            next = (next + 1) % ids.len();
            black_box(store.first_sighting(&ids[next], Timestamp::now_coarse()))
        })
    });
    // As `enqueue` asks: the prefetch hint first, the check a few hundred nanoseconds later
    // (here two sightings later), with the store full and evicting its oldest id each time.
    c.bench_function("step/dedupe (prefetched, store full)", |b| {
        b.iter(|| {
            next = (next + 1) % ids.len();
            store.prefetch(&ids[(next + 2) % ids.len()]);
            black_box(store.first_sighting(&ids[next], Timestamp::now_coarse()))
        })
    });
    // A new store as a client starts: its tables grow (and their pages are first touched) on
    // the way. One iteration is one whole fill; the store is dropped outside the clock.
    let fill = 200_000;
    let mut group = c.benchmark_group("step/dedupe (a new store filling to 200,000 ids)");
    group.sample_size(10);
    group.bench_function("fill", |b| {
        b.iter_batched(
            || MemoryDedupe::new(Duration::from_secs(3600), 1_000_000),
            |store| {
                for id in &ids[..fill] {
                    store.prefetch(id);
                    black_box(store.first_sighting(id, Timestamp::now_coarse()));
                }
                store
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
    // An id made just before its sighting, as `enqueue` sees it when the caller gave none.
    let made = MemoryDedupe::new(Duration::from_secs(3600), 1_000_000);
    c.bench_function("step/dedupe (an id tracklane made)", |b| {
        b.iter_batched(
            tracklane_core::message::new_message_id,
            |id| {
                made.prefetch(&id);
                black_box(made.first_sighting(&id, Timestamp::now_coarse()))
            },
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("step/message id", |b| {
        b.iter(tracklane_core::message::new_message_id)
    });
    c.bench_function("step/clone message", |b| b.iter(|| black_box(m.clone())));
}

fn encoders(c: &mut Criterion) {
    let m = message();
    for kind in [
        "webanalyzer",
        "koala",
        "silktide",
        "tracardi",
        "dreamdata",
        "segment",
        "stdout",
    ] {
        let dest = destination(kind).build().unwrap();
        c.bench_function(&format!("encode/{kind}"), |b| {
            b.iter(|| black_box(dest.encode(black_box(&m), &[]).unwrap()))
        });
    }
}

/// Building one full Segment request (1,400 events, ~500 KB, gzipped): the lane's work per batch.
fn requests(c: &mut Criterion) {
    let dest = destination("segment").build().unwrap();
    let mut bodies = Vec::new();
    for n in 0..1_400 {
        let mut m = message();
        m.properties
            .insert("order_id".into(), json!(format!("ORD-{n}")));
        let encoded = dest.encode(&m, &[]).unwrap().unwrap();
        assert!(encoded.group.is_none(), "Segment has one group");
        bodies.push(encoded.body);
    }
    let events: Vec<&str> = bodies.iter().map(String::as_str).collect();
    c.bench_function("request/segment (1,400 events, gzip)", |b| {
        b.iter(|| black_box(dest.request(Group::shared(), &events, Timestamp::now())))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = enqueue, steps, encoders, requests
}
criterion_main!(benches);
