//! Destination configuration: one struct per collector (in that collector's file), one enum
//! here, and one JSON reader shared by the bindings so Python keyword arguments and Node
//! option objects are checked by the same code.
//!
//! Keys may be snake_case or camelCase. A field left out is read from the environment as
//! `TRACKLANE_<KIND>_<FIELD>` (`TRACKLANE_WEBANALYZER_API_KEY`), so keys never need to be in code.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{dreamdata, file, koala, segment, silktide, tracardi, webanalyzer, Destination};
use crate::error::ConfigError;

/// Every destination the core can build.
#[derive(Clone, Debug, PartialEq)]
pub enum DestinationConfig {
    WebAnalyzer(webanalyzer::Config),
    Koala(koala::Config),
    Silktide(silktide::Config),
    Tracardi(tracardi::Config),
    Dreamdata(dreamdata::Config),
    Segment(segment::Config),
    File(file::FileConfig),
    Stdout(file::StdoutConfig),
}

/// The kinds, as written in `type` (and in error codes).
pub const KINDS: [&str; 8] = [
    "webanalyzer",
    "koala",
    "silktide",
    "tracardi",
    "dreamdata",
    "segment",
    "file",
    "stdout",
];

impl DestinationConfig {
    pub fn build(&self) -> Result<Arc<dyn Destination>, ConfigError> {
        Ok(match self {
            DestinationConfig::WebAnalyzer(c) => Arc::new(webanalyzer::WebAnalyzer::new(c)?),
            DestinationConfig::Koala(c) => Arc::new(koala::Koala::new(c)?),
            DestinationConfig::Silktide(c) => Arc::new(silktide::Silktide::new(c)?),
            DestinationConfig::Tracardi(c) => Arc::new(tracardi::Tracardi::new(c)?),
            DestinationConfig::Dreamdata(c) => Arc::new(dreamdata::new(c)?),
            DestinationConfig::Segment(c) => Arc::new(segment::new(c)?),
            DestinationConfig::File(c) => Arc::new(file::FileSink::file(c)?),
            DestinationConfig::Stdout(c) => Arc::new(file::FileSink::stdout(c)),
        })
    }

    /// Reads `{"type": "webanalyzer", "apiKey": ..., "websiteId": 1}` and the like, filling
    /// absent fields from `TRACKLANE_*` environment variables.
    pub fn from_json(value: Value) -> Result<DestinationConfig, ConfigError> {
        Self::from_json_with_env(value, &std::env::vars().collect())
    }

    /// [`DestinationConfig::from_json`] with the environment given (tests, bindings).
    pub fn from_json_with_env(
        value: Value,
        env: &std::collections::HashMap<String, String>,
    ) -> Result<DestinationConfig, ConfigError> {
        let Value::Object(object) = value else {
            return Err(ConfigError::new(
                "config.destination.not_object",
                "client",
                "destinations",
                "each destination must be an object with a \"type\"",
            ));
        };
        let mut fields = Map::new();
        for (key, value) in object {
            if !value.is_null() {
                fields.insert(snake_case(&key), value);
            }
        }
        let kind = match fields.remove("type").or_else(|| fields.remove("kind")) {
            Some(Value::String(kind)) => kind.to_ascii_lowercase(),
            _ => {
                return Err(ConfigError::new(
                    "config.destination.type_missing",
                    "client",
                    "type",
                    format!(
                        "each destination needs a \"type\", one of {}",
                        KINDS.join(", ")
                    ),
                ))
            }
        };
        fill_from_env(
            &kind,
            &mut fields,
            env.iter().map(|(k, v)| (k.clone(), v.clone())),
        );
        let object = Value::Object(fields);
        Ok(match kind.as_str() {
            "webanalyzer" => DestinationConfig::WebAnalyzer(parse(&kind, object)?),
            "koala" => DestinationConfig::Koala(parse(&kind, object)?),
            "silktide" => DestinationConfig::Silktide(parse(&kind, object)?),
            "tracardi" => DestinationConfig::Tracardi(parse(&kind, object)?),
            "dreamdata" => DestinationConfig::Dreamdata(parse(&kind, object)?),
            "segment" => DestinationConfig::Segment(parse(&kind, object)?),
            "file" => DestinationConfig::File(parse(&kind, object)?),
            "stdout" => DestinationConfig::Stdout(parse(&kind, object)?),
            other => {
                return Err(ConfigError::new(
                    "config.destination.unknown_type",
                    "client",
                    "type",
                    format!(
                        "unknown destination type {other:?}; expected one of {}",
                        KINDS.join(", ")
                    ),
                ))
            }
        })
    }
}

fn parse<T: for<'de> Deserialize<'de>>(kind: &str, object: Value) -> Result<T, ConfigError> {
    serde_json::from_value(object).map_err(|e| {
        // serde names the field ("missing field `api_key`"); keep its sentence, drop positions.
        let text = e.to_string();
        let field = text.split('`').nth(1).unwrap_or("destination").to_string();
        ConfigError::new(
            format!("config.{kind}.invalid"),
            kind,
            field,
            format!(
                "{text} (set it in code or as TRACKLANE_{}_<FIELD>)",
                kind.to_ascii_uppercase()
            ),
        )
    })
}

/// `apiKey` → `api_key`; snake_case passes through.
pub fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Adds `TRACKLANE_<KIND>_<FIELD>=value` for each field the caller left out.
pub fn fill_from_env(
    kind: &str,
    fields: &mut Map<String, Value>,
    vars: impl Iterator<Item = (String, String)>,
) {
    let prefix = format!("TRACKLANE_{}_", kind.to_ascii_uppercase());
    for (name, value) in vars {
        if let Some(field) = name.strip_prefix(&prefix) {
            let field = field.to_ascii_lowercase();
            if !field.is_empty() && !fields.contains_key(&field) && !value.is_empty() {
                fields.insert(field, Value::String(value));
            }
        }
    }
}

/// For numeric and boolean options that may arrive as strings from the environment.
pub mod lenient {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) if n.as_u64().is_some() => Ok(n.as_u64().unwrap_or_default()),
            Value::String(s) if s.trim().parse::<u64>().is_ok() => {
                Ok(s.trim().parse().unwrap_or_default())
            }
            other => Err(serde::de::Error::custom(format!(
                "expected a positive whole number, got {other}"
            ))),
        }
    }

    pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(b) => Ok(b),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(serde::de::Error::custom(format!(
                    "expected true or false, got {s:?}"
                ))),
            },
            other => Err(serde::de::Error::custom(format!(
                "expected true or false, got {other}"
            ))),
        }
    }
}

/// Checks a configured base URL: absolute http(s), no trailing slash; plain `http://` only to
/// loopback hosts unless `allow_insecure_http` (API keys must not cross a network in clear).
pub fn base_url(
    kind: &str,
    field: &str,
    url: &str,
    allow_insecure_http: bool,
) -> Result<String, ConfigError> {
    let invalid =
        |message: String| ConfigError::new(format!("config.{kind}.{field}"), kind, field, message);
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| invalid(format!("{url:?} is not an absolute URL ({e})")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&parsed) => {}
        "http" => {
            return Err(invalid(format!(
            "{url:?} uses plain http to a non-loopback host; use https or set allow_insecure_http"
        )))
        }
        other => {
            return Err(invalid(format!(
                "{url:?}: scheme {other:?} is not http or https"
            )))
        }
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid(format!(
            "{url:?} must not carry a query or fragment"
        )));
    }
    Ok(url.trim_end_matches('/').to_string())
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A required secret: present and not blank.
pub fn secret(kind: &str, field: &str, value: &str) -> Result<String, ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::new(
            format!("config.{kind}.{field}"),
            kind,
            field,
            format!(
                "is required (or set TRACKLANE_{}_{})",
                kind.to_ascii_uppercase(),
                field.to_ascii_uppercase()
            ),
        ));
    }
    Ok(value.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn camel_case_options_are_accepted() {
        let c = DestinationConfig::from_json(
            json!({"type": "webanalyzer", "apiKey": "k-123456789012", "websiteId": 1}),
        )
        .unwrap();
        let DestinationConfig::WebAnalyzer(c) = c else {
            panic!()
        };
        assert_eq!(c.website_id, 1);
    }

    #[test]
    fn unknown_type_and_missing_key_name_the_field() {
        let e = DestinationConfig::from_json(json!({"type": "mixpanel"})).unwrap_err();
        assert_eq!(e.code, "config.destination.unknown_type");
        let e = DestinationConfig::from_json(json!({"type": "webanalyzer", "website_id": 1}))
            .unwrap_err();
        assert_eq!(e.field, "api_key");
        assert!(
            e.message.contains("TRACKLANE_WEBANALYZER_"),
            "{}",
            e.message
        );
    }

    #[test]
    fn environment_fills_fields_left_out() {
        let mut fields = Map::new();
        fill_from_env(
            "webanalyzer",
            &mut fields,
            [
                (
                    "TRACKLANE_WEBANALYZER_API_KEY".to_string(),
                    "from-env".to_string(),
                ),
                (
                    "TRACKLANE_WEBANALYZER_WEBSITE_ID".to_string(),
                    "7".to_string(),
                ),
            ]
            .into_iter(),
        );
        let c: webanalyzer::Config = serde_json::from_value(Value::Object(fields)).unwrap();
        assert_eq!(c.api_key, "from-env");
        assert_eq!(c.website_id, 7);
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(base_url("segment", "base_url", "http://127.0.0.1:8080/", false).is_ok());
        assert!(base_url("segment", "base_url", "http://localhost:1", false).is_ok());
        let e = base_url("segment", "base_url", "http://collector.example.com", false).unwrap_err();
        assert!(e.message.contains("allow_insecure_http"));
        assert!(base_url("segment", "base_url", "http://collector.example.com", true).is_ok());
        assert!(base_url("segment", "base_url", "ftp://x", true).is_err());
        assert_eq!(
            base_url("segment", "base_url", "https://api.segment.io/", false).unwrap(),
            "https://api.segment.io"
        );
    }
}
