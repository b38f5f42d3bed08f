//! The one place where engine errors become Python exceptions.
//!
//! Python sees the class Dask raises for the same mistake: a cycle is a `RuntimeError`
//! (`CycleError`, a subclass), a missing key a `KeyError`, a malformed layer a `ValueError`;
//! a lost or closed connection a `ConnectionError`, a wait past its timeout a `TimeoutError`;
//! a task run on too many workers that died `KilledWorker`.

use oxdask_client::ClientError;
use oxdask_comm::CommError;
use oxdask_graph::GraphError;
use oxdask_protocol::messages::Failure;
use pyo3::create_exception;
use pyo3::exceptions::{
    PyConnectionError, PyKeyError, PyOSError, PyRuntimeError, PyTimeoutError, PyTypeError,
    PyValueError,
};
use pyo3::prelude::*;

use crate::key::key_to_py;

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

/// Maps a client error: `ConnectionError` or `TimeoutError`, the message naming the peer.
pub(crate) fn client_err(e: ClientError) -> PyErr {
    match e {
        ClientError::Timeout(text) => PyTimeoutError::new_err(text),
        ClientError::Connection(text) | ClientError::Protocol(text) => {
            PyConnectionError::new_err(text)
        }
    }
}

/// The scheduler answered a request with a message of another kind.
pub(crate) fn protocol_err(request: &str) -> PyErr {
    client_err(ClientError::Protocol(format!(
        "the scheduler answered {request} with another message"
    )))
}

/// The exception a client raises for a task's failure: the task's own exception (rebuilt by
/// `oxdask.distributed.serialize.loads_error`), `KilledWorker` (with `task`, `last_worker`,
/// `deaths` and `last_reason` attributes), or a `RuntimeError` naming what the scheduler
/// could not do.
pub(crate) fn failure_exception(py: Python<'_>, failure: &Failure) -> PyResult<Py<PyAny>> {
    let serialize = py.import("oxdask.distributed.serialize")?;
    match failure {
        Failure::Raised(blob) => {
            let rebuilt = serialize.getattr("loads_error")?.call1((
                pyo3::types::PyBytes::new(py, &blob.exception),
                pyo3::types::PyBytes::new(py, &blob.traceback),
                &blob.text,
            ))?;
            Ok(rebuilt.unbind())
        }
        Failure::KilledWorker {
            key,
            deaths,
            last_worker,
            last_reason,
        } => {
            let exc = serialize
                .getattr("KilledWorker")?
                .call1((failure.to_string(),))?;
            exc.setattr("task", key_to_py(py, key)?)?;
            exc.setattr("last_worker", last_worker)?;
            exc.setattr("deaths", deaths)?;
            exc.setattr("last_reason", last_reason)?;
            Ok(exc.unbind())
        }
        Failure::Lost { .. } | Failure::Invalid { .. } => {
            let err = PyRuntimeError::new_err(failure.to_string());
            Ok(err.into_value(py).into_any())
        }
    }
}
