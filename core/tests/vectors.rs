//! Runs the shared vectors in `tests/vectors/` (format: `tests/vectors/README.md`).
//!
//! The Python and Node suites read the same files, so the three agree on every wire body,
//! every rule code and every configuration error. This runner talks to the destinations
//! directly (`encode` then `request`), without a client or a network: the vectors pin what
//! goes on the wire, not how it is delivered.
//!
//! Every vector runs even when an earlier one fails, and the failure lists them all by name.

use std::collections::HashMap;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use serde_json::{Map, Value};
use tracklane_core::destinations::{Encoded, Request};
use tracklane_core::{
    Context, Destination, DestinationConfig, Kind, Message, Timestamp, ValidationError,
};

const VECTORS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors");

/// Fewer vectors than this means files went missing (an empty folder must fail, not pass).
const MIN_VECTORS: usize = 120;

/// The collectors every kind of vector must cover.
const COLLECTORS: [&str; 6] = [
    "webanalyzer",
    "koala",
    "silktide",
    "tracardi",
    "dreamdata",
    "segment",
];

struct Vector {
    file: String,
    value: Value,
}

impl Vector {
    fn name(&self) -> &str {
        self.value["name"].as_str().unwrap_or("<unnamed>")
    }

    fn kind(&self) -> Result<&'static str, String> {
        let has = |key: &str| self.value.get(key).is_some();
        match (
            has("expect"),
            has("error") || has("skipped"),
            has("config_error"),
        ) {
            (true, false, false) => Ok("encode"),
            (false, true, false) => Ok("rule"),
            (false, false, true) => Ok("config"),
            _ => Err("needs exactly one of expect, error/skipped, config_error".into()),
        }
    }

    /// The `type` of the vector's destination (`"?"` for malformed configs).
    fn destination_type(&self) -> String {
        self.value["destination"]["type"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }
}

fn load_vectors() -> Vec<Vector> {
    let mut paths: Vec<_> = std::fs::read_dir(VECTORS_DIR)
        .unwrap_or_else(|e| panic!("cannot read {VECTORS_DIR}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    let mut vectors = Vec::new();
    for path in paths {
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let parsed: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
        let Value::Array(items) = parsed else {
            panic!("{file}: the top level must be an array of vectors");
        };
        vectors.extend(items.into_iter().map(|value| Vector {
            file: file.clone(),
            value,
        }));
    }
    vectors
}

#[test]
fn every_shared_vector_passes() {
    let vectors = load_vectors();
    let mut failures = Vec::new();
    for vector in &vectors {
        let outcome = catch_unwind(AssertUnwindSafe(|| run(vector)));
        let error = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(error)) => error,
            Err(panic) => format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            ),
        };
        failures.push(format!(
            "{} :: {}\n    {}",
            vector.file,
            vector.name(),
            error.replace('\n', "\n    ")
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n\n")
    );
}

#[test]
fn vectors_are_present_named_once_and_cover_every_collector() {
    let vectors = load_vectors();
    assert!(
        vectors.len() >= MIN_VECTORS,
        "only {} vectors in {VECTORS_DIR}; expected at least {MIN_VECTORS}",
        vectors.len()
    );
    let mut names = HashMap::new();
    let mut counts: HashMap<(String, &str), usize> = HashMap::new();
    for vector in &vectors {
        if let Some(previous) = names.insert(vector.name().to_string(), vector.file.clone()) {
            panic!(
                "vector {:?} appears twice ({previous}, {})",
                vector.name(),
                vector.file
            );
        }
        let kind = vector
            .kind()
            .unwrap_or_else(|e| panic!("{}: {e}", vector.name()));
        *counts.entry((vector.destination_type(), kind)).or_default() += 1;
    }
    for collector in COLLECTORS {
        for kind in ["encode", "rule", "config"] {
            assert!(
                counts
                    .get(&(collector.to_string(), kind))
                    .copied()
                    .unwrap_or(0)
                    > 0,
                "no {kind} vector for {collector}"
            );
        }
    }
}

fn run(vector: &Vector) -> Result<(), String> {
    match vector.kind()? {
        "encode" => run_encode(&vector.value),
        "rule" => run_rule(&vector.value),
        _ => run_config(&vector.value),
    }
}

/// Builds a destination the way a client does, with an empty environment so no
/// `TRACKLANE_*` variable of the machine running the tests can fill a field.
fn build(config: &Value) -> Result<Arc<dyn Destination>, tracklane_core::ConfigError> {
    DestinationConfig::from_json_with_env(config.clone(), &HashMap::new())?.build()
}

fn run_config(vector: &Value) -> Result<(), String> {
    let expected = &vector["config_error"];
    match build(&vector["destination"]) {
        Ok(destination) => Err(format!(
            "expected config error {expected}, but {destination:?} was built"
        )),
        Err(error) => {
            let got = serde_json::json!({ "code": error.code, "field": error.field });
            if &got == expected {
                Ok(())
            } else {
                Err(format!(
                    "expected config error {expected}, got {got} ({error})"
                ))
            }
        }
    }
}

fn run_rule(vector: &Value) -> Result<(), String> {
    let destination = build(&vector["destination"]).map_err(|e| format!("config: {e}"))?;
    let mut call = vector["call"].clone();
    for fill in vector["fill"].as_array().into_iter().flatten() {
        apply_fill(&mut call, fill)?;
    }
    let result = message_from_call(&call).and_then(|message| {
        message.validate()?;
        destination.encode(&message, &[])
    });
    let skipped = vector["skipped"].as_bool().unwrap_or(false);
    match (result, skipped) {
        (Ok(None), true) => Ok(()),
        (Ok(Some(encoded)), true) => Err(format!("expected no encoding, got {}", encoded.body)),
        (Err(error), true) => Err(format!("expected no encoding, got error {error}")),
        (Ok(other), false) => Err(format!(
            "expected error {}, got {}",
            vector["error"],
            other.map_or("no encoding (skipped)".to_string(), |e| format!(
                "the body {}",
                shorten(&e.body)
            ))
        )),
        (Err(error), false) => {
            let got = serde_json::json!({ "code": error.code, "field": error.field });
            if got == vector["error"] {
                Ok(())
            } else {
                Err(format!(
                    "expected error {}, got {got} ({error})",
                    vector["error"]
                ))
            }
        }
    }
}

/// `{"path": ["properties", "blob"], "text": "x", "count": 70000}`: sets that member of the
/// call to `text` repeated `count` times, so large inputs need not be spelled out in the file.
fn apply_fill(call: &mut Value, fill: &Value) -> Result<(), String> {
    let path: Vec<&str> = fill["path"]
        .as_array()
        .ok_or("fill.path must be an array")?
        .iter()
        .map(|p| p.as_str().ok_or("fill.path holds strings"))
        .collect::<Result<_, _>>()?;
    let text = fill["text"]
        .as_str()
        .ok_or("fill.text must be a string")?
        .repeat(
            fill["count"]
                .as_u64()
                .ok_or("fill.count must be a number")? as usize,
        );
    let (last, parents) = path.split_last().ok_or("fill.path is empty")?;
    let mut target = call;
    for key in parents {
        let object = target
            .as_object_mut()
            .ok_or("fill.path goes through a non-object")?;
        target = object
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    target
        .as_object_mut()
        .ok_or("fill.path ends in a non-object")?
        .insert(last.to_string(), Value::String(text));
    Ok(())
}

fn run_encode(vector: &Value) -> Result<(), String> {
    let destination = build(&vector["destination"]).map_err(|e| format!("config: {e}"))?;
    let calls = vector["calls"].as_array().ok_or("calls must be an array")?;
    let mut encoded: Vec<Encoded> = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let message = message_from_call(call).map_err(|e| format!("call {i}: {e}"))?;
        message.validate().map_err(|e| format!("call {i}: {e}"))?;
        match destination.encode(&message, &[]) {
            Ok(Some(e)) => encoded.push(e),
            Ok(None) => {
                return Err(format!(
                    "call {i}: {} has no encoding for it",
                    destination.kind()
                ))
            }
            Err(e) => return Err(format!("call {i}: {e}")),
        }
    }
    let first = encoded.first().ok_or("a vector needs at least one call")?;
    if let Some(other) = encoded
        .iter()
        .position(|e| e.group().key != first.group().key)
    {
        return Err(format!(
            "call {other} is not in the same group as call 0, so they cannot share a request"
        ));
    }
    let bodies: Vec<&str> = encoded.iter().map(|e| e.body.as_str()).collect();
    let request = destination.request(first.group(), &bodies, Timestamp::now());
    compare_request(&request, &vector["expect"], &ignored_keys(vector))
}

fn ignored_keys(vector: &Value) -> Vec<String> {
    vector["ignore"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect()
}

fn compare_request(request: &Request, expect: &Value, ignore: &[String]) -> Result<(), String> {
    let mut problems = Vec::new();
    if expect["method"] != request.method {
        problems.push(format!(
            "method: expected {}, got {}",
            expect["method"], request.method
        ));
    }
    if expect["url"] != request.url.as_str() {
        problems.push(format!(
            "url: expected {}, got {:?}",
            expect["url"], request.url
        ));
    }
    for (name, want) in expect["headers"].as_object().into_iter().flatten() {
        let got = request.header(name);
        if want.as_str() != got {
            problems.push(format!("header {name}: expected {want}, got {got:?}"));
        }
    }
    match request_json(request) {
        Err(e) => problems.push(e),
        Ok(got) => {
            let got = normalize_body(got, ignore);
            let want = normalize_body(expect["body"].clone(), ignore);
            if got != want {
                problems.push(format!(
                    "body differs\n  expected: {}\n  got:      {}",
                    shorten(&want.to_string()),
                    shorten(&got.to_string())
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// The request body as JSON, gunzipped first when the request says `content-encoding: gzip`.
fn request_json(request: &Request) -> Result<Value, String> {
    let mut bytes = request.body.clone();
    if request.header("content-encoding") == Some("gzip") {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&request.body[..])
            .read_to_end(&mut plain)
            .map_err(|e| format!("body is not gzip: {e}"))?;
        bytes = plain;
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "body is not JSON ({e}): {}",
            shorten(&String::from_utf8_lossy(&bytes))
        )
    })
}

/// Drops the ignored top-level keys, then (at every depth) object members whose value is `{}`:
/// an empty object and an absent key mean the same to every collector here.
fn normalize_body(mut body: Value, ignore: &[String]) -> Value {
    if let Value::Object(map) = &mut body {
        for key in ignore {
            map.remove(key);
        }
    }
    drop_empty_objects(body)
}

fn drop_empty_objects(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, drop_empty_objects(v)))
                .filter(|(_, v)| !matches!(v, Value::Object(m) if m.is_empty()))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(drop_empty_objects).collect()),
        other => other,
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 2_000;
    if text.len() <= MAX {
        return text.to_string();
    }
    let cut = (0..=MAX)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}… ({} bytes)", &text[..cut], text.len())
}

/// A neutral call (README: "Calls") as a [`Message`], normalized (empty ids are absent) as a
/// client does before validating.
fn message_from_call(call: &Value) -> Result<Message, ValidationError> {
    let kind = match call["kind"].as_str() {
        Some("track") => Kind::Track,
        Some("identify") => Kind::Identify,
        Some("alias") => Kind::Alias,
        Some("page") => Kind::Page,
        Some("group") => Kind::Group,
        other => panic!("call kind must be track, identify, alias, page or group; got {other:?}"),
    };
    let mut message = Message::new(kind);
    message.event = optional_string(call, "event");
    message.properties = object(call, "properties");
    message.traits = object(call, "traits");
    message.user_id = optional_string(call, "user_id");
    message.anonymous_id = optional_string(call, "anonymous_id");
    message.previous_id = optional_string(call, "previous_id");
    message.group_id = optional_string(call, "group_id");
    message.session_id = optional_string(call, "session_id");
    message.context = Context::from_json(object(call, "context"))?;
    if let Some(text) = optional_string(call, "timestamp") {
        message.timestamp = Timestamp::parse(&text)
            .unwrap_or_else(|| panic!("call timestamp {text:?} is not RFC 3339"));
    }
    if let Some(id) = optional_string(call, "message_id") {
        message.message_id = id;
    }
    message.normalize();
    Ok(message)
}

fn optional_string(call: &Value, key: &str) -> Option<String> {
    match &call[key] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => panic!("call {key} must be a string or null, got {other}"),
    }
}

fn object(call: &Value, key: &str) -> Map<String, Value> {
    match &call[key] {
        Value::Null => Map::new(),
        Value::Object(map) => map.clone(),
        other => panic!("call {key} must be an object, got {other}"),
    }
}
