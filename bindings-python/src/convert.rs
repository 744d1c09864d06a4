//! Python values → the core's JSON, and back (for reports, stats and hook payloads).
//!
//! Values are walked directly (no `json.dumps` round trip) so a bad value is reported with
//! its key path (`properties.items[2].price`). Two kinds of failure: a value of a type JSON
//! cannot hold is a programmer error and raises `TypeError` at once; a NaN, an infinity or
//! a structure nested too deep (a cycle shows up this way) breaks a rule and becomes a core
//! `ValidationError` (reported in the outcome, raised in strict mode), with the same code the
//! Node binding and the core use.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use serde_json::{Map, Number, Value};
use tracklane_core::value::{finite_number, too_deep, MAX_DEPTH};
use tracklane_core::{Timestamp, ValidationError};

/// Containers entered below a top-level key before the walk gives up. Past `MAX_DEPTH` the
/// core's own check reports the exact rule; this margin only stops cycles.
const WALK_LIMIT: usize = MAX_DEPTH + 4;

pub enum ConvertError {
    /// Wrong type: raise `TypeError` now.
    Type(PyErr),
    /// A rule (`value.not_finite`, `value.too_deep`): report or raise by strictness.
    Rule(ValidationError),
}

impl From<PyErr> for ConvertError {
    fn from(e: PyErr) -> Self {
        ConvertError::Type(e)
    }
}

pub type Converted<T> = Result<T, ConvertError>;

static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UUID: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ENUM: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static EPOCH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static ONE_MS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn type_error(path: &Path<'_>, obj: &Bound<'_, PyAny>, expected: &str) -> ConvertError {
    let name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    ConvertError::Type(PyTypeError::new_err(format!(
        "{}: {name} is not {expected}",
        path.render()
    )))
}

const JSON_TYPES: &str = "JSON-serialisable (expected dict, list, tuple, str, int, float, bool, None, datetime, date, Decimal, UUID or Enum)";

/// Where a value sits (`properties.items[2].price`): a chain of steps on the stack, turned into
/// text only when an error names it, so the walk builds no string for values that convert.
#[derive(Clone, Copy)]
enum Path<'a> {
    /// `properties`, `traits`, `context`, `options`; empty for an import cell, whose column is
    /// then the first key.
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn write(&self, out: &mut String) {
        match self {
            Path::Root(name) => out.push_str(name),
            Path::Key(parent, key) => {
                parent.write(out);
                if !matches!(parent, Path::Root("")) {
                    out.push('.');
                }
                out.push_str(key);
            }
            Path::Index(parent, index) => {
                parent.write(out);
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// The top-level key (`properties.nested`): what a depth error names, as the core's own
    /// check does.
    fn top_key(&self) -> String {
        let mut node = self;
        while let Path::Key(parent, _) | Path::Index(parent, _) = node {
            if matches!(parent, Path::Root(_)) {
                break;
            }
            node = parent;
        }
        node.render()
    }
}

/// A `dict` with `str` keys at `path` (`properties`, `traits`, `context`) → JSON object.
pub fn map(obj: &Bound<'_, PyAny>, path: &str) -> Converted<Map<String, Value>> {
    let root = Path::Root(path);
    let dict = obj
        .cast::<PyDict>()
        .map_err(|_| type_error(&root, obj, "a dict"))?;
    dict_to_map(dict, &root, 0)
}

fn dict_to_map(
    dict: &Bound<'_, PyDict>,
    path: &Path<'_>,
    depth: usize,
) -> Converted<Map<String, Value>> {
    let mut out = Map::with_capacity(dict.len());
    for (key, value) in dict.iter() {
        let key = match key.cast::<PyString>() {
            Ok(k) => k.to_str()?.to_owned(),
            Err(_) => {
                let shown = key.repr().map(|r| r.to_string()).unwrap_or_default();
                return Err(ConvertError::Type(PyTypeError::new_err(format!(
                    "{}: key {shown} is not a str (JSON object keys are strings)",
                    path.render()
                ))));
            }
        };
        let v = value_at(&value, &Path::Key(path, &key), depth + 1)?;
        out.insert(key, v);
    }
    Ok(out)
}

fn value_at(obj: &Bound<'_, PyAny>, path: &Path<'_>, depth: usize) -> Converted<Value> {
    let py = obj.py();
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast_exact::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(b) = obj.cast_exact::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        return int(obj);
    }
    if let Ok(f) = obj.cast_exact::<PyFloat>() {
        return float(f.value(), path);
    }
    if depth > WALK_LIMIT {
        return Err(ConvertError::Rule(too_deep(&path.top_key())));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return Ok(Value::Object(dict_to_map(d, path, depth)?));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return sequence(l.iter(), l.len(), path, depth);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return sequence(t.iter(), t.len(), path, depth);
    }
    // Subclasses (str-based enums, int subclasses...) and the library types, slower path.
    if let Ok(s) = obj.cast::<PyString>() {
        if obj.is_instance(ENUM.import(py, "enum", "Enum")?)? {
            return value_at(&obj.getattr("value")?, path, depth + 1);
        }
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if obj.is_instance(ENUM.import(py, "enum", "Enum")?)? {
        return value_at(&obj.getattr("value")?, path, depth + 1);
    }
    if obj.cast::<PyBool>().is_ok() {
        return Ok(Value::Bool(obj.is_truthy()?));
    }
    if obj.cast::<PyInt>().is_ok() {
        return int(obj);
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return float(f.value(), path);
    }
    if obj.is_instance(DATETIME.import(py, "datetime", "datetime")?)? {
        return Ok(Value::String(
            datetime_millis(obj).map(|ts| ts.to_string())?,
        ));
    }
    if obj.is_instance(DATE.import(py, "datetime", "date")?)? {
        return Ok(Value::String(obj.call_method0("isoformat")?.extract()?));
    }
    if obj.is_instance(DECIMAL.import(py, "decimal", "Decimal")?)? {
        if !obj.call_method0("is_finite")?.is_truthy()? {
            return Err(ConvertError::Rule(not_finite(
                &path.render(),
                &obj.str()?.to_string(),
            )));
        }
        let text: String = obj.str()?.extract()?;
        return Ok(match text.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Value::Number(n),
            None => Value::String(text),
        });
    }
    if obj.is_instance(UUID.import(py, "uuid", "UUID")?)? {
        return Ok(Value::String(obj.str()?.extract()?));
    }
    Err(type_error(path, obj, JSON_TYPES))
}

/// One cell of an imported row (`column` names it in errors). Missing values — `None`, a float
/// NaN, pandas' `NaT` and `NA` — are `null`; anything else converts as a property value does.
pub fn cell(obj: &Bound<'_, PyAny>, column: &str) -> Converted<Value> {
    let path = Path::Key(&Path::Root(""), column);
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast_exact::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(f) = obj.cast_exact::<PyFloat>() {
        let value = f.value();
        return Ok(if value.is_nan() {
            Value::Null
        } else {
            float(value, &path)?
        });
    }
    let type_name = obj.get_type().name()?;
    if type_name == "NaTType" || type_name == "NAType" {
        return Ok(Value::Null);
    }
    value_at(obj, &path, 1)
}

fn sequence<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    len: usize,
    path: &Path<'_>,
    depth: usize,
) -> Converted<Value> {
    let mut out = Vec::with_capacity(len);
    for (i, item) in items.enumerate() {
        out.push(value_at(&item, &Path::Index(path, i), depth + 1)?);
    }
    Ok(Value::Array(out))
}

/// Ints that fit i64/u64 stay numbers; larger ones are sent as their decimal string
/// (no collector stores integers beyond 64 bits, and a float would silently round).
fn int(obj: &Bound<'_, PyAny>) -> Converted<Value> {
    if let Ok(i) = obj.extract::<i64>() {
        return Ok(Value::from(i));
    }
    if let Ok(u) = obj.extract::<u64>() {
        return Ok(Value::from(u));
    }
    Ok(Value::String(obj.str()?.extract()?))
}

fn float(value: f64, path: &Path<'_>) -> Converted<Value> {
    match Number::from_f64(value) {
        Some(n) => Ok(Value::Number(n)),
        // NaN or an infinity: the core words the rule.
        None => finite_number(value, &path.render()).map_err(ConvertError::Rule),
    }
}

fn not_finite(path: &str, shown: &str) -> ValidationError {
    ValidationError::new(
        "value.not_finite",
        "message",
        path,
        format!("{shown} cannot be sent: JSON has no NaN or Infinity"),
    )
}

/// Milliseconds since the epoch of an aware datetime, or of a naive one taken as UTC.
pub fn datetime_millis(obj: &Bound<'_, PyAny>) -> PyResult<Timestamp> {
    let py = obj.py();
    let utc = UTC.get_or_try_init(py, || -> PyResult<_> {
        Ok(py
            .import("datetime")?
            .getattr("timezone")?
            .getattr("utc")?
            .unbind())
    })?;
    let aware = if obj.getattr("tzinfo")?.is_none() || obj.call_method0("utcoffset")?.is_none() {
        let kwargs = PyDict::new(py);
        kwargs.set_item("tzinfo", utc.bind(py))?;
        obj.call_method("replace", (), Some(&kwargs))?
    } else {
        obj.clone()
    };
    let epoch = EPOCH.get_or_try_init(py, || -> PyResult<_> {
        let dt = py.import("datetime")?.getattr("datetime")?;
        Ok(dt.call1((1970, 1, 1, 0, 0, 0, 0, utc.bind(py)))?.unbind())
    })?;
    let one_ms = ONE_MS.get_or_try_init(py, || -> PyResult<_> {
        let td = py.import("datetime")?.getattr("timedelta")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("milliseconds", 1)?;
        Ok(td.call((), Some(&kwargs))?.unbind())
    })?;
    let millis: i64 = aware
        .call_method1("__sub__", (epoch.bind(py),))?
        .call_method1("__floordiv__", (one_ms.bind(py),))?
        .extract()?;
    Timestamp::from_millis(millis)
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("timestamp out of range"))
}

/// `timestamp=`: a datetime, an ISO 8601 / RFC 3339 string or epoch seconds.
pub fn timestamp(obj: &Bound<'_, PyAny>) -> Converted<Timestamp> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s.to_str()?;
        return Timestamp::parse(text).ok_or_else(|| {
            ConvertError::Rule(ValidationError::new(
                "message.timestamp.invalid",
                "message",
                "timestamp",
                format!("{text:?} is not an ISO 8601 / RFC 3339 date-time"),
            ))
        });
    }
    if obj.is_instance(DATETIME.import(py, "datetime", "datetime")?)? {
        return Ok(datetime_millis(obj)?);
    }
    if obj.cast::<PyBool>().is_err()
        && (obj.cast::<PyInt>().is_ok() || obj.cast::<PyFloat>().is_ok())
    {
        let secs: f64 = obj.extract()?;
        let millis = (secs * 1000.0).round();
        if !millis.is_finite() {
            return Err(ConvertError::Rule(not_finite(
                "timestamp",
                &secs.to_string(),
            )));
        }
        return Timestamp::from_millis(millis as i64).ok_or_else(|| {
            ConvertError::Rule(ValidationError::new(
                "message.timestamp.invalid",
                "message",
                "timestamp",
                format!("{secs} seconds since the epoch is out of range"),
            ))
        });
    }
    Err(type_error(
        &Path::Root("timestamp"),
        obj,
        "a datetime, an ISO 8601 string or epoch seconds",
    ))
}

/// An id argument: `str`, or an `int`/`UUID` (sent as its text). `None` stays absent.
pub fn id(obj: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<String>> {
    let Some(obj) = obj else { return Ok(None) };
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(s.to_str()?.to_owned()));
    }
    let py = obj.py();
    let is_int = obj.cast::<PyInt>().is_ok() && obj.cast::<PyBool>().is_err();
    if is_int || obj.is_instance(UUID.import(py, "uuid", "UUID")?)? {
        return Ok(Some(obj.str()?.extract()?));
    }
    Err(PyTypeError::new_err(format!(
        "{field}: {} is not a str",
        obj.get_type().name()?
    )))
}

/// JSON → Python (dicts, lists, str, int, float, bool, None) for reports and hooks.
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Any `Serialize` core type (report, stats, failure) → Python dicts and lists.
pub fn serialize<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    to_py(py, &json)
}
