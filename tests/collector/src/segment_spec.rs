//! Segment-spec batch endpoints: Dreamdata's `POST /v1/batch` and a generic
//! Segment destination at `POST /segment/v1/batch`.
//!
//! Both take HTTP Basic auth with the key as user name and an empty password,
//! a body of at most 500 KB (after gunzip), and a `batch` array of
//! identify/track/alias messages; Segment also takes page/group messages and
//! caps each message at 32 KB. `messageId` is the event identity.

use std::borrow::Cow;

use base64::Engine;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::api::{ApiRequest, Outcome, Spec};
use crate::config::{knows, CollectorConfig};
use crate::record::{identity, Identity};
use crate::validate::{canonical_json, non_empty_str, present};

/// Largest decompressed body, as documented by Dreamdata (500 KB).
pub const MAX_BATCH_BYTES: usize = 500_000;
/// Largest single message on the Segment endpoint (32 KB).
pub const MAX_SEGMENT_MESSAGE_BYTES: usize = 32_768;
const DREAMDATA_TYPES: [&str; 3] = ["identify", "track", "alias"];
const SEGMENT_TYPES: [&str; 5] = ["identify", "track", "alias", "page", "group"];

/// The message types `spec` accepts.
fn types(spec: Spec) -> &'static [&'static str] {
    match spec {
        Spec::Dreamdata => &DREAMDATA_TYPES,
        Spec::Segment => &SEGMENT_TYPES,
    }
}

/// The first field a message of `kind` needs that `filled` says is missing or empty, with the
/// problem as the answer words it; `None` when it has them all. The quick reading and the full
/// validation both ask it.
fn missing_field(
    kind: &str,
    filled: impl Fn(&str) -> bool,
) -> Option<(&'static str, &'static str)> {
    let user = filled("userId");
    if !user && !filled("anonymousId") {
        return Some(("userId", "userId or anonymousId is required"));
    }
    match kind {
        "track" if !filled("event") => Some(("event", "is required for track")),
        "alias" if !user => Some(("userId", "is required for alias")),
        "alias" if !filled("previousId") => Some(("previousId", "is required for alias")),
        "group" if !filled("groupId") => Some(("groupId", "is required for group")),
        _ => None,
    }
}

fn validation(message: String) -> Outcome {
    Outcome::reject(
        400,
        json!({"error": "validation_error", "message": message}),
    )
}

/// The user name of an `Authorization: Basic ...` header.
fn basic_user(req: &ApiRequest) -> Option<String> {
    let (scheme, encoded) = req.header("authorization")?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, _password) = text.split_once(':')?;
    Some(user.to_owned())
}

pub(crate) fn handle(config: &CollectorConfig, spec: Spec, req: &ApiRequest) -> Outcome {
    let keys = match spec {
        Spec::Dreamdata => &config.dreamdata_keys,
        Spec::Segment => &config.segment_keys,
    };
    if !basic_user(req).is_some_and(|user| knows(keys, &user)) {
        let message = "Missing or invalid key: use HTTP Basic auth with the key as user name";
        return Outcome::reject(401, json!({"error": "unauthorized", "message": message}));
    }
    if req.decoded_len > MAX_BATCH_BYTES {
        return Outcome::reject(413, json!({"error": "payload_too_large"}));
    }
    if let Some(identities) = req.raw().and_then(|raw| accept_quickly(raw, spec)) {
        return Outcome::accept_identities(json!({"success": true}), identities);
    }
    let body = match req.json() {
        Ok(body) => body,
        Err(message) => return validation(format!("body: {message}")),
    };
    match validate(body, spec) {
        Ok(identities) => Outcome::accept(json!({"success": true}), identities),
        Err(message) => validation(message),
    }
}

/// A request body read without building a JSON tree, in one pass: each message of `batch`
/// straight into the fields the rules look at, and checked against the spec's rules as it is
/// read (no list of messages is built). Reading fails at the first message the quick reading
/// cannot accept. Its value is the batch's identities.
struct QuickBody(Spec);

impl<'de> Visitor<'de> for QuickBody {
    type Value = Vec<Identity>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a batch body")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Identity>, A::Error> {
        let mut identities = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "batch" if identities.is_none() => {
                    identities = Some(map.next_value_seed(QuickBatch(self.0))?);
                }
                "batch" => return Err(de::Error::custom("batch given twice")),
                // Read only to check that they are strings.
                "messageId" | "sentAt" => {
                    map.next_value::<Option<Cow<'de, str>>>()?;
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        match identities {
            Some(identities) if !identities.is_empty() => Ok(identities),
            _ => Err(de::Error::custom("no batch, or an empty one")),
        }
    }
}

/// The `batch` array as the identities of its messages.
struct QuickBatch(Spec);

impl<'de> DeserializeSeed<'de> for QuickBatch {
    type Value = Vec<Identity>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<Identity>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for QuickBatch {
    type Value = Vec<Identity>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Identity>, A::Error> {
        let mut identities = Vec::new();
        while let Some(message) = seq.next_element::<QuickMessage<'de>>()? {
            match message.accepted(self.0) {
                Some(id) => identities.push(id),
                None => return Err(de::Error::custom("left to the full validation")),
            }
        }
        Ok(identities)
    }
}

/// A message of a quick reading. Every key the collector knows is listed (and counted by
/// [`QuickMessage::size_bound`]: a field added here must be added there), so a message with
/// any other is left to the full validation, whose size check counts all of it; maps are kept
/// as the raw JSON they arrived as, to be measured.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QuickMessage<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    message_id: Cow<'a, str>,
    #[serde(default, borrow)]
    user_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    anonymous_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    previous_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    group_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    sent_at: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    properties: Option<&'a RawValue>,
    #[serde(default, borrow)]
    traits: Option<&'a RawValue>,
    #[serde(default, borrow)]
    context: Option<&'a RawValue>,
}

impl QuickMessage<'_> {
    /// The message's identity if it passes every rule of `spec` and is well under the size
    /// limit.
    fn accepted(self, spec: Spec) -> Option<Identity> {
        if spec == Spec::Segment && self.size_bound() > MAX_SEGMENT_MESSAGE_BYTES / 2 {
            return None;
        }
        let filled = |field: &str| {
            let value = match field {
                "userId" => &self.user_id,
                "anonymousId" => &self.anonymous_id,
                "event" => &self.event,
                "previousId" => &self.previous_id,
                "groupId" => &self.group_id,
                _ => return false,
            };
            value.as_deref().is_some_and(|s| !s.is_empty())
        };
        let ok = types(spec).contains(&self.kind.as_ref())
            && missing_field(&self.kind, filled).is_none();
        ok.then(|| identity(&self.message_id))
    }

    /// At least the length of the message as the full validation writes it to measure it: a
    /// string there takes at most 6 bytes per byte read (`\u001f`), a map about its raw
    /// length (`1e2` is written `100.0`, so only one well under the limit is let through).
    fn size_bound(&self) -> usize {
        let strings = [
            Some(&self.kind),
            Some(&self.message_id),
            self.user_id.as_ref(),
            self.anonymous_id.as_ref(),
            self.event.as_ref(),
            self.name.as_ref(),
            self.previous_id.as_ref(),
            self.group_id.as_ref(),
            self.timestamp.as_ref(),
            self.sent_at.as_ref(),
        ];
        let maps = [self.properties, self.traits, self.context];
        // A key, its quotes, colon and comma: 16 bytes covers the longest (`anonymousId`).
        const MEMBER: usize = 16;
        let strings: usize = strings
            .iter()
            .flatten()
            .map(|s| 6 * s.len() + 2 + MEMBER)
            .sum();
        let maps: usize = maps.iter().flatten().map(|m| m.get().len() + MEMBER).sum();
        strings + maps + 2
    }
}

/// The identities of a batch that passes every rule, read the quick way; `None` whenever
/// anything is unusual (a missing messageId, a field of another type or unknown, a duplicate
/// key, a message near the size limit, a broken rule), and then [`validate`] decides and words
/// the answer. A collector that parsed every batch into a tree (or every message twice) spent
/// more CPU than the client it was measuring.
fn accept_quickly(raw: &[u8], spec: Spec) -> Option<Vec<Identity>> {
    // UTF-8 checked once for the whole body: read from bytes, serde_json checks each string
    // on its own, and thousands of short checks cost several times one long one.
    let text = std::str::from_utf8(raw).ok()?;
    let mut reader = serde_json::Deserializer::from_str(text);
    let identities = serde::Deserializer::deserialize_map(&mut reader, QuickBody(spec)).ok()?;
    reader.end().ok()?;
    Some(identities)
}

/// The identity of every message, or the first problem.
fn validate(body: &Value, spec: Spec) -> Result<Vec<String>, String> {
    let obj = body.as_object().ok_or("body: must be a JSON object")?;
    for field in ["messageId", "sentAt"] {
        if present(obj, field).is_some_and(|v| !v.is_string()) {
            return Err(format!("{field}: must be a string"));
        }
    }
    let batch = match obj.get("batch") {
        Some(Value::Array(batch)) if !batch.is_empty() => batch,
        Some(Value::Array(_)) => return Err("batch: must not be empty".to_owned()),
        None | Some(Value::Null) => return Err("batch: is required".to_owned()),
        Some(_) => return Err("batch: must be an array".to_owned()),
    };
    batch
        .iter()
        .enumerate()
        .map(|(i, message)| validate_message(message, i, spec))
        .collect()
}

fn validate_message(message: &Value, index: usize, spec: Spec) -> Result<String, String> {
    let at = |field: &str, problem: &str| format!("batch[{index}].{field}: {problem}");
    let obj = message
        .as_object()
        .ok_or_else(|| format!("batch[{index}]: must be an object"))?;
    let types = types(spec);
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    if !types.contains(&kind) {
        return Err(at("type", &format!("must be one of {}", types.join(", "))));
    }
    check_ids(obj, kind, &at)?;
    for field in ["messageId", "timestamp", "sentAt"] {
        if present(obj, field).is_some_and(|v| !v.is_string()) {
            return Err(at(field, "must be a string"));
        }
    }
    if spec == Spec::Segment {
        let size = json_len(message);
        if size > MAX_SEGMENT_MESSAGE_BYTES {
            return Err(format!(
                "batch[{index}]: message must be at most {MAX_SEGMENT_MESSAGE_BYTES} bytes (got {size})"
            ));
        }
    }
    Ok(match obj.get("messageId").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => canonical_json(message),
    })
}

/// The length of `value` as compact JSON, counted without building the text.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Who the message is about, and the fields its type requires.
fn check_ids(
    obj: &Map<String, Value>,
    kind: &str,
    at: &dyn Fn(&str, &str) -> String,
) -> Result<(), String> {
    for field in ["userId", "anonymousId"] {
        if present(obj, field).is_some_and(|v| !v.is_string()) {
            return Err(at(field, "must be a string"));
        }
    }
    match missing_field(kind, |field| non_empty_str(obj.get(field)).is_some()) {
        Some((field, problem)) => Err(at(field, problem)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the quick reading accepts, the full validation accepts with the same
    /// identities; what it passes on, the full validation decides.
    #[test]
    fn the_quick_reading_agrees_with_the_full_validation() {
        let big = "x".repeat(MAX_SEGMENT_MESSAGE_BYTES / 2);
        let bodies = [
            (
                r#"{"batch":[{"type":"track","messageId":"a","anonymousId":"v","event":"e","properties":{"n":1e2}},{"type":"identify","messageId":"b\u0041","userId":"u","traits":{}}],"sentAt":"2026-01-01T00:00:00.000Z"}"#,
                Some(vec!["a", "bA"]),
            ),
            (
                r#"{"batch":[{"type":"alias","messageId":"c","userId":"u","previousId":"p"},{"type":"group","messageId":"d","userId":"u","groupId":"g"},{"type":"page","messageId":"e","anonymousId":"v"}]}"#,
                Some(vec!["c", "d", "e"]),
            ),
            // Left to the full validation: a message without messageId gets its canonical JSON
            // as identity; the others break a rule or have a field of another type.
            (
                r#"{"batch":[{"type":"track","anonymousId":"v","event":"e"}]}"#,
                None,
            ),
            (
                r#"{"batch":[{"type":"track","messageId":"a","anonymousId":"v"}]}"#,
                None,
            ),
            (
                r#"{"batch":[{"type":"track","messageId":"a","userId":5,"anonymousId":"v","event":"e"}]}"#,
                None,
            ),
            (
                r#"{"batch":[{"type":"track","messageId":"a","anonymousId":"","event":"e"}]}"#,
                None,
            ),
            (
                r#"{"batch":[{"type":"screen","messageId":"a","anonymousId":"v"}]}"#,
                None,
            ),
            (
                r#"{"batch":[{"type":"alias","messageId":"a","anonymousId":"v","previousId":"p"}]}"#,
                None,
            ),
            (
                r#"{"batch":[{"type":"track","type":"track","messageId":"a","anonymousId":"v","event":"e"}]}"#,
                None,
            ),
            // A key the quick reading does not know: its size would go uncounted.
            (
                r#"{"batch":[{"type":"track","messageId":"a","anonymousId":"v","event":"e","integrations":{"All":true}}]}"#,
                None,
            ),
            (r#"{"batch":[],"sentAt":"x"}"#, None),
            (
                r#"{"batch":[{"type":"track","messageId":"a","anonymousId":"v","event":"e"}],"sentAt":7}"#,
                None,
            ),
            (
                r#"[{"type":"track","messageId":"a","anonymousId":"v","event":"e"}]"#,
                None,
            ),
        ];
        for (body, expected) in bodies {
            let quick = accept_quickly(body.as_bytes(), Spec::Segment);
            let expected: Option<Vec<Identity>> =
                expected.map(|ids| ids.into_iter().map(identity).collect());
            assert_eq!(quick, expected, "{body}");
            let full = validate(&serde_json::from_str(body).unwrap(), Spec::Segment);
            if let Some(ids) = quick {
                let full: Result<Vec<Identity>, String> =
                    full.map(|ids| ids.iter().map(|id| identity(id)).collect());
                assert_eq!(full, Ok(ids), "{body}");
            }
        }
        let large = format!(
            r#"{{"batch":[{{"type":"track","messageId":"a","anonymousId":"v","event":"e","properties":{{"p":"{big}"}}}}]}}"#
        );
        assert_eq!(accept_quickly(large.as_bytes(), Spec::Segment), None);
        // Bytes that are not UTF-8 anywhere in the body are left to the full validation.
        let mut broken =
            br#"{"batch":[{"type":"track","messageId":"a","anonymousId":"v","event":"e"}]}"#
                .to_vec();
        assert!(accept_quickly(&broken, Spec::Segment).is_some());
        broken[46] = 0xff;
        assert_eq!(accept_quickly(&broken, Spec::Segment), None);
        assert!(accept_quickly(large.as_bytes(), Spec::Dreamdata).is_some());
        // A long string counts as what it may become once escaped (6 bytes a byte).
        let long_name = "x".repeat(MAX_SEGMENT_MESSAGE_BYTES / 12 + 1);
        let named = format!(
            r#"{{"batch":[{{"type":"track","messageId":"a","anonymousId":"v","event":"{long_name}"}}]}}"#
        );
        assert_eq!(accept_quickly(named.as_bytes(), Spec::Segment), None);
        assert!(accept_quickly(named.as_bytes(), Spec::Dreamdata).is_some());
        // The size bound is never below the message's own length as the full check counts it.
        let typical = r#"{"type":"track","messageId":"a","anonymousId":"v","event":"e","properties":{"n":1},"context":{"ip":"1.2.3.4"},"timestamp":"2026-01-01T00:00:00.000Z"}"#;
        let message: QuickMessage = serde_json::from_str(typical).unwrap();
        assert!(message.size_bound() >= json_len(&serde_json::from_str(typical).unwrap()));
    }
}
