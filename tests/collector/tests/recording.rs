//! Recording and the control API: what `/_requests` and `/_stats` show,
//! duplicate counting, gzip bodies, `/_reset`, unknown paths.

mod common;

use common::{get, post, post_raw, start, Reply};
use serde_json::{json, Value};
use tracklane_collector::{Fault, RunningCollector};

const WA_AUTH: (&str, &str) = ("authorization", "Bearer test-wa-key");

async fn wa_track(c: &RunningCollector, body: &Value) -> Reply {
    let url = format!("{}/api/v1/websites/1/track", c.url());
    post(&url, &[WA_AUTH], body).await
}

#[tokio::test]
async fn health_is_200() {
    let c = start();
    let reply = get(&format!("{}/_health", c.url())).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json, json!({"ok": true}));
}

#[tokio::test]
async fn requests_are_recorded_with_headers_body_and_answer() {
    let c = start();
    let url = format!("{}/api/v1/websites/1/track?debug=1", c.url());
    let headers = [WA_AUTH, ("X-Custom", "yes")];
    assert_eq!(
        post(&url, &headers, &json!({"name": "signup"}))
            .await
            .status,
        200
    );
    assert_eq!(wa_track(&c, &json!({})).await.status, 400);

    let recorded = c.requests();
    assert_eq!(recorded.len(), 2);
    let first = &recorded[0];
    assert_eq!((first.seq, first.destination.as_str()), (1, "webanalyzer"));
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/api/v1/websites/1/track");
    assert_eq!(first.query.as_deref(), Some("debug=1"));
    assert_eq!(
        first.headers.get("x-custom").map(String::as_str),
        Some("yes")
    );
    assert_eq!(
        first.headers.get("authorization").map(String::as_str),
        Some("Bearer test-wa-key")
    );
    assert_eq!(first.body, json!({"name": "signup"}));
    assert_eq!(first.raw_len, json!({"name": "signup"}).to_string().len());
    assert!(!first.gzip);
    assert_eq!((first.status, first.accepted, first.events), (200, true, 1));
    assert_eq!(first.fault, None);
    let second = &recorded[1];
    assert_eq!(
        (second.seq, second.status, second.accepted, second.events),
        (2, 400, false, 0)
    );
}

#[tokio::test]
async fn requests_endpoint_matches_the_api_and_filters_by_destination() {
    let c = start();
    wa_track(&c, &json!({"name": "a"})).await;
    let koala = format!("{}/web/projects/nope/batch", c.url());
    post(&koala, &[], &json!({})).await;

    let all = get(&format!("{}/_requests", c.url())).await.json;
    assert_eq!(all, serde_json::to_value(c.requests()).unwrap_or_default());
    let only_koala = get(&format!("{}/_requests?destination=koala", c.url()))
        .await
        .json;
    assert_eq!(only_koala.as_array().map(Vec::len), Some(1));
    assert_eq!(only_koala[0]["destination"], "koala");
    assert_eq!(only_koala[0]["status"], 401);
    assert_eq!(c.requests_for("koala").len(), 1);
}

#[tokio::test]
async fn stats_list_every_destination_and_the_total() {
    let c = start();
    wa_track(&c, &json!({"name": "a"})).await;
    wa_track(&c, &json!({"name": ""})).await;
    let stats = get(&format!("{}/_stats", c.url())).await.json;
    assert_eq!(stats, c.stats());
    let keys: Vec<&String> = stats
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    let expected = [
        "webanalyzer",
        "koala",
        "silktide",
        "tracardi",
        "dreamdata",
        "segment",
        "total",
    ];
    assert_eq!(keys, expected);
    assert_eq!(
        stats["webanalyzer"],
        json!({"requests": 2, "accepted_requests": 1, "events": 1, "unique_ids": 1,
            "duplicate_ids": 0, "statuses": {"200": 1, "400": 1}})
    );
    assert_eq!(stats["total"], stats["webanalyzer"]);
    assert_eq!(stats["segment"]["requests"], 0);
}

#[tokio::test]
async fn identical_events_without_ids_count_as_duplicates() {
    let c = start();
    let event = json!({"name": "purchase", "payload": {"order_id": "ORD-1", "amount": "1"}});
    let reordered = json!({"payload": {"amount": "1", "order_id": "ORD-1"}, "name": "purchase"});
    wa_track(&c, &event).await;
    wa_track(&c, &reordered).await;
    wa_track(&c, &json!({"name": "other"})).await;
    let stats = &c.stats()["webanalyzer"];
    assert_eq!(stats["events"], 3);
    assert_eq!(stats["unique_ids"], 2);
    assert_eq!(stats["duplicate_ids"], 1);
}

#[tokio::test]
async fn gzip_bodies_are_accepted_and_recorded_decoded() {
    let c = start();
    let body = json!({"events": (0..25).map(|i| json!({"name": format!("event-{i}")})).collect::<Vec<_>>()});
    let raw = common::gzip(body.to_string().as_bytes());
    let headers = [
        WA_AUTH,
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
    ];
    let url = format!("{}/api/v1/websites/1/track/batch", c.url());
    let reply = post_raw(&url, &headers, raw.clone()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["processed"], 25);
    let recorded = &c.requests()[0];
    assert!(recorded.gzip);
    assert_eq!(recorded.raw_len, raw.len());
    assert_eq!(recorded.body, body);
}

#[tokio::test]
async fn corrupt_gzip_body_is_400() {
    let c = start();
    let headers = [
        WA_AUTH,
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
    ];
    let url = format!("{}/api/v1/websites/1/track", c.url());
    let reply = post_raw(&url, &headers, b"{\"name\":\"a\"}".to_vec()).await;
    common::assert_rejected(&reply, 400, "validation_error", "gzip");
    assert_eq!(c.requests()[0].body, Value::Null);
}

#[tokio::test]
async fn reset_clears_records_faults_rate_windows_and_event_ids() {
    let c = start();
    c.set_wa_rate_limit(1, 60_000);
    wa_track(&c, &json!({"name": "a"})).await;
    assert_eq!(wa_track(&c, &json!({"name": "b"})).await.status, 429);
    c.add_fault(Fault::status("koala", 500));

    let reply = post(&format!("{}/_reset", c.url()), &[], &json!({})).await;
    assert_eq!(reply.status, 200);
    assert!(c.requests().is_empty());
    assert_eq!(c.stats()["total"]["requests"], 0);
    let after = wa_track(&c, &json!({"name": "c"})).await;
    assert_eq!(after.json, json!({"ok": true, "event_id": 4521}));
    // Back to the configured limit of 60 requests a minute.
    assert_eq!(wa_track(&c, &json!({"name": "d"})).await.status, 200);
    let koala = format!("{}/web/projects/test-koala-key/batch", c.url());
    let body = json!({"profile_id": "3e6a2c18-3b02-40c4-b8d2-1842c193d3ba", "email": "a@b.c"});
    assert_eq!(post(&koala, &[], &body).await.status, 200);
}

#[tokio::test]
async fn reset_forgets_tracardi_profiles() {
    let c = start();
    let body = json!({"source": {"id": "source-id"}, "session": {"id": "s"},
        "events": [{"type": "page-view"}]});
    let url = format!("{}/track", c.url());
    let first = post(&url, &[], &body).await.json["profile"]["id"].clone();
    c.reset();
    let second = post(&url, &[], &body).await.json["profile"]["id"].clone();
    assert_ne!(first, second);
}

#[tokio::test]
async fn unknown_path_is_404_and_wrong_method_is_405() {
    let c = start();
    let missing = post(&format!("{}/v2/batch", c.url()), &[], &json!({})).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json, json!({"error": "not_found"}));
    let wrong = get(&format!("{}/v1/batch", c.url())).await;
    assert_eq!(wrong.status, 405);
    assert_eq!(get(&format!("{}/_nope", c.url())).await.status, 404);
    assert_eq!(
        post(&format!("{}/_stats", c.url()), &[], &json!({}))
            .await
            .status,
        405
    );
}

#[tokio::test]
async fn control_requests_are_not_recorded() {
    let c = start();
    get(&format!("{}/_stats", c.url())).await;
    get(&format!("{}/_requests", c.url())).await;
    get(&format!("{}/_health", c.url())).await;
    assert!(c.requests().is_empty());
}

#[tokio::test]
async fn config_endpoint_rejects_unknown_fields() {
    let c = start();
    let reply = post(&format!("{}/_config", c.url()), &[], &json!({"rate": 1})).await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn without_bodies_it_still_counts_events_and_ids() {
    let c = RunningCollector::start(tracklane_collector::CollectorConfig {
        keep_bodies: false,
        ..Default::default()
    })
    .expect("collector starts");
    assert_eq!(wa_track(&c, &json!({"name": "signup"})).await.status, 200);
    assert_eq!(wa_track(&c, &json!({"name": "signup"})).await.status, 200);
    let recorded = c.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].body, Value::Null, "the body is not kept");
    assert_eq!((recorded[0].status, recorded[0].events), (200, 1));
    let stats = c.stats();
    assert_eq!(stats["webanalyzer"]["events"], 2);
    assert_eq!(
        stats["webanalyzer"]["duplicate_ids"], 1,
        "identities are still tracked"
    );
}
