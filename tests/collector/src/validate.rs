//! Small checks shared by the API modules.
//!
//! Each API phrases its errors differently, so these helpers only answer
//! yes/no questions about JSON values; the wording stays with each API.

use serde_json::{Map, Value};

/// The field's value, treating an explicit `null` like a missing field: the
/// collectors' own SDK examples send `"visitor_id": null` for "not known".
pub(crate) fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// The value as a non-empty string, if it is one.
pub(crate) fn non_empty_str(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// True for the canonical 8-4-4-4-12 hexadecimal UUID form (any version).
pub(crate) fn is_uuid(s: &str) -> bool {
    const HYPHENS: [usize; 4] = [8, 13, 18, 23];
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if HYPHENS.contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// True for an RFC 3339 date-time such as `2022-11-09T23:57:14.776Z`.
pub(crate) fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') {
        return false;
    }
    let date_ok = digits(&b[0..4]).is_some()
        && b[4] == b'-'
        && in_range(&b[5..7], 1, 12)
        && b[7] == b'-'
        && in_range(&b[8..10], 1, 31);
    let time_ok = in_range(&b[11..13], 0, 23)
        && b[13] == b':'
        && in_range(&b[14..16], 0, 59)
        && b[16] == b':'
        && in_range(&b[17..19], 0, 60);
    date_ok && time_ok && is_fraction_and_offset(&b[19..])
}

fn is_fraction_and_offset(rest: &[u8]) -> bool {
    let rest = match rest.split_first() {
        Some((b'.', frac)) => {
            let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return false;
            }
            &frac[n..]
        }
        _ => rest,
    };
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            in_range(&[*h1, *h2], 0, 23) && in_range(&[*m1, *m2], 0, 59)
        }
        _ => false,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn in_range(b: &[u8], lo: u32, hi: u32) -> bool {
    digits(b).is_some_and(|n| (lo..=hi).contains(&n))
}

/// A key-order-independent JSON string, used as an event's identity when the
/// API has no message id: two events are "the same" when their JSON is.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                write_canonical(val, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uuid_needs_the_hyphenated_form() {
        assert!(is_uuid("3e6a2c18-3b02-40c4-b8d2-1842c193d3ba"));
        assert!(!is_uuid("3e6a2c183b0240c4b8d21842c193d3ba"));
        assert!(!is_uuid("3e6a2c18-3b02-40c4-b8d2-1842c193d3bz"));
    }

    #[test]
    fn rfc3339_accepts_zulu_offsets_and_fractions() {
        assert!(is_rfc3339("2022-11-09T23:57:14.776Z"));
        assert!(is_rfc3339("2022-11-09T23:57:14+02:00"));
        assert!(!is_rfc3339("2022-11-09"));
        assert!(!is_rfc3339("2022-13-09T23:57:14Z"));
        assert!(!is_rfc3339("2022-11-09T23:57:14"));
        assert!(!is_rfc3339("2022-11-09T23:57:14.Z"));
    }

    #[test]
    fn canonical_json_ignores_key_order() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b = json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":"s","y":[1,2]},"b":1}"#);
    }
}
