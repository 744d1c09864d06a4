//! What the collector accepts: keys, ids and limits.
//!
//! The defaults are the credentials the SDK's test suites hard-code, so a suite
//! can start a collector with `CollectorConfig::default()` and point every
//! destination at it without any setup. Suites that test key handling pass
//! their own lists.

/// Web Analyzer App API key accepted by default.
pub const DEFAULT_WA_KEY: &str = "test-wa-key";
/// Web Analyzer App website id accepted by default.
pub const DEFAULT_WA_WEBSITE_ID: u64 = 1;
/// A Web Analyzer App key that is known but always answers 402 (quota used up).
pub const DEFAULT_WA_QUOTA_KEY: &str = "test-wa-key-quota";
/// A Web Analyzer App key that is known but always answers 403 (free plan).
pub const DEFAULT_WA_FREE_KEY: &str = "test-wa-key-free";
/// Requests per key per window, as documented by Web Analyzer App (60 a minute).
pub const DEFAULT_WA_RATE_LIMIT: u32 = 60;
/// Length of the fixed rate-limit window.
pub const DEFAULT_WA_RATE_WINDOW_MS: u64 = 60_000;
/// Koala public key accepted by default.
pub const DEFAULT_KOALA_KEY: &str = "test-koala-key";
/// Silktide property key accepted by default (the one in Silktide's own example).
pub const DEFAULT_SILKTIDE_KEY: &str = "8bce2be8c07a84a70e7104634b42878b";
/// Tracardi source id accepted by default (the one in Tracardi's own examples).
pub const DEFAULT_TRACARDI_SOURCE: &str = "source-id";
/// Dreamdata source API key accepted by default.
pub const DEFAULT_DREAMDATA_KEY: &str = "test-dd-key";
/// Segment write key accepted by default.
pub const DEFAULT_SEGMENT_KEY: &str = "test-segment-key";

/// Everything a collector instance accepts. All fields are public so tests can
/// start from [`Default`] and change only what they need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub wa_keys: Vec<String>,
    pub wa_website_ids: Vec<u64>,
    pub wa_quota_key: String,
    pub wa_free_key: String,
    /// Requests allowed per key per window; 0 turns the limit off.
    pub wa_rate_limit: u32,
    pub wa_rate_window_ms: u64,
    pub koala_keys: Vec<String>,
    pub silktide_keys: Vec<String>,
    pub tracardi_sources: Vec<String>,
    pub dreamdata_keys: Vec<String>,
    pub segment_keys: Vec<String>,
    /// Keep each request's parsed body for `/_requests` (tests read them). Benchmarks turn it
    /// off: a real collector does not hold every body in memory, and a million parsed events
    /// would cost this stand-in more CPU and memory than the client under test.
    pub keep_bodies: bool,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            port: 0,
            wa_keys: vec![DEFAULT_WA_KEY.to_owned()],
            wa_website_ids: vec![DEFAULT_WA_WEBSITE_ID],
            wa_quota_key: DEFAULT_WA_QUOTA_KEY.to_owned(),
            wa_free_key: DEFAULT_WA_FREE_KEY.to_owned(),
            wa_rate_limit: DEFAULT_WA_RATE_LIMIT,
            wa_rate_window_ms: DEFAULT_WA_RATE_WINDOW_MS,
            koala_keys: vec![DEFAULT_KOALA_KEY.to_owned()],
            silktide_keys: vec![DEFAULT_SILKTIDE_KEY.to_owned()],
            tracardi_sources: vec![DEFAULT_TRACARDI_SOURCE.to_owned()],
            dreamdata_keys: vec![DEFAULT_DREAMDATA_KEY.to_owned()],
            keep_bodies: true,
            segment_keys: vec![DEFAULT_SEGMENT_KEY.to_owned()],
        }
    }
}

/// True when `key` is one of `keys`.
pub(crate) fn knows(keys: &[String], key: &str) -> bool {
    keys.iter().any(|k| k == key)
}
