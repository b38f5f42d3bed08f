//! Running a distributed worker in this process: the Rust runtime does the networking, data
//! store and scheduling; a Python object (`oxdask.distributed.worker.Host`) runs tasks and
//! (de)serializes values.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use oxdask_protocol::messages::{ComputeTask, ErrorBlob};
use oxdask_worker::memory::MemoryThresholds;
use oxdask_worker::{run_worker, Executed, Host, PeerHandle, Pieces, WorkerConfig, WorkerExit};
use pyo3::exceptions::{PyConnectionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::buffer::{bytes_from_py, py_from_bytes};
use crate::key::key_to_py;
use crate::numpy_alloc;
use crate::peers::ShufflePeers;
use crate::runtime::{self, runtime};
use crate::security::{load_tls, TlsArg};
use crate::wire::{self, Inputs};

/// Memory thresholds `(target, spill, pause, terminate)`, fractions of the limit or None.
type MemoryArg = (Option<f64>, Option<f64>, Option<f64>, Option<f64>);

/// Runs tasks through the Python host object.
struct PyHost {
    host: Py<PyAny>,
}

impl PyHost {
    /// The wire form of the exception `err`, via the host's `dump_error`.
    fn error(&self, py: Python<'_>, err: PyErr) -> ErrorBlob {
        let text = err.to_string();
        let dumped = self
            .host
            // into_value attaches the traceback to the exception object.
            .call_method1(py, "dump_error", (err.into_value(py),))
            .and_then(|r| r.extract::<(Vec<u8>, Vec<u8>, String)>(py));
        match dumped {
            Ok((exception, traceback, text)) => ErrorBlob {
                exception: exception.into(),
                traceback: traceback.into(),
                text,
            },
            Err(_) => ErrorBlob {
                text,
                ..ErrorBlob::default()
            },
        }
    }
}

impl Host for PyHost {
    type Value = Py<PyAny>;

    fn execute(
        &self,
        task: &ComputeTask,
        function: Option<Bytes>,
        inputs: Vec<Arc<Py<PyAny>>>,
    ) -> Result<Executed<Py<PyAny>>, ErrorBlob> {
        Python::attach(|py| {
            // Per task, not per burst: the pool may be installed in the middle of one.
            numpy_alloc::activate(py);
            let run = || -> PyResult<Executed<Py<PyAny>>> {
                let function = function.as_ref().map(|f| PyBytes::new(py, f));
                let values = inputs.iter().map(|v| v.bind(py).clone());
                let key = key_to_py(py, &task.key)?;
                let out = if wire::is_plain(&task.payload) {
                    // Arguments decoded here, inputs in place: `dep_keys` None says so.
                    let inputs =
                        Inputs::new(task.deps.iter().map(|(k, _)| k.clone()), values.collect());
                    let arguments = task.function.is_some();
                    let body = wire::read_plain(py, &task.payload, Some(&inputs), arguments)?;
                    let none = py.None();
                    self.host.call_method1(
                        py,
                        "execute",
                        (
                            key,
                            body,
                            task.function,
                            function,
                            &none,
                            &none,
                            task.inline,
                        ),
                    )?
                } else {
                    let keys = task
                        .deps
                        .iter()
                        .map(|(k, _)| key_to_py(py, k))
                        .collect::<PyResult<Vec<_>>>()?;
                    self.host.call_method1(
                        py,
                        "execute",
                        (
                            key,
                            PyBytes::new(py, &task.payload),
                            task.function,
                            function,
                            keys,
                            PyList::new(py, values)?,
                            task.inline,
                        ),
                    )?
                };
                let (value, nbytes, type_name, pickle): (
                    Py<PyAny>,
                    u64,
                    String,
                    Option<Bound<'_, PyAny>>,
                ) = out.extract(py)?;
                Ok(Executed {
                    value,
                    nbytes,
                    type_name,
                    pickle: pickle.as_ref().map(bytes_from_py).transpose()?,
                })
            };
            run().map_err(|e| self.error(py, e))
        })
    }

    fn serialize(&self, value: &Py<PyAny>) -> Result<(Bytes, Vec<Bytes>), ErrorBlob> {
        runtime::attach(|py| {
            let run = || -> PyResult<(Bytes, Vec<Bytes>)> {
                let (stream, buffers): (Bound<'_, PyAny>, Vec<Bound<'_, PyAny>>) = self
                    .host
                    .call_method1(py, "serialize", (value.bind(py),))?
                    .extract(py)?;
                let buffers = buffers.iter().map(bytes_from_py).collect::<PyResult<_>>()?;
                Ok((bytes_from_py(&stream)?, buffers))
            };
            run().map_err(|e| self.error(py, e))
        })
    }

    fn deserialize(
        &self,
        pickle: Bytes,
        buffers: Vec<Bytes>,
    ) -> Result<(Py<PyAny>, u64), ErrorBlob> {
        runtime::attach(|py| {
            let run = || -> PyResult<(Py<PyAny>, u64)> {
                let bufs = buffers
                    .into_iter()
                    .map(|b| py_from_bytes(py, b))
                    .collect::<PyResult<Vec<_>>>()?;
                let bufs = PyList::new(py, bufs)?;
                let out = self.host.call_method1(
                    py,
                    "deserialize",
                    (py_from_bytes(py, pickle)?, bufs),
                )?;
                out.extract(py)
            };
            run().map_err(|e| self.error(py, e))
        })
    }

    /// Frees the buffers kept for NumPy, then calls the host's `release_memory` (which trims
    /// the C heap), if it has one.
    fn release_memory(&self) {
        numpy_alloc::drain();
        runtime::attach(|py| {
            if let Err(e) = self.host.call_method0(py, "release_memory") {
                tracing::debug!(error = %e, "release_memory failed");
            }
        });
    }

    /// Gives the host its `_core.ShufflePeers` (`started(peers)`).
    fn started(&self, peers: PeerHandle) {
        runtime::attach(|py| {
            let started = Py::new(py, ShufflePeers::new(peers))
                .and_then(|p| self.host.call_method1(py, "started", (p,)));
            if let Err(e) = started {
                tracing::error!(error = %e, "the worker host's started() failed");
            }
        });
    }

    /// The host's `take_shuffle(shuffle, partition)`: `[(input, stream, buffers)]`.
    fn take_shuffle(&self, shuffle: &str, partition: u32) -> Result<Pieces, ErrorBlob> {
        runtime::attach(|py| {
            let run = || -> PyResult<Pieces> {
                let taken: Vec<(u32, Bound<'_, PyAny>, Vec<Bound<'_, PyAny>>)> = self
                    .host
                    .call_method1(py, "take_shuffle", (shuffle, partition))?
                    .extract(py)?;
                taken
                    .iter()
                    .map(|(input, stream, buffers)| {
                        let buffers = buffers.iter().map(bytes_from_py).collect::<PyResult<_>>()?;
                        Ok((*input, bytes_from_py(stream)?, buffers))
                    })
                    .collect()
            };
            run().map_err(|e| self.error(py, e))
        })
    }

    /// The host's `drop_shuffle(shuffle)`.
    fn drop_shuffle(&self, shuffle: &str) {
        runtime::attach(|py| {
            if let Err(e) = self.host.call_method1(py, "drop_shuffle", (shuffle,)) {
                tracing::warn!(error = %e, "dropping a shuffle failed");
            }
        });
    }

    /// Holds the GIL across a burst of tasks (nested `Python::attach` calls are then cheap).
    fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        runtime::attach(|_py| f())
    }

    fn pooled_bytes(&self) -> u64 {
        numpy_alloc::pooled_bytes() as u64
    }

    fn fit_pool(&self, headroom: u64) {
        numpy_alloc::fit(usize::try_from(headroom).unwrap_or(usize::MAX));
    }

    fn idle(&self) {
        numpy_alloc::drain();
    }

    /// Keeps the thread's Python thread state for its whole life, detached between bursts:
    /// each burst then only takes the GIL, and per-context settings (NumPy's allocator)
    /// persist.
    fn task_thread(&self, body: impl FnOnce() + Send) {
        Python::attach(|py| py.detach(body));
    }

    fn run(&self, call: Bytes) -> (Bytes, bool) {
        runtime::attach(|py| {
            let out = self
                .host
                .call_method1(py, "run", (PyBytes::new(py, &call),))
                .and_then(|r| r.extract::<(Vec<u8>, bool)>(py));
            match out {
                Ok((b, ok)) => (b.into(), ok),
                Err(e) => (e.to_string().into_bytes().into(), false),
            }
        })
    }
}

/// Runs a worker until the scheduler closes it, Ctrl-C, or its memory passes the terminate
/// threshold; returns `(how, reason)`, `how` being `"closed"`, `"shutdown"` or `"memory"`.
#[pyfunction]
#[pyo3(signature = (scheduler, host, *, nthreads=1, memory_limit=0, memory=None, local_directory=None, name=None, resources=None, listen=None, token=None, tls=None))]
#[allow(clippy::too_many_arguments)] // mirrors the keyword-only Python signature
pub(crate) fn run_worker_blocking(
    py: Python<'_>,
    scheduler: String,
    host: Py<PyAny>,
    nthreads: u32,
    memory_limit: u64,
    memory: Option<MemoryArg>,
    local_directory: Option<std::path::PathBuf>,
    name: Option<String>,
    resources: Option<Vec<(String, f64)>>,
    listen: Option<String>,
    token: Option<String>,
    tls: TlsArg,
) -> PyResult<(&'static str, String)> {
    let mut config = WorkerConfig::new(scheduler);
    config.nthreads = nthreads.max(1);
    config.memory_limit = memory_limit;
    if let Some((target, spill, pause, terminate)) = memory {
        for (name, f) in [
            ("target", target),
            ("spill", spill),
            ("pause", pause),
            ("terminate", terminate),
        ] {
            if f.is_some_and(|f| !(f > 0.0 && f.is_finite())) {
                return Err(PyValueError::new_err(format!(
                    "memory threshold {name} must be a positive fraction of the memory limit \
                     or None, got {f:?}"
                )));
            }
        }
        config.memory = MemoryThresholds {
            target,
            spill,
            pause,
            terminate,
        };
    }
    config.local_directory = local_directory;
    config.name = name;
    config.resources = resources.unwrap_or_default();
    if let Some(listen) = listen {
        config.listen = listen;
    }
    config.token = token;
    config.tls = load_tls(tls)?;
    let host = Arc::new(PyHost { host });
    // The worker runs on the IO threads (its reader, state owner and writers then hand work
    // to each other without waking another thread); this thread only watches for Ctrl-C /
    // SIGTERM, which Python delivers to the main thread.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut worker = runtime().spawn(run_worker(config, host, async move {
        let _ = stop_rx.await;
    }));
    let interrupted = py.detach(|| {
        runtime().block_on(async {
            let mut stop_tx = Some(stop_tx);
            loop {
                tokio::select! {
                    done = &mut worker => return done,
                    () = tokio::time::sleep(Duration::from_millis(100)) => {
                        let signalled = Python::attach(|py| py.check_signals()).is_err();
                        if signalled {
                            if let Some(tx) = stop_tx.take() {
                                let _ = tx.send(());
                            }
                        }
                    }
                }
            }
        })
    });
    let interrupted =
        interrupted.map_err(|e| PyConnectionError::new_err(format!("worker failed: {e}")))?;
    match interrupted {
        Ok(WorkerExit::Closed { reason }) => Ok(("closed", reason)),
        Ok(WorkerExit::MemoryExceeded { reason }) => Ok(("memory", reason)),
        Ok(WorkerExit::Shutdown) => {
            // Re-raise the pending KeyboardInterrupt, if that is why we stopped.
            py.check_signals()?;
            Ok(("shutdown", String::new()))
        }
        Err(e) => Err(PyConnectionError::new_err(e.to_string())),
    }
}

/// `secede()`: the task running on this thread leaves the worker's thread count (a fresh task
/// thread takes its place). `ValueError` outside a task running on a worker.
#[pyfunction]
pub(crate) fn secede() -> PyResult<()> {
    oxdask_worker::secede().map_err(PyValueError::new_err)
}

/// `rejoin()`: waits, without the GIL, until the worker has a thread for the seceded task
/// again (or stops); nothing if it did not secede.
#[pyfunction]
pub(crate) fn rejoin(py: Python<'_>) {
    py.detach(oxdask_worker::rejoin);
}
