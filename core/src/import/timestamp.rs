//! The timestamps files hold: RFC 3339 and its common relatives (no offset, `+0100`, ` UTC`,
//! no seconds) and epoch numbers in seconds, milliseconds, microseconds or nanoseconds. The
//! strict parser for API callers stays in `crate::time`; an import has to take what a
//! spreadsheet or a database export wrote.

use crate::error::ValidationError;
use crate::time::Timestamp;
use crate::value::preview;

/// Under [`EpochUnit::Auto`], epoch numbers at or above this magnitude are milliseconds:
/// 1e11 seconds is the year 5138, 1e11 milliseconds is March 1973. Likewise ×1000 for
/// microseconds and nanoseconds (pandas' `int64` datetimes).
pub const AUTO_MILLIS_FROM: f64 = 1e11;

/// The unit of epoch numbers in a timestamp column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EpochUnit {
    /// Guess from the magnitude (see [`AUTO_MILLIS_FROM`]): right for any date after 1973.
    #[default]
    Auto,
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl EpochUnit {
    /// `auto`, `s`, `ms`, `us` or `ns` (as pandas spells them).
    pub fn from_name(name: &str) -> Option<EpochUnit> {
        Some(match name {
            "auto" => EpochUnit::Auto,
            "s" => EpochUnit::Seconds,
            "ms" => EpochUnit::Millis,
            "us" => EpochUnit::Micros,
            "ns" => EpochUnit::Nanos,
            _ => return None,
        })
    }

    /// Milliseconds per unit of `value` (which `Auto` needs to look at).
    fn millis_per_unit(self, value: f64) -> f64 {
        match self {
            EpochUnit::Seconds => 1e3,
            EpochUnit::Millis => 1.0,
            EpochUnit::Micros => 1e-3,
            EpochUnit::Nanos => 1e-6,
            EpochUnit::Auto => match value.abs() {
                v if v >= AUTO_MILLIS_FROM * 1e6 => 1e-6,
                v if v >= AUTO_MILLIS_FROM * 1e3 => 1e-3,
                v if v >= AUTO_MILLIS_FROM => 1.0,
                _ => 1e3,
            },
        }
    }
}

fn invalid_timestamp(shown: &str, why: &str) -> ValidationError {
    ValidationError::new(
        "message.timestamp.invalid",
        "message",
        "timestamp",
        format!("{:?} {why}", preview(shown)),
    )
}

/// The rule a row breaks when the import maps a timestamp column and the row has no value.
pub fn missing_timestamp() -> ValidationError {
    ValidationError::new(
        "message.timestamp.required",
        "message",
        "timestamp",
        "the row has no value in the timestamp column (pass timestamp=None to stamp events with the import time)",
    )
}

/// An epoch number in `unit` → a timestamp (years 1000 to 9999).
pub fn timestamp_from_epoch(value: f64, unit: EpochUnit) -> Result<Timestamp, ValidationError> {
    let millis = (value * unit.millis_per_unit(value)).round();
    if !millis.is_finite() || millis.abs() > 1e15 {
        return Err(invalid_timestamp(
            &value.to_string(),
            "is not an epoch time within years 1000 to 9999",
        ));
    }
    Timestamp::from_millis(millis as i64).ok_or_else(|| {
        invalid_timestamp(
            &value.to_string(),
            "is not an epoch time within years 1000 to 9999",
        )
    })
}

/// A timestamp as files write them: RFC 3339 (`2024-03-01T12:00:00.5+01:00`), the same
/// without an offset (taken as UTC, like naive datetimes), with `HH:MM` only, with a `+0100`
/// or `+01` offset or a ` UTC` suffix, a bare date, or an epoch number in `unit`.
pub fn parse_timestamp(text: &str, unit: EpochUnit) -> Result<Timestamp, ValidationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(missing_timestamp());
    }
    if looks_numeric(trimmed) {
        return match trimmed.parse::<f64>() {
            Ok(n) => timestamp_from_epoch(n, unit),
            Err(_) => Err(invalid_timestamp(text, "is not a number")),
        };
    }
    if let Some(t) = Timestamp::parse(trimmed) {
        return Ok(t);
    }
    lenient_rfc3339(trimmed).and_then(|s| Timestamp::parse(&s)).ok_or_else(|| {
        invalid_timestamp(
            text,
            "is not a date-time (ISO 8601 / RFC 3339 such as 2024-03-01T12:00:00Z) nor an epoch number",
        )
    })
}

fn looks_numeric(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    !body.is_empty()
        && body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && !body.contains("--")
        && body.as_bytes().get(4) != Some(&b'-')
}

/// Rewrites the forms [`Timestamp::parse`] does not take into RFC 3339, or `None`.
fn lenient_rfc3339(s: &str) -> Option<String> {
    let s = s
        .strip_suffix(" UTC")
        .or_else(|| s.strip_suffix("UTC"))
        .map(|rest| format!("{}Z", rest.trim_end()))
        .unwrap_or_else(|| s.to_string());
    let (date, time) = s.split_at_checked(10)?;
    let sep = time.chars().next()?;
    if !matches!(sep, 'T' | 't' | ' ') {
        return None;
    }
    let time = &time[1..];
    // Split the clock from the zone: the zone starts at Z or at a sign after the clock.
    let zone_at = time
        .char_indices()
        .skip(5)
        .find(|(_, c)| matches!(c, 'Z' | 'z' | '+' | '-'))
        .map(|(i, _)| i)
        .unwrap_or(time.len());
    let (clock, zone) = time.split_at(zone_at);
    let clock = match clock.len() {
        5 => format!("{clock}:00"),
        _ => clock.to_string(),
    };
    let zone = match zone.len() {
        0 => "Z".to_string(),
        3 => format!("{zone}:00"),
        5 if !zone.contains(':') => format!("{}:{}", &zone[..3], &zone[3..]),
        _ => zone.to_string(),
    };
    Some(format!("{date}T{clock}{zone}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> String {
        parse_timestamp(text, EpochUnit::Auto).unwrap().to_string()
    }

    #[test]
    fn parses_rfc3339_and_the_forms_files_hold() {
        assert_eq!(ts("2024-03-01T12:00:00Z"), "2024-03-01T12:00:00.000Z");
        assert_eq!(
            ts("2024-03-01T12:00:00.5+01:00"),
            "2024-03-01T11:00:00.500Z"
        );
        assert_eq!(ts("2024-03-01 12:00:00"), "2024-03-01T12:00:00.000Z");
        assert_eq!(ts("2024-03-01T12:00"), "2024-03-01T12:00:00.000Z");
        assert_eq!(ts("2024-03-01 12:00:00.123456"), "2024-03-01T12:00:00.123Z");
        assert_eq!(ts("2024-03-01 12:00:00+0200"), "2024-03-01T10:00:00.000Z");
        assert_eq!(ts("2024-03-01 12:00:00-05"), "2024-03-01T17:00:00.000Z");
        assert_eq!(ts("2024-03-01 12:00:00 UTC"), "2024-03-01T12:00:00.000Z");
        assert_eq!(ts(" 2024-03-01 "), "2024-03-01T00:00:00.000Z");
    }

    #[test]
    fn epoch_numbers_in_any_unit() {
        let want = "2024-03-01T12:00:00.000Z";
        for text in [
            "1709294400",
            "1709294400.0",
            "1709294400000",
            "1709294400000000",
            "1709294400000000000",
            "1.7092944e9",
        ] {
            assert_eq!(ts(text), want, "{text}");
        }
        assert_eq!(
            parse_timestamp("1709294400000", EpochUnit::Millis)
                .unwrap()
                .to_string(),
            want
        );
        assert_eq!(
            timestamp_from_epoch(1_709_294_400.25, EpochUnit::Seconds)
                .unwrap()
                .to_string(),
            "2024-03-01T12:00:00.250Z"
        );
        // Explicit units win over the guess: 1000 ms is one second after the epoch.
        assert_eq!(
            timestamp_from_epoch(1000.0, EpochUnit::Millis).unwrap(),
            Timestamp(1000)
        );
        assert_eq!(EpochUnit::from_name("ms"), Some(EpochUnit::Millis));
        assert_eq!(EpochUnit::from_name("minutes"), None);
    }

    #[test]
    fn unparseable_timestamps_are_a_rule_quoting_the_value() {
        for bad in [
            "yesterday",
            "2024-13-01 00:00:00",
            "2024-02-30",
            "01/03/2024",
            "2024-03-01T25:00:00Z",
            "12:00",
            "1e400",
        ] {
            let err = parse_timestamp(bad, EpochUnit::Auto).unwrap_err();
            assert_eq!(err.code, "message.timestamp.invalid", "{bad}");
            assert_eq!(err.field, "timestamp");
        }
        let err = parse_timestamp(&"9".repeat(500), EpochUnit::Auto).unwrap_err();
        assert!(err.message.len() < 200, "{}", err.message);
        assert_eq!(
            parse_timestamp("  ", EpochUnit::Auto).unwrap_err().code,
            "message.timestamp.required"
        );
        assert!(timestamp_from_epoch(f64::NAN, EpochUnit::Seconds).is_err());
        assert!(timestamp_from_epoch(1e13, EpochUnit::Seconds).is_err());
    }
}
