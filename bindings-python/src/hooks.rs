//! Python callbacks and logging, entered from threads Python did not start.
//!
//! `on_error`/`on_delivery` run on the core's hook dispatcher thread; log records come from
//! the runtime's workers and from callers. Each attaches to the interpreter only while it is
//! not finalizing: the `atexit` handler closes every client and then sets
//! [`set_python_exiting`], after which nothing here touches Python again (a foreign thread
//! taking the GIL during finalization hangs on 3.13+ and could crash before). A callback's
//! exception is logged through `logging.getLogger("tracklane")`, never propagated.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;
use tracklane_core::pipeline::report::{Delivery, FailedEvent};
use tracklane_core::Hooks;

use crate::convert;

static PYTHON_EXITING: AtomicBool = AtomicBool::new(false);
/// Whether [`BRIDGE`] is the `log` crate's logger (then it also owns `log::max_level`).
static BRIDGE_INSTALLED: AtomicBool = AtomicBool::new(false);
static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// `log::Level as usize` of the most verbose record Python would keep (0 = none).
static MAX_LEVEL: AtomicUsize = AtomicUsize::new(Level::Warn as usize);

pub fn set_python_exiting() {
    PYTHON_EXITING.store(true, Ordering::SeqCst);
}

/// Runs `f` under the GIL unless Python is finalizing (or gone); `None` if skipped.
fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    if PYTHON_EXITING.load(Ordering::SeqCst) {
        return None;
    }
    Python::try_attach(f)
}

fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    LOGGER
        .get_or_try_init(py, || -> PyResult<_> {
            Ok(py
                .import("logging")?
                .call_method1("getLogger", ("tracklane",))?
                .unbind())
        })
        .map(|l| l.bind(py))
}

fn log_callback_error(py: Python<'_>, which: &str, err: PyErr) {
    let logged = logger(py).and_then(|l| {
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("exc_info", err.value(py))?;
        l.call_method(
            "error",
            (format!("tracklane {which} callback raised"),),
            Some(&kwargs),
        )
    });
    if logged.is_err() {
        err.print(py);
    }
}

pub struct PyHooks {
    pub on_error: Option<Py<PyAny>>,
    pub on_delivery: Option<Py<PyAny>>,
}

impl Hooks for PyHooks {
    fn on_error(&self, failures: &[FailedEvent]) {
        let Some(callback) = &self.on_error else {
            return;
        };
        with_python(|py| {
            let result = failures
                .iter()
                .map(|f| convert::serialize(py, f))
                .collect::<PyResult<Vec<_>>>()
                .and_then(|items| PyList::new(py, items))
                .and_then(|list| callback.call1(py, (list,)));
            if let Err(err) = result {
                log_callback_error(py, "on_error", err);
            }
        });
    }

    fn wants_deliveries(&self) -> bool {
        self.on_delivery.is_some()
    }

    fn on_delivery(&self, delivery: &Delivery) {
        let Some(callback) = &self.on_delivery else {
            return;
        };
        with_python(|py| {
            let result = convert::serialize(py, delivery).and_then(|d| callback.call1(py, (d,)));
            if let Err(err) = result {
                log_callback_error(py, "on_delivery", err);
            }
        });
    }
}

/// Forwards the core's `log` records (target `tracklane...`) to `logging.getLogger("tracklane")`.
struct Bridge;

static BRIDGE: Bridge = Bridge;

impl Log for Bridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("tracklane")
            && (metadata.level() as usize) <= MAX_LEVEL.load(Ordering::Relaxed)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => 40,
            Level::Warn => 30,
            Level::Info => 20,
            Level::Debug => 10,
            Level::Trace => 5,
        };
        let text = record.args().to_string();
        with_python(|py| {
            if let Ok(l) = logger(py) {
                let _ = l.call_method1("log", (level, text));
            }
        });
    }

    fn flush(&self) {}
}

pub fn install_logger() {
    // Fails only if the embedding program installed its own logger first; then it keeps it.
    if log::set_logger(&BRIDGE).is_ok() {
        BRIDGE_INSTALLED.store(true, Ordering::Relaxed);
        log::set_max_level(level_filter(MAX_LEVEL.load(Ordering::Relaxed)));
    }
}

fn level_filter(max: usize) -> LevelFilter {
    match max {
        0 => LevelFilter::Off,
        1 => LevelFilter::Error,
        2 => LevelFilter::Warn,
        3 => LevelFilter::Info,
        4 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

pub fn sync_log_level(py: Python<'_>) -> PyResult<()> {
    let level: i64 = logger(py)?.call_method0("getEffectiveLevel")?.extract()?;
    let max = match level {
        l if l <= 5 => Level::Trace as usize,
        l if l <= 10 => Level::Debug as usize,
        l if l <= 20 => Level::Info as usize,
        l if l <= 30 => Level::Warn as usize,
        l if l <= 40 => Level::Error as usize,
        _ => 0,
    };
    MAX_LEVEL.store(max, Ordering::Relaxed);
    // The `log` macros compare with this before building a record: a level Python would
    // discard then costs one atomic load where it is logged, on any thread.
    if BRIDGE_INSTALLED.load(Ordering::Relaxed) {
        log::set_max_level(level_filter(max));
    }
    Ok(())
}
