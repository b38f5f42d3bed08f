//! Starting the distributed scheduler from Python (`LocalCluster`, `oxdask scheduler`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use oxdask_scheduler::server::{serve, Extension, SchedulerExtension, ServerConfig, ServerHandle};
use parking_lot::Mutex;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

use crate::runtime::runtime;
use crate::security::{load_tls, TlsArg};

/// Clients' calls run by a Python object: `call(client, data) -> (bytes, ok)`,
/// `client_left(client)` and `transitions(batch)` (see `oxdask.distributed._scheduler_ext`).
struct PyExtension(Py<PyAny>);

/// Whether a scheduler plugin of this process watches task transitions
/// ([`watch_transitions`]).
static WATCH_TRANSITIONS: AtomicBool = AtomicBool::new(false);

/// Asks the schedulers of this process for every task transition (a `SchedulerPlugin` with
/// a `transition` method is registered), or stops.
#[pyfunction]
pub(crate) fn watch_transitions(on: bool) {
    WATCH_TRANSITIONS.store(on, Ordering::Relaxed);
}

impl SchedulerExtension for PyExtension {
    fn call(&self, client: u32, call: Bytes) -> (Bytes, bool) {
        Python::attach(|py| {
            let data = pyo3::types::PyBytes::new(py, &call);
            let answer = self
                .0
                .call_method1(py, "call", (client, data))
                .and_then(|r| r.extract::<(Vec<u8>, bool)>(py));
            match answer {
                Ok((result, ok)) => (Bytes::from(result), ok),
                Err(e) => {
                    tracing::error!(error = %e, "the scheduler extension failed");
                    (Bytes::new(), false)
                }
            }
        })
    }

    fn http(&self, name: &str, params: &HashMap<String, String>) -> Option<String> {
        Python::attach(|py| {
            let answer = self
                .0
                .call_method1(py, "http", (name, params.clone()))
                .and_then(|r| r.extract::<Option<String>>(py));
            answer.unwrap_or_else(|e| {
                tracing::error!(error = %e, "the scheduler extension failed");
                None
            })
        })
    }

    fn wants_transitions(&self) -> bool {
        WATCH_TRANSITIONS.load(Ordering::Relaxed)
    }

    fn transitions(&self, batch: Vec<oxdask_scheduler::Transition>) {
        Python::attach(|py| {
            let rows = batch
                .iter()
                .map(|t| {
                    let key = crate::key::key_to_py(py, &t.key)?;
                    Ok((key, t.start, t.finish, t.stimulus.0))
                })
                .collect::<PyResult<Vec<_>>>()
                .and_then(|rows| pyo3::types::PyList::new(py, rows));
            let called = rows.and_then(|rows| self.0.call_method1(py, "transitions", (rows,)));
            if let Err(e) = called {
                tracing::error!(error = %e, "the scheduler plugins' transitions failed");
            }
        });
    }

    fn client_left(&self, client: u32) {
        Python::attach(|py| {
            if let Err(e) = self.0.call_method1(py, "client_left", (client,)) {
                tracing::error!(error = %e, "the scheduler extension failed");
            }
        });
    }
}

/// A scheduler running on this process's IO threads.
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct Scheduler {
    handle: Mutex<Option<ServerHandle>>,
    address: String,
    http_address: Option<String>,
}

#[pymethods]
impl Scheduler {
    /// Binds `host:port` (0: any free port) and, if `dashboard_port` is given (0: any), the HTTP
    /// state endpoint on `host:dashboard_port`.
    ///
    /// `tls` is `(ca, cert, key)` (paths or PEM text); the scheduler then serves `tls://`.
    /// On a non-loopback host it refuses to start with neither `tls` nor `token`, unless
    /// `insecure` is true.
    #[new]
    #[pyo3(signature = (host="127.0.0.1", port=0, dashboard_port=None, token=None, worker_saturation=1.1, tls=None, insecure=false, allowed_failures=3, extension=None))]
    #[allow(clippy::too_many_arguments)] // mirrors the keyword arguments of the Python signature
    fn new(
        py: Python<'_>,
        host: &str,
        port: u16,
        dashboard_port: Option<u16>,
        token: Option<String>,
        worker_saturation: f64,
        tls: TlsArg,
        insecure: bool,
        allowed_failures: u32,
        extension: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let mut config = ServerConfig {
            listen: format!("{host}:{port}"),
            http: dashboard_port.map(|p| format!("{host}:{p}")),
            token,
            tls: load_tls(tls)?,
            allow_insecure: insecure,
            tick: Duration::from_millis(200),
            extension: extension.map(|e| Extension(Arc::new(PyExtension(e)))),
            ..ServerConfig::default()
        };
        config.scheduler.worker_saturation = worker_saturation;
        config.scheduler.allowed_failures = allowed_failures;
        let listen = config.listen.clone();
        let handle = py
            .detach(|| runtime().block_on(serve(config)))
            .map_err(|e| {
                PyOSError::new_err(format!("cannot start the scheduler on {listen}: {e}"))
            })?;
        Ok(Self {
            address: handle.address.clone(),
            http_address: handle.http_address.clone(),
            handle: Mutex::new(Some(handle)),
        })
    }

    /// `tcp://host:port` for clients and workers.
    #[getter]
    fn address(&self) -> &str {
        &self.address
    }

    /// `http://host:port` of the JSON state endpoint (`/json/state`), if enabled.
    #[getter]
    fn http_address(&self) -> Option<&str> {
        self.http_address.as_deref()
    }

    /// Closes every worker connection and stops listening.
    fn close(&self, py: Python<'_>) {
        if let Some(h) = self.handle.lock().take() {
            py.detach(|| runtime().block_on(h.stop()));
        }
    }

    /// True while the scheduler runs.
    #[getter]
    fn running(&self) -> bool {
        self.handle.lock().is_some()
    }
}

/// The dashboard file `name` as the scheduler serves it under `/static/` (for reports).
#[pyfunction]
pub(crate) fn dashboard_asset(name: &str) -> Option<&'static str> {
    oxdask_scheduler::server::dashboard_asset(name)
}

/// `_core.AdaptivePolicy`: when to act on the scheduler's adaptive target (see
/// `oxdask_scheduler::AdaptivePolicy`). `step` returns `("up", n)`, `("down", n)`,
/// `("hold", None)` or `("paused", until, reason)`.
#[pyclass(module = "oxdask._core")]
pub(crate) struct AdaptivePolicy(oxdask_scheduler::AdaptivePolicy);

#[pymethods]
impl AdaptivePolicy {
    #[new]
    #[pyo3(signature = (minimum, maximum, wait_count=3, window=0.0))]
    fn new(minimum: usize, maximum: usize, wait_count: u32, window: f64) -> Self {
        Self(oxdask_scheduler::AdaptivePolicy::new(
            minimum, maximum, wait_count, window,
        ))
    }

    fn step<'py>(
        &mut self,
        py: Python<'py>,
        now: f64,
        target: usize,
        current: usize,
    ) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
        use oxdask_scheduler::Recommendation as R;
        use pyo3::IntoPyObjectExt;
        let items = match self.0.step(now, target, current) {
            R::Hold => vec!["hold".into_bound_py_any(py)?, py.None().into_bound(py)],
            R::Up(n) => vec!["up".into_bound_py_any(py)?, n.into_bound_py_any(py)?],
            R::Down(n) => vec!["down".into_bound_py_any(py)?, n.into_bound_py_any(py)?],
            R::Paused { until, reason } => vec![
                "paused".into_bound_py_any(py)?,
                until.into_bound_py_any(py)?,
                reason.into_bound_py_any(py)?,
            ],
        };
        pyo3::types::PyTuple::new(py, items)
    }

    fn launch_failed(&mut self, now: f64) {
        self.0.launch_failed(now);
    }

    fn launched(&mut self) {
        self.0.launched();
    }
}
