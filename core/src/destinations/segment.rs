//! Any Segment-spec `/v1/batch` collector (Segment, RudderStack and compatible CDPs):
//! configurable base URL and write key, identify/track/alias/page/group, at most 32 KB a
//! message and 500 KB a request, gzip bodies (Segment's HTTP API accepts them).

use serde::Deserialize;

use super::config::{base_url, lenient, secret};
use super::segment_spec::SegmentSpec;
use crate::error::ConfigError;

pub const KIND: &str = "segment";
pub const DEFAULT_BASE_URL: &str = "https://api.segment.io";
/// Segment's per-message limit, 32 KB (the same 32 × 1024 its own SDKs enforce).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Gzip on by default: Segment accepts it and it cuts bytes on the wire by 5-10x.
pub const DEFAULT_GZIP: bool = true;

fn default_gzip() -> bool {
    DEFAULT_GZIP
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub name: Option<String>,
    pub write_key: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default = "default_gzip", deserialize_with = "lenient::bool")]
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
        &secret(KIND, "write_key", &config.write_key)?,
        &base,
        config.gzip,
        true,
        MAX_EVENT_BYTES,
    ))
}
