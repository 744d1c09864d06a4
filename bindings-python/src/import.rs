//! `import_events` in the binding: `ImportJob` (the core's column mapping, built once per import,
//! and the ids of its recent rows) and `Client._import_rows`, which turns one batch of rows that
//! the Python layer (`tracklane/_import.py`) read into messages and queues them under a
//! blocking, interruptible overflow policy.
//!
//! An import must not stop on one bad row, so a value of the wrong type here is that row's
//! rejection (`value.unsupported_type`), never a `TypeError`. Rows are converted under the GIL,
//! then queued with it released; while the queue is full the wait re-attaches every 100 ms so
//! Python can run its signal handlers and answer `should_stop` (Ctrl-C).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde_json::Map;
use tracklane_core::import::{self, EpochUnit, Layout, Properties};
use tracklane_core::{Context, Error, Message, Outcome, Overflow, ValidationError};

use crate::convert::{self, ConvertError};
use crate::errors;

/// Row numbers remembered per generation, to name the row of a delivery failure reported later
/// (two generations: the last 100,000 to 200,000 rows, about 5 MB at most, whatever the size of
/// the import; an older row's failure is listed without its number).
const RECENT_ROWS: usize = 100_000;

/// One import: which column holds which field (the core's `RowMapping`), and the message ids of
/// its recent rows. Built by `_import.py` for each `import_events` call.
#[pyclass(frozen, module = "tracklane._native")]
pub struct ImportJob {
    pub(crate) mapping: import::RowMapping,
    recent: Mutex<[HashMap<u64, u64>; 2]>,
}

fn id_hash(message_id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    message_id.hash(&mut h);
    h.finish()
}

impl ImportJob {
    fn remember(&self, rows: impl Iterator<Item = (u64, String)>) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        for (row, message_id) in rows {
            recent[0].insert(id_hash(&message_id), row);
        }
        if recent[0].len() > RECENT_ROWS {
            recent.swap(0, 1);
            recent[0].clear();
        }
    }
}

fn columns(value: Option<Vec<String>>) -> Vec<String> {
    value.unwrap_or_default()
}

#[pymethods]
impl ImportJob {
    #[new]
    #[pyo3(signature = (event, *, timestamp=None, user_id=None, anonymous_id=None, key=None, properties=None, properties_column=None, exclude=None, context_column=None, context=None, epoch_unit="auto", empty_is_missing=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        event: String,
        timestamp: Option<String>,
        user_id: Option<String>,
        anonymous_id: Option<String>,
        key: Option<String>,
        properties: Option<Vec<String>>,
        properties_column: Option<String>,
        exclude: Option<Vec<String>>,
        context_column: Option<String>,
        context: Option<&Bound<'_, PyAny>>,
        epoch_unit: &str,
        empty_is_missing: bool,
    ) -> PyResult<Self> {
        let epoch_unit = EpochUnit::from_name(epoch_unit).ok_or_else(|| {
            PyValueError::new_err("epoch_unit must be \"auto\", \"s\", \"ms\", \"us\" or \"ns\"")
        })?;
        let properties = match (properties, properties_column) {
            (Some(only), None) => Properties::Only(only),
            (None, Some(column)) => Properties::Column(column),
            (None, None) => Properties::Rest {
                exclude: columns(exclude),
            },
            (Some(_), Some(_)) => {
                return Err(PyValueError::new_err(
                    "give properties or properties_column, not both",
                ))
            }
        };
        let fixed_context = match context.filter(|c| !c.is_none()) {
            None => None,
            Some(c) => match convert::map(c, "context") {
                Ok(map) => Some(
                    Context::from_json(map).map_err(|e| PyValueError::new_err(e.to_string()))?,
                ),
                Err(ConvertError::Type(e)) => return Err(e),
                Err(ConvertError::Rule(e)) => return Err(PyValueError::new_err(e.to_string())),
            },
        };
        Ok(ImportJob {
            recent: Mutex::new([HashMap::new(), HashMap::new()]),
            mapping: import::RowMapping {
                event,
                timestamp,
                user_id,
                anonymous_id,
                key,
                properties,
                context: context_column,
                fixed_context,
                epoch_unit,
                empty_is_missing,
            },
        })
    }

    /// The row number of a recent row's message id.
    fn row_of(&self, message_id: &str) -> Option<u64> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let hash = id_hash(message_id);
        recent[0]
            .get(&hash)
            .or_else(|| recent[1].get(&hash))
            .copied()
    }

    fn __repr__(&self) -> String {
        format!("ImportJob({:?})", self.mapping)
    }
}

/// The row numbers of a batch: `listed`, or counting from `first`.
pub struct RowNumbers {
    pub first: u64,
    pub listed: Option<Vec<u64>>,
}

impl RowNumbers {
    fn of(&self, index: usize) -> u64 {
        match &self.listed {
            Some(listed) => listed.get(index).copied().unwrap_or_default(),
            None => self.first + index as u64,
        }
    }
}

/// What became of a batch: how many rows were offered to the queue (all, unless interrupted
/// or the client closed), and for each row not plainly queued its index, status, message id
/// (`""` when it broke a rule before it had one) and errors.
pub struct BatchOutcome {
    pub handled: usize,
    pub problems: Vec<(usize, &'static str, String, Vec<ValidationError>)>,
    pub interrupted: bool,
}

/// A conversion failure as the row's rule.
fn rule(py: Python<'_>, error: ConvertError) -> ValidationError {
    match error {
        ConvertError::Rule(rule) => rule,
        ConvertError::Type(e) => {
            let text = e.value(py).to_string();
            let field = text.split_once(": ").map(|(f, _)| f).unwrap_or("");
            import::unsupported_value(field, text.clone())
        }
    }
}

/// One row as a message: a dict is read by column name; a list or tuple of cells by position
/// in `columns` (`layout`).
fn row_message(
    row: &Bound<'_, PyAny>,
    mapping: &import::RowMapping,
    columns: Option<(&[String], &Layout)>,
) -> PyResult<Result<Message, ValidationError>> {
    let py = row.py();
    if let Ok(dict) = row.cast::<PyDict>() {
        let mut object = Map::new();
        for (key, value) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                let shown = key.repr()?.to_string();
                let message = format!("column {shown} is not a str");
                return Ok(Err(import::unsupported_value("", message)));
            };
            let key = key.to_str()?;
            match convert::cell(&value, key) {
                Ok(v) => object.insert(key.to_owned(), v),
                Err(e) => return Ok(Err(rule(py, e))),
            };
        }
        return Ok(mapping.message(object));
    }
    let Some((columns, layout)) = columns else {
        return Err(PyTypeError::new_err("rows without columns= must be dicts"));
    };
    let mut cells = Vec::with_capacity(columns.len());
    let mut convert = |values: &mut dyn Iterator<Item = Bound<'_, PyAny>>| {
        for (column, value) in columns.iter().zip(values) {
            cells.push(convert::cell(&value, column).map_err(|e| rule(py, e))?);
        }
        Ok(())
    };
    let converted = match row.cast::<PyList>() {
        Ok(list) => convert(&mut list.iter()),
        Err(_) => convert(&mut row.cast::<PyTuple>()?.iter()),
    };
    Ok(converted.and_then(|()| mapping.message_from_cells(layout, cells)))
}

/// Whether the import should stop: a signal handler raised (default Ctrl-C) or `should_stop()`
/// says so (the import's own SIGINT handler sets a flag instead of raising).
fn stop_requested(py: Python<'_>, should_stop: Option<&Py<PyAny>>) -> bool {
    if py.check_signals().is_err() {
        return true;
    }
    should_stop.is_some_and(|f| {
        f.call0(py)
            .and_then(|v| v.bind(py).is_truthy())
            .unwrap_or(true)
    })
}

/// Converts, maps and queues `rows`; stops early only on Ctrl-C or a closed client.
#[allow(clippy::too_many_arguments)]
pub fn import_rows(
    py: Python<'_>,
    client: &tracklane_core::Client,
    rows: &Bound<'_, PyList>,
    job: &ImportJob,
    numbers: RowNumbers,
    columns: Option<&[String]>,
    block: Duration,
    should_stop: Option<Py<PyAny>>,
) -> PyResult<BatchOutcome> {
    let layout = columns.map(|c| (c, job.mapping.layout(c)));
    let columns = layout.as_ref().map(|(c, l)| (*c, l));
    let mut prepared = Vec::with_capacity(rows.len());
    for row in rows.iter() {
        prepared.push(row_message(&row, &job.mapping, columns)?);
    }
    let overflow = Overflow::Block(block);
    let stop = should_stop.as_ref();
    let (outcomes, interrupted) = py.detach(|| {
        let mut outcomes = Vec::with_capacity(prepared.len());
        let mut interrupted = false;
        for row in prepared {
            let message = match row {
                Ok(message) => message,
                Err(rule) => {
                    outcomes.push(Ok(Outcome::Rejected {
                        message_id: String::new(),
                        errors: vec![rule],
                    }));
                    continue;
                }
            };
            let mut keep_waiting = || {
                let keep = !Python::attach(|py| stop_requested(py, stop));
                interrupted |= !keep;
                keep
            };
            let outcome = client.enqueue_with(message, overflow, &mut keep_waiting);
            let closed = matches!(outcome, Err(Error::Closed));
            outcomes.push(outcome);
            if interrupted || closed {
                break;
            }
        }
        (outcomes, interrupted)
    });
    let last = outcomes.len().saturating_sub(1);
    let mut batch = BatchOutcome {
        handled: outcomes.len(),
        problems: Vec::new(),
        interrupted,
    };
    let mut queued = Vec::with_capacity(outcomes.len());
    for (index, outcome) in outcomes.into_iter().enumerate() {
        let outcome = match outcome {
            Ok(outcome) => outcome,
            // Strict clients return rule violations as errors; an import reports them per row.
            Err(Error::Validation(rule)) => Outcome::Rejected {
                message_id: String::new(),
                errors: vec![rule],
            },
            Err(e) => return Err(errors::from_core(py, &e)),
        };
        let status = match &outcome {
            Outcome::Dropped { .. } if interrupted && index == last => "interrupted",
            other => other.status(),
        };
        let number = numbers.of(index);
        if status != "queued" || !outcome.errors().is_empty() {
            let id = outcome.message_id().to_string();
            batch
                .problems
                .push((index, status, id, outcome.errors().to_vec()));
        }
        if let Outcome::Queued { message_id, .. } = outcome {
            queued.push((number, message_id));
        }
    }
    job.remember(queued.into_iter());
    Ok(batch)
}
