//! Reading a collector's answer. The status table is the one the seeds document
//! (Web Analyzer's is the most complete): 2xx delivered; 408/429/500/502/503/504 transient;
//! 400/422 a bad event somewhere in the batch; 413 too big; everything else terminal.

use std::time::{Duration, SystemTime};

/// What came back from one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The raw `Retry-After` header, if any.
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

/// What a response means for the batch that was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Stored. `profile_id` is an id the collector assigned (Tracardi), for the application.
    Delivered { profile_id: Option<String> },
    /// Transient failure: try again later, never sooner than `after`.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// 429: pause the whole destination until `after`.
    RateLimited { after: Option<Duration> },
    /// 400/422: some event in the batch is bad; split the batch to find it.
    BadRequest { reason: String },
    /// 413: the request is too big; split it.
    TooLarge { reason: String },
    /// 401/402/403/404 and other terminal answers: retrying cannot help.
    Rejected { status: u16, reason: String },
}

/// The verdict for collectors that follow the common status table.
pub fn default_verdict(response: &Response) -> Verdict {
    let status = response.status;
    let reason = || error_reason(response);
    match status {
        200..=299 => Verdict::Delivered { profile_id: None },
        429 => Verdict::RateLimited {
            after: response.retry_after.as_deref().and_then(parse_retry_after),
        },
        408 | 500 | 502 | 503 | 504 => Verdict::Retry {
            after: response.retry_after.as_deref().and_then(parse_retry_after),
            reason: reason(),
        },
        400 | 422 => Verdict::BadRequest { reason: reason() },
        413 => Verdict::TooLarge { reason: reason() },
        _ => Verdict::Rejected {
            status,
            reason: reason(),
        },
    }
}

/// `"HTTP 401 unauthorized: Missing or invalid API key"` from the collector's error body
/// (`error`/`message`, or FastAPI's `detail`), or just the status.
pub fn error_reason(response: &Response) -> String {
    let mut reason = format!("HTTP {}", response.status);
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&response.body) else {
        return reason;
    };
    for key in ["error", "message", "detail"] {
        match body.get(key) {
            Some(serde_json::Value::String(s)) => {
                reason.push_str(if reason.contains(':') { " - " } else { ": " });
                reason.push_str(&truncate(s, 300));
            }
            Some(other) if !other.is_null() && key == "detail" => {
                reason.push_str(": ");
                reason.push_str(&truncate(&other.to_string(), 300));
            }
            _ => {}
        }
    }
    reason
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// `Retry-After` as seconds (`"30"`) or an HTTP-date; `None` if neither parses. A date in the
/// past means "now" (zero).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn statuses_map_to_the_documented_actions() {
        assert!(matches!(
            default_verdict(&response(200, "{}")),
            Verdict::Delivered { .. }
        ));
        for s in [408, 500, 502, 503, 504] {
            assert!(
                matches!(default_verdict(&response(s, "")), Verdict::Retry { .. }),
                "{s}"
            );
        }
        assert!(matches!(
            default_verdict(&response(429, "")),
            Verdict::RateLimited { .. }
        ));
        assert!(matches!(
            default_verdict(&response(400, "")),
            Verdict::BadRequest { .. }
        ));
        assert!(matches!(
            default_verdict(&response(413, "")),
            Verdict::TooLarge { .. }
        ));
        for s in [401, 402, 403, 404, 501] {
            assert!(
                matches!(default_verdict(&response(s, "")), Verdict::Rejected { .. }),
                "{s}"
            );
        }
    }

    #[test]
    fn reason_carries_the_collectors_error_code() {
        let r = response(402, r#"{"ok":false,"error":"monthly_limit_reached"}"#);
        assert_eq!(error_reason(&r), "HTTP 402: monthly_limit_reached");
    }

    #[test]
    fn retry_after_in_seconds_and_http_date() {
        assert_eq!(parse_retry_after("30"), Some(Duration::from_secs(30)));
        let in_10s = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(10));
        let d = parse_retry_after(&in_10s).unwrap();
        assert!(
            d <= Duration::from_secs(10) && d >= Duration::from_secs(8),
            "{d:?}"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
