//! Core errors → the `tracklane` exception hierarchy.
//!
//! The exception classes are plain Python (`tracklane/errors.py`) so users can subclass,
//! pickle and read them without the native module; this file only builds them from the
//! core's errors, keeping the stable `code`, `destination` and `field`. Messages come from
//! the core, which never puts a key in them.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};
use tracklane_core::{ConfigError, Error, ValidationError};

static CONFIGURATION_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static VALIDATION_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CLOSED_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn build<'py>(
    py: Python<'py>,
    class: &Bound<'py, PyType>,
    message: String,
    code: &str,
    destination: &str,
    field: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", code)?;
    kwargs.set_item("destination", destination)?;
    kwargs.set_item("field", field)?;
    class.call((message,), Some(&kwargs))
}

/// A `tracklane.ValidationError` instance (raised in strict mode, listed in outcomes).
pub fn validation_object<'py>(py: Python<'py>, e: &ValidationError) -> PyResult<Bound<'py, PyAny>> {
    let class = VALIDATION_ERROR.import(py, "tracklane.errors", "ValidationError")?;
    build(py, class, e.to_string(), &e.code, &e.destination, &e.field)
}

pub fn validation(py: Python<'_>, e: &ValidationError) -> PyErr {
    match validation_object(py, e) {
        Ok(obj) => PyErr::from_value(obj),
        Err(err) => err,
    }
}

pub fn config(py: Python<'_>, e: &ConfigError) -> PyErr {
    let made = CONFIGURATION_ERROR
        .import(py, "tracklane.errors", "ConfigurationError")
        .and_then(|class| build(py, class, e.to_string(), &e.code, &e.destination, &e.field));
    match made {
        Ok(obj) => PyErr::from_value(obj),
        Err(err) => err,
    }
}

pub fn closed(py: Python<'_>) -> PyErr {
    let made = CLOSED_ERROR
        .import(py, "tracklane.errors", "ClientClosedError")
        .and_then(|class| {
            build(
                py,
                class,
                Error::Closed.to_string(),
                Error::Closed.code(),
                "client",
                "",
            )
        });
    match made {
        Ok(obj) => PyErr::from_value(obj),
        Err(err) => err,
    }
}

pub fn from_core(py: Python<'_>, e: &Error) -> PyErr {
    match e {
        Error::Config(c) => config(py, c),
        Error::Validation(v) => validation(py, v),
        Error::Closed => closed(py),
    }
}
