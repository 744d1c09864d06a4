//! Errors with stable codes.
//!
//! Every error a caller can act on carries a dotted code that never changes wording
//! (`webanalyzer.payload.too_many_keys`), the destination it concerns, the field and a
//! sentence naming the limit. Bindings map the code onto their own error types; the
//! message is for humans and may be reworded. No error ever contains an API key: keys are
//! only rendered through [`mask_secret`].

use std::fmt;

/// A message broke a rule, either one of the neutral message's own rules (destination
/// `"message"`) or one of a collector's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// Stable code, `<destination-kind>.<field>.<rule>`.
    pub code: String,
    /// The configured destination name (`"message"` for destination-independent rules).
    pub destination: String,
    /// Path of the offending field in the neutral message (`properties.plan`, `event`).
    pub field: String,
    /// What was wrong and what the limit is.
    pub message: String,
}

impl ValidationError {
    pub fn new(
        code: impl Into<String>,
        destination: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ValidationError {
        ValidationError {
            code: code.into(),
            destination: destination.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} [{}]",
            self.destination, self.field, self.message, self.code
        )
    }
}

impl std::error::Error for ValidationError {}

/// A configuration the client cannot run with (bad key format, bad URL, bad option).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub code: String,
    pub destination: String,
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(
        code: impl Into<String>,
        destination: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            code: code.into(),
            destination: destination.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration for {}: {}: {} [{}]",
            self.destination, self.field, self.message, self.code
        )
    }
}

impl std::error::Error for ConfigError {}

/// Everything the public API can return as an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    Config(ConfigError),
    Validation(ValidationError),
    /// `track` (or another call) after `close()`.
    Closed,
}

impl Error {
    /// The stable code bindings expose (`config.*`, `<dest>.*`, `client.closed`).
    pub fn code(&self) -> &str {
        match self {
            Error::Config(e) => &e.code,
            Error::Validation(e) => &e.code,
            Error::Closed => "client.closed",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => e.fmt(f),
            Error::Validation(e) => e.fmt(f),
            Error::Closed => f.write_str("the tracklane client is closed; create a new one"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::Config(e)
    }
}

impl From<ValidationError> for Error {
    fn from(e: ValidationError) -> Error {
        Error::Validation(e)
    }
}

/// Renders a secret for logs and reprs: the last four characters only (`****f00d`), and
/// nothing at all for short secrets.
pub fn mask_secret(secret: &str) -> String {
    let count = secret.chars().count();
    if count < 12 {
        return "****".to_string();
    }
    let tail: String = secret.chars().skip(count - 4).collect();
    format!("****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_to_their_last_four_characters() {
        assert_eq!(mask_secret("sk_live_0123456789abcdef"), "****cdef");
        assert_eq!(mask_secret("short"), "****");
        assert!(!mask_secret("sk_live_0123456789abcdef").contains("sk_live"));
    }

    #[test]
    fn validation_error_display_names_destination_field_and_code() {
        let e = ValidationError::new(
            "webanalyzer.payload.too_many_keys",
            "webanalyzer",
            "properties",
            "has 11 keys; at most 10 are allowed",
        );
        let text = e.to_string();
        for part in ["webanalyzer", "properties", "at most 10", "too_many_keys"] {
            assert!(text.contains(part), "{text}");
        }
    }
}
