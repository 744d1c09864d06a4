//! Sending one batch: build the destination's request, send it over the shared HTTP client
//! (or append it to a file / stdout for local destinations), and read the answer into a
//! [`Verdict`]. Network errors and timeouts are transient; everything else is the
//! destination's to judge.

use std::io::Write;
use std::sync::{Arc, Once};
use std::time::Duration;

use crate::destinations::{Destination, Response, Transport, Verdict};
use crate::time::Timestamp;

use super::batch::Batch;

/// Bytes of a response body we read at most: collectors answer with small JSON documents.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What one attempt came to.
#[derive(Debug)]
pub struct Attempt {
    pub verdict: Verdict,
    pub status: Option<u16>,
    pub bytes_sent: usize,
}

/// The process's HTTP client: rustls with the ring provider (no C toolchain-heavy aws-lc
/// build), connection reuse, connect and total timeouts.
pub fn http_client(connect_timeout: Duration, request_timeout: Duration) -> reqwest::Client {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .user_agent(concat!("tracklane/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_else(|e| {
            log::error!(target: "tracklane", "cannot configure the HTTP client ({e}); using defaults");
            reqwest::Client::new()
        })
}

pub async fn send(http: &reqwest::Client, dest: &Arc<dyn Destination>, batch: &Batch) -> Attempt {
    let bodies = batch.bodies();
    let request = dest.request(batch.group(), &bodies, Timestamp::now());
    let bytes_sent = request.body.len();
    match dest.transport() {
        Transport::Http => {}
        Transport::File(path) => {
            let body = request.body;
            let written = tokio::task::spawn_blocking(move || append(&path, &body)).await;
            return local_attempt(
                written.unwrap_or_else(|e| Err(std::io::Error::other(e))),
                bytes_sent,
            );
        }
        Transport::Stdout => {
            let written = std::io::stdout().lock().write_all(&request.body);
            return local_attempt(written, bytes_sent);
        }
    }
    let mut builder = http.post(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    let result = builder.body(request.body).send().await;
    let response = match result {
        Ok(response) => response,
        Err(e) => {
            return Attempt {
                verdict: Verdict::Retry {
                    after: None,
                    reason: network_reason(e),
                },
                status: None,
                bytes_sent,
            }
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = read_body(response).await;
    let verdict = dest.read_response(
        batch.group(),
        &Response {
            status,
            retry_after,
            body,
        },
    );
    Attempt {
        verdict,
        status: Some(status),
        bytes_sent,
    }
}

async fn read_body(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_RESPONSE_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    body
}

/// A reason for a network failure without the URL (it may carry a key in its path).
fn network_reason(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "network error"
    };
    let mut text = format!("{kind}: {}", e.without_url());
    text.truncate(300);
    text
}

fn append(path: &std::path::Path, body: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(body)?;
    file.flush()
}

fn local_attempt(result: std::io::Result<()>, bytes_sent: usize) -> Attempt {
    let verdict = match result {
        Ok(()) => Verdict::Delivered { profile_id: None },
        Err(e) => Verdict::Retry {
            after: None,
            reason: format!("write failed: {e}"),
        },
    };
    Attempt {
        verdict,
        status: None,
        bytes_sent,
    }
}
