//! The one place where engine errors become Python exceptions.
//!
//! Python sees the class Dask raises for the same mistake: a cycle is a `RuntimeError`
//! (`CycleError`, a subclass), a missing key a `KeyError`, a malformed layer a `ValueError`.

use oxdask_comm::CommError;
use oxdask_graph::GraphError;
use pyo3::create_exception;
use pyo3::exceptions::{PyKeyError, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    oxdask._core,
    CycleError,
    PyRuntimeError,
    "The task graph has a cycle; the message lists its keys."
);

/// `TypeError` unless `f` is callable, naming the layer kind, the layer and the argument.
pub(crate) fn check_callable(
    kind: &str,
    layer: &str,
    what: &str,
    f: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if f.is_callable() {
        return Ok(());
    }
    Err(PyTypeError::new_err(format!(
        "{kind} {layer:?}: {what} {} is not callable",
        f.repr()?
    )))
}

/// Maps a graph error to the Python exception Dask raises for the same mistake.
pub(crate) fn graph_err(e: GraphError) -> PyErr {
    let msg = e.to_string();
    match e {
        GraphError::Cycle { .. } => CycleError::new_err(msg),
        GraphError::MissingDependency { .. } | GraphError::MissingOutput { .. } => {
            PyKeyError::new_err(msg)
        }
        GraphError::DuplicateKey { .. } | GraphError::BadLayer { .. } => PyValueError::new_err(msg),
    }
}

/// Maps an error loading TLS settings: an `OSError` naming the file, as Python's `ssl` module
/// raises for a bad certificate or key file.
pub(crate) fn tls_err(e: CommError) -> PyErr {
    PyOSError::new_err(e.to_string())
}
