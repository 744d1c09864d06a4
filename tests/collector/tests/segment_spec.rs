//! Dreamdata and Segment batch endpoints: the documented batch, auth, size
//! limits and each message rule's rejection.

mod common;

use base64::Engine;
use common::{assert_rejected, post, start, Reply};
use serde_json::{json, Value};
use tracklane_collector::RunningCollector;

fn basic(key: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    format!("Basic {encoded}")
}

async fn dreamdata(c: &RunningCollector, body: &Value) -> Reply {
    let auth = basic("test-dd-key");
    post(
        &format!("{}/v1/batch", c.url()),
        &[("authorization", &auth)],
        body,
    )
    .await
}

async fn segment(c: &RunningCollector, body: &Value) -> Reply {
    let auth = basic("test-segment-key");
    let url = format!("{}/segment/v1/batch", c.url());
    post(&url, &[("authorization", &auth)], body).await
}

fn seed_batch() -> Value {
    json!({
        "messageId": "6f47f5a0-4118-42de-9e15-95cf9ed2a426",
        "sentAt": "2015-12-02T00:30:08.276Z",
        "batch": [
            {
                "type": "identify",
                "messageId": "6ad2be86-6d78-43bd-8a5b-846ddbc042c2",
                "userId": "019mr8mf4r",
                "traits": {
                    "email": "jake@yahoo.com",
                    "name": "Jake Peterson",
                    "age": 26
                },
                "context": {
                    "ip": "24.5.68.47",
                    "library": {
                        "name": "customer",
                        "version": "v1"
                    },
                    "campaign": {
                        "name": "my_campaign",
                        "source": "demo",
                        "medium": "calendly",
                        "term": "",
                        "content": ""
                    }
                },
                "timestamp": "2012-12-02T00:30:08.276Z"
            },
            {
                "type": "track",
                "messageId": "3f8236bc-c010-43bb-a341-cd30b5228e9d",
                "userId": "019mr8mf4r",
                "event": "Song Played",
                "properties": {
                    "name": "Fallin for You",
                    "artist": "Dierks Bentley"
                },
                "context": {
                    "ip": "24.5.68.47",
                    "page": {
                        "referrer": "http://localhost:3000/test",
                        "url": "http://localhost:3000/test/path?param=a088fb06-a208-4552-b4b7-28fb7f95aeaf"
                    },
                    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
                    "campaign": {
                        "name": "my_campaign",
                        "source": "demo",
                        "medium": "calendly",
                        "term": "",
                        "content": ""
                    }
                },
                "timestamp": "2012-12-02T00:30:12.984Z"
            }
        ]
    })
}

fn batch_of(messages: Value) -> Value {
    json!({"batch": messages})
}

fn track(id: &str) -> Value {
    json!({"type": "track", "messageId": id, "anonymousId": "anon-1", "event": "Order Completed"})
}

async fn assert_invalid_dreamdata(body: Value, names: &str) {
    let c = start();
    assert_rejected(&dreamdata(&c, &body).await, 400, "validation_error", names);
}

#[tokio::test]
async fn dreamdata_seed_identify_and_track_batch_is_200() {
    let c = start();
    let reply = dreamdata(&c, &seed_batch()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json, json!({"success": true}));
    let stats = c.stats();
    assert_eq!(stats["dreamdata"]["events"], 2);
    assert_eq!(stats["segment"]["requests"], 0);
}

#[tokio::test]
async fn dreamdata_seed_single_message_examples_are_200() {
    let c = start();
    let messages = json!([
        {"type": "track", "userId": "user-123", "event": "Order Completed"},
        {"type": "track", "anonymousId": "cookieless", "event": "Page Viewed",
            "context": {"ip": "203.0.113.42"}},
        {"type": "alias", "userId": "user-123", "previousId": "anon-xyz-789"}
    ]);
    assert_eq!(dreamdata(&c, &batch_of(messages)).await.status, 200);
}

#[tokio::test]
async fn segment_takes_page_and_group_messages() {
    let c = start();
    let messages = json!([
        {"type": "page", "anonymousId": "a", "name": "Home"},
        {"type": "group", "userId": "u", "groupId": "g-1"}
    ]);
    let reply = segment(&c, &batch_of(messages)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json, json!({"success": true}));
    assert_eq!(c.stats()["segment"]["events"], 2);
}

#[tokio::test]
async fn dreamdata_page_message_is_400() {
    let body = batch_of(json!([{"type": "page", "anonymousId": "a"}]));
    assert_invalid_dreamdata(body, "batch[0].type").await;
}

#[tokio::test]
async fn dreamdata_without_basic_auth_is_401() {
    let c = start();
    let url = format!("{}/v1/batch", c.url());
    let reply = post(&url, &[], &seed_batch()).await;
    assert_rejected(&reply, 401, "unauthorized", "key");
    let bearer = post(
        &url,
        &[("authorization", "Bearer test-dd-key")],
        &seed_batch(),
    )
    .await;
    assert_eq!(bearer.status, 401);
    let garbage = post(&url, &[("authorization", "Basic !!!")], &seed_batch()).await;
    assert_eq!(garbage.status, 401);
}

#[tokio::test]
async fn dreamdata_wrong_key_is_401() {
    let c = start();
    let url = format!("{}/v1/batch", c.url());
    let auth = basic("abc123");
    assert_eq!(
        post(&url, &[("authorization", &auth)], &seed_batch())
            .await
            .status,
        401
    );
    // Each destination has its own keys.
    let segment_url = format!("{}/segment/v1/batch", c.url());
    let dd_auth = basic("test-dd-key");
    let reply = post(&segment_url, &[("authorization", &dd_auth)], &seed_batch()).await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn dreamdata_body_over_500000_bytes_is_413() {
    let c = start();
    let mut message = track("big");
    message["properties"] = json!({"blob": "x".repeat(500_001)});
    let body = batch_of(json!([message]));
    let reply = dreamdata(&c, &body).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json, json!({"error": "payload_too_large"}));
}

#[tokio::test]
async fn segment_gzipped_body_over_500000_bytes_after_gunzip_is_413() {
    let c = start();
    let mut message = track("big");
    message["properties"] = json!({"blob": "x".repeat(600_000)});
    let raw = common::gzip(batch_of(json!([message])).to_string().as_bytes());
    assert!(raw.len() < 500_000);
    let auth = basic("test-segment-key");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
    ];
    let url = format!("{}/segment/v1/batch", c.url());
    let reply = common::post_raw(&url, &headers, raw).await;
    assert_eq!(reply.status, 413);
}

#[tokio::test]
async fn dreamdata_invalid_json_is_400() {
    let c = start();
    let auth = basic("test-dd-key");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let reply = common::post_raw(&format!("{}/v1/batch", c.url()), &headers, b"[".to_vec()).await;
    assert_rejected(&reply, 400, "validation_error", "body");
}

#[tokio::test]
async fn dreamdata_missing_or_empty_batch_is_400() {
    assert_invalid_dreamdata(json!({"sentAt": "2015-12-02T00:30:08.276Z"}), "batch").await;
    assert_invalid_dreamdata(batch_of(json!([])), "batch").await;
    assert_invalid_dreamdata(batch_of(json!({"type": "track"})), "batch").await;
}

#[tokio::test]
async fn dreamdata_unknown_message_type_is_400() {
    let body = batch_of(json!([track("1"), {"type": "screen", "userId": "u"}]));
    assert_invalid_dreamdata(body, "batch[1].type").await;
    let body = batch_of(json!([{"userId": "u", "event": "x"}]));
    assert_invalid_dreamdata(body, "batch[0].type").await;
}

#[tokio::test]
async fn dreamdata_message_without_user_or_anonymous_id_is_400() {
    let mut messages: Vec<Value> = (0..4).map(|i| track(&i.to_string())).collect();
    messages[3] = json!({"type": "identify", "traits": {"email": "a@b.c"}});
    let c = start();
    let reply = dreamdata(&c, &batch_of(json!(messages))).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json,
        json!({"error": "validation_error",
            "message": "batch[3].userId: userId or anonymousId is required"})
    );
    assert_eq!(c.stats()["dreamdata"]["events"], 0);
}

#[tokio::test]
async fn dreamdata_track_without_event_is_400() {
    let body = batch_of(json!([{"type": "track", "userId": "u"}]));
    assert_invalid_dreamdata(body, "batch[0].event").await;
}

#[tokio::test]
async fn dreamdata_alias_without_user_id_or_previous_id_is_400() {
    let body = batch_of(json!([{"type": "alias", "userId": "u"}]));
    assert_invalid_dreamdata(body, "batch[0].previousId").await;
    let body = batch_of(json!([{"type": "alias", "anonymousId": "a", "previousId": "p"}]));
    assert_invalid_dreamdata(body, "batch[0].userId").await;
}

#[tokio::test]
async fn segment_group_without_group_id_is_400() {
    let c = start();
    let body = batch_of(json!([{"type": "group", "userId": "u"}]));
    assert_rejected(
        &segment(&c, &body).await,
        400,
        "validation_error",
        "batch[0].groupId",
    );
}

#[tokio::test]
async fn dreamdata_non_string_message_id_or_timestamps_are_400() {
    for field in ["messageId", "timestamp", "sentAt"] {
        let mut message = track("1");
        message[field] = json!(12);
        let names = format!("batch[0].{field}");
        assert_invalid_dreamdata(batch_of(json!([message])), &names).await;
    }
}

#[tokio::test]
async fn segment_message_over_32kb_is_400_but_dreamdata_takes_it() {
    let c = start();
    let mut message = track("1");
    message["properties"] = json!({"blob": "x".repeat(33_000)});
    let body = batch_of(json!([track("0"), message]));
    let reply = segment(&c, &body).await;
    assert_rejected(&reply, 400, "validation_error", "batch[1]");
    assert_eq!(dreamdata(&c, &body).await.status, 200);
}

#[tokio::test]
async fn segment_message_id_is_the_duplicate_key() {
    let c = start();
    let body = batch_of(json!([track("m-1"), track("m-2")]));
    assert_eq!(segment(&c, &body).await.status, 200);
    let mut replay = track("m-2");
    replay["event"] = json!("Different");
    assert_eq!(
        segment(&c, &batch_of(json!([replay, track("m-3")])))
            .await
            .status,
        200
    );
    let stats = &c.stats()["segment"];
    assert_eq!(stats["events"], 4);
    assert_eq!(stats["unique_ids"], 3);
    assert_eq!(stats["duplicate_ids"], 1);
}
