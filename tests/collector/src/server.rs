//! The accept loop and the life of one API request: route, read, fault,
//! validate, record, answer.
//!
//! hyper is used directly rather than through a framework because the faults
//! need one thing frameworks hide: a service that returns `Err` makes hyper
//! close the connection without a response, which is exactly what a dropped
//! connection or a lost acknowledgement looks like to the SDK.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, Uri};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::api::{self, ApiRequest, Endpoint, Outcome, Route};
use crate::control;
use crate::faults::{Fault, FaultMode};
use crate::record::RecordedRequest;
use crate::state::{Shared, State};
use crate::wire::{self, BodyError, DropConnection, ReceivedBody, ResponseBody};

/// Pause after a failed `accept` (e.g. out of file descriptors) before retrying.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Serves connections until `stop` fires (or its sender is dropped).
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_connection(TokioIo::new(stream), shared.clone()));
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
        }
    }
}

async fn serve_connection(io: TokioIo<tokio::net::TcpStream>, shared: Arc<Shared>) {
    let service = service_fn(move |req| handle(req, shared.clone()));
    // An error here is a dropped connection (ours, on purpose, or the
    // client's); there is no one to report it to.
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(io, service)
        .await;
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<ResponseBody>, DropConnection> {
    let path = req.uri().path().to_owned();
    if path.starts_with(control::PREFIX) {
        return Ok(control::handle(req, &shared).await);
    }
    match api::route(req.method(), &path) {
        Route::Api(endpoint) => handle_api(req, endpoint, &shared).await,
        Route::MethodNotAllowed => Ok(method_not_allowed("POST")),
        Route::NotFound => Ok(not_found()),
    }
}

pub(crate) fn not_found() -> Response<ResponseBody> {
    wire::json_response(404, &json!({"error": "not_found"}), &[])
}

pub(crate) fn method_not_allowed(allow: &str) -> Response<ResponseBody> {
    let body = json!({"error": "method_not_allowed"});
    wire::json_response(405, &body, &[("allow", allow.to_owned())])
}

/// One API request. Faults are looked up before anything else (auth
/// included); every request that reaches here is recorded.
async fn handle_api(
    req: Request<Incoming>,
    endpoint: Endpoint,
    shared: &Shared,
) -> Result<Response<ResponseBody>, DropConnection> {
    let (parts, body) = req.into_parts();
    let received = wire::receive(&parts.headers, body).await?;
    let fault = shared.lock().faults.take(endpoint.destination());
    if let Some(f) = fault.as_ref().filter(|f| f.mode == FaultMode::Delay) {
        tokio::time::sleep(f.delay_duration()).await;
    }
    let too_large = received.decoded == Err(BodyError::TooLarge);
    let mut record = skeleton_record(&endpoint, &parts.method, &parts.uri, &received);
    let api_req = ApiRequest::new(
        parts.uri.query().map(str::to_owned),
        parts.headers,
        decoded_body(received),
    );
    let mode = fault.as_ref().map(|f| f.mode);
    let connection_dropped = matches!(mode, Some(FaultMode::Drop | FaultMode::LostAck));
    // Built outside the lock: copying headers is the slow part.
    record.headers = wire::header_map(&api_req.headers);
    record.fault = mode.map(|m| m.as_str().to_owned());

    let mut state = shared.lock();
    let mut outcome = answer(&mut state, fault.as_ref(), too_large, &endpoint, &api_req);
    record.status = if connection_dropped {
        0
    } else {
        outcome.status
    };
    record.accepted = outcome.accepted;
    record.events = if outcome.accepted {
        outcome.identities.len()
    } else {
        0
    };
    // Moved, not cloned, once answered: bodies are the bulk of what the collector handles.
    if state.config.keep_bodies {
        record.body = api_req.into_json().unwrap_or(Value::Null);
    }
    let identities = std::mem::take(&mut outcome.identities);
    state.recorder.record(record, identities);
    drop(state);

    if connection_dropped {
        return Err(DropConnection);
    }
    Ok(wire::json_response(
        outcome.status,
        &outcome.body,
        &outcome.headers,
    ))
}

/// What to answer: the fault's answer, the size limit's, or the API's.
fn answer(
    state: &mut State,
    fault: Option<&Fault>,
    too_large: bool,
    endpoint: &Endpoint,
    req: &ApiRequest,
) -> Outcome {
    match fault.map(|f| (f, f.mode)) {
        Some((f, FaultMode::Status)) => f.injected_outcome(),
        Some((_, FaultMode::Drop)) => Outcome::reject(0, Value::Null),
        _ if too_large => Outcome::reject(413, json!({"error": "payload_too_large"})),
        _ => api::dispatch(state, endpoint, req),
    }
}

/// The record of a request before its answer is known.
fn skeleton_record(
    endpoint: &Endpoint,
    method: &Method,
    uri: &Uri,
    received: &ReceivedBody,
) -> RecordedRequest {
    RecordedRequest {
        seq: 0,
        destination: endpoint.destination().to_owned(),
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: Default::default(),
        body: Value::Null,
        raw_len: received.raw_len,
        gzip: received.gzip,
        status: 0,
        fault: None,
        accepted: false,
        events: 0,
    }
}

fn decoded_body(received: ReceivedBody) -> Result<Vec<u8>, String> {
    match received.decoded {
        Ok(bytes) => Ok(bytes),
        Err(BodyError::BadGzip(e)) => Err(format!("invalid gzip body: {e}")),
        Err(BodyError::TooLarge) => Err("body too large".to_owned()),
    }
}
