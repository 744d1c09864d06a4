//! Web Analyzer App: the documented examples, each rule's rejection, and the
//! rate limit.

mod common;

use std::time::Duration;

use common::{assert_rejected, post, start, Reply};
use serde_json::{json, Value};
use tracklane_collector::{CollectorConfig, RunningCollector};

const KEY: &str = "Bearer test-wa-key";

fn track_url(c: &RunningCollector) -> String {
    format!("{}/api/v1/websites/1/track", c.url())
}

fn batch_url(c: &RunningCollector) -> String {
    format!("{}/api/v1/websites/1/track/batch", c.url())
}

async fn track(c: &RunningCollector, body: &Value) -> Reply {
    post(&track_url(c), &[("authorization", KEY)], body).await
}

async fn batch(c: &RunningCollector, body: &Value) -> Reply {
    post(&batch_url(c), &[("authorization", KEY)], body).await
}

fn seed_single() -> Value {
    json!({
        "name": "purchase",
        "payload": {
            "order_id": "ORD-1234",
            "amount": "49.99",
            "currency": "USD",
            "plan": "pro"
        },
        "visitor_id": "550e8400-e29b-41d4-a716-446655440000",
        "url": "https://example.com/checkout"
    })
}

fn seed_batch() -> Value {
    json!({
        "events": [
            {
                "name": "purchase",
                "payload": { "order_id": "ORD-1001", "amount": "29.99" },
                "visitor_id": "550e8400-e29b-41d4-a716-446655440000"
            },
            {
                "name": "purchase",
                "payload": { "order_id": "ORD-1002", "amount": "59.99" },
                "visitor_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"
            },
            {
                "name": "signup",
                "payload": { "source": "landing_page", "plan": "free" }
            }
        ]
    })
}

fn event(name: &str) -> Value {
    json!({"name": name})
}

async fn assert_invalid_event(body: Value, names: &str) {
    let c = start();
    let reply = track(&c, &body).await;
    assert_rejected(&reply, 400, "validation_error", names);
    assert_eq!(reply.json["ok"], false);
}

#[tokio::test]
async fn webanalyzer_seed_single_then_batch_answer_as_documented() {
    let c = start();
    let single = track(&c, &seed_single()).await;
    assert_eq!(single.status, 200);
    assert_eq!(single.json, json!({"ok": true, "event_id": 4521}));
    let batch = batch(&c, &seed_batch()).await;
    assert_eq!(batch.status, 200);
    assert_eq!(
        batch.json,
        json!({"ok": true, "processed": 3, "event_ids": [4522, 4523, 4524]})
    );
    assert_eq!(c.stats()["webanalyzer"]["events"], 4);
}

/// The bodies the seed's use-case and language examples build, with sample values.
#[tokio::test]
async fn webanalyzer_every_seed_example_body_is_accepted() {
    let c = start();
    let bodies = [
        json!({"name": "purchase", "visitor_id": null, "payload": {"order_id": "cs_test_1",
            "amount": "49.99", "currency": "USD", "customer": "jane@example.com"}, "url": null}),
        json!({"name": "form_submit", "visitor_id": null,
            "payload": {"form": "contact", "subject": "Hello"}}),
        json!({"name": "lead_created", "payload": {"lead_id": 42, "source": "web",
            "company": "Acme", "value": "1200"}}),
        json!({"name": "email_open", "payload": {"campaign_id": "c-1", "recipient": "a@b.c"}}),
        json!({"name": "sensor_reading", "payload": {"sensor_id": "s-1",
            "temperature": "21.5", "humidity": "40"}}),
        json!({"name": "purchase", "visitor_id": "550e8400-e29b-41d4-a716-446655440000",
            "payload": {"order_id": "evt_1"}}),
        json!({"name": "server_action", "payload": {"action": "user_registered",
            "email": "user@example.com"}}),
        json!({"name": "signup", "payload": {"plan": "free", "source": "organic"}}),
        json!({"name": "invoice_paid", "payload": {"invoice_id": "INV-2024-001",
            "amount": "149.99", "currency": "USD"}}),
        json!({"name": "subscription_renewed", "payload": {"plan": "pro", "amount": "14.99"}}),
    ];
    for body in &bodies {
        let reply = track(&c, body).await;
        assert_eq!(reply.status, 200, "{body} -> {:?}", reply.json);
        assert!(reply.json["event_id"].is_u64());
    }
}

#[tokio::test]
async fn webanalyzer_missing_key_is_401() {
    let c = start();
    let reply = post(&track_url(&c), &[], &seed_single()).await;
    assert_rejected(&reply, 401, "unauthorized", "API key");
    assert_eq!(reply.json["ok"], false);
}

#[tokio::test]
async fn webanalyzer_unknown_key_is_401() {
    let c = start();
    let reply = post(
        &track_url(&c),
        &[("authorization", "Bearer nope")],
        &seed_single(),
    )
    .await;
    assert_rejected(&reply, 401, "unauthorized", "API key");
}

#[tokio::test]
async fn webanalyzer_quota_key_is_402() {
    let c = start();
    let auth = [("authorization", "Bearer test-wa-key-quota")];
    let reply = post(&track_url(&c), &auth, &seed_single()).await;
    assert_eq!(reply.status, 402);
    assert_eq!(reply.json["error"], "monthly_limit_reached");
}

#[tokio::test]
async fn webanalyzer_free_plan_key_is_403() {
    let c = start();
    let auth = [("authorization", "Bearer test-wa-key-free")];
    let reply = post(&batch_url(&c), &auth, &seed_batch()).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json["error"], "plan_required");
}

#[tokio::test]
async fn webanalyzer_unknown_website_is_404() {
    let c = start();
    for id in ["2", "abc"] {
        let url = format!("{}/api/v1/websites/{id}/track", c.url());
        let reply = post(&url, &[("authorization", KEY)], &seed_single()).await;
        assert_eq!(reply.status, 404);
        assert_eq!(reply.json["error"], "website_not_found");
    }
}

#[tokio::test]
async fn webanalyzer_invalid_json_is_400() {
    let c = start();
    let headers = [("authorization", KEY), ("content-type", "application/json")];
    let reply = common::post_raw(&track_url(&c), &headers, b"{\"name\":".to_vec()).await;
    assert_rejected(&reply, 400, "validation_error", "body");
}

#[tokio::test]
async fn webanalyzer_missing_name_is_400() {
    assert_invalid_event(json!({"payload": {"a": "b"}}), "name").await;
}

#[tokio::test]
async fn webanalyzer_empty_name_is_400() {
    assert_invalid_event(event(""), "name").await;
}

#[tokio::test]
async fn webanalyzer_name_over_128_characters_is_400() {
    let c = start();
    // 128 two-byte characters are fine: the limit counts characters, not bytes.
    assert_eq!(track(&c, &event(&"é".repeat(128))).await.status, 200);
    let reply = track(&c, &event(&"é".repeat(129))).await;
    assert_rejected(
        &reply,
        400,
        "validation_error",
        "name: must be at most 128 characters",
    );
}

#[tokio::test]
async fn webanalyzer_payload_over_10_keys_is_400() {
    let payload: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_invalid_event(json!({"name": "x", "payload": payload}), "payload").await;
}

#[tokio::test]
async fn webanalyzer_nested_payload_is_400() {
    let body = json!({"name": "x", "payload": {"cart": {"items": 2}}});
    assert_invalid_event(body, "payload must be flat").await;
    let body = json!({"name": "x", "payload": {"tags": ["a"]}});
    assert_invalid_event(body, "payload.tags").await;
}

#[tokio::test]
async fn webanalyzer_payload_value_over_255_characters_is_400() {
    let body = json!({"name": "x", "payload": {"note": "a".repeat(256)}});
    assert_invalid_event(body, "payload.note").await;
}

#[tokio::test]
async fn webanalyzer_scalar_payload_values_are_accepted() {
    let c = start();
    let body =
        json!({"name": "x", "payload": {"n": 1, "b": true, "z": null, "s": "a".repeat(255)}});
    assert_eq!(track(&c, &body).await.status, 200);
}

#[tokio::test]
async fn webanalyzer_visitor_id_not_a_uuid_is_400() {
    assert_invalid_event(
        json!({"name": "x", "visitor_id": "visitor-1"}),
        "visitor_id",
    )
    .await;
}

#[tokio::test]
async fn webanalyzer_url_not_a_string_is_400() {
    assert_invalid_event(json!({"name": "x", "url": 5}), "url").await;
    assert_invalid_event(json!({"name": "x", "referrer": {}}), "referrer").await;
}

#[tokio::test]
async fn webanalyzer_batch_without_events_is_400() {
    let c = start();
    assert_rejected(
        &batch(&c, &json!({})).await,
        400,
        "validation_error",
        "events",
    );
    let empty = batch(&c, &json!({"events": []})).await;
    assert_rejected(&empty, 400, "validation_error", "events");
}

#[tokio::test]
async fn webanalyzer_batch_over_25_events_is_400() {
    let c = start();
    let ok: Vec<Value> = (0..25).map(|i| event(&format!("e{i}"))).collect();
    assert_eq!(batch(&c, &json!({"events": ok})).await.status, 200);
    let too_many: Vec<Value> = (0..26).map(|i| event(&format!("e{i}"))).collect();
    let reply = batch(&c, &json!({"events": too_many})).await;
    assert_rejected(&reply, 400, "validation_error", "events");
}

#[tokio::test]
async fn webanalyzer_batch_with_one_invalid_event_is_400_and_stores_nothing() {
    let c = start();
    let mut events: Vec<Value> = (0..5).map(|i| event(&format!("e{i}"))).collect();
    events[3] = event(&"x".repeat(129));
    let reply = batch(&c, &json!({"events": events})).await;
    assert_rejected(
        &reply,
        400,
        "validation_error",
        "events.3.name: must be at most 128 characters",
    );
    let stats = c.stats();
    assert_eq!(stats["webanalyzer"]["events"], 0);
    assert_eq!(stats["webanalyzer"]["accepted_requests"], 0);
    assert_eq!(stats["webanalyzer"]["statuses"]["400"], 1);
}

#[tokio::test]
async fn webanalyzer_past_rate_limit_is_429_with_retry_after() {
    let c = start();
    c.set_wa_rate_limit(2, 5_000);
    assert_eq!(track(&c, &event("a")).await.status, 200);
    assert_eq!(track(&c, &event("b")).await.status, 200);
    let limited = track(&c, &event("c")).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json["error"], "rate_limit_exceeded");
    let retry_after: u64 = limited
        .header("retry-after")
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    assert!((1..=5).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(limited.json["retry_after"], retry_after);
    // Only the two allowed requests stored events.
    assert_eq!(c.stats()["webanalyzer"]["events"], 2);
    assert_eq!(c.stats()["webanalyzer"]["statuses"]["429"], 1);
}

#[tokio::test]
async fn webanalyzer_rate_limit_is_per_key() {
    let config = CollectorConfig {
        wa_keys: vec!["key-a".into(), "key-b".into()],
        wa_rate_limit: 1,
        ..CollectorConfig::default()
    };
    let c = RunningCollector::start(config).expect("collector starts");
    let url = track_url(&c);
    let a = [("authorization", "Bearer key-a")];
    let b = [("authorization", "Bearer key-b")];
    assert_eq!(post(&url, &a, &event("1")).await.status, 200);
    assert_eq!(post(&url, &a, &event("2")).await.status, 429);
    assert_eq!(post(&url, &b, &event("3")).await.status, 200);
}

#[tokio::test]
async fn webanalyzer_rate_window_resets() {
    let c = start();
    let config = json!({"wa_rate_limit": 1, "wa_rate_window_ms": 300});
    let set = post(&format!("{}/_config", c.url()), &[], &config).await;
    assert_eq!(set.status, 200);
    assert_eq!(track(&c, &event("a")).await.status, 200);
    let limited = track(&c, &event("b")).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("1"));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(track(&c, &event("c")).await.status, 200);
}
