//! End to end: 200,000 events tracked and delivered to a Segment-spec destination on the
//! local collector. Prints the time inside `enqueue`, the wall time until the collector has
//! stored every event, the CPU per event on the calling thread and on the background
//! threads, and this process's peak RSS.
//!
//! Run: `make bench-rust` (starts a release-built collector as its own process, so its CPU
//! and memory are not counted as ours), or `cargo bench -p tracklane-core --bench deliver`
//! (an in-process collector unless `TRACKLANE_COLLECTOR_BIN` names the binary).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracklane_collector::{CollectorConfig, RunningCollector};
use tracklane_core::{Client, ClientConfig, DestinationConfig, Message};

const EVENTS: usize = 200_000;
enum Collector {
    InProcess(RunningCollector),
    Process(Child, String),
    Running(String),
}

impl Collector {
    fn start() -> Collector {
        // A collector already running (e.g. under a profiler).
        if let Ok(url) = std::env::var("TRACKLANE_COLLECTOR_URL") {
            return Collector::Running(url);
        }
        match std::env::var("TRACKLANE_COLLECTOR_BIN") {
            Ok(bin) if std::path::Path::new(&bin).exists() => {
                let mut child = Command::new(bin)
                    // Counts and ids, not every body: as a real collector would not keep them either.
                    .args(["--port", "0", "--keep-bodies", "false"])
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("start the collector");
                let mut line = String::new();
                BufReader::new(child.stdout.take().unwrap())
                    .read_line(&mut line)
                    .unwrap();
                let url = line.trim().rsplit(' ').next().unwrap().to_string();
                Collector::Process(child, url)
            }
            _ => Collector::InProcess(
                RunningCollector::start(CollectorConfig {
                    keep_bodies: false,
                    ..CollectorConfig::default()
                })
                .unwrap(),
            ),
        }
    }

    fn url(&self) -> String {
        match self {
            Collector::InProcess(c) => c.url(),
            Collector::Process(_, url) | Collector::Running(url) => url.clone(),
        }
    }

    fn stats(&self) -> Value {
        match self {
            Collector::InProcess(c) => c.stats(),
            Collector::Process(_, url) | Collector::Running(url) => {
                let address = url.trim_start_matches("http://");
                let mut stream = TcpStream::connect(address).unwrap();
                write!(
                    stream,
                    "GET /_stats HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n"
                )
                .unwrap();
                let mut response = String::new();
                stream.read_to_string(&mut response).unwrap();
                let body = response.split("\r\n\r\n").nth(1).unwrap_or("{}");
                serde_json::from_str(body).unwrap_or(Value::Null)
            }
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Collector::Process(child, _) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn message(n: usize) -> Message {
    let mut m = Message::track("purchase");
    m.anonymous_id = Some("550e8400-e29b-41d4-a716-446655440000".into());
    m.properties
        .insert("order_id".into(), json!(format!("ORD-{n}")));
    m.properties.insert("amount".into(), json!("49.99"));
    m.properties.insert("currency".into(), json!("USD"));
    m
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let collector = Collector::start();
    let destination = DestinationConfig::from_json_with_env(
        json!({"type": "segment", "write_key": "test-segment-key", "base_url": format!("{}/segment", collector.url())}),
        &Default::default(),
    )
    .unwrap();
    let client = Client::new(ClientConfig::new(vec![destination])).unwrap();
    let started = Instant::now();
    let mut inside = Duration::ZERO;
    // Each message is built just before its call, as an application would: the clock runs
    // inside `enqueue` only.
    for n in 0..EVENTS {
        let m = message(n);
        let t = Instant::now();
        client.enqueue(m).unwrap();
        inside += t.elapsed();
    }
    let report = client.flush(Duration::from_secs(60));
    let total = started.elapsed();
    let stored = collector.stats()["segment"]["unique_ids"]
        .as_u64()
        .unwrap_or(0);
    let stats = client.stats();
    println!(
        "deliver/segment: {EVENTS} events, {:.2} µs per enqueue; {} delivered (collector stored {stored}) in {:.3} s, {} requests, flush complete: {}",
        inside.as_secs_f64() * 1e6 / EVENTS as f64,
        stats.delivered,
        total.as_secs_f64(),
        stats.destinations[0].requests,
        report.is_complete(),
    );
    // CPU rather than wall time: steadier on a shared machine, and it shows what delivery
    // costs on the background threads.
    let caller = cpu_seconds(libc::RUSAGE_THREAD);
    let all = cpu_seconds(libc::RUSAGE_SELF);
    println!(
        "CPU per event: {:.2} µs on the calling thread (building messages too), {:.2} µs on the background threads",
        caller * 1e6 / EVENTS as f64,
        (all - caller) * 1e6 / EVENTS as f64,
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
            let whose = match collector {
                Collector::InProcess(_) => "this process, including the in-process collector",
                Collector::Process(..) | Collector::Running(_) => {
                    "this process; the collector runs apart"
                }
            };
            println!(
                "peak RSS ({whose}): {}",
                line.trim_start_matches("VmHWM:").trim()
            );
        }
    }
}

/// User plus system CPU seconds of this thread or this process.
fn cpu_seconds(who: libc::c_int) -> f64 {
    // SAFETY: getrusage fills the struct it is given; a zeroed rusage is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
