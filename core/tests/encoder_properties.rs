//! Whatever a caller passes, every destination's encoder either refuses it with a clean
//! error or produces bytes its collector can take: valid JSON, within the per-event limit,
//! and requests the batcher can size in advance.
//!
//! The request-size model checked here is the one `pipeline/batch.rs` budgets with: a
//! request is at most its group's envelope (serialized) plus [`ENVELOPE_SLACK`], the events'
//! bytes and one separator between events. If that fits `max_request_bytes`, the request does.

use std::collections::BTreeMap;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{json, Map, Number, Value};
use tracklane_core::destinations::{Encoded, Request};
use tracklane_core::{
    Context, Destination, DestinationConfig, Kind, Message, Timestamp, ValidationError,
};

/// Bytes `pipeline/batch.rs` keeps free around the events for what `request()` adds.
const ENVELOPE_SLACK: usize = 128;
/// An error may quote a validated id (at most 255 characters), never a whole payload: errors
/// end up in logs, reports and exceptions.
const MAX_ERROR_MESSAGE_BYTES: usize = 2_048;
/// Cases per destination: enough to reach every branch, few enough to run in seconds.
const CASES: u32 = 256;

/// Every destination kind, configured as a user would (the two Tracardi forms separately).
fn destination(kind: &str) -> Arc<dyn Destination> {
    let config = match kind {
        "webanalyzer" => json!({"type": "webanalyzer", "api_key": "k-0123456789", "website_id": 1}),
        "koala" => json!({"type": "koala", "public_key": "pk_test"}),
        "silktide" => {
            json!({"type": "silktide", "property_key": "8bce2be8c07a84a70e7104634b42878b",
                             "endpoint_url": "https://a.eu.silktide.com/v1/events"})
        }
        "tracardi" => json!({"type": "tracardi", "base_url": "https://tracardi.example.com",
                             "source_id": "source-id", "options": {"saveEvents": true}}),
        "tracardi-collect" => {
            json!({"type": "tracardi", "base_url": "https://tracardi.example.com",
                                     "source_id": "source id/1", "collect": true})
        }
        "dreamdata" => json!({"type": "dreamdata", "api_key": "abc123"}),
        "segment" => json!({"type": "segment", "write_key": "wk"}),
        "file" => json!({"type": "file", "path": "/nonexistent/tracklane-properties.jsonl"}),
        "stdout" => json!({"type": "stdout"}),
        other => panic!("unknown kind {other}"),
    };
    DestinationConfig::from_json_with_env(config, &Default::default())
        .and_then(|c| c.build())
        .unwrap_or_else(|e| panic!("{kind}: {e}"))
}

const HTTP_KINDS: [&str; 7] = [
    "webanalyzer",
    "koala",
    "silktide",
    "tracardi",
    "tracardi-collect",
    "dreamdata",
    "segment",
];

// ------------------------------------------------------------------ strategies

/// Names, values and keys: plain, arbitrary unicode (control characters included), empty,
/// blank, and long (past the name, id and Web Analyzer value limits some of the time).
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_ .-]{1,24}",
        2 => vec(any::<char>(), 0..40).prop_map(|c| c.into_iter().collect()),
        1 => Just(String::new()),
        1 => vec(prop::sample::select(vec!['\0', '\t', '\n', '\r', '\u{1f}', '\u{7f}', '\u{85}', ' ']), 1..6)
            .prop_map(|c| c.into_iter().collect()),
        1 => (1usize..600, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
    .boxed()
}

/// Text that is sometimes very long: 16 to 300 KB, around every destination's per-event
/// limit. Used in a few places only, so a case stays cheap.
fn maybe_huge_text() -> BoxedStrategy<String> {
    prop_oneof![
        12 => text(),
        1 => (16_000usize..300_000, prop::sample::select(vec!["x", "é", "😀", "\u{1}"]))
            .prop_map(|(bytes, unit)| unit.repeat(bytes / unit.len())),
    ]
    .boxed()
}

/// Ids: valid UUIDs most of the time (so messages get past the id rules), the documented
/// `cookieless`, UUID look-alikes, arbitrary text and ids over the length limit.
fn id() -> BoxedStrategy<String> {
    prop_oneof![
        8 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
        2 => "[a-zA-Z0-9_-]{1,24}",
        1 => Just("cookieless".to_string()),
        1 => "[0-9a-fA-FgG-]{30,40}",
        1 => text(),
        1 => (250usize..260).prop_map(|n| "i".repeat(n)),
    ]
    .boxed()
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ]
    .boxed()
}

/// Arbitrary JSON, plus straight chains of objects and arrays up to 48 deep (past MAX_DEPTH).
fn json_value() -> BoxedStrategy<Value> {
    let tree = leaf().prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((text(), inner), 0..6).prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    });
    let chain = (0usize..48, leaf(), any::<bool>()).prop_map(|(depth, mut value, arrays)| {
        for level in 0..depth {
            value = if arrays && level % 2 == 0 {
                Value::Array(vec![value])
            } else {
                json!({ "k": value })
            };
        }
        value
    });
    prop_oneof![10 => tree, 1 => chain].boxed()
}

/// Properties and traits: empty, flat (what Web Analyzer takes), or up to 13 arbitrary
/// members plus one member whose value may be huge.
fn object() -> BoxedStrategy<Map<String, Value>> {
    let scalar = prop_oneof![
        4 => text().prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
    ];
    prop_oneof![
        1 => Just(Map::new()),
        2 => vec(("[a-z_]{1,12}", scalar), 0..12).prop_map(|pairs| pairs.into_iter().collect()),
        4 => (vec((text(), json_value()), 0..13), text(), maybe_huge_text()).prop_map(|(pairs, key, value)| {
            let mut map: Map<String, Value> = pairs.into_iter().collect();
            map.insert(key, Value::String(value));
            map
        }),
    ]
    .boxed()
}

fn ip() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => any::<[u8; 4]>().prop_map(|b| Value::String(std::net::Ipv4Addr::from(b).to_string())),
        2 => any::<u128>().prop_map(|n| Value::String(std::net::Ipv6Addr::from(n).to_string())),
        2 => text().prop_map(Value::String),
        1 => leaf(),
    ]
    .boxed()
}

/// A context object as callers write it, wrong types included.
fn context() -> BoxedStrategy<Map<String, Value>> {
    let string_or_junk =
        |text: BoxedStrategy<String>| prop_oneof![6 => text.prop_map(Value::String), 1 => leaf()];
    (
        proptest::option::weighted(0.8, ip()),
        proptest::option::weighted(0.8, string_or_junk(maybe_huge_text())),
        proptest::option::weighted(0.5, string_or_junk(maybe_huge_text())),
        proptest::option::weighted(0.3, string_or_junk(text())),
        proptest::option::weighted(
            0.4,
            prop_oneof![
                4 => (0u64..5_000).prop_map(Value::from),
                1 => leaf(),
            ],
        ),
        proptest::option::weighted(0.2, prop_oneof![object().prop_map(Value::Object), leaf()]),
        proptest::option::weighted(0.2, json_value()),
        vec((text(), json_value()), 0..4),
        any::<bool>(),
    )
        .prop_map(
            |(ip, agent, url, referrer, width, campaign, library, extra, segment_keys)| {
                let mut map = Map::new();
                let (agent_key, width_key) = if segment_keys {
                    ("userAgent", "viewWidth")
                } else {
                    ("user_agent", "view_width")
                };
                for (key, value) in [
                    ("ip", ip),
                    (agent_key, agent),
                    ("url", url),
                    ("referrer", referrer),
                    (width_key, width),
                    ("campaign", campaign),
                    ("library", library),
                ] {
                    if let Some(value) = value {
                        map.insert(key.to_string(), value);
                    }
                }
                map.extend(extra);
                map
            },
        )
        .boxed()
}

fn kind() -> BoxedStrategy<Kind> {
    prop_oneof![
        6 => Just(Kind::Track),
        2 => Just(Kind::Identify),
        1 => Just(Kind::Alias),
        1 => Just(Kind::Page),
        1 => Just(Kind::Group),
    ]
    .boxed()
}

fn timestamp() -> BoxedStrategy<Option<Timestamp>> {
    proptest::option::of(
        (-30_610_224_000_000i64..=253_402_300_799_999)
            .prop_map(|ms| Timestamp::from_millis(ms).expect("in range")),
    )
    .boxed()
}

/// A message built the way bindings build one: the context goes through
/// `Context::from_json`, which may refuse it (that is a result too).
fn message() -> BoxedStrategy<Result<Message, ValidationError>> {
    (
        (
            kind(),
            proptest::option::weighted(
                0.9,
                prop_oneof![3 => "[a-zA-Z][a-zA-Z0-9_ ]{0,30}", 1 => text()],
            ),
            object(),
            object(),
        ),
        (
            proptest::option::of(id()),
            proptest::option::weighted(0.7, id()),
            proptest::option::of(id()),
            proptest::option::of(id()),
            proptest::option::of(id()),
        ),
        (context(), timestamp(), proptest::option::of(id())),
        proptest::option::weighted(0.2, text()),
    )
        .prop_map(
            |(
                (kind, event, properties, mut traits),
                ids,
                (context, timestamp, message_id),
                email,
            )| {
                let mut message = Message::new(kind);
                message.event = event;
                message.properties = properties;
                if let Some(email) = email {
                    traits.insert("email".into(), Value::String(email));
                }
                message.traits = traits;
                (
                    message.user_id,
                    message.anonymous_id,
                    message.previous_id,
                    message.group_id,
                    message.session_id,
                ) = ids;
                message.context = Context::from_json(context)?;
                if let Some(t) = timestamp {
                    message.timestamp = t;
                }
                if let Some(id) = message_id {
                    message.message_id = id;
                }
                Ok(message)
            },
        )
        .boxed()
}

// ------------------------------------------------------------------ checks

/// The uncompressed body of a request (gunzipped when it says `content-encoding: gzip`).
fn plain_body(request: &Request) -> Vec<u8> {
    if request.header("content-encoding") != Some("gzip") {
        return request.body.clone();
    }
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&request.body[..])
        .read_to_end(&mut plain)
        .expect("a gzip'd body gunzips");
    plain
}

fn envelope_bytes(encoded: &Encoded) -> usize {
    serde_json::to_string(&encoded.group().envelope)
        .expect("envelope serializes")
        .len()
}

/// A request body is JSON (one document, or one per line for the local sinks).
fn assert_request_json(dest: &dyn Destination, body: &[u8]) -> Result<(), TestCaseError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| TestCaseError::fail(format!("{}: body not UTF-8: {e}", dest.kind())))?;
    let documents: Vec<&str> = if matches!(dest.kind(), "file" | "stdout") {
        text.lines().collect()
    } else {
        vec![text]
    };
    for document in documents {
        let parsed: Result<Value, _> = serde_json::from_str(document);
        prop_assert!(
            parsed.is_ok(),
            "{}: request body is not JSON: {:?}",
            dest.kind(),
            parsed.err()
        );
    }
    Ok(())
}

fn assert_clean_error(
    dest: &dyn Destination,
    error: &ValidationError,
    from_validate: bool,
) -> Result<(), TestCaseError> {
    if from_validate {
        prop_assert!(
            error.code.starts_with("message.") || error.code.starts_with("value."),
            "validate() gave {}",
            error.code
        );
        prop_assert_eq!(error.destination.as_str(), "message");
    } else {
        prop_assert!(
            error.code.starts_with(&format!("{}.", dest.kind())),
            "{} gave {}",
            dest.kind(),
            error.code
        );
        prop_assert_eq!(error.destination.as_str(), dest.name());
    }
    prop_assert!(!error.field.is_empty());
    prop_assert!(
        error.message.len() <= MAX_ERROR_MESSAGE_BYTES,
        "error message of {} bytes",
        error.message.len()
    );
    Ok(())
}

/// Encodes every message (valid or not: `encode` must not panic on anything) and checks the
/// accepted encodings of valid messages, alone and batched.
fn check_destination(
    kind: &str,
    messages: Vec<Result<Message, ValidationError>>,
) -> Result<(), TestCaseError> {
    let dest = destination(kind);
    let limits = dest.limits();
    let mut accepted: BTreeMap<String, Vec<Encoded>> = BTreeMap::new();
    for message in messages {
        let mut message = match message {
            Ok(message) => message,
            Err(error) => {
                assert_clean_error(&*dest, &error, true)?;
                continue;
            }
        };
        message.normalize();
        let valid = message.validate();
        if let Err(error) = &valid {
            assert_clean_error(&*dest, error, true)?;
        }
        let peers_storage = peers_for(&message, kind);
        let peers: Vec<(&str, &str)> = peers_storage
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_str()))
            .collect();
        let encoded = dest.encode(&message, &peers);
        if valid.is_err() {
            continue;
        }
        let encoded = match encoded {
            Ok(Some(encoded)) => encoded,
            Ok(None) => continue,
            Err(error) => {
                assert_clean_error(&*dest, &error, false)?;
                continue;
            }
        };
        if encoded.body.is_empty() {
            prop_assert!(
                kind == "koala" && message.kind == Kind::Identify,
                "{kind}: empty body"
            );
        } else {
            let parsed: Result<Value, _> = serde_json::from_str(&encoded.body);
            prop_assert!(
                parsed.is_ok(),
                "{}: event body is not JSON: {:?}",
                kind,
                parsed.err()
            );
        }
        prop_assert!(
            encoded.body.len() <= limits.max_event_bytes,
            "{kind}: {} bytes",
            encoded.body.len()
        );
        // Alone, an accepted event always fits in a request.
        let alone = dest.request(encoded.group(), &[&encoded.body], message.timestamp);
        let alone_bytes = plain_body(&alone).len();
        prop_assert!(
            alone_bytes <= limits.max_request_bytes,
            "{kind}: one event makes a {alone_bytes}-byte request"
        );
        accepted
            .entry(encoded.group().key.clone())
            .or_default()
            .push(encoded);
    }
    for (key, group) in &accepted {
        // One key, one envelope: the request is built from the first event's group.
        for other in &group[1..] {
            prop_assert_eq!(
                &other.group().envelope,
                &group[0].group().envelope,
                "{}: key {:?} has two envelopes",
                kind,
                key
            );
        }
        for chunk in group.chunks(limits.max_events) {
            let bodies: Vec<&str> = chunk.iter().map(|e| e.body.as_str()).collect();
            let request = dest.request(chunk[0].group(), &bodies, Timestamp::now());
            let body = plain_body(&request);
            assert_request_json(&*dest, &body)?;
            let events: usize = bodies.iter().map(|b| b.len()).sum();
            let budget = envelope_bytes(&chunk[0]) + ENVELOPE_SLACK + events + bodies.len() - 1;
            prop_assert!(
                body.len() <= budget,
                "{kind}: {} events make {} bytes, over the batcher's estimate {budget}",
                bodies.len(),
                body.len()
            );
            if budget <= limits.max_request_bytes {
                prop_assert!(body.len() <= limits.max_request_bytes);
            }
        }
    }
    Ok(())
}

/// What the local sinks record next to the message: the HTTP destinations' encodings.
fn peers_for(message: &Message, kind: &str) -> Vec<(String, String)> {
    if !matches!(kind, "file" | "stdout") {
        return Vec::new();
    }
    HTTP_KINDS
        .iter()
        .filter_map(|k| {
            let encoded = destination(k).encode(message, &[]).ok()??;
            Some((k.to_string(), encoded.body))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn webanalyzer_encodes_any_message_safely(messages in vec(message(), 1..8)) {
        check_destination("webanalyzer", messages)?;
    }

    #[test]
    fn koala_encodes_any_message_safely(messages in vec(message(), 1..8)) {
        check_destination("koala", messages)?;
    }

    #[test]
    fn silktide_encodes_any_message_safely(messages in vec(message(), 1..8)) {
        check_destination("silktide", messages)?;
    }

    #[test]
    fn tracardi_encodes_any_message_safely(messages in vec(message(), 1..8)) {
        check_destination("tracardi", messages)?;
    }

    #[test]
    fn tracardi_collect_encodes_any_message_safely(messages in vec(message(), 1..8)) {
        check_destination("tracardi-collect", messages)?;
    }

    #[test]
    fn dreamdata_encodes_any_message_safely(messages in vec(message(), 1..8)) {
        check_destination("dreamdata", messages)?;
    }

    #[test]
    fn segment_encodes_any_message_safely(messages in vec(message(), 1..8)) {
        check_destination("segment", messages)?;
    }

    #[test]
    fn local_sinks_encode_any_message_safely(messages in vec(message(), 1..4), stdout in any::<bool>()) {
        check_destination(if stdout { "stdout" } else { "file" }, messages)?;
    }
}

// ------------------------------------------------------------------ one-megabyte inputs

/// A track message every destination accepts as it is.
fn acceptable_track() -> Message {
    let mut message = Message::track("signup");
    message.properties.insert("plan".into(), json!("pro"));
    message.user_id = Some("user-1".into());
    message.anonymous_id = Some("3e6a2c18-3b02-40c4-b8d2-1842c193d3ba".into());
    message.session_id = Some("session-1".into());
    message.context.ip = Some("84.14.132.114".into());
    message.context.user_agent = Some("Mozilla/5.0".into());
    message.context.url = Some("https://example.com/".into());
    message
}

#[test]
fn megabyte_strings_get_clean_errors_from_every_destination() {
    let big = "x".repeat(1 << 20);
    type Slot = fn(&mut Message, &str);
    // Fields every destination either sends or checks: each must be refused.
    let refused: [(&str, Slot); 9] = [
        ("event", |m, s| m.event = Some(s.into())),
        ("property value", |m, s| {
            m.properties.insert("blob".into(), json!(s));
        }),
        ("property key", |m, s| {
            m.properties.insert(s.into(), json!("v"));
        }),
        ("user_id", |m, s| m.user_id = Some(s.into())),
        ("anonymous_id", |m, s| m.anonymous_id = Some(s.into())),
        ("previous_id", |m, s| m.previous_id = Some(s.into())),
        ("group_id", |m, s| m.group_id = Some(s.into())),
        ("session_id", |m, s| m.session_id = Some(s.into())),
        ("message_id", |m, s| m.message_id = s.into()),
    ];
    // Context a destination may not send at all (then the message goes through, small).
    let context: [(&str, Slot); 6] = [
        ("context.ip", |m, s| m.context.ip = Some(s.into())),
        ("context.user_agent", |m, s| {
            m.context.user_agent = Some(s.into())
        }),
        ("context.url", |m, s| m.context.url = Some(s.into())),
        ("context.referrer", |m, s| {
            m.context.referrer = Some(s.into())
        }),
        ("context extra key", |m, s| {
            m.context.extra.insert("device".into(), json!(s));
        }),
        ("identify traits.email", |m, s| {
            m.kind = Kind::Identify;
            m.traits
                .insert("email".into(), json!(format!("{s}@example.com")));
        }),
    ];
    let mut problems = Vec::new();
    for kind in HTTP_KINDS.iter().chain(&["file", "stdout"]) {
        let dest = destination(kind);
        let limits = dest.limits();
        for (slot, must_refuse, set) in refused
            .iter()
            .map(|(n, f)| (n, true, f))
            .chain(context.iter().map(|(n, f)| (n, false, f)))
        {
            let mut message = acceptable_track();
            set(&mut message, &big);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                message.validate().and_then(|()| dest.encode(&message, &[]))
            }));
            let describe = format!("{kind}, 1 MB {slot}");
            match outcome {
                Err(_) => problems.push(format!("{describe}: panicked")),
                Ok(Err(error)) => {
                    if error.message.len() > MAX_ERROR_MESSAGE_BYTES
                        || error.code.is_empty()
                        || error.field.is_empty()
                    {
                        problems.push(format!(
                            "{describe}: unclean error {} ({} bytes)",
                            error.code,
                            error.message.len()
                        ));
                    }
                }
                Ok(Ok(None)) => {}
                Ok(Ok(Some(_))) if must_refuse => problems.push(format!("{describe}: accepted")),
                Ok(Ok(Some(encoded))) => {
                    let request = dest.request(encoded.group(), &[&encoded.body], Timestamp::now());
                    let bytes = plain_body(&request).len();
                    if encoded.body.len() > limits.max_event_bytes
                        || bytes > limits.max_request_bytes
                    {
                        problems.push(format!("{describe}: accepted into a {bytes}-byte request"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn silktide_never_puts_two_visitor_contexts_in_one_request() {
    // Without escaping, ("a␟1.1.1.1␟b", agent "c") and ("a", agent "b␟1.1.1.1␟c") would make
    // the same group key, and the second visitor's event would go out under the first's context.
    let dest = destination("silktide");
    let encode = |url: &str, agent: &str| {
        let mut message = Message::track("download");
        message.context.ip = Some("1.1.1.1".into());
        message.context.url = Some(url.into());
        message.context.user_agent = Some(agent.into());
        dest.encode(&message, &[]).unwrap().unwrap()
    };
    let first = encode("a\u{1f}1.1.1.1\u{1f}b", "c");
    let second = encode("a", "b\u{1f}1.1.1.1\u{1f}c");
    assert_ne!(first.group().envelope, second.group().envelope);
    assert_ne!(first.group().key, second.group().key);
}

#[test]
fn generated_messages_reach_every_encoder() {
    // The properties above say nothing if almost every generated message is refused before
    // encoding: check that a fair share of them is accepted by each destination.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = message();
    let samples: Vec<Message> = (0..400)
        .filter_map(|_| strategy.new_tree(&mut runner).ok()?.current().ok())
        .map(|mut m| {
            m.normalize();
            m
        })
        .filter(|m| m.validate().is_ok())
        .collect();
    for kind in HTTP_KINDS.iter().chain(&["file", "stdout"]) {
        let dest = destination(kind);
        let accepted = samples
            .iter()
            .filter(|m| matches!(dest.encode(m, &[]), Ok(Some(_))))
            .count();
        assert!(
            accepted * 10 >= samples.len(),
            "{kind} accepted only {accepted} of {} valid generated messages",
            samples.len()
        );
        eprintln!(
            "{kind}: {accepted} of {} valid messages accepted",
            samples.len()
        );
    }
}
