//! `tracklane._native.Client`: the core client behind a frozen pyclass (so concurrent calls
//! from several Python threads never collide on a borrow flag), and `TrackResult`, the
//! immutable outcome of one call.
//!
//! Conversion of Python values needs the GIL. `enqueue` keeps it under `drop_newest` (it never
//! waits: see [`Client::may_block`]) and releases it under `overflow="block"`; `flush` and
//! `close` always run with the GIL released.
//!
//! The GIL may be held while the core runs only because no core lock is ever held by a thread
//! that waits for the GIL: the hooks thread and the log bridge (`hooks.rs`) are handed their
//! data after every core lock is released, and `enqueue`'s own locks (dedupe shard, inbox) are
//! held for a few instructions around plain Rust code.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use tracklane_core::{Context, Kind, Message, Outcome, Overflow, ValidationError};

use crate::config;
use crate::convert::{self, ConvertError};
use crate::errors;
use crate::import;

#[pyclass(frozen, subclass, weakref, module = "tracklane._native")]
pub struct Client {
    inner: Arc<tracklane_core::Client>,
    strict: bool,
    /// `overflow="block"`: `enqueue` may wait for room, so it runs with the GIL released.
    /// Under `drop_newest` it never waits and runs attached, which saves a GIL release and
    /// re-take on every call (about 4% of a `track` call's instructions) and never hands
    /// the GIL to another thread in the middle of a call.
    may_block: bool,
    /// Destinations that record an event's arrival time, not its own (imports warn).
    without_timestamp: Vec<String>,
}

/// Optional parts of a call, as Python passed them.
#[derive(Default)]
struct Parts<'a, 'py> {
    properties: Option<&'a Bound<'py, PyAny>>,
    traits: Option<&'a Bound<'py, PyAny>>,
    user_id: Option<&'a Bound<'py, PyAny>>,
    anonymous_id: Option<&'a Bound<'py, PyAny>>,
    previous_id: Option<&'a Bound<'py, PyAny>>,
    group_id: Option<&'a Bound<'py, PyAny>>,
    session_id: Option<&'a Bound<'py, PyAny>>,
    context: Option<&'a Bound<'py, PyAny>>,
    timestamp: Option<&'a Bound<'py, PyAny>>,
    message_id: Option<&'a Bound<'py, PyAny>>,
}

fn present<'a, 'py>(obj: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    obj.filter(|o| !o.is_none())
}

impl Client {
    /// Fills `message` from `parts`. `Ok(Err(rule))` is a rule broken by a value
    /// (NaN, too deep, bad timestamp); `Err` is a wrong type.
    fn fill(message: &mut Message, parts: &Parts<'_, '_>) -> PyResult<Result<(), ValidationError>> {
        let rule = |r: Result<(), ConvertError>| -> PyResult<Result<(), ValidationError>> {
            match r {
                Ok(()) => Ok(Ok(())),
                Err(ConvertError::Type(e)) => Err(e),
                Err(ConvertError::Rule(v)) => Ok(Err(v)),
            }
        };
        message.user_id = convert::id(parts.user_id, "user_id")?;
        message.anonymous_id = convert::id(parts.anonymous_id, "anonymous_id")?;
        message.previous_id =
            convert::id(parts.previous_id, "previous_id")?.or(message.previous_id.take());
        message.group_id = convert::id(parts.group_id, "group_id")?;
        message.session_id = convert::id(parts.session_id, "session_id")?;
        if let Some(id) = convert::id(parts.message_id, "message_id")? {
            message.message_id = id;
        }
        let mut broken = Ok(());
        if let Some(p) = present(parts.properties) {
            match convert::map(p, "properties") {
                Ok(m) => message.properties = m,
                Err(e) => broken = broken.and(rule(Err(e))?),
            }
        }
        if let Some(t) = present(parts.traits) {
            match convert::map(t, "traits") {
                Ok(m) => message.traits = m,
                Err(e) => broken = broken.and(rule(Err(e))?),
            }
        }
        if let Some(c) = present(parts.context) {
            match convert::map(c, "context") {
                Ok(m) => match Context::from_json(m) {
                    Ok(ctx) => message.context = ctx,
                    Err(v) => broken = broken.and(Err(v)),
                },
                Err(e) => broken = broken.and(rule(Err(e))?),
            }
        }
        if let Some(ts) = present(parts.timestamp) {
            match convert::timestamp(ts) {
                Ok(t) => message.timestamp = t,
                Err(e) => broken = broken.and(rule(Err(e))?),
            }
        }
        Ok(broken)
    }

    fn send(
        &self,
        py: Python<'_>,
        mut message: Message,
        parts: Parts<'_, '_>,
    ) -> PyResult<TrackResult> {
        if let Err(rule) = Self::fill(&mut message, &parts)? {
            return self.reject(py, message.message_id, rule);
        }
        let inner = &self.inner;
        let outcome = if self.may_block {
            py.detach(|| inner.enqueue(message))
        } else {
            inner.enqueue(message)
        };
        match outcome {
            Ok(outcome) => Ok(TrackResult::from(outcome)),
            Err(e) => Err(errors::from_core(py, &e)),
        }
    }

    /// A value the binding could not convert: reported by the core like any rejection.
    fn reject(
        &self,
        py: Python<'_>,
        message_id: String,
        error: ValidationError,
    ) -> PyResult<TrackResult> {
        match self.inner.reject(message_id, error) {
            Ok(outcome) => Ok(TrackResult::from(outcome)),
            Err(e) => Err(errors::from_core(py, &e)),
        }
    }
}

fn timeout(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| PyValueError::new_err("timeout must be a non-negative number of seconds"))
}

fn event_name(event: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    match event.cast::<PyString>() {
        Ok(s) => Ok(s.to_str()?.to_owned()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{what}: {} is not a str",
            event.get_type().name()?
        ))),
    }
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (options, on_error=None, on_delivery=None))]
    fn new(
        py: Python<'_>,
        options: &Bound<'_, PyDict>,
        on_error: Option<Py<PyAny>>,
        on_delivery: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        crate::hooks::sync_log_level(py)?;
        let config = config::client_config(py, options, on_error, on_delivery)?;
        let strict = config.strict;
        let may_block = matches!(config.overflow, Overflow::Block(_));
        let keeps: Vec<bool> = config
            .destinations
            .iter()
            .map(tracklane_core::import::keeps_timestamp)
            .collect();
        let inner = tracklane_core::Client::new(config).map_err(|e| errors::config(py, &e))?;
        let without_timestamp = inner
            .destination_names()
            .into_iter()
            .zip(keeps)
            .filter_map(|(name, keeps)| (!keeps).then_some(name))
            .collect();
        Ok(Client {
            inner: Arc::new(inner),
            strict,
            may_block,
            without_timestamp,
        })
    }

    #[pyo3(signature = (event, properties=None, *, user_id=None, anonymous_id=None, context=None, timestamp=None, message_id=None, session_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn track(
        &self,
        py: Python<'_>,
        event: &Bound<'_, PyAny>,
        properties: Option<&Bound<'_, PyAny>>,
        user_id: Option<&Bound<'_, PyAny>>,
        anonymous_id: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        message_id: Option<&Bound<'_, PyAny>>,
        session_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TrackResult> {
        let message = Message::track(event_name(event, "event")?);
        let parts = Parts {
            properties,
            user_id,
            anonymous_id,
            context,
            timestamp,
            message_id,
            session_id,
            ..Parts::default()
        };
        self.send(py, message, parts)
    }

    #[pyo3(signature = (user_id=None, traits=None, *, anonymous_id=None, context=None, timestamp=None, message_id=None, session_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn identify(
        &self,
        py: Python<'_>,
        user_id: Option<&Bound<'_, PyAny>>,
        traits: Option<&Bound<'_, PyAny>>,
        anonymous_id: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        message_id: Option<&Bound<'_, PyAny>>,
        session_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TrackResult> {
        let parts = Parts {
            traits,
            user_id,
            anonymous_id,
            context,
            timestamp,
            message_id,
            session_id,
            ..Parts::default()
        };
        self.send(py, Message::new(Kind::Identify), parts)
    }

    #[pyo3(signature = (previous_id, user_id, *, context=None, timestamp=None, message_id=None))]
    fn alias(
        &self,
        py: Python<'_>,
        previous_id: &Bound<'_, PyAny>,
        user_id: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        message_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TrackResult> {
        let parts = Parts {
            previous_id: Some(previous_id),
            user_id: Some(user_id),
            context,
            timestamp,
            message_id,
            ..Parts::default()
        };
        self.send(py, Message::new(Kind::Alias), parts)
    }

    #[pyo3(signature = (name=None, properties=None, *, user_id=None, anonymous_id=None, context=None, timestamp=None, message_id=None, session_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn page(
        &self,
        py: Python<'_>,
        name: Option<&Bound<'_, PyAny>>,
        properties: Option<&Bound<'_, PyAny>>,
        user_id: Option<&Bound<'_, PyAny>>,
        anonymous_id: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        message_id: Option<&Bound<'_, PyAny>>,
        session_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TrackResult> {
        let mut message = Message::new(Kind::Page);
        if let Some(n) = present(name) {
            message.event = Some(event_name(n, "name")?);
        }
        let parts = Parts {
            properties,
            user_id,
            anonymous_id,
            context,
            timestamp,
            message_id,
            session_id,
            ..Parts::default()
        };
        self.send(py, message, parts)
    }

    #[pyo3(signature = (group_id, traits=None, *, user_id=None, anonymous_id=None, context=None, timestamp=None, message_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn group(
        &self,
        py: Python<'_>,
        group_id: &Bound<'_, PyAny>,
        traits: Option<&Bound<'_, PyAny>>,
        user_id: Option<&Bound<'_, PyAny>>,
        anonymous_id: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        message_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TrackResult> {
        let parts = Parts {
            traits,
            group_id: Some(group_id),
            user_id,
            anonymous_id,
            context,
            timestamp,
            message_id,
            ..Parts::default()
        };
        self.send(py, Message::new(Kind::Group), parts)
    }

    /// Waits (GIL released) until everything queued so far is delivered or failed, or until
    /// `timeout` seconds; returns the delivery report as a dict.
    #[pyo3(signature = (timeout=10.0))]
    fn flush<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        let deadline = self::timeout(timeout)?;
        let inner = &self.inner;
        let report = py.detach(|| inner.flush(deadline));
        convert::serialize(py, &report)
    }

    #[pyo3(signature = (timeout=10.0))]
    fn close<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        let deadline = self::timeout(timeout)?;
        let inner = &self.inner;
        let report = py.detach(|| inner.close(deadline));
        convert::serialize(py, &report)
    }

    /// One batch of `import_events` rows (dicts, or lists of cells named by `columns`) mapped
    /// by `job`; their row numbers are `numbers`, or count from `first_row`. Returns `(handled, problems, interrupted)` where
    /// `problems` lists `(index, status, message_id, [(code, destination, field, message)])`
    /// for every row not plainly queued. `block_timeout=None` waits for room until
    /// `should_stop()` (or a signal handler) says otherwise. Private: `tracklane/_import.py` is
    /// its only caller.
    #[pyo3(signature = (rows, job, *, first_row=0, numbers=None, columns=None, block_timeout=None, should_stop=None))]
    #[allow(clippy::too_many_arguments)]
    fn _import_rows<'py>(
        &self,
        py: Python<'py>,
        rows: &Bound<'py, PyList>,
        job: PyRef<'py, import::ImportJob>,
        first_row: u64,
        numbers: Option<Vec<u64>>,
        columns: Option<Vec<String>>,
        block_timeout: Option<f64>,
        should_stop: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let block = match block_timeout {
            Some(seconds) => self::timeout(seconds)?,
            None => Duration::MAX,
        };
        let batch = import::import_rows(
            py,
            &self.inner,
            rows,
            &job,
            import::RowNumbers {
                first: first_row,
                listed: numbers,
            },
            columns.as_deref(),
            block,
            should_stop,
        )?;
        let problems = PyList::empty(py);
        for (index, status, message_id, errs) in &batch.problems {
            let errs: Vec<_> = errs
                .iter()
                .map(|e| (&e.code, &e.destination, &e.field, &e.message))
                .collect();
            problems.append((index, status, message_id, errs))?;
        }
        (batch.handled, problems, batch.interrupted).into_pyobject(py)
    }

    /// Names of the destinations that keep no timestamp of their own (Web Analyzer, Silktide,
    /// Tracardi): they record events at arrival, so an import's historical times are lost there.
    #[getter]
    fn destinations_without_timestamp(&self) -> Vec<String> {
        self.without_timestamp.clone()
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialize(py, &self.inner.stats())
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    #[getter]
    fn destination_names(&self) -> Vec<String> {
        self.inner.destination_names()
    }

    #[getter]
    fn strict(&self) -> bool {
        self.strict
    }
}

/// What became of one call: truthy only when queued. Its fields stay Rust values until read
/// (most callers look at none of them, or only at its truth), and a free list recycles the
/// objects of results already dropped.
#[pyclass(frozen, freelist = 64, module = "tracklane._native")]
pub struct TrackResult {
    status: &'static str,
    message_id: String,
    destinations: Arc<[String]>,
    errors: Vec<ValidationError>,
}

impl From<Outcome> for TrackResult {
    fn from(outcome: Outcome) -> Self {
        let status = outcome.status();
        match outcome {
            Outcome::Queued {
                message_id,
                destinations,
                rejected,
            } => TrackResult {
                status,
                message_id,
                destinations,
                errors: rejected,
            },
            Outcome::Rejected { message_id, errors } => TrackResult {
                status,
                message_id,
                destinations: Arc::new([]),
                errors,
            },
            Outcome::Duplicate { message_id }
            | Outcome::Dropped { message_id }
            | Outcome::Skipped { message_id } => TrackResult {
                status,
                message_id,
                destinations: Arc::new([]),
                errors: Vec::new(),
            },
        }
    }
}

#[pymethods]
impl TrackResult {
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        match self.status {
            "queued" => intern!(py, "queued").clone(),
            "duplicate" => intern!(py, "duplicate").clone(),
            "rejected" => intern!(py, "rejected").clone(),
            "dropped" => intern!(py, "dropped").clone(),
            "skipped" => intern!(py, "skipped").clone(),
            other => PyString::new(py, other),
        }
    }

    #[getter]
    fn message_id(&self) -> &str {
        &self.message_id
    }

    #[getter]
    fn destinations(&self) -> Vec<String> {
        self.destinations.to_vec()
    }

    /// `tracklane.ValidationError` instances, one per broken rule.
    #[getter]
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .errors
            .iter()
            .map(|e| errors::validation_object(py, e))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn __bool__(&self) -> bool {
        self.status == "queued"
    }

    fn __repr__(&self) -> String {
        let codes: Vec<&str> = self.errors.iter().map(|e| e.code.as_str()).collect();
        format!(
            "TrackResult(status={:?}, message_id={:?}, destinations={:?}, errors={:?})",
            self.status, self.message_id, self.destinations, codes
        )
    }
}
