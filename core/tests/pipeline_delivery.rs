//! Delivery to every collector, batching, dedupe, budget, flush and close — against the real
//! local collector over real sockets.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use tracklane_core::{Client, Error, Message, Outcome, ValidationError};

#[test]
fn each_destination_delivers_end_to_end() {
    let c = collector();
    for kind in [
        "webanalyzer",
        "koala",
        "silktide",
        "tracardi",
        "dreamdata",
        "segment",
    ] {
        let client = client(fast_options(vec![destination(&c, kind)]));
        for n in 0..3 {
            assert_eq!(
                client.enqueue(event("signup", n)).unwrap().status(),
                "queued",
                "{kind}"
            );
        }
        let report = client.flush(Duration::from_secs(10));
        assert_eq!(report.delivered, 3, "{kind}: {report:?}");
        assert!(report.is_complete(), "{kind}");
        assert_eq!(stat(&c, kind, "events"), 3, "{kind}");
    }
}

#[test]
fn events_are_batched_up_to_the_destination_limit() {
    let c = collector();
    let client = client(json!({
        "destinations": [destination(&c, "webanalyzer")],
        "rate_limits": {"webanalyzer": {"requests": 1000, "per_ms": 1000}},
    }));
    for n in 0..60 {
        client.enqueue(event("purchase", n)).unwrap();
    }
    let report = client.flush(Duration::from_secs(10));
    assert!(report.is_complete());
    assert_eq!(stat(&c, "webanalyzer", "events"), 60);
    let requests = c.requests_for("webanalyzer");
    assert_eq!(requests.len(), 3, "25 + 25 + 10");
    assert!(requests.iter().all(|r| r.events <= 25));
    assert!(requests.iter().all(|r| r.path.ends_with("/track/batch")));
}

#[test]
fn a_single_event_uses_the_single_event_endpoint() {
    let c = collector();
    let client = client(fast_options(vec![destination(&c, "webanalyzer")]));
    client.enqueue(event("invoice_paid", 1)).unwrap();
    client.flush(Duration::from_secs(5));
    let requests = c.requests_for("webanalyzer");
    assert_eq!(requests[0].path, "/api/v1/websites/1/track");
    assert_eq!(requests[0].body["name"], "invoice_paid");
}

#[test]
fn the_flush_interval_sends_without_an_explicit_flush() {
    let c = collector();
    let client = client(fast_options(vec![destination(&c, "segment")]));
    client.enqueue(event("signup", 1)).unwrap();
    assert!(eventually(Duration::from_secs(5), || stat(
        &c, "segment", "events"
    ) == 1));
}

#[test]
fn koala_events_are_grouped_by_profile() {
    let c = collector();
    let client = client(fast_options(vec![destination(&c, "koala")]));
    for (n, profile) in ["3e6a2c18-3b02-40c4-b8d2-1842c193d3ba", VISITOR, VISITOR]
        .iter()
        .enumerate()
    {
        let mut m = event("Created Account", n);
        m.anonymous_id = Some(profile.to_string());
        client.enqueue(m).unwrap();
    }
    assert_eq!(client.flush(Duration::from_secs(5)).delivered, 3);
    let mut sizes: Vec<usize> = c.requests_for("koala").iter().map(|r| r.events).collect();
    sizes.sort();
    assert_eq!(sizes, vec![1, 2]);
}

#[test]
fn duplicate_message_ids_are_dropped_before_queueing() {
    let c = collector();
    let client = client(fast_options(vec![destination(&c, "webanalyzer")]));
    let mut first = event("purchase", 1);
    first.message_id = "evt_1NirD82eZvKYlo2C".into();
    let replay = first.clone();
    assert_eq!(client.enqueue(first).unwrap().status(), "queued");
    assert_eq!(
        client.enqueue(replay).unwrap(),
        Outcome::Duplicate {
            message_id: "evt_1NirD82eZvKYlo2C".into()
        }
    );
    let report = client.flush(Duration::from_secs(5));
    assert_eq!((report.delivered, report.duplicates), (1, 1));
    assert_eq!(stat(&c, "webanalyzer", "events"), 1);
}

#[test]
fn an_id_tracklane_made_is_a_duplicate_when_given_back() {
    // A caller that keeps the id an outcome returned and sends it again (a retried job): the
    // made id is held as a bit at its sequence number, not in the hash table; same answer.
    let c = collector();
    let client = client(fast_options(vec![destination(&c, "segment")]));
    let outcome = client.enqueue(event("purchase", 1)).unwrap();
    assert_eq!(outcome.status(), "queued");
    let mut retry = event("purchase", 1);
    retry.message_id = outcome.message_id().to_string();
    assert_eq!(
        client.enqueue(retry).unwrap(),
        Outcome::Duplicate {
            message_id: outcome.message_id().to_string()
        }
    );
    // Its uppercase spelling is another id, as any other id would be.
    let mut upper = event("purchase", 1);
    upper.message_id = outcome.message_id().to_uppercase();
    assert_eq!(client.enqueue(upper).unwrap().status(), "queued");
    let report = client.flush(Duration::from_secs(5));
    assert_eq!((report.delivered, report.duplicates), (2, 1));
}

#[test]
fn an_event_one_destination_rejects_still_goes_to_the_others() {
    let c = collector();
    let client = client(fast_options(vec![
        destination(&c, "webanalyzer"),
        destination(&c, "segment"),
    ]));
    let mut m = event("purchase", 1);
    for k in 0..11 {
        m.properties.insert(format!("k{k}"), json!("v"));
    }
    let outcome = client.enqueue(m).unwrap();
    let Outcome::Queued {
        destinations,
        rejected,
        ..
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(&destinations[..], &["segment"]);
    assert_eq!(rejected[0].code, "webanalyzer.payload.too_many_keys");
    assert_eq!(rejected[0].destination, "webanalyzer");
    assert_eq!(client.flush(Duration::from_secs(5)).delivered, 1);
    assert_eq!(client.stats().destinations[0].rejected, 1);
}

#[test]
fn strict_mode_raises_instead_of_reporting() {
    let c = collector();
    let mut options = fast_options(vec![destination(&c, "webanalyzer")]);
    options["strict"] = json!(true);
    let client = client(options);
    let mut m = event("purchase", 1);
    m.anonymous_id = Some("not-a-uuid".into());
    match client.enqueue(m) {
        Err(Error::Validation(e)) => assert_eq!(e.code, "webanalyzer.visitor_id.invalid_uuid"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_message_a_binding_could_not_build_is_counted_as_rejected() {
    let c = collector();
    let error = ValidationError::new("value.not_finite", "message", "properties.amount", "NaN");
    let lenient = client(fast_options(vec![destination(&c, "segment")]));
    let outcome = lenient.reject("m-1".into(), error.clone()).unwrap();
    assert_eq!(outcome.status(), "rejected");
    assert_eq!(outcome.errors(), std::slice::from_ref(&error));
    assert_eq!(lenient.stats().rejected, 1);

    let mut options = fast_options(vec![destination(&c, "segment")]);
    options["strict"] = json!(true);
    let strict = client(options);
    assert_eq!(
        strict.reject("m-2".into(), error.clone()),
        Err(Error::Validation(error.clone()))
    );
    strict.close(Duration::from_secs(1));
    assert_eq!(strict.reject("m-3".into(), error), Err(Error::Closed));
}

#[test]
fn identify_is_skipped_where_a_collector_has_no_identify() {
    let c = collector();
    let client = client(fast_options(vec![destination(&c, "webanalyzer")]));
    let mut m = Message::identify();
    m.user_id = Some("u1".into());
    assert_eq!(client.enqueue(m).unwrap().status(), "skipped");
}

#[test]
fn a_full_budget_drops_and_counts_the_newest() {
    let c = collector();
    let mut options = fast_options(vec![destination(&c, "segment")]);
    options["max_queue_events"] = json!(10);
    options["flush_interval_ms"] = json!(60_000);
    let client = client(options);
    let outcomes: Vec<String> = (0..15)
        .map(|n| {
            client
                .enqueue(event("burst", n))
                .unwrap()
                .status()
                .to_string()
        })
        .collect();
    assert_eq!(outcomes.iter().filter(|s| *s == "queued").count(), 10);
    assert_eq!(outcomes.iter().filter(|s| *s == "dropped").count(), 5);
    let report = client.flush(Duration::from_secs(5));
    assert_eq!((report.delivered, report.dropped), (10, 5));
    assert_eq!(client.stats().destinations[0].dropped, 5);
    assert_eq!(
        client.stats().held_events,
        0,
        "settled events give their budget back"
    );
}

#[test]
fn the_block_policy_waits_for_room_instead_of_dropping() {
    let c = collector();
    let mut options = fast_options(vec![destination(&c, "segment")]);
    options["max_queue_events"] = json!(50);
    options["flush_at"] = json!(10);
    options["overflow"] = json!("block");
    options["block_timeout_ms"] = json!(10_000);
    let client = client(options);
    for n in 0..1_000 {
        assert_eq!(
            client.enqueue(event("import", n)).unwrap().status(),
            "queued"
        );
    }
    let report = client.flush(Duration::from_secs(10));
    assert!(report.is_complete());
    assert_eq!(report.dropped, 0);
    // Most were delivered while enqueue waited for room, before the flush began.
    assert_eq!(stat(&c, "segment", "events"), 1_000);
    assert_eq!(client.stats().delivered, 1_000);
}

#[test]
fn flush_returns_a_partial_report_at_its_deadline() {
    let c = collector();
    c.add_fault(tracklane_collector::Fault::delay("segment", 3_000));
    let client = client(fast_options(vec![destination(&c, "segment")]));
    for n in 0..5 {
        client.enqueue(event("slow", n)).unwrap();
    }
    let started = Instant::now();
    let report = client.flush(Duration::from_millis(500));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the deadline holds"
    );
    assert!(report.timed_out);
    assert_eq!((report.delivered, report.pending), (0, 5));
    assert_eq!(report.destinations[0].pending, 5);
    let later = client.flush(Duration::from_secs(10));
    assert_eq!(later.delivered, 5, "the slow batch still arrives");
}

#[test]
fn concurrent_flushes_share_the_work() {
    let c = collector();
    let client = std::sync::Arc::new(client(fast_options(vec![destination(&c, "segment")])));
    for n in 0..100 {
        client.enqueue(event("e", n)).unwrap();
    }
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || client.flush(Duration::from_secs(10)))
        })
        .collect();
    for h in handles {
        let report = h.join().unwrap();
        assert!(report.is_complete());
    }
    assert_eq!(
        stat(&c, "segment", "events"),
        100,
        "sent once, not once per flush"
    );
}

#[test]
fn close_is_idempotent_and_refuses_later_calls() {
    let c = collector();
    let client = client(fast_options(vec![destination(&c, "segment")]));
    client.enqueue(event("last", 1)).unwrap();
    let report = client.close(Duration::from_secs(5));
    assert_eq!(report.delivered, 1);
    let again = client.close(Duration::from_secs(5));
    assert_eq!(again.delivered, 0);
    assert_eq!(client.enqueue(event("late", 2)), Err(Error::Closed));
}

#[test]
fn closing_a_client_leaves_a_store_it_shares_to_the_others() {
    use tracklane_core::pipeline::dedupe::{DedupeStore, MemoryDedupe};
    let c = collector();
    let shared: Arc<dyn DedupeStore> = Arc::new(MemoryDedupe::new(Duration::from_secs(60), 1000));
    let with_shared = || {
        let mut config = config(fast_options(vec![destination(&c, "segment")]));
        config.dedupe_store = Some(shared.clone());
        Client::new(config).unwrap()
    };
    let (first, second) = (with_shared(), with_shared());
    let mut webhook = event("payment", 1);
    webhook.message_id = "evt_shared_1".into();
    assert_eq!(first.enqueue(webhook.clone()).unwrap().status(), "queued");
    first.close(Duration::from_secs(5));
    assert_eq!(second.enqueue(webhook).unwrap().status(), "duplicate");
}

#[test]
fn dropping_the_client_still_delivers_what_was_queued() {
    let c = collector();
    {
        let client = client(fast_options(vec![destination(&c, "segment")]));
        for n in 0..20 {
            client.enqueue(event("fire_and_forget", n)).unwrap();
        }
    }
    assert!(eventually(Duration::from_secs(5), || stat(
        &c, "segment", "events"
    ) == 20));
}

#[test]
fn file_destination_writes_the_neutral_message_and_the_peers_wire_form() {
    let c = collector();
    let path = std::env::temp_dir().join(format!("tracklane-file-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let client = client(fast_options(vec![
        destination(&c, "webanalyzer"),
        json!({"type": "file", "path": path}),
    ]));
    client.enqueue(event("purchase", 7)).unwrap();
    assert_eq!(client.flush(Duration::from_secs(5)).delivered, 2);
    let text = std::fs::read_to_string(&path).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["message"]["event"], "purchase");
    assert_eq!(line["wire"]["webanalyzer"]["payload"]["seq"], "7");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn tracardi_profile_ids_are_learned_and_reused_per_session() {
    let c = collector();
    let (client, hooks) = client_with_hooks(fast_options(vec![destination(&c, "tracardi")]));
    let mut first = event("page-view", 1);
    first.anonymous_id = None;
    first.session_id = Some("session-1".into());
    client.enqueue(first).unwrap();
    client.flush(Duration::from_secs(5));
    let learned = hooks.deliveries.lock().unwrap()[0]
        .profile_id
        .clone()
        .expect("profile id");
    let mut second = event("purchase-order", 2);
    second.anonymous_id = None;
    second.session_id = Some("session-1".into());
    client.enqueue(second).unwrap();
    client.flush(Duration::from_secs(5));
    let requests = c.requests_for("tracardi");
    assert!(requests[0].body.get("profile").is_none());
    assert_eq!(requests[1].body["profile"]["id"], json!(learned));
}
