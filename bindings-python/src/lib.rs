//! The Python binding (`tracklane._native`). It converts Python values to the core's JSON
//! and messages, maps core errors onto the `tracklane` exception hierarchy and runs Python
//! callbacks from the core's hook thread. It must never grow tracking logic: retry,
//! batching, validation and dedupe all live in `tracklane-core`.

mod client;
mod config;
mod convert;
mod errors;
mod hooks;
mod import;

use pyo3::prelude::*;

/// Called by `os.register_at_fork(after_in_child=...)`: bumps the core's fork generation, so
/// the child's next call rebuilds runtime and engine and reseeds its message-id generator.
#[pyfunction]
fn _after_fork_in_child() {
    tracklane_core::fork::note_fork_in_child();
}

/// Called by the `atexit` handler once every live client is closed: from then on no
/// background thread attaches to the interpreter (a thread that tries to take the GIL while
/// Python finalizes hangs or crashes).
#[pyfunction]
fn _python_exiting() {
    hooks::set_python_exiting();
}

/// Re-reads the effective level of `logging.getLogger("tracklane")` so the Rust side skips
/// records Python would discard (a record costs a GIL round trip).
#[pyfunction]
fn _sync_log_level(py: Python<'_>) -> PyResult<()> {
    hooks::sync_log_level(py)
}

#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", tracklane_core::VERSION)?;
    m.add("MAX_DEPTH", tracklane_core::value::MAX_DEPTH)?;
    m.add_class::<client::Client>()?;
    m.add_class::<client::TrackResult>()?;
    m.add_class::<import::ImportJob>()?;
    m.add_function(wrap_pyfunction!(_after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(_python_exiting, m)?)?;
    m.add_function(wrap_pyfunction!(_sync_log_level, m)?)?;
    hooks::install_logger();
    Ok(())
}
