//! The `/_` control API used by the Python and Node suites (the Rust suites
//! call the same operations on [`crate::RunningCollector`]).
//!
//! Control requests are never recorded and never faulted, so a test can
//! always inspect the collector, even while it is told to misbehave.

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::Fault;
use crate::server::{method_not_allowed, not_found};
use crate::state::Shared;
use crate::wire::{json_response, ResponseBody, MAX_BODY_BYTES};

/// Paths starting with this are control paths.
pub(crate) const PREFIX: &str = "/_";

/// Body of `POST /_config`; both fields optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigChange {
    wa_rate_limit: Option<u32>,
    wa_rate_window_ms: Option<u64>,
}

pub(crate) async fn handle(req: Request<Incoming>, shared: &Shared) -> Response<ResponseBody> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let query = req.uri().query().map(str::to_owned);
    match (path.as_str(), method) {
        ("/_health", Method::GET) => ok(json!({"ok": true})),
        ("/_requests", Method::GET) => {
            let destination = query.as_deref().and_then(destination_param);
            let requests = shared.lock().recorder.requests(destination);
            ok(serde_json::to_value(requests).unwrap_or(Value::Null))
        }
        ("/_stats", Method::GET) => ok(shared.lock().recorder.stats()),
        ("/_reset", Method::POST) => {
            shared.lock().reset();
            ok(json!({"ok": true}))
        }
        ("/_faults", Method::GET) => {
            let faults = shared.lock().faults.list();
            ok(serde_json::to_value(faults).unwrap_or(Value::Null))
        }
        ("/_faults", Method::POST) => add_fault(req, shared).await,
        ("/_faults", Method::DELETE) => {
            shared.lock().faults.clear();
            ok(json!({"ok": true}))
        }
        ("/_config", Method::POST) => change_config(req, shared).await,
        ("/_health" | "/_requests" | "/_stats", _) => method_not_allowed("GET"),
        ("/_reset" | "/_config", _) => method_not_allowed("POST"),
        ("/_faults", _) => method_not_allowed("GET, POST, DELETE"),
        _ => not_found(),
    }
}

fn ok(body: Value) -> Response<ResponseBody> {
    json_response(200, &body, &[])
}

fn bad_request(message: String) -> Response<ResponseBody> {
    json_response(
        400,
        &json!({"error": "bad_request", "message": message}),
        &[],
    )
}

fn destination_param(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("destination="))
}

/// Reads a small JSON control body into `T`.
async fn read_json<T: for<'de> Deserialize<'de>>(req: Request<Incoming>) -> Result<T, String> {
    let limited = http_body_util::Limited::new(req.into_body(), MAX_BODY_BYTES);
    let bytes = limited
        .collect()
        .await
        .map_err(|e| format!("could not read body: {e}"))?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| format!("invalid body: {e}"))
}

async fn add_fault(req: Request<Incoming>, shared: &Shared) -> Response<ResponseBody> {
    let fault: Fault = match read_json(req).await {
        Ok(fault) => fault,
        Err(message) => return bad_request(message),
    };
    if let Err(message) = fault.validate() {
        return bad_request(message);
    }
    shared.lock().faults.add(fault.clone());
    ok(json!({"ok": true, "fault": fault}))
}

async fn change_config(req: Request<Incoming>, shared: &Shared) -> Response<ResponseBody> {
    let change: ConfigChange = match read_json(req).await {
        Ok(change) => change,
        Err(message) => return bad_request(message),
    };
    let mut state = shared.lock();
    state.set_wa_rate_limit(change.wa_rate_limit, change.wa_rate_window_ms);
    ok(json!({
        "ok": true,
        "wa_rate_limit": state.config.wa_rate_limit,
        "wa_rate_window_ms": state.config.wa_rate_window_ms,
    }))
}
