//! Koala: the documented identify and event bodies, and each rule's rejection.

mod common;

use common::{assert_rejected, post, start, Reply};
use serde_json::{json, Value};
use tracklane_collector::RunningCollector;

const PROFILE_ID: &str = "3e6a2c18-3b02-40c4-b8d2-1842c193d3ba";

async fn send(c: &RunningCollector, body: &Value) -> Reply {
    let url = format!("{}/web/projects/test-koala-key/batch", c.url());
    post(&url, &[], body).await
}

/// The seed's identify body. Its copy of Koala's page shows the email as
/// "[email protected]" (the page's email obfuscation, not Koala's example),
/// which has no '@'; an address stands in for it.
fn seed_identify() -> Value {
    json!({
        "profile_id": "3e6a2c18-3b02-40c4-b8d2-1842c193d3ba",
        "email": "jane@example.com"
    })
}

fn seed_event() -> Value {
    json!({
        "profile_id": "3e6a2c18-3b02-40c4-b8d2-1842c193d3ba",
        "events": [{
            "message_id": "any idempotent id (can be a uuid or anything unique)",
            "type": "track",
            "event": "Created Account",
            "properties": {},
            "sent_at": "2022-11-09T23:57:14.776Z"
        }]
    })
}

/// A body with one event, changed by `edit`.
fn with_event(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut body = seed_event();
    if let Some(event) = body["events"][0].as_object_mut() {
        edit(event);
    }
    body
}

async fn assert_invalid(body: Value, names: &str) {
    let c = start();
    assert_rejected(&send(&c, &body).await, 400, "validation_error", names);
    assert_eq!(c.stats()["koala"]["accepted_requests"], 0);
}

#[tokio::test]
async fn koala_seed_identify_is_200_and_carries_no_events() {
    let c = start();
    let reply = send(&c, &seed_identify()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json, json!({"ok": true}));
    assert_eq!(c.stats()["koala"]["accepted_requests"], 1);
    assert_eq!(c.stats()["koala"]["events"], 0);
}

#[tokio::test]
async fn koala_seed_event_is_200() {
    let c = start();
    let reply = send(&c, &seed_event()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json, json!({"ok": true}));
    assert_eq!(c.stats()["koala"]["events"], 1);
}

#[tokio::test]
async fn koala_seed_identify_as_scraped_is_400_for_its_email() {
    let c = start();
    let body = json!({"profile_id": PROFILE_ID, "email": "[email protected]"});
    assert_rejected(&send(&c, &body).await, 400, "validation_error", "email");
}

#[tokio::test]
async fn koala_identify_and_events_together_are_200() {
    let c = start();
    let mut body = seed_event();
    body["email"] = json!("jane@example.com");
    assert_eq!(send(&c, &body).await.status, 200);
}

#[tokio::test]
async fn koala_unknown_public_key_is_401() {
    let c = start();
    let url = format!("{}/web/projects/my-public-api-key/batch", c.url());
    let reply = post(&url, &[], &seed_identify()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json, json!({"error": "unauthorized"}));
}

#[tokio::test]
async fn koala_invalid_json_is_400() {
    let c = start();
    let url = format!("{}/web/projects/test-koala-key/batch", c.url());
    let reply = common::post_raw(&url, &[], b"not json".to_vec()).await;
    assert_rejected(&reply, 400, "validation_error", "body");
}

#[tokio::test]
async fn koala_missing_profile_id_is_400() {
    assert_invalid(json!({"email": "jane@example.com"}), "profile_id").await;
}

#[tokio::test]
async fn koala_profile_id_not_a_uuid_is_400() {
    let body = json!({"profile_id": "ko-123", "email": "jane@example.com"});
    assert_invalid(body, "profile_id").await;
}

#[tokio::test]
async fn koala_body_without_email_or_events_is_400() {
    assert_invalid(json!({"profile_id": PROFILE_ID}), "email").await;
}

#[tokio::test]
async fn koala_email_without_at_sign_is_400() {
    let body = json!({"profile_id": PROFILE_ID, "email": "jane.example.com"});
    assert_invalid(body, "email").await;
}

#[tokio::test]
async fn koala_empty_events_is_400() {
    let body = json!({"profile_id": PROFILE_ID, "events": []});
    assert_invalid(body, "events").await;
    let body = json!({"profile_id": PROFILE_ID, "events": {"type": "track"}});
    assert_invalid(body, "events").await;
}

#[tokio::test]
async fn koala_event_without_track_type_is_400() {
    assert_invalid(with_event(|e| drop(e.remove("type"))), "events[0].type").await;
    let page = with_event(|e| drop(e.insert("type".into(), json!("page"))));
    assert_invalid(page, "events[0].type").await;
}

#[tokio::test]
async fn koala_event_without_name_is_400() {
    assert_invalid(with_event(|e| drop(e.remove("event"))), "events[0].event").await;
    let empty = with_event(|e| drop(e.insert("event".into(), json!(""))));
    assert_invalid(empty, "events[0].event").await;
}

#[tokio::test]
async fn koala_event_properties_not_an_object_is_400() {
    let body = with_event(|e| drop(e.insert("properties".into(), json!([1]))));
    assert_invalid(body, "events[0].properties").await;
}

#[tokio::test]
async fn koala_message_id_not_a_string_is_400() {
    let body = with_event(|e| drop(e.insert("message_id".into(), json!(7))));
    assert_invalid(body, "events[0].message_id").await;
}

#[tokio::test]
async fn koala_sent_at_not_rfc3339_is_400() {
    let body = with_event(|e| drop(e.insert("sent_at".into(), json!("yesterday"))));
    assert_invalid(body, "events[0].sent_at").await;
}

#[tokio::test]
async fn koala_message_id_is_the_duplicate_key() {
    let c = start();
    assert_eq!(send(&c, &seed_event()).await.status, 200);
    // Same message_id, different content: still a duplicate.
    let replay = with_event(|e| drop(e.insert("event".into(), json!("Other"))));
    assert_eq!(send(&c, &replay).await.status, 200);
    let stats = c.stats();
    assert_eq!(stats["koala"]["events"], 2);
    assert_eq!(stats["koala"]["unique_ids"], 1);
    assert_eq!(stats["koala"]["duplicate_ids"], 1);
}
