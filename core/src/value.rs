//! Checks on JSON values that every destination and both bindings share: nesting depth,
//! finite numbers, control characters, UUID shape. Bindings convert host values through
//! these so a NaN or a 10,000-deep structure fails with the same code in Python and Node.

use serde_json::{Map, Number, Value};

use crate::error::ValidationError;

/// Deepest nesting accepted in properties, traits and context. Collectors index flat or
/// shallow objects; anything deeper is almost always a bug (or a cycle being unrolled).
pub const MAX_DEPTH: usize = 32;

pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// True for C0 controls, DEL and C1 controls: never meaningful in names or ids.
pub fn contains_control(text: &str) -> bool {
    // C0 controls and DEL are single bytes; C1 controls (U+0080 to U+009F) start with 0xC2.
    // A branch-free pass over the bytes (vectorized) decides for nearly every text; only one
    // with a 0xC2 byte is decoded.
    let suspect = text
        .bytes()
        .fold(false, |any, b| any | (b < 0x20) | (b == 0x7f) | (b == 0xc2));
    suspect && text.chars().any(char::is_control)
}

/// A JSON number from a float; NaN and the infinities have no JSON form and are refused
/// with the path of the value.
pub fn finite_number(value: f64, path: &str) -> Result<Value, ValidationError> {
    Number::from_f64(value).map(Value::Number).ok_or_else(|| {
        ValidationError::new(
            "value.not_finite",
            "message",
            path,
            format!("{value} cannot be sent: JSON has no NaN or Infinity"),
        )
    })
}

/// The error bindings raise when a structure nests deeper than [`MAX_DEPTH`] (which is
/// also how a circular structure shows up when it is not caught earlier).
pub fn too_deep(path: &str) -> ValidationError {
    ValidationError::new(
        "value.too_deep",
        "message",
        path,
        format!("nests deeper than {MAX_DEPTH} levels (is it circular?)"),
    )
}

pub fn check_map_depth(map: &Map<String, Value>, field: &str) -> Result<(), ValidationError> {
    for (key, value) in map {
        if nested_depth(value, 1) > MAX_DEPTH {
            return Err(too_deep(&format!("{field}.{key}")));
        }
    }
    Ok(())
}

pub fn check_depth(value: &Value, field: &str) -> Result<(), ValidationError> {
    if nested_depth(value, 0) > MAX_DEPTH {
        return Err(too_deep(field));
    }
    Ok(())
}

/// Depth of `value` counted from `depth`, stopping early once past the limit so a hostile
/// structure costs at most MAX_DEPTH levels of recursion per branch.
fn nested_depth(value: &Value, depth: usize) -> usize {
    if depth > MAX_DEPTH {
        return depth;
    }
    let children = match value {
        Value::Array(items) => items.iter().map(|v| nested_depth(v, depth + 1)).max(),
        Value::Object(map) => map.values().map(|v| nested_depth(v, depth + 1)).max(),
        _ => None,
    };
    children.unwrap_or(depth)
}

/// Canonical 8-4-4-4-12 hexadecimal UUID text (any version).
/// At most 64 characters of a caller's value, for quoting it in an error message: a field that
/// should hold a UUID or an address can hold a megabyte, and errors end up in logs.
pub fn preview(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

pub fn is_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The string a collector that "casts scalars to strings" would store: numbers as written,
/// booleans as `true`/`false`. `None` for null, arrays and objects.
pub fn scalar_to_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nan_and_infinity_are_refused_with_their_path() {
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = finite_number(f, "properties.amount").unwrap_err();
            assert_eq!(err.code, "value.not_finite");
            assert_eq!(err.field, "properties.amount");
        }
        assert_eq!(finite_number(1.5, "x").unwrap(), json!(1.5));
    }

    #[test]
    fn deep_nesting_is_refused_with_the_top_key() {
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!({ "a": deep });
        }
        let map = json!({ "nested": deep }).as_object().unwrap().clone();
        let err = check_map_depth(&map, "properties").unwrap_err();
        assert_eq!(err.code, "value.too_deep");
        assert_eq!(err.field, "properties.nested");
        let shallow = json!({ "a": { "b": [1, 2, { "c": 3 }] } });
        assert!(check_map_depth(shallow.as_object().unwrap(), "properties").is_ok());
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("550e8400-e29b-41d4-a716-446655440000"));
        assert!(!is_uuid("550e8400e29b41d4a716446655440000"));
        assert!(!is_uuid("not-a-uuid"));
        assert!(!is_uuid("550e8400-e29b-41d4-a716-44665544000g"));
    }

    #[test]
    fn scalars_become_the_strings_a_collector_would_store() {
        assert_eq!(scalar_to_string(&json!(49.99)).unwrap(), "49.99");
        assert_eq!(scalar_to_string(&json!(3)).unwrap(), "3");
        assert_eq!(scalar_to_string(&json!(true)).unwrap(), "true");
        assert_eq!(scalar_to_string(&json!(null)), None);
        assert_eq!(scalar_to_string(&json!({})), None);
    }
}
