//! Tracardi: the documented tracker payloads, profile handling, the
//! `/collect` webhook, and FastAPI-style 401/422 answers.

mod common;

use common::{post, start, Reply};
use serde_json::{json, Value};
use tracklane_collector::RunningCollector;

async fn track(c: &RunningCollector, body: &Value) -> Reply {
    post(&format!("{}/track", c.url()), &[], body).await
}

fn events() -> Value {
    json!([
        {
            "type": "purchase-order",
            "properties": {
                "product": "Nike shoes",
                "quantity": 1
            }
        },
        {
            "type": "page-view"
        }
    ])
}

fn seed_full() -> Value {
    json!({
        "source": {"id": "source-id"},
        "session": {"id": "session-id"},
        "profile": {"id": "profile-id"},
        "context": {},
        "properties": {},
        "events": events(),
        "options": {}
    })
}

fn seed_required_only() -> Value {
    json!({
        "source": {"id": "source-id"},
        "session": {"id": "session-id"},
        "events": events()
    })
}

fn seed_with_context() -> Value {
    json!({
        "source": {"id": "source-id"},
        "session": {"id": "session-id"},
        "profile": {"id": "profile-id"},
        "events": events(),
        "context": {"device": "iPhone X"}
    })
}

fn seed_with_options() -> Value {
    json!({
        "source": {"id": "source-id"},
        "session": {"id": "session-id"},
        "events": events(),
        "options": {}
    })
}

/// Asserts a 422 whose first `detail` entry points at `loc`.
fn assert_422(reply: &Reply, loc: Value, kind: &str) {
    assert_eq!(reply.status, 422, "{:?}", reply.json);
    let detail = &reply.json["detail"][0];
    assert_eq!(detail["loc"], loc, "{:?}", reply.json);
    assert_eq!(detail["type"], kind, "{:?}", reply.json);
    assert!(detail["msg"].is_string());
}

fn is_uuid_v4(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.get_version_num() == 4)
}

#[tokio::test]
async fn tracardi_seed_full_payload_returns_the_given_profile() {
    let c = start();
    let reply = track(&c, &seed_full()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json,
        json!({"profile": {"id": "profile-id"}, "source": {"consent": false}})
    );
    assert_eq!(c.stats()["tracardi"]["events"], 2);
}

#[tokio::test]
async fn tracardi_seed_required_only_payload_gets_a_new_profile() {
    let c = start();
    let reply = track(&c, &seed_required_only()).await;
    assert_eq!(reply.status, 200);
    let id = reply.json["profile"]["id"].as_str().unwrap_or_default();
    assert!(is_uuid_v4(id), "profile id {id:?}");
    assert_eq!(reply.json["source"], json!({"consent": false}));
}

#[tokio::test]
async fn tracardi_seed_context_and_options_payloads_are_200() {
    let c = start();
    let context = track(&c, &seed_with_context()).await;
    assert_eq!(context.status, 200);
    assert_eq!(context.json["profile"]["id"], "profile-id");
    let options = track(&c, &seed_with_options()).await;
    assert_eq!(options.status, 200);
    // Same session as the context example: its profile comes back.
    assert_eq!(options.json["profile"]["id"], "profile-id");
}

#[tokio::test]
async fn tracardi_same_session_without_profile_gets_the_same_profile() {
    let c = start();
    let first = track(&c, &seed_required_only()).await;
    let second = track(&c, &seed_required_only()).await;
    assert_eq!(first.json["profile"]["id"], second.json["profile"]["id"]);
    let mut other = seed_required_only();
    other["session"]["id"] = json!("another-session");
    let third = track(&c, &other).await;
    assert_ne!(first.json["profile"]["id"], third.json["profile"]["id"]);
}

#[tokio::test]
async fn tracardi_profile_less_track_returns_no_profile() {
    let c = start();
    let url = format!("{}/track?profile_less=true", c.url());
    let reply = post(&url, &[], &seed_required_only()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json, json!({"source": {"consent": false}}));
    let recorded = c.requests_for("tracardi");
    assert_eq!(recorded[0].query.as_deref(), Some("profile_less=true"));
}

#[tokio::test]
async fn tracardi_collect_webhook_is_200_with_one_event() {
    let c = start();
    let url = format!("{}/collect/coupon-received/source-id", c.url());
    let reply = post(&url, &[], &json!({"voucher": "X-1"})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json, json!({}));
    assert_eq!(c.stats()["tracardi"]["events"], 1);
}

#[tokio::test]
async fn tracardi_unknown_source_is_401() {
    let c = start();
    let mut body = seed_full();
    body["source"]["id"] = json!("nope");
    let reply = track(&c, &body).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json,
        json!({"detail": "Access denied. Invalid source."})
    );
    let url = format!("{}/collect/coupon-received/nope", c.url());
    assert_eq!(post(&url, &[], &json!({})).await.status, 401);
}

#[tokio::test]
async fn tracardi_missing_session_id_is_422() {
    let c = start();
    let mut body = seed_full();
    body["session"] = json!({});
    let reply = track(&c, &body).await;
    assert_422(
        &reply,
        json!(["body", "session", "id"]),
        "value_error.missing",
    );
    assert_eq!(reply.json["detail"][0]["msg"], "field required");
}

#[tokio::test]
async fn tracardi_missing_source_is_422() {
    let c = start();
    let mut body = seed_full();
    body.as_object_mut().map(|o| o.remove("source"));
    assert_422(
        &track(&c, &body).await,
        json!(["body", "source"]),
        "value_error.missing",
    );
}

#[tokio::test]
async fn tracardi_source_id_not_a_string_is_422() {
    let c = start();
    let mut body = seed_full();
    body["source"]["id"] = json!(5);
    assert_422(
        &track(&c, &body).await,
        json!(["body", "source", "id"]),
        "type_error.str",
    );
}

#[tokio::test]
async fn tracardi_profile_id_not_a_string_is_422() {
    let c = start();
    let mut body = seed_full();
    body["profile"]["id"] = json!(["p"]);
    assert_422(
        &track(&c, &body).await,
        json!(["body", "profile", "id"]),
        "type_error.str",
    );
}

#[tokio::test]
async fn tracardi_missing_or_empty_events_is_422() {
    let c = start();
    let mut body = seed_full();
    body.as_object_mut().map(|o| o.remove("events"));
    assert_422(
        &track(&c, &body).await,
        json!(["body", "events"]),
        "value_error.missing",
    );
    body["events"] = json!([]);
    let reply = track(&c, &body).await;
    assert_422(
        &reply,
        json!(["body", "events"]),
        "value_error.list.min_items",
    );
}

#[tokio::test]
async fn tracardi_event_without_type_is_422() {
    let c = start();
    let mut body = seed_full();
    body["events"] = json!([{"type": "page-view"}, {"properties": {}}]);
    let reply = track(&c, &body).await;
    assert_422(
        &reply,
        json!(["body", "events", 1, "type"]),
        "value_error.missing",
    );
    body["events"] = json!([{"type": ""}]);
    let reply = track(&c, &body).await;
    assert_422(
        &reply,
        json!(["body", "events", 0, "type"]),
        "value_error.any_str.min_length",
    );
}

#[tokio::test]
async fn tracardi_event_properties_not_an_object_is_422() {
    let c = start();
    let mut body = seed_full();
    body["events"] = json!([{"type": "page-view", "properties": "x"}]);
    let reply = track(&c, &body).await;
    assert_422(
        &reply,
        json!(["body", "events", 0, "properties"]),
        "type_error.dict",
    );
}

#[tokio::test]
async fn tracardi_context_properties_options_not_objects_are_422() {
    let c = start();
    for field in ["context", "properties", "options"] {
        let mut body = seed_full();
        body[field] = json!([]);
        assert_422(
            &track(&c, &body).await,
            json!(["body", field]),
            "type_error.dict",
        );
    }
}

#[tokio::test]
async fn tracardi_lists_every_schema_problem() {
    let c = start();
    let reply = track(&c, &json!({"events": []})).await;
    assert_eq!(reply.status, 422);
    let locs: Vec<&Value> = reply.json["detail"]
        .as_array()
        .map(|d| d.iter().map(|e| &e["loc"]).collect())
        .unwrap_or_default();
    assert_eq!(
        locs,
        [
            &json!(["body", "source"]),
            &json!(["body", "session"]),
            &json!(["body", "events"])
        ]
    );
}

#[tokio::test]
async fn tracardi_invalid_json_is_422() {
    let c = start();
    let url = format!("{}/track", c.url());
    let headers = [("content-type", "application/json")];
    let reply = common::post_raw(&url, &headers, b"{\"source\":".to_vec()).await;
    assert_422(&reply, json!(["body", 0]), "value_error.jsondecode");
}

#[tokio::test]
async fn tracardi_collect_body_not_an_object_is_422() {
    let c = start();
    let url = format!("{}/collect/coupon-received/source-id", c.url());
    let reply = post(&url, &[], &json!(["not", "an", "object"])).await;
    assert_422(&reply, json!(["body"]), "type_error.dict");
}
