//! The one place where engine errors become Python exceptions.
//!
//! Python sees the class Dask raises for the same mistake: a cycle is a `RuntimeError`
//! (`CycleError`, a subclass), a missing key a `KeyError`, a malformed layer a `ValueError`.

use oxdask_comm::CommError;
use oxdask_graph::GraphError;
use pyo3::create_exception;
use pyo3::exceptions::{PyKeyError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

create_exception!(
    oxdask._core,
    CycleError,
    PyRuntimeError,
    "The task graph has a cycle; the message lists its keys."
);

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
