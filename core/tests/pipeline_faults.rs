//! Fault handling against the real collector: every retryable and terminal status,
//! Retry-After in both forms, pacing, splitting, outages, lost acks, dropped connections and
//! one destination failing while another delivers. Each test names the trap it closes.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use tracklane_collector::{Fault, FaultMode};

fn statuses(c: &tracklane_collector::RunningCollector, dest: &str) -> serde_json::Value {
    c.stats()[dest]["statuses"].clone()
}

#[test]
fn transient_statuses_are_retried_until_delivered() {
    let c = collector();
    for status in [408, 500, 502, 503, 504] {
        c.reset();
        c.add_fault(Fault::status("segment", status).count(2));
        let client = client(fast_options(vec![destination(&c, "segment")]));
        for n in 0..3 {
            client.enqueue(event("retry_me", n)).unwrap();
        }
        let report = client.flush(Duration::from_secs(10));
        assert_eq!(report.delivered, 3, "{status}: {report:?}");
        assert_eq!(statuses(&c, "segment")[status.to_string()], 2, "{status}");
        assert_eq!(stat(&c, "segment", "duplicate_ids"), 0, "{status}");
    }
}

#[test]
fn a_failed_event_can_be_replayed_with_its_id() {
    // Dedupe keeps an id so that nothing is sent twice; an event that finally failed was not
    // sent, so a replay of it (from on_error or the dead-letter file) is taken. With a second
    // destination that delivered it, the replay is a duplicate: it would reach that one twice;
    // failed by both, it is taken.
    let c = collector();
    let mut wrong_key = destination(&c, "webanalyzer");
    wrong_key["api_key"] = json!("wrong-key");
    let single = client(fast_options(vec![wrong_key.clone()]));
    let mut failing = event("purchase", 1);
    failing.message_id = "evt_replayed_after_failure".into();
    let replay = failing.clone();
    assert_eq!(single.enqueue(failing).unwrap().status(), "queued");
    let report = single.flush(Duration::from_secs(5));
    assert_eq!((report.delivered, report.failed), (0, 1));
    assert_eq!(single.enqueue(replay.clone()).unwrap().status(), "queued");
    // A made id (the caller gave none) is forgotten the same way.
    let made = single.enqueue(event("purchase", 2)).unwrap();
    assert_eq!(single.flush(Duration::from_secs(5)).failed, 2);
    let mut made_replay = event("purchase", 2);
    made_replay.message_id = made.message_id().to_string();
    assert_eq!(single.enqueue(made_replay).unwrap().status(), "queued");

    let both = client(fast_options(vec![
        wrong_key.clone(),
        destination(&c, "segment"),
    ]));
    assert_eq!(both.enqueue(replay.clone()).unwrap().status(), "queued");
    let report = both.flush(Duration::from_secs(5));
    assert_eq!((report.delivered, report.failed), (1, 1));
    assert_eq!(both.enqueue(replay.clone()).unwrap().status(), "duplicate");

    // Failed by every destination it went to: delivered nowhere, so taken again.
    let mut wrong_write_key = destination(&c, "segment");
    wrong_write_key["write_key"] = json!("wrong-key");
    let neither = client(fast_options(vec![wrong_key, wrong_write_key]));
    assert_eq!(neither.enqueue(replay.clone()).unwrap().status(), "queued");
    let report = neither.flush(Duration::from_secs(5));
    assert_eq!((report.delivered, report.failed), (0, 2));
    assert_eq!(neither.enqueue(replay).unwrap().status(), "queued");
}

#[test]
fn terminal_statuses_are_not_retried_and_reach_on_error_and_the_dead_letter_file() {
    let c = collector();
    let dead_letter =
        std::env::temp_dir().join(format!("tracklane-dl-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&dead_letter);
    let cases = [
        (401, json!({"api_key": "wrong-key"})),
        (402, json!({"api_key": "test-wa-key-quota"})),
        (403, json!({"api_key": "test-wa-key-free"})),
        (404, json!({"website_id": 99})),
    ];
    let mut total = 0;
    for (status, overrides) in cases {
        c.reset();
        let mut dest = destination(&c, "webanalyzer");
        for (k, v) in overrides.as_object().unwrap() {
            dest[k] = v.clone();
        }
        let mut options = fast_options(vec![dest]);
        options["dead_letter_path"] = json!(dead_letter);
        let (client, hooks) = client_with_hooks(options);
        client.enqueue(event("purchase", 1)).unwrap();
        let report = client.flush(Duration::from_secs(5));
        assert_eq!((report.delivered, report.failed), (0, 1), "{status}");
        assert_eq!(report.failures[0].status, Some(status));
        assert_eq!(
            stat(&c, "webanalyzer", "requests"),
            1,
            "{status}: not retried"
        );
        let failures = hooks.failures.lock().unwrap();
        assert_eq!(failures.len(), 1, "{status}");
        assert!(
            failures[0].body.contains("purchase"),
            "the event is kept for a dead letter"
        );
        total += 1;
    }
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&dead_letter).map_or(0, |t| t.lines().count()) == total
    }));
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&dead_letter)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(line["destination"], "webanalyzer");
    assert!(
        !line.to_string().contains("wrong-key"),
        "no key in the dead letter"
    );
    let _ = std::fs::remove_file(&dead_letter);
}

#[test]
fn retries_honour_retry_after_in_seconds() {
    let c = collector();
    c.add_fault(Fault::status("segment", 429).with_retry_after("2").count(1));
    let client = client(fast_options(vec![destination(&c, "segment")]));
    client.enqueue(event("paced", 1)).unwrap();
    let started = Instant::now();
    let report = client.flush(Duration::from_secs(10));
    assert_eq!(report.delivered, 1);
    assert!(
        started.elapsed() >= Duration::from_millis(1_900),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn retries_honour_retry_after_as_an_http_date() {
    let c = collector();
    let when = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3));
    c.add_fault(
        Fault::status("segment", 503)
            .with_retry_after(when)
            .count(1),
    );
    let client = client(fast_options(vec![destination(&c, "segment")]));
    client.enqueue(event("paced", 1)).unwrap();
    let started = Instant::now();
    assert_eq!(client.flush(Duration::from_secs(10)).delivered, 1);
    // HTTP dates have one-second resolution: at least ~2 s of the 3 s remain.
    assert!(
        started.elapsed() >= Duration::from_millis(1_500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn rate_limit_pauses_do_not_spend_the_retry_budget() {
    let c = collector();
    c.add_fault(Fault::status("segment", 429).with_retry_after("1").count(2));
    let mut options = fast_options(vec![destination(&c, "segment")]);
    options["max_retry_duration_ms"] = json!(300);
    let client = client(options);
    client.enqueue(event("patient", 1)).unwrap();
    let report = client.flush(Duration::from_secs(10));
    assert_eq!((report.delivered, report.failed), (1, 0), "{report:?}");
    assert_eq!(client.stats().destinations[0].rate_limited, 2);
}

#[test]
fn transient_failures_give_up_at_the_retry_deadline() {
    let c = collector();
    c.add_fault(Fault::status("segment", 503));
    let mut options = fast_options(vec![destination(&c, "segment")]);
    options["max_retry_duration_ms"] = json!(400);
    let (client, hooks) = client_with_hooks(options);
    client.enqueue(event("doomed", 1)).unwrap();
    let report = client.flush(Duration::from_secs(10));
    assert_eq!(report.failed, 1);
    assert!(
        report.failures[0].reason.contains("gave up"),
        "{}",
        report.failures[0].reason
    );
    assert_eq!(hooks.failures.lock().unwrap().len(), 1);
}

#[test]
fn pacing_keeps_web_analyzer_under_its_rate_limit() {
    let c = collector();
    c.set_wa_rate_limit(10, 1_000);
    let mut options = fast_options(vec![destination(&c, "webanalyzer")]);
    options["flush_at"] = json!(1);
    // Slightly under the collector's budget: arrival times jitter by a millisecond or two.
    options["rate_limits"] = json!({"webanalyzer": {"requests": 9, "per_ms": 1_000}});
    let client = client(options);
    for n in 0..15 {
        client.enqueue(event("paced", n)).unwrap();
    }
    let report = client.flush(Duration::from_secs(10));
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(stat(&c, "webanalyzer", "requests"), 15);
    assert!(
        statuses(&c, "webanalyzer").get("429").is_none(),
        "{}",
        statuses(&c, "webanalyzer")
    );
}

#[test]
fn the_collectors_own_429s_pause_the_lane_until_retry_after() {
    let c = collector();
    c.set_wa_rate_limit(3, 1_000);
    let mut options = fast_options(vec![destination(&c, "webanalyzer")]);
    options["flush_at"] = json!(1);
    options["rate_limits"] = json!({"webanalyzer": {"requests": 1_000, "per_ms": 1_000}});
    let client = client(options);
    for n in 0..8 {
        client.enqueue(event("eager", n)).unwrap();
    }
    let report = client.flush(Duration::from_secs(15));
    assert!(report.is_complete(), "{report:?}");
    assert!(client.stats().destinations[0].rate_limited >= 1);
    assert_eq!(stat(&c, "webanalyzer", "events"), 8);
}

#[test]
fn one_bad_event_among_25_is_isolated_and_the_rest_delivered() {
    let c = collector();
    // A Dreamdata destination pointed at the Segment endpoint: the collector enforces
    // Segment's 32 KB message limit, which Dreamdata's encoder does not, so one event is
    // refused by the collector alone and the 400 lands on the whole batch.
    let dest = json!({"type": "dreamdata", "name": "strict", "api_key": "test-segment-key",
                      "base_url": format!("{}/segment", c.url())});
    let mut options = fast_options(vec![dest]);
    options["flush_at"] = json!(25);
    let client = client(options);
    for n in 0..25 {
        let mut m = event("bulk", n);
        if n == 13 {
            m.properties
                .insert("blob".into(), json!("x".repeat(40_000)));
        }
        client.enqueue(m).unwrap();
    }
    let report = client.flush(Duration::from_secs(10));
    assert_eq!((report.delivered, report.failed), (24, 1), "{report:?}");
    assert!(report.failures[0].body.contains("\"seq\":\"13\""));
    assert!(
        report.failures[0].reason.contains("400"),
        "{}",
        report.failures[0].reason
    );
    assert_eq!(stat(&c, "segment", "events"), 24);
    assert_eq!(stat(&c, "segment", "duplicate_ids"), 0);
}

#[test]
fn a_413_splits_the_batch() {
    let c = collector();
    c.add_fault(Fault::status("segment", 413).count(1));
    let client = client(fast_options(vec![destination(&c, "segment")]));
    for n in 0..10 {
        client.enqueue(event("big", n)).unwrap();
    }
    let report = client.flush(Duration::from_secs(10));
    assert_eq!(report.delivered, 10);
    assert_eq!(stat(&c, "segment", "accepted_requests"), 2);
    assert_eq!(client.stats().destinations[0].splits, 1);
}

#[test]
fn twenty_thousand_events_survive_a_five_second_outage() {
    let c = collector();
    c.add_fault(Fault::status("segment", 500).for_ms(5_000));
    let client = client(fast_options(vec![destination(&c, "segment")]));
    for n in 0..20_000 {
        assert_eq!(
            client.enqueue(event("burst", n)).unwrap().status(),
            "queued"
        );
    }
    let report = client.flush(Duration::from_secs(60));
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.dropped, 0);
    assert_eq!(stat(&c, "segment", "unique_ids"), 20_000);
    assert_eq!(stat(&c, "segment", "duplicate_ids"), 0);
}

#[test]
fn a_lost_ack_is_resent_with_the_same_ids_exactly_once() {
    let c = collector();
    c.add_fault(Fault::new("segment", FaultMode::LostAck).count(1));
    let client = client(fast_options(vec![destination(&c, "segment")]));
    for n in 0..100 {
        client.enqueue(event("acked", n)).unwrap();
    }
    assert!(client.flush(Duration::from_secs(10)).is_complete());
    assert_eq!(stat(&c, "segment", "unique_ids"), 100);
    assert_eq!(
        stat(&c, "segment", "duplicate_ids"),
        100,
        "the lost batch, resent once"
    );
    let requests = c.requests_for("segment");
    let ids = |i: usize| -> Vec<String> {
        requests[i].body["batch"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["messageId"].to_string())
            .collect()
    };
    assert_eq!(ids(0), ids(1), "same message ids on the retry");
}

#[test]
fn dropped_connections_are_retried() {
    let c = collector();
    c.add_fault(Fault::new("koala", FaultMode::Drop).count(2));
    let client = client(fast_options(vec![destination(&c, "koala")]));
    client.enqueue(event("Created Account", 1)).unwrap();
    assert_eq!(client.flush(Duration::from_secs(10)).delivered, 1);
    assert_eq!(stat(&c, "koala", "requests"), 3);
}

#[test]
fn one_destination_down_does_not_hold_up_another() {
    let c = collector();
    c.add_fault(Fault::status("koala", 503));
    let client = client(fast_options(vec![
        destination(&c, "koala"),
        destination(&c, "segment"),
    ]));
    for n in 0..50 {
        client.enqueue(event("fan_out", n)).unwrap();
    }
    // Segment keeps its flush interval (200 ms) while Koala backs off.
    assert!(eventually(Duration::from_secs(3), || stat(
        &c, "segment", "events"
    ) == 50));
    assert_eq!(stat(&c, "koala", "events"), 0);
    c.clear_faults();
    let report = client.flush(Duration::from_secs(15));
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(stat(&c, "koala", "events"), 50);
}

#[test]
fn track_never_waits_on_a_slow_collector() {
    let c = collector();
    c.add_fault(Fault::delay("segment", 2_000));
    let mut options = fast_options(vec![destination(&c, "segment")]);
    options["flush_at"] = json!(10);
    let client = client(options);
    for n in 0..200 {
        assert_eq!(
            client.enqueue(event("web_request", n)).unwrap().status(),
            "queued"
        );
    }
    // All 200 calls returned while the first batches are still being held by the collector.
    assert!(stat(&c, "segment", "events") < 200);
    assert!(client.flush(Duration::from_secs(20)).is_complete());
}

#[test]
fn memory_stays_bounded_during_an_outage_and_drops_are_counted() {
    let c = collector();
    c.add_fault(Fault::status("segment", 503));
    let mut options = fast_options(vec![destination(&c, "segment")]);
    options["max_queue_events"] = json!(1_000);
    let client = client(options);
    let dropped = (0..5_000)
        .filter(|n| {
            client
                .enqueue(event("outage", *n as usize))
                .unwrap()
                .status()
                == "dropped"
        })
        .count();
    assert_eq!(dropped, 4_000);
    let stats = client.stats();
    assert!(stats.held_events <= 1_000, "{}", stats.held_events);
    assert_eq!(stats.dropped, 4_000);
    c.clear_faults();
    assert!(client.flush(Duration::from_secs(20)).is_complete());
    assert_eq!(stat(&c, "segment", "unique_ids"), 1_000);
}

#[test]
fn close_abandons_what_cannot_be_delivered_and_reports_it() {
    let c = collector();
    c.add_fault(Fault::status("segment", 503));
    let (client, hooks) = client_with_hooks(fast_options(vec![destination(&c, "segment")]));
    for n in 0..3 {
        client.enqueue(event("unlucky", n)).unwrap();
    }
    let report = client.close(Duration::from_millis(500));
    assert_eq!(report.pending, 3);
    assert!(eventually(Duration::from_secs(5), || hooks
        .failures
        .lock()
        .unwrap()
        .len()
        == 3));
    assert!(hooks.failures.lock().unwrap()[0]
        .reason
        .contains("abandoned"));
}

#[test]
fn close_with_a_zero_deadline_reports_what_is_held_and_stops_retrying_it() {
    let c = collector();
    c.add_fault(Fault::status("segment", 503).for_ms(60_000));
    let client = client(fast_options(vec![destination(&c, "segment")]));
    client.enqueue(event("e", 0)).unwrap();
    assert!(eventually(Duration::from_secs(10), || {
        client.stats().destinations[0].retries >= 1
    }));
    let report = client.close(Duration::ZERO);
    assert_eq!(report.pending, 1, "not a false zero: {report:?}");
    assert!(report.timed_out);
    assert!(
        eventually(Duration::from_secs(10), || client.stats().failed == 1),
        "abandoned, and reported as failed"
    );
    let requests = stat(&c, "segment", "requests");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        stat(&c, "segment", "requests"),
        requests,
        "no retries after close gave up"
    );
    assert_eq!(client.stats().held_events, 0);
}
