//! Silktide: the documented example, the content-type and key checks, and
//! each field rule's rejection.

mod common;

use common::{assert_rejected, post, start, Reply};
use serde_json::{json, Value};
use tracklane_collector::RunningCollector;

fn url(c: &RunningCollector) -> String {
    format!("{}/v1/events", c.url())
}

async fn send(c: &RunningCollector, body: &Value) -> Reply {
    post(&url(c), &[], body).await
}

fn seed() -> Value {
    json!({
        "propertyKey":"8bce2be8c07a84a70e7104634b42878b",
        "url":"https://silktide.com/",
        "ip":"84.14.132.114",
        "viewWidth":979,
        "userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/115.0.0.0 Safari/537.36",
        "events":[
            {
                "event":"download",
                "url":"https://example.com/downloaded-file.pdf"
            }
        ]
    })
}

/// The seed body with `field` set to `value` (or removed when `value` is None).
fn seed_with(field: &str, value: Option<Value>) -> Value {
    let mut body = seed();
    if let Some(obj) = body.as_object_mut() {
        match value {
            Some(v) => drop(obj.insert(field.to_owned(), v)),
            None => drop(obj.remove(field)),
        }
    }
    body
}

async fn assert_invalid(body: Value, names: &str) {
    let c = start();
    assert_rejected(&send(&c, &body).await, 400, "validation_error", names);
}

#[tokio::test]
async fn silktide_seed_example_is_200() {
    let c = start();
    let reply = send(&c, &seed()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json, json!({"ok": true}));
    assert_eq!(c.stats()["silktide"]["events"], 1);
}

#[tokio::test]
async fn silktide_ipv6_and_minimal_body_are_200() {
    let c = start();
    let body = json!({"propertyKey": "8bce2be8c07a84a70e7104634b42878b", "ip": "2001:db8::1",
        "userAgent": "curl/8", "events": [{"event": "a"}, {"event": "b"}]});
    assert_eq!(send(&c, &body).await.status, 200);
    assert_eq!(c.stats()["silktide"]["events"], 2);
}

#[tokio::test]
async fn silktide_non_json_content_type_is_415() {
    let c = start();
    let body = seed().to_string().into_bytes();
    let reply = common::post_raw(&url(&c), &[("content-type", "text/plain")], body.clone()).await;
    assert_eq!(reply.status, 415);
    assert_eq!(reply.json, json!({"error": "unsupported_media_type"}));
    let missing = common::post_raw(&url(&c), &[], body).await;
    assert_eq!(missing.status, 415);
}

#[tokio::test]
async fn silktide_json_content_type_with_charset_is_accepted() {
    let c = start();
    let headers = [("content-type", "application/json; charset=utf-8")];
    let reply = common::post_raw(&url(&c), &headers, seed().to_string().into_bytes()).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn silktide_invalid_json_is_400() {
    let c = start();
    let headers = [("content-type", "application/json")];
    let reply = common::post_raw(&url(&c), &headers, b"{".to_vec()).await;
    assert_rejected(&reply, 400, "validation_error", "body");
}

#[tokio::test]
async fn silktide_malformed_property_key_is_400() {
    for key in [
        json!("8bce2be8c07a84a70e7104634b42878"),
        json!("8bce2be8-07a84a70e7104634b42878b"),
        json!(5),
    ] {
        assert_invalid(seed_with("propertyKey", Some(key)), "propertyKey").await;
    }
    assert_invalid(seed_with("propertyKey", None), "propertyKey").await;
}

#[tokio::test]
async fn silktide_unknown_property_key_is_401() {
    let c = start();
    let body = seed_with(
        "propertyKey",
        Some(json!("0123456789abcdef0123456789ABCDEF")),
    );
    let reply = send(&c, &body).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json, json!({"error": "unauthorized"}));
}

#[tokio::test]
async fn silktide_missing_ip_is_400() {
    assert_invalid(seed_with("ip", None), "ip").await;
}

#[tokio::test]
async fn silktide_invalid_ip_is_400() {
    assert_invalid(seed_with("ip", Some(json!("84.14.132"))), "ip").await;
    assert_invalid(seed_with("ip", Some(json!("localhost"))), "ip").await;
}

#[tokio::test]
async fn silktide_missing_user_agent_is_400() {
    assert_invalid(seed_with("userAgent", None), "userAgent").await;
    assert_invalid(seed_with("userAgent", Some(json!(""))), "userAgent").await;
}

#[tokio::test]
async fn silktide_url_not_a_string_is_400() {
    assert_invalid(seed_with("url", Some(json!(["https://a"]))), "url").await;
}

#[tokio::test]
async fn silktide_view_width_not_a_non_negative_integer_is_400() {
    for width in [json!(-1), json!(979.5), json!("979")] {
        assert_invalid(seed_with("viewWidth", Some(width)), "viewWidth").await;
    }
}

#[tokio::test]
async fn silktide_missing_or_empty_events_is_400() {
    assert_invalid(seed_with("events", None), "events").await;
    assert_invalid(seed_with("events", Some(json!([]))), "events").await;
}

#[tokio::test]
async fn silktide_event_without_name_is_400() {
    let events = json!([{"event": "download"}, {"url": "https://example.com/"}]);
    assert_invalid(seed_with("events", Some(events)), "events[1].event").await;
    let events = json!([{"event": ""}]);
    assert_invalid(seed_with("events", Some(events)), "events[0].event").await;
}
