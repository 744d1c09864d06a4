//! Dreamdata's server-side tracking API (seed 004): the Segment-spec batch format at
//! `https://api.dreamdata.cloud/v1/batch`, HTTP Basic with the source API key as user and an
//! empty password, at most 500 KB a request, identify/track/alias. Dreamdata does not say it
//! accepts gzip, so bodies are sent plain unless `gzip` is set.

use serde::Deserialize;

use super::config::{base_url, lenient, secret};
use super::segment_spec::{SegmentSpec, MAX_REQUEST_BYTES};
use crate::error::ConfigError;

pub const KIND: &str = "dreamdata";
pub const DEFAULT_BASE_URL: &str = "https://api.dreamdata.cloud";
/// No per-message limit is documented; one message must still fit a request with its envelope.
pub const MAX_EVENT_BYTES: usize = MAX_REQUEST_BYTES - 1_000;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub name: Option<String>,
    pub api_key: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub gzip: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub allow_insecure_http: bool,
}

pub fn new(config: &Config) -> Result<SegmentSpec, ConfigError> {
    let base = base_url(
        KIND,
        "base_url",
        config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
        config.allow_insecure_http,
    )?;
    Ok(SegmentSpec::new(
        config.name.clone().unwrap_or_else(|| KIND.to_string()),
        KIND,
        &secret(KIND, "api_key", &config.api_key)?,
        &base,
        config.gzip,
        false,
        MAX_EVENT_BYTES,
    ))
}
