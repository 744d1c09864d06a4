//! Injected faults: each mode, each way of limiting one, and that they are
//! matched by destination before auth.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{get, post, start, try_post, Reply};
use serde_json::{json, Value};
use tracklane_collector::{Fault, FaultMode, RunningCollector};

fn segment_auth() -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode("test-segment-key:");
    format!("Basic {encoded}")
}

fn segment_body(id: &str) -> Value {
    json!({"batch": [{"type": "track", "messageId": id, "userId": "u", "event": "E"}]})
}

async fn try_segment(c: &RunningCollector, id: &str) -> Result<Reply, reqwest::Error> {
    let auth = segment_auth();
    let url = format!("{}/segment/v1/batch", c.url());
    try_post(&url, &[("authorization", &auth)], &segment_body(id)).await
}

async fn segment(c: &RunningCollector, id: &str) -> Reply {
    try_segment(c, id).await.expect("segment request answered")
}

async fn koala(c: &RunningCollector) -> Reply {
    let url = format!("{}/web/projects/test-koala-key/batch", c.url());
    let body = json!({"profile_id": "3e6a2c18-3b02-40c4-b8d2-1842c193d3ba", "email": "a@b.c"});
    post(&url, &[], &body).await
}

#[tokio::test]
async fn status_fault_answers_its_status_with_retry_after() {
    let c = start();
    c.add_fault(Fault::status("segment", 503).with_retry_after("2").count(1));
    let faulted = segment(&c, "m-1").await;
    assert_eq!(faulted.status, 503);
    assert_eq!(faulted.header("retry-after"), Some("2"));
    assert_eq!(faulted.json, json!({"error": "injected"}));
    assert_eq!(segment(&c, "m-1").await.status, 200);

    let recorded = c.requests_for("segment");
    assert_eq!(recorded[0].status, 503);
    assert_eq!(recorded[0].fault.as_deref(), Some("status"));
    assert!(!recorded[0].accepted);
    assert_eq!(c.stats()["segment"]["events"], 1);
}

#[tokio::test]
async fn status_fault_sends_an_http_date_retry_after_and_custom_body_verbatim() {
    let c = start();
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    let body = json!({"error": "server_error"});
    c.add_fault(
        Fault::status("*", 429)
            .with_retry_after(date)
            .with_body(body.clone()),
    );
    let reply = koala(&c).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some(date));
    assert_eq!(reply.json, body);
}

#[tokio::test]
async fn fault_applies_before_auth() {
    let c = start();
    c.add_fault(Fault::status("segment", 500));
    let url = format!("{}/segment/v1/batch", c.url());
    assert_eq!(post(&url, &[], &segment_body("x")).await.status, 500);
}

#[tokio::test]
async fn fault_for_another_destination_does_not_apply() {
    let c = start();
    c.add_fault(Fault::status("koala", 500));
    assert_eq!(segment(&c, "m").await.status, 200);
    assert_eq!(koala(&c).await.status, 500);
}

#[tokio::test]
async fn for_ms_fault_expires() {
    let c = start();
    c.add_fault(Fault::status("*", 503).for_ms(250));
    assert_eq!(segment(&c, "a").await.status, 503);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(segment(&c, "b").await.status, 200);
}

#[tokio::test]
async fn count_fault_applies_to_the_next_n_requests() {
    let c = start();
    c.add_fault(Fault::status("segment", 502).count(2));
    assert_eq!(segment(&c, "a").await.status, 502);
    assert_eq!(segment(&c, "a").await.status, 502);
    assert_eq!(segment(&c, "a").await.status, 200);
}

#[tokio::test]
async fn fraction_fault_applies_to_roughly_that_share() {
    let c = start();
    c.add_fault(Fault::status("segment", 503).fraction(0.0));
    c.add_fault(Fault::status("koala", 503).fraction(1.0));
    assert_eq!(segment(&c, "a").await.status, 200);
    assert_eq!(koala(&c).await.status, 503);
    c.clear_faults();
    c.add_fault(Fault::status("segment", 503).fraction(0.5));
    let mut failed = 0;
    for i in 0..60 {
        if segment(&c, &i.to_string()).await.status == 503 {
            failed += 1;
        }
    }
    assert!((10..=50).contains(&failed), "{failed} of 60 failed");
}

#[tokio::test]
async fn delay_fault_answers_normally_after_the_delay() {
    let c = start();
    c.add_fault(Fault::delay("segment", 300).count(1));
    let started = Instant::now();
    let reply = segment(&c, "a").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(reply.status, 200);
    let recorded = &c.requests_for("segment")[0];
    assert_eq!(recorded.fault.as_deref(), Some("delay"));
    assert!(recorded.accepted);
}

#[tokio::test]
async fn drop_fault_closes_the_connection_and_stores_nothing() {
    let c = start();
    c.add_fault(Fault::new("segment", FaultMode::Drop).count(1));
    assert!(
        try_segment(&c, "a").await.is_err(),
        "client should see a connection error"
    );
    let recorded = &c.requests_for("segment")[0];
    assert_eq!(recorded.status, 0);
    assert_eq!(recorded.fault.as_deref(), Some("drop"));
    assert!(!recorded.accepted);
    assert_eq!(c.stats()["segment"]["events"], 0);
    assert_eq!(segment(&c, "a").await.status, 200);
}

#[tokio::test]
async fn lost_ack_fault_stores_the_events_but_drops_the_answer() {
    let c = start();
    c.add_fault(Fault::new("segment", FaultMode::LostAck).count(1));
    assert!(
        try_segment(&c, "m-1").await.is_err(),
        "client should see a connection error"
    );
    let stats = c.stats();
    assert_eq!(stats["segment"]["events"], 1);
    assert_eq!(stats["segment"]["accepted_requests"], 1);
    // The SDK retries; the retry is counted as a duplicate.
    assert_eq!(segment(&c, "m-1").await.status, 200);
    assert_eq!(c.stats()["segment"]["duplicate_ids"], 1);
    let recorded = &c.requests_for("segment")[0];
    assert_eq!(
        (recorded.status, recorded.fault.as_deref()),
        (0, Some("lost_ack"))
    );
}

#[tokio::test]
async fn faults_are_managed_over_http() {
    let c = start();
    let url = format!("{}/_faults", c.url());
    let fault = json!({"destination": "segment", "mode": "status", "status": 503,
        "retry_after": "1", "count": 1});
    assert_eq!(post(&url, &[], &fault).await.status, 200);
    assert_eq!(get(&url).await.json.as_array().map(Vec::len), Some(1));
    assert_eq!(segment(&c, "a").await.status, 503);

    assert_eq!(post(&url, &[], &json!({"mode": "drop"})).await.status, 200);
    let deleted = common::client()
        .delete(&url)
        .send()
        .await
        .expect("DELETE answered");
    assert_eq!(deleted.status().as_u16(), 200);
    assert_eq!(segment(&c, "a").await.status, 200);
}

#[tokio::test]
async fn invalid_fault_is_400() {
    let c = start();
    let url = format!("{}/_faults", c.url());
    for bad in [
        json!({"destination": "segmnt", "mode": "status"}),
        json!({"mode": "explode"}),
        json!({"mode": "status", "retry_after": "soon"}),
        json!({"mode": "status", "fraction": 2.0}),
        json!({"mode": "status", "colour": "red"}),
    ] {
        let reply = post(&url, &[], &bad).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.json["error"], "bad_request");
    }
}
