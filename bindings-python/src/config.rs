//! Client options: a Python dict (destinations already turned into dicts by the Python
//! layer) → the JSON object `ClientConfig::from_json` reads, which also falls back to the
//! `TRACKLANE_*` environment variables. Option names and defaults live in the core only.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;
use tracklane_core::ClientConfig;

use crate::convert::{self, ConvertError};
use crate::errors;
use crate::hooks::PyHooks;

pub fn client_config(
    py: Python<'_>,
    options: &Bound<'_, PyDict>,
    on_error: Option<Py<PyAny>>,
    on_delivery: Option<Py<PyAny>>,
) -> PyResult<ClientConfig> {
    let json = match convert::map(options.as_any(), "options") {
        Ok(map) => Value::Object(map),
        Err(ConvertError::Type(e)) => return Err(e),
        Err(ConvertError::Rule(e)) => return Err(PyTypeError::new_err(e.to_string())),
    };
    for (name, callback) in [("on_error", &on_error), ("on_delivery", &on_delivery)] {
        if let Some(c) = callback {
            if !c.bind(py).is_callable() {
                return Err(PyTypeError::new_err(format!("{name} must be callable")));
            }
        }
    }
    let mut config = ClientConfig::from_json(json).map_err(|e| errors::config(py, &e))?;
    if on_error.is_some() || on_delivery.is_some() {
        config.hooks = Some(Arc::new(PyHooks {
            on_error,
            on_delivery,
        }));
    }
    Ok(config)
}
