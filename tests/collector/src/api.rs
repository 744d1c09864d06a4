//! The seam between the HTTP server and the per-API modules.
//!
//! The server turns a hyper request into an [`ApiRequest`] (body read,
//! gunzipped, parsed once) and an [`Endpoint`]; each API module answers with an
//! [`Outcome`]. Keeping the API modules free of hyper and sockets makes their
//! rules read like the collectors' docs.

use std::sync::OnceLock;

use hyper::{HeaderMap, Method};
use serde_json::Value;

use crate::record::{identity, Identity};
use crate::state::State;
use crate::{koala, segment_spec, silktide, tracardi, webanalyzer};

pub(crate) const WEBANALYZER: &str = "webanalyzer";
pub(crate) const KOALA: &str = "koala";
pub(crate) const SILKTIDE: &str = "silktide";
pub(crate) const TRACARDI: &str = "tracardi";
pub(crate) const DREAMDATA: &str = "dreamdata";
pub(crate) const SEGMENT: &str = "segment";

/// Every destination, in the order `/_stats` lists them.
pub const DESTINATIONS: [&str; 6] = [WEBANALYZER, KOALA, SILKTIDE, TRACARDI, DREAMDATA, SEGMENT];

/// Which Segment-spec flavour a batch endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spec {
    Dreamdata,
    Segment,
}

/// An API endpoint with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    WebAnalyzer {
        website_id: String,
        batch: bool,
    },
    Koala {
        public_key: String,
    },
    Silktide,
    TracardiTrack,
    TracardiCollect {
        event_type: String,
        source_id: String,
    },
    SpecBatch(Spec),
}

impl Endpoint {
    pub(crate) fn destination(&self) -> &'static str {
        match self {
            Endpoint::WebAnalyzer { .. } => WEBANALYZER,
            Endpoint::Koala { .. } => KOALA,
            Endpoint::Silktide => SILKTIDE,
            Endpoint::TracardiTrack | Endpoint::TracardiCollect { .. } => TRACARDI,
            Endpoint::SpecBatch(Spec::Dreamdata) => DREAMDATA,
            Endpoint::SpecBatch(Spec::Segment) => SEGMENT,
        }
    }
}

/// Where a non-control path leads.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Api(Endpoint),
    MethodNotAllowed,
    NotFound,
}

/// Maps a method and path to an endpoint. Every API endpoint is POST-only.
pub(crate) fn route(method: &Method, path: &str) -> Route {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let endpoint = match segments.as_slice() {
        ["api", "v1", "websites", id, "track"] => Endpoint::WebAnalyzer {
            website_id: (*id).to_owned(),
            batch: false,
        },
        ["api", "v1", "websites", id, "track", "batch"] => Endpoint::WebAnalyzer {
            website_id: (*id).to_owned(),
            batch: true,
        },
        ["web", "projects", key, "batch"] => Endpoint::Koala {
            public_key: (*key).to_owned(),
        },
        ["v1", "events"] => Endpoint::Silktide,
        ["track"] => Endpoint::TracardiTrack,
        ["collect", event_type, source_id] if !event_type.is_empty() && !source_id.is_empty() => {
            Endpoint::TracardiCollect {
                event_type: (*event_type).to_owned(),
                source_id: (*source_id).to_owned(),
            }
        }
        ["v1", "batch"] => Endpoint::SpecBatch(Spec::Dreamdata),
        ["segment", "v1", "batch"] => Endpoint::SpecBatch(Spec::Segment),
        _ => return Route::NotFound,
    };
    if method == Method::POST {
        Route::Api(endpoint)
    } else {
        Route::MethodNotAllowed
    }
}

/// A received API request, body already decoded; parsed as JSON on first use (a handler
/// with a faster way to read its body may never need the whole tree).
#[derive(Debug)]
pub(crate) struct ApiRequest {
    pub query: Option<String>,
    pub headers: HeaderMap,
    /// The body after gunzip, or why it could not be read.
    body: Result<Vec<u8>, String>,
    json: OnceLock<Result<Value, String>>,
    /// Body length after gunzip.
    pub decoded_len: usize,
}

impl ApiRequest {
    pub(crate) fn new(
        query: Option<String>,
        headers: HeaderMap,
        body: Result<Vec<u8>, String>,
    ) -> ApiRequest {
        ApiRequest {
            query,
            headers,
            decoded_len: body.as_ref().map_or(0, Vec::len),
            body,
            json: OnceLock::new(),
        }
    }

    /// The body after gunzip, if it could be read.
    pub(crate) fn raw(&self) -> Option<&[u8]> {
        self.body.as_deref().ok()
    }

    /// The parsed body, or why it could not be read as JSON.
    pub(crate) fn json(&self) -> &Result<Value, String> {
        self.json.get_or_init(|| match &self.body {
            Ok(bytes) => serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}")),
            Err(why) => Err(why.clone()),
        })
    }

    /// The parsed body, kept (parsed now if no handler needed it).
    pub(crate) fn into_json(self) -> Result<Value, String> {
        self.json();
        self.json
            .into_inner()
            .unwrap_or_else(|| Err("not parsed".to_owned()))
    }

    /// A header as text; absent when missing or not valid UTF-8.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter's raw value.
    pub(crate) fn query_param(&self, name: &str) -> Option<&str> {
        self.query.as_deref()?.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then_some(value)
        })
    }
}

/// An API module's answer, plus what the recorder needs to know about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
    /// Validated and stored.
    pub accepted: bool,
    /// One identity per event carried by an accepted request (see `record`).
    pub identities: Vec<Identity>,
}

impl Outcome {
    pub(crate) fn reject(status: u16, body: Value) -> Self {
        Outcome {
            status,
            body,
            headers: Vec::new(),
            accepted: false,
            identities: Vec::new(),
        }
    }

    /// Accepted, carrying events of these ids (or canonical JSON texts, see `record`).
    pub(crate) fn accept(body: Value, ids: Vec<String>) -> Self {
        Outcome::accept_identities(body, ids.iter().map(|id| identity(id)).collect())
    }

    pub(crate) fn accept_identities(body: Value, identities: Vec<Identity>) -> Self {
        Outcome {
            status: 200,
            body,
            headers: Vec::new(),
            accepted: true,
            identities,
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// Hands the request to the module of its API.
pub(crate) fn dispatch(state: &mut State, endpoint: &Endpoint, req: &ApiRequest) -> Outcome {
    match endpoint {
        Endpoint::WebAnalyzer { website_id, batch } => {
            webanalyzer::handle(&state.config, &mut state.wa, website_id, *batch, req)
        }
        Endpoint::Koala { public_key } => koala::handle(&state.config, public_key, req),
        Endpoint::Silktide => silktide::handle(&state.config, req),
        Endpoint::TracardiTrack => tracardi::track(&state.config, &mut state.tracardi, req),
        Endpoint::TracardiCollect {
            event_type,
            source_id,
        } => tracardi::collect(&state.config, event_type, source_id, req),
        Endpoint::SpecBatch(spec) => segment_spec::handle(&state.config, *spec, req),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_api_path() {
        let post = Method::POST;
        assert_eq!(
            route(&post, "/api/v1/websites/1/track/batch"),
            Route::Api(Endpoint::WebAnalyzer {
                website_id: "1".into(),
                batch: true
            })
        );
        assert_eq!(
            route(&post, "/segment/v1/batch"),
            Route::Api(Endpoint::SpecBatch(Spec::Segment))
        );
        assert_eq!(route(&post, "/collect/a/"), Route::NotFound);
        assert_eq!(route(&Method::GET, "/v1/events"), Route::MethodNotAllowed);
        assert_eq!(route(&post, "/nope"), Route::NotFound);
    }
}
