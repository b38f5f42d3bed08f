//! `_core.ShufflePeers`: what a distributed worker's tasks use to take shuffle pieces from
//! other workers (the engine shuffle on a cluster). Given to the Python host at start-up.

use oxdask_worker::PeerHandle;
use pyo3::exceptions::PyConnectionError;
use pyo3::prelude::*;

use crate::buffer::{py_from_bytes, Frame};

/// Pieces as Python sees them: `(input partition, pickle stream, out-of-band buffers)`.
type PyPieces<'py> = Vec<(u32, Bound<'py, Frame>, Vec<Bound<'py, Frame>>)>;

/// See the module docs and `_core.pyi`.
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct ShufflePeers {
    handle: PeerHandle,
}

impl ShufflePeers {
    pub(crate) fn new(handle: PeerHandle) -> Self {
        Self { handle }
    }
}

#[pymethods]
impl ShufflePeers {
    /// This worker's address.
    #[getter]
    fn address(&self) -> &str {
        self.handle.address()
    }

    /// The worker's memory limit in bytes (0: none).
    #[getter]
    fn memory_limit(&self) -> u64 {
        self.handle.memory_limit()
    }

    /// Takes output `partition` of `shuffle` from every worker in `addresses` (at once, the
    /// GIL released); returns their pieces in one list. Raises ConnectionError naming every
    /// worker that failed.
    fn take<'py>(
        &self,
        py: Python<'py>,
        addresses: Vec<String>,
        shuffle: &str,
        partition: u32,
    ) -> PyResult<PyPieces<'py>> {
        let replies = py
            .detach(|| self.handle.take_shuffle(&addresses, shuffle, partition))
            .map_err(PyConnectionError::new_err)?;
        let mut out = Vec::new();
        let mut failed = Vec::new();
        for reply in replies {
            match reply {
                Ok(pieces) => {
                    for (input, pickle, buffers) in pieces {
                        let buffers = buffers
                            .into_iter()
                            .map(|b| py_from_bytes(py, b))
                            .collect::<PyResult<_>>()?;
                        out.push((input, py_from_bytes(py, pickle)?, buffers));
                    }
                }
                Err(e) => failed.push(e),
            }
        }
        if !failed.is_empty() {
            return Err(PyConnectionError::new_err(format!(
                "could not take partition {partition} of shuffle {shuffle}: {}",
                failed.join("; ")
            )));
        }
        Ok(out)
    }

    /// Tells every worker in `addresses` to forget `shuffle`; does not wait.
    fn drop(&self, addresses: Vec<String>, shuffle: &str) {
        self.handle.drop_shuffle(addresses, shuffle);
    }
}
