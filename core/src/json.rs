//! A small JSON writer for the hot encoders: the same bytes `serde_json` writes (same escapes,
//! same number formatting, keys in map order), without going through `Serializer` for every
//! key and value. Strings that need no escaping — nearly all of them — are checked eight bytes
//! at a time and copied in one go.

use serde_json::{Map, Number, Value};

use crate::time::Timestamp;

/// Writes `s` as a JSON string, quotes included.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    match first_escape(bytes) {
        None => extend(out, bytes),
        Some(at) => {
            extend(out, &bytes[..at]);
            push_escaped(out, &bytes[at..]);
        }
    }
    out.push(b'"');
}

/// Appends `bytes`. Most pieces of an event (keys, short values) are a few bytes, for which
/// a `memcpy` call costs more than the copy: 4 to 16 bytes are copied inline as two words
/// that overlap in the middle (a tenth of the encoder's time went to `memcpy` calls before).
#[inline]
fn extend(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if !(4..=16).contains(&len) {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(len);
    // SAFETY: `reserve` made room for `len` more bytes after `out.len()`; 4 <= len <= 16, so
    // the word size chosen is at most `len` (see `copy_two`).
    unsafe {
        let dst = out.as_mut_ptr().add(out.len());
        if len >= 8 {
            copy_two::<u64>(bytes.as_ptr(), dst, len);
        } else {
            copy_two::<u32>(bytes.as_ptr(), dst, len);
        }
        out.set_len(out.len() + len);
    }
}

/// Copies `len` bytes as two words of type `W`, one at the start and one ending at `len`:
/// together they cover all of them when `len <= 2 * size_of::<W>()`. Unaligned reads and
/// writes of plain bytes.
///
/// # Safety
/// `size_of::<W>() <= len <= 2 * size_of::<W>()`, `src` readable and `dst` writable for `len`
/// bytes.
#[inline(always)]
unsafe fn copy_two<W: Copy>(src: *const u8, dst: *mut u8, len: usize) {
    let at = len - std::mem::size_of::<W>();
    dst.cast::<W>()
        .write_unaligned(src.cast::<W>().read_unaligned());
    dst.add(at)
        .cast::<W>()
        .write_unaligned(src.add(at).cast::<W>().read_unaligned());
}

#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Where escaping must start, if anything needs it: eight bytes at a time (SWAR), the tail as
/// a last overlapping word. Returns the start of the word that holds the first such byte, at
/// or before it: the slow path copies clean bytes as they are.
#[inline]
fn first_escape(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Exact "does any byte ..." tests (Hacker's Delight): a byte below n, or a zero byte.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS;
    let zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS;
    let dirty = |at: usize| {
        let w = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
        below(w, 0x20) | zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\')))
            != 0
    };
    if bytes.len() < 8 {
        return bytes.iter().position(|&b| needs_escape(b));
    }
    let mut at = 0;
    while at + 8 <= bytes.len() {
        if dirty(at) {
            return Some(at);
        }
        at += 8;
    }
    // The tail as one last word that overlaps the one before.
    let last = bytes.len() - 8;
    (at < bytes.len() && dirty(last)).then_some(last)
}

/// The slow path, from the first byte that needs an escape: serde_json's escapes exactly
/// (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other controls as `\u00XX`).
fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !needs_escape(b) {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Writes any JSON value.
pub fn push_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => push_number(out, n),
        Value::String(s) => push_str(out, s),
        Value::Array(items) => push_array(out, items, push_value),
        Value::Object(map) => push_map(out, map),
    }
}

/// Writes a number as serde_json does, with the formatters it uses (itoa for integers, zmij
/// for floats, which a JSON number always holds finite), without going through its
/// `Serializer` and `io::Write` layers.
fn push_number(out: &mut Vec<u8>, n: &Number) {
    if n.is_f64() {
        if let Some(f) = n.as_f64() {
            extend(out, zmij::Buffer::new().format_finite(f).as_bytes());
        }
    } else if let Some(u) = n.as_u64() {
        extend(out, itoa::Buffer::new().format(u).as_bytes());
    } else if let Some(i) = n.as_i64() {
        extend(out, itoa::Buffer::new().format(i).as_bytes());
    }
}

/// Writes a timestamp as a JSON string in RFC 3339 (nothing in it to escape).
pub fn push_timestamp(out: &mut Vec<u8>, timestamp: Timestamp) {
    out.push(b'"');
    timestamp.write_rfc3339(out);
    out.push(b'"');
}

/// Writes an array, each item as `write` writes it.
pub fn push_array<T>(out: &mut Vec<u8>, items: &[T], mut write: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// Writes an object, keys in the map's order.
pub fn push_map(out: &mut Vec<u8>, map: &Map<String, Value>) {
    let mut object = Object::open(out);
    for (key, value) in map {
        object.value(key, value);
    }
    object.close();
}

/// An object being written: members are separated by commas as they come.
pub struct Object<'a> {
    pub out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    pub fn open(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, first: true }
    }

    /// Writes `"key":` for one of the encoder's own key names (nothing in them to escape) and
    /// leaves the value to the caller.
    pub fn field(&mut self, key: &'static str) -> &mut Vec<u8> {
        debug_assert!(first_escape(key.as_bytes()).is_none(), "{key:?}");
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        extend(self.out, key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// Writes `"key":` for any key and leaves the value to the caller.
    pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        push_str(self.out, key);
        self.out.push(b':');
        self.out
    }

    pub fn str(&mut self, key: &str, value: &str) {
        let out = self.key(key);
        push_str(out, value);
    }

    pub fn value(&mut self, key: &str, value: &Value) {
        let out = self.key(key);
        push_value(out, value);
    }

    /// [`Object::str`] under one of the encoder's own key names.
    pub fn field_str(&mut self, key: &'static str, value: &str) {
        let out = self.field(key);
        push_str(out, value);
    }

    pub fn close(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn written(value: &Value) -> String {
        let mut out = Vec::new();
        push_value(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let value = json!({
            "plain": "ORD-1234",
            "long": "a string longer than sixteen bytes, with \"quotes\" late in it",
            "controls": "\u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}",
            "unicode": "café ☕ 𝄞 / </script>",
            "numbers": [0, -1, 18446744073709551615u64, 1.5, -0.0, 1e300, 2.5e-8],
            "nested": {"a": [true, false, null, {}], "b": []},
        });
        assert_eq!(written(&value), serde_json::to_string(&value).unwrap());
    }

    #[test]
    fn extend_appends_any_length_exactly() {
        let source: Vec<u8> = (0..200u8).collect();
        for len in 0..=source.len() {
            let mut out = b"ab".to_vec();
            extend(&mut out, &source[..len]);
            assert_eq!(&out[..2], b"ab");
            assert_eq!(&out[2..], &source[..len], "{len}");
        }
    }

    proptest! {
        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(s in any::<String>()) {
            let mut out = Vec::new();
            push_str(&mut out, &s);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn any_number_is_written_as_serde_json_writes_it(
            f in any::<f64>().prop_filter("finite", |f| f.is_finite()),
            i in any::<i64>(),
            u in any::<u64>(),
        ) {
            for value in [json!(f), json!(i), json!(u), json!(f as f32), json!(i >> 40)] {
                prop_assert_eq!(written(&value), serde_json::to_string(&value).unwrap());
            }
        }

        #[test]
        fn ascii_with_escapes_anywhere_matches_serde_json(s in "[ -~\"\\\\\n\t\u{0}-\u{1f}]{0,80}") {
            let mut out = Vec::new();
            push_str(&mut out, &s);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }
    }
}
