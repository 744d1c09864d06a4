//! Deterministic message ids for imported events: UUID v5 of a key column, or of the event's
//! content, so importing the same rows twice gives the same ids (and the client's dedupe, or
//! the collector's, drops the second copy).
//!
//! Never change the namespaces or the canonical content form: every earlier import's ids
//! would change with them, and a re-run would send its events again.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::json;
use crate::message::Message;

/// Namespace of ids derived from a key column (UUID v5 over the key's text). Fixed forever.
pub const KEY_NAMESPACE: Uuid = Uuid::from_u128(0x98eb_b3cf_2143_4ebb_9d61_a984_4853_d8c2);
/// Namespace of ids derived from an event's content. Distinct from [`KEY_NAMESPACE`] so a key
/// can never collide with some row's content. Fixed forever.
pub const CONTENT_NAMESPACE: Uuid = Uuid::from_u128(0x2b7e_4a51_9c0d_4f7e_8a36_51c2_d0e9_7f14);

/// The id of an imported event keyed by `key` (an order id, a row id): UUID v5, so it is a
/// valid message id for every collector whatever the key looks like.
pub fn message_id_from_key(key: &str) -> String {
    Uuid::new_v5(&KEY_NAMESPACE, key.as_bytes()).to_string()
}

/// The id of an imported event without a key: UUID v5 over its content (kind, event, ids,
/// properties, traits, context and, when the rows carry one, the timestamp), with object keys
/// in sorted order so column order does not matter. Two identical rows get the same id, so the
/// second is a duplicate; give the import a key column to keep such rows apart.
pub fn message_id_from_content(message: &Message, with_timestamp: bool) -> String {
    let mut text = Vec::with_capacity(256);
    let timestamp = with_timestamp.then(|| message.timestamp.millis().to_string());
    let fields: [Option<&str>; 8] = [
        Some(message.kind.as_str()),
        message.event.as_deref(),
        timestamp.as_deref(),
        message.user_id.as_deref(),
        message.anonymous_id.as_deref(),
        message.previous_id.as_deref(),
        message.group_id.as_deref(),
        message.session_id.as_deref(),
    ];
    text.push(b'[');
    for field in fields {
        match field {
            Some(s) => json::push_str(&mut text, s),
            None => text.extend_from_slice(b"null"),
        }
        text.push(b',');
    }
    write_object(&message.properties, &mut text);
    text.push(b',');
    write_object(&message.traits, &mut text);
    text.push(b',');
    if message.context.is_empty() {
        text.extend_from_slice(b"{}");
    } else {
        write_canonical(&message.context.to_json(), &mut text);
    }
    text.push(b']');
    Uuid::new_v5(&CONTENT_NAMESPACE, &text).to_string()
}

/// Gives an imported message its deterministic id: from `key` when the import has a key
/// column, else from its content (with the timestamp when the rows carry one: without, every
/// run would stamp a different time and the id would never repeat).
pub fn assign_message_id(message: &mut Message, key: Option<&str>, rows_have_timestamps: bool) {
    message.message_id = match key {
        Some(key) => message_id_from_key(key),
        None => message_id_from_content(message, rows_have_timestamps),
    };
}

/// An object with its keys sorted, at every level (`crate::json` keeps map order).
fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_unstable();
    let mut object = json::Object::open(out);
    for key in keys {
        write_canonical(&map[key], object.key(key));
    }
    object.close();
}

/// JSON with object keys sorted at every level; everything else as [`json::push_value`]
/// writes it.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => write_object(map, out),
        Value::Array(items) => json::push_array(out, items, |out, item| write_canonical(item, out)),
        scalar => json::push_value(out, scalar),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::tests::purchase;
    use crate::message::Kind;
    use serde_json::json;

    #[test]
    fn key_ids_are_uuid_v5_and_stable_across_versions() {
        let id = message_id_from_key("ORD-1");
        assert_eq!(id, message_id_from_key("ORD-1"));
        assert_ne!(id, message_id_from_key("ORD-2"));
        assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 5);
        // Pinned: a change here would make every earlier import send its events again.
        assert_eq!(id, Uuid::new_v5(&KEY_NAMESPACE, b"ORD-1").to_string());
        assert_eq!(
            KEY_NAMESPACE.to_string(),
            "98ebb3cf-2143-4ebb-9d61-a9844853d8c2"
        );
    }

    #[test]
    fn content_ids_ignore_key_order_and_the_random_default_id() {
        let a = purchase(
            json!({"plan": "pro", "amount": 10, "x": {"b": 1, "a": 2}}),
            1_000,
        );
        let b = purchase(
            json!({"x": {"a": 2, "b": 1}, "amount": 10, "plan": "pro"}),
            1_000,
        );
        assert_ne!(a.message_id, b.message_id);
        assert_eq!(
            message_id_from_content(&a, true),
            message_id_from_content(&b, true)
        );
    }

    #[test]
    fn content_ids_change_with_any_field_and_with_the_timestamp_only_when_asked() {
        let base = purchase(json!({"plan": "pro"}), 1_000);
        let id = message_id_from_content(&base, true);
        let later = purchase(json!({"plan": "pro"}), 2_000);
        assert_ne!(id, message_id_from_content(&later, true));
        assert_eq!(
            message_id_from_content(&base, false),
            message_id_from_content(&later, false)
        );
        let other_plan = purchase(json!({"plan": "free"}), 1_000);
        assert_ne!(id, message_id_from_content(&other_plan, true));
        let mut other_user = base.clone();
        other_user.user_id = Some("u2".into());
        assert_ne!(id, message_id_from_content(&other_user, true));
        let mut as_anonymous = base.clone();
        as_anonymous.user_id = None;
        as_anonymous.anonymous_id = Some("u1".into());
        assert_ne!(id, message_id_from_content(&as_anonymous, true));
        let mut page = base.clone();
        page.kind = Kind::Page;
        assert_ne!(id, message_id_from_content(&page, true));
        assert_ne!(id, message_id_from_key("purchase"));
    }

    #[test]
    fn content_ids_are_pinned() {
        // A change here would make every earlier content-keyed import send its events again.
        let mut m = purchase(
            json!({"plan": "pro \"max\"", "n": [1, 2.5, null, true], "x": {"b": "\u{1}é", "a": -0.0}}),
            1_354_408_208_276,
        );
        m.context.ip = Some("84.14.132.114".into());
        m.context.extra.insert("locale".into(), json!("fr-FR"));
        assert_eq!(
            message_id_from_content(&m, true),
            "7d7d2f81-3df2-519b-83d9-b1d622c7024f"
        );
    }
}
