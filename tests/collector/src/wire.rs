//! Bytes on the wire: reading and gunzipping bodies, writing JSON answers.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{HeaderMap, Response, StatusCode};
use serde_json::Value;

/// Largest body read from the socket, and largest body after gunzip. Far above
/// any collector's own limit, so those limits are what tests observe.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

pub(crate) type ResponseBody = Full<Bytes>;

/// Returned from the service to make hyper close the connection without
/// answering: how `drop` and `lost_ack` faults look to a client.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for DropConnection {}

/// Why a body could not be turned into bytes to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    TooLarge,
    BadGzip(String),
}

/// A request body as received and as decoded.
#[derive(Debug)]
pub(crate) struct ReceivedBody {
    pub raw_len: usize,
    pub gzip: bool,
    pub decoded: Result<Vec<u8>, BodyError>,
}

/// Reads the whole body, gunzipping it when `Content-Encoding: gzip`. A
/// client that goes away mid-body gets its connection closed.
pub(crate) async fn receive(
    headers: &HeaderMap,
    body: Incoming,
) -> Result<ReceivedBody, DropConnection> {
    let gzip = is_gzip(headers);
    let raw = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Ok(ReceivedBody {
                raw_len: MAX_BODY_BYTES,
                gzip,
                decoded: Err(BodyError::TooLarge),
            })
        }
        Err(_) => return Err(DropConnection),
    };
    let decoded = if gzip { gunzip(&raw) } else { Ok(raw.to_vec()) };
    Ok(ReceivedBody {
        raw_len: raw.len(),
        gzip,
        decoded,
    })
}

fn is_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"))
}

fn gunzip(raw: &[u8]) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw)
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::BadGzip(e.to_string()))?;
    if out.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    Ok(out)
}

/// Headers as recorded: lower-case names, repeated values joined.
pub(crate) fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        out.entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

/// A JSON answer. Header values that are not valid HTTP are left out rather
/// than failing the response.
pub(crate) fn json_response(
    status: u16,
    body: &Value,
    headers: &[(&str, String)],
) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gunzip_round_trips_and_rejects_garbage() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"{\"a\":1}").unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(gunzip(&gz).unwrap(), b"{\"a\":1}");
        assert!(matches!(gunzip(b"not gzip"), Err(BodyError::BadGzip(_))));
    }

    #[test]
    fn repeated_headers_are_joined() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        assert_eq!(header_map(&headers)["x-a"], "1, 2");
    }
}
