//! Helpers shared by the integration tests: a collector per test, a thin
//! reqwest wrapper that returns status, headers and parsed JSON, and the
//! assertion every rejection test makes.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;

use reqwest::header::HeaderMap;
use serde_json::Value;
use tracklane_collector::{CollectorConfig, RunningCollector};

/// A collector with the default configuration.
pub fn start() -> RunningCollector {
    RunningCollector::start(CollectorConfig::default()).expect("collector starts")
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// reqwest is built without a default TLS provider (see the workspace
/// manifest) and refuses to build a client, even for plain HTTP, until one
/// is installed; ring is the workspace's provider.
fn install_crypto_provider() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // Err only means another provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub fn client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client builds")
}

/// POSTs raw bytes; `Err` when the connection failed or was dropped.
pub async fn try_post_raw(
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Reply, reqwest::Error> {
    let mut request = client().post(url).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await?;
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Reply {
        status,
        headers,
        json,
    })
}

pub async fn post_raw(url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    try_post_raw(url, headers, body)
        .await
        .expect("request gets an answer")
}

/// POSTs `body` as JSON (with `Content-Type: application/json`).
pub async fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    post_raw(url, &all, body.to_string().into_bytes()).await
}

pub async fn try_post(
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Result<Reply, reqwest::Error> {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    try_post_raw(url, &all, body.to_string().into_bytes()).await
}

pub async fn get(url: &str) -> Reply {
    let response = client().get(url).send().await.expect("GET answered");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("GET body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        json,
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// Asserts a rejection: the status, `reply[field] == code`, and that the
/// message names the field at fault.
pub fn assert_rejected(reply: &Reply, status: u16, code: &str, names: &str) {
    assert_eq!(reply.status, status, "status of {:?}", reply.json);
    assert_eq!(reply.json["error"], code, "error code of {:?}", reply.json);
    let message = reply.json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(names),
        "message {message:?} should name {names:?}"
    );
}
