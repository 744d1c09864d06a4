//! How a row's columns become a message: which column holds the event name, the time, the ids
//! and the key, and which columns become properties.
//!
//! Bindings hand each row over as a JSON object (column → value), missing values as `null`. A
//! field the caller computes with a function (a Python callable) is computed by the binding
//! and passed as one more column that the mapping names, so the rules here stay the same for
//! every source and every language.

use serde_json::{Map, Value};

use super::ids::assign_message_id;
use super::timestamp::{missing_timestamp, parse_timestamp, timestamp_from_epoch, EpochUnit};
use crate::error::ValidationError;
use crate::message::{Context, Message};
use crate::time::Timestamp;
use crate::value::type_name;

/// Where an import's properties come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Properties {
    /// Every column the mapping does not use as a field, except these (the default). The key
    /// column stays a property: an order id is data as well as a key.
    Rest { exclude: Vec<String> },
    /// Only these columns.
    Only(Vec<String>),
    /// One column holding the whole properties object (computed by the binding).
    Column(String),
}

/// The columns an import reads, by name. Only `event` is required.
#[derive(Clone, Debug, PartialEq)]
pub struct RowMapping {
    pub event: String,
    /// `None`: events are stamped with the import time.
    pub timestamp: Option<String>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// Message ids are derived from this column (UUID v5); without it, from each row's content.
    pub key: Option<String>,
    pub properties: Properties,
    /// A column holding each row's context object; `fixed_context` applies to rows without one.
    pub context: Option<String>,
    pub fixed_context: Option<Context>,
    pub epoch_unit: EpochUnit,
    /// An empty string is a missing value (a CSV cell has no other way to be empty).
    pub empty_is_missing: bool,
}

/// Where a [`RowMapping`]'s columns sit in rows of fixed columns (a CSV file, a data frame):
/// resolved once, so each row is read by position.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    event: Option<usize>,
    timestamp: Option<usize>,
    user_id: Option<usize>,
    anonymous_id: Option<usize>,
    key: Option<usize>,
    context: Option<usize>,
    properties_column: Option<usize>,
    /// Position and name of each column that becomes a property.
    properties: Vec<(usize, String)>,
}

/// A row's mapped fields, taken out of it (missing values as `None`).
struct Fields {
    event: Option<Value>,
    user_id: Option<Value>,
    anonymous_id: Option<Value>,
    timestamp: Option<Value>,
    context: Option<Value>,
    key: Option<Value>,
}

/// A value of a type an import cannot send in this field: the row's rule, not an exception that
/// would stop the whole import.
pub fn unsupported_value(field: &str, message: impl Into<String>) -> ValidationError {
    ValidationError::new("value.unsupported_type", "message", field, message)
}

impl RowMapping {
    pub fn new(event: impl Into<String>) -> RowMapping {
        RowMapping {
            event: event.into(),
            timestamp: None,
            user_id: None,
            anonymous_id: None,
            key: None,
            properties: Properties::Rest {
                exclude: Vec::new(),
            },
            context: None,
            fixed_context: None,
            epoch_unit: EpochUnit::Auto,
            empty_is_missing: false,
        }
    }

    fn is_missing(&self, value: &Value) -> bool {
        match value {
            Value::Null => true,
            Value::String(s) => self.empty_is_missing && s.is_empty(),
            _ => false,
        }
    }

    fn take(&self, row: &mut Map<String, Value>, column: Option<&String>) -> Option<Value> {
        column
            .and_then(|c| row.shift_remove(c))
            .filter(|v| !self.is_missing(v))
    }

    /// The track message for `row`, with its deterministic id, or the first rule it breaks.
    /// Destination rules are checked later, at enqueue, like for any call.
    pub fn message(&self, mut row: Map<String, Value>) -> Result<Message, ValidationError> {
        let key = self.key.as_ref().and_then(|k| row.get(k));
        let key = key.filter(|v| !self.is_missing(v)).cloned();
        let fields = Fields {
            event: self.take(&mut row, Some(&self.event)),
            user_id: self.take(&mut row, self.user_id.as_ref()),
            anonymous_id: self.take(&mut row, self.anonymous_id.as_ref()),
            timestamp: self.take(&mut row, self.timestamp.as_ref()),
            context: self.take(&mut row, self.context.as_ref()),
            key,
        };
        let properties = self.properties_of(row);
        self.build(fields, properties)
    }

    /// Where this mapping's columns sit among `columns`, for [`RowMapping::message_from_cells`].
    pub fn layout(&self, columns: &[String]) -> Layout {
        let find = |c: Option<&String>| c.and_then(|c| columns.iter().position(|x| x == c));
        let fields = [
            Some(&self.event),
            self.timestamp.as_ref(),
            self.user_id.as_ref(),
            self.anonymous_id.as_ref(),
            self.context.as_ref(),
        ];
        let is_field = |c: &String| fields.contains(&Some(c));
        let named = |c: &String| columns.iter().position(|x| x == c).map(|i| (i, c.clone()));
        let properties = match &self.properties {
            Properties::Rest { exclude } => columns
                .iter()
                .enumerate()
                .filter(|(_, c)| !is_field(c) && !exclude.contains(c))
                .map(|(i, c)| (i, c.clone()))
                .collect(),
            Properties::Only(listed) => listed.iter().filter_map(named).collect(),
            Properties::Column(_) => Vec::new(),
        };
        Layout {
            event: find(Some(&self.event)),
            timestamp: find(self.timestamp.as_ref()),
            user_id: find(self.user_id.as_ref()),
            anonymous_id: find(self.anonymous_id.as_ref()),
            key: find(self.key.as_ref()),
            context: find(self.context.as_ref()),
            properties_column: match &self.properties {
                Properties::Column(c) => find(Some(c)),
                _ => None,
            },
            properties,
        }
    }

    /// [`RowMapping::message`] for a row of cells in `layout`'s column order: read by position,
    /// without a map per row (CSV files, data frames).
    pub fn message_from_cells(
        &self,
        layout: &Layout,
        mut cells: Vec<Value>,
    ) -> Result<Message, ValidationError> {
        let key = layout.key.and_then(|i| cells.get(i));
        let key = key.filter(|v| !self.is_missing(v)).cloned();
        let mut take = |i: Option<usize>| {
            i.and_then(|i| cells.get_mut(i))
                .map(std::mem::take)
                .filter(|v| !self.is_missing(v))
        };
        let fields = Fields {
            event: take(layout.event),
            user_id: take(layout.user_id),
            anonymous_id: take(layout.anonymous_id),
            timestamp: take(layout.timestamp),
            context: take(layout.context),
            key,
        };
        let properties = match (&self.properties, take(layout.properties_column)) {
            (Properties::Column(_), Some(Value::Object(map))) => Ok(map),
            (Properties::Column(_), Some(other)) => Err(not_object("properties", &other)),
            (Properties::Column(_), None) => Ok(Map::new()),
            _ => {
                let mut map = Map::with_capacity(layout.properties.len());
                for (i, name) in &layout.properties {
                    if let Some(value) = take(Some(*i)) {
                        map.insert(name.clone(), value);
                    }
                }
                Ok(map)
            }
        };
        self.build(fields, properties)
    }

    fn build(
        &self,
        fields: Fields,
        properties: Result<Map<String, Value>, ValidationError>,
    ) -> Result<Message, ValidationError> {
        let mut message = Message::track(text(fields.event, "event")?.unwrap_or_default());
        message.user_id = text(fields.user_id, "user_id")?;
        message.anonymous_id = text(fields.anonymous_id, "anonymous_id")?;
        if self.timestamp.is_some() {
            let value = fields.timestamp.ok_or_else(missing_timestamp)?;
            message.timestamp = self.timestamp_of(value)?;
        }
        message.context = match fields.context {
            Some(Value::Object(map)) => Context::from_json(map)?,
            Some(other) => return Err(not_object("context", &other)),
            None => self.fixed_context.clone().unwrap_or_default(),
        };
        let key = match (&self.key, fields.key) {
            (Some(_), Some(value)) => text(Some(value), "message_id")?,
            (Some(column), None) => return Err(missing_key(column)),
            (None, _) => None,
        };
        message.properties = properties?;
        assign_message_id(&mut message, key.as_deref(), self.timestamp.is_some());
        Ok(message)
    }

    fn timestamp_of(&self, value: Value) -> Result<Timestamp, ValidationError> {
        match value {
            Value::String(s) => parse_timestamp(&s, self.epoch_unit),
            Value::Number(n) => {
                timestamp_from_epoch(n.as_f64().unwrap_or(f64::NAN), self.epoch_unit)
            }
            other => Err(ValidationError::new(
                "message.timestamp.invalid",
                "message",
                "timestamp",
                format!(
                    "a {} is not a date-time nor an epoch number",
                    type_name(&other)
                ),
            )),
        }
    }

    /// `row` less the fields already taken out of it.
    fn properties_of(
        &self,
        mut row: Map<String, Value>,
    ) -> Result<Map<String, Value>, ValidationError> {
        match &self.properties {
            Properties::Rest { exclude } => {
                row.retain(|k, v| !self.is_missing(v) && !exclude.contains(k));
                Ok(row)
            }
            Properties::Only(columns) => Ok(columns
                .iter()
                .filter_map(|c| {
                    row.get(c)
                        .filter(|v| !self.is_missing(v))
                        .map(|v| (c.clone(), v.clone()))
                })
                .collect()),
            Properties::Column(column) => match self.take(&mut row, Some(column)) {
                Some(Value::Object(map)) => Ok(map),
                Some(other) => Err(not_object("properties", &other)),
                None => Ok(Map::new()),
            },
        }
    }
}

/// Ids and names as text: numbers as their digits (`12.0`, a pandas int column with gaps, as
/// `"12"`); `None` when absent.
fn text(value: Option<Value>, field: &str) -> Result<Option<String>, ValidationError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9e15 => (f as i64).to_string(),
            _ => n.to_string(),
        })),
        Some(other) => Err(unsupported_value(
            field,
            format!("{field}: a {} cannot be used as text", type_name(&other)),
        )),
    }
}

fn not_object(field: &str, value: &Value) -> ValidationError {
    unsupported_value(
        field,
        format!("{field}: must be an object, got {}", type_name(value)),
    )
}

fn missing_key(column: &str) -> ValidationError {
    ValidationError::new(
        "message.message_id.required",
        "message",
        "message_id",
        format!("the row has no value in the key column {column:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::ids::{message_id_from_content, message_id_from_key};
    use serde_json::json;

    fn row(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn mapping() -> RowMapping {
        RowMapping {
            timestamp: Some("ts".into()),
            user_id: Some("uid".into()),
            ..RowMapping::new("name")
        }
    }

    #[test]
    fn named_columns_fill_fields_and_the_rest_become_properties() {
        let m = mapping()
            .message(row(
                json!({"name": "purchase", "ts": "2024-03-01 12:00:00", "uid": 7,
                                 "plan": "pro", "amount": 10.5}),
            ))
            .unwrap();
        assert_eq!(m.event.as_deref(), Some("purchase"));
        assert_eq!(m.user_id.as_deref(), Some("7"));
        assert_eq!(m.timestamp.to_string(), "2024-03-01T12:00:00.000Z");
        assert_eq!(json!(m.properties), json!({"plan": "pro", "amount": 10.5}));
        assert_eq!(m.message_id, message_id_from_content(&m, true));
    }

    #[test]
    fn properties_can_be_listed_excluded_or_given_whole() {
        let r = json!({"name": "e", "ts": 1, "a": 1, "b": 2, "c": null});
        let only = RowMapping {
            properties: Properties::Only(vec!["a".into(), "c".into(), "zz".into()]),
            ..mapping()
        };
        assert_eq!(
            json!(only.message(row(r.clone())).unwrap().properties),
            json!({"a": 1})
        );
        let rest = RowMapping {
            properties: Properties::Rest {
                exclude: vec!["b".into()],
            },
            ..mapping()
        };
        assert_eq!(
            json!(rest.message(row(r.clone())).unwrap().properties),
            json!({"a": 1})
        );
        let whole = RowMapping {
            properties: Properties::Column("computed".into()),
            ..mapping()
        };
        let mut with = row(r);
        with.insert("computed".into(), json!({"x": 1}));
        assert_eq!(
            json!(whole.message(with).unwrap().properties),
            json!({"x": 1})
        );
    }

    #[test]
    fn a_key_column_gives_the_id_and_stays_a_property() {
        let keyed = RowMapping {
            key: Some("order".into()),
            ..mapping()
        };
        let m = keyed
            .message(row(json!({"name": "e", "ts": 1, "order": "ORD-1"})))
            .unwrap();
        assert_eq!(m.message_id, message_id_from_key("ORD-1"));
        assert_eq!(m.properties["order"], "ORD-1");
        let err = keyed
            .message(row(json!({"name": "e", "ts": 1})))
            .unwrap_err();
        assert_eq!(err.code, "message.message_id.required");
    }

    #[test]
    fn csv_empty_cells_are_missing_values() {
        let csv = RowMapping {
            empty_is_missing: true,
            ..mapping()
        };
        let m = csv
            .message(row(
                json!({"name": "e", "ts": "1709294400", "uid": "", "note": ""}),
            ))
            .unwrap();
        assert_eq!(m.user_id, None);
        assert!(m.properties.is_empty());
        let err = csv
            .message(row(json!({"name": "e", "ts": ""})))
            .unwrap_err();
        assert_eq!(err.code, "message.timestamp.required");
    }

    #[test]
    fn rows_without_a_name_or_with_a_bad_time_break_a_rule() {
        let m = mapping().message(row(json!({"ts": 1}))).unwrap();
        assert_eq!(m.validate().unwrap_err().code, "message.event.required");
        for bad in [json!("soon"), json!(true), json!([1])] {
            let err = mapping()
                .message(row(json!({"name": "e", "ts": bad})))
                .unwrap_err();
            assert_eq!(err.code, "message.timestamp.invalid", "{bad}");
        }
        let err = mapping()
            .message(row(json!({"name": "e", "ts": 1, "uid": {"a": 1}})))
            .unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.field.as_str()),
            ("value.unsupported_type", "user_id")
        );
    }

    #[test]
    fn without_a_timestamp_column_events_get_the_import_time_and_ids_ignore_it() {
        let now = RowMapping::new("name");
        let a = now.message(row(json!({"name": "e", "x": 1}))).unwrap();
        assert!((Timestamp::now().millis() - a.timestamp.millis()).abs() < 5_000);
        assert_eq!(a.message_id, message_id_from_content(&a, false));
    }

    #[test]
    fn rows_of_cells_map_like_objects() {
        let columns: Vec<String> = ["name", "ts", "uid", "order", "plan", "note", "secret"]
            .map(String::from)
            .to_vec();
        let cells = vec![
            json!("purchase"),
            json!("2024-03-01 12:00:00"),
            json!(7),
            json!("ORD-1"),
            json!("pro"),
            json!(""),
            json!("s"),
        ];
        for properties in [
            Properties::Rest {
                exclude: vec!["secret".into()],
            },
            Properties::Only(vec!["plan".into(), "note".into(), "absent".into()]),
        ] {
            let m = RowMapping {
                key: Some("order".into()),
                empty_is_missing: true,
                properties,
                ..mapping()
            };
            let object: Map<String, Value> = columns.iter().cloned().zip(cells.clone()).collect();
            let by_name = m.message(object).unwrap();
            let by_position = m
                .message_from_cells(&m.layout(&columns), cells.clone())
                .unwrap();
            assert_eq!(by_position, by_name);
        }
        let m = RowMapping {
            key: Some("order".into()),
            ..mapping()
        };
        let err = m
            .message_from_cells(&m.layout(&columns[..3]), cells[..3].to_vec())
            .unwrap_err();
        assert_eq!(err.code, "message.message_id.required");
    }

    #[test]
    fn integral_floats_are_ids_without_a_fraction() {
        let m = mapping()
            .message(row(json!({"name": 404, "ts": 1, "uid": 12.0})))
            .unwrap();
        assert_eq!(m.user_id.as_deref(), Some("12"));
        assert_eq!(m.event.as_deref(), Some("404"));
    }
}
