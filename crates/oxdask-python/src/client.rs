//! `_core.ClientConnection`: `oxdask.distributed.Client`'s connection, a thin layer over
//! [`oxdask_client::Client`]. Every call releases the GIL while it waits; key reports reach
//! Python as typed [`KeyEvent`]s; errors map in [`crate::errors`].

use bytes::Bytes;
use oxdask_client::{Client, KeyEvent as Event, Request};
use oxdask_graph::Key;
use oxdask_protocol::messages::{
    BufIx, ClientToScheduler, MemoryOp, SchedulerToClient, StoredValue,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::buffer::{bytes_from_py, py_from_bytes, Frame};
use crate::errors::{client_err, failure_exception, protocol_err};
use crate::key::{key_from_py, key_to_py};
use crate::runtime::runtime;
use crate::security::{load_tls, TlsArg};
use crate::wire::WireTasks;

/// A report about a key (or the connection), as Python receives it.
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct KeyEvent(Event);

#[pymethods]
impl KeyEvent {
    /// `"memory"`, `"erred"`, `"cancelled"`, `"lost"` or `"closed"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match &self.0 {
            Event::Memory { .. } => "memory",
            Event::Erred { .. } => "erred",
            Event::Cancelled { .. } => "cancelled",
            Event::Lost { .. } => "lost",
            Event::Closed { .. } => "closed",
        }
    }

    /// The key (None for `closed`).
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match &self.0 {
            Event::Memory { key, .. }
            | Event::Erred { key, .. }
            | Event::Cancelled { key, .. }
            | Event::Lost { key } => key_to_py(py, key).map(Some),
            Event::Closed { .. } => Ok(None),
        }
    }

    /// Size in bytes of a result in memory.
    #[getter]
    fn nbytes(&self) -> Option<u64> {
        match &self.0 {
            Event::Memory { nbytes, .. } => Some(*nbytes),
            _ => None,
        }
    }

    /// Type name of a result in memory.
    #[getter]
    fn type_name(&self) -> Option<&str> {
        match &self.0 {
            Event::Memory { type_name, .. } => Some(type_name),
            _ => None,
        }
    }

    /// The pickled result, when it came with the report.
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        match &self.0 {
            Event::Memory { value: Some(v), .. } => Some(PyBytes::new(py, v)),
            _ => None,
        }
    }

    /// Why a key was cancelled, lost, or the connection closed.
    #[getter]
    fn reason(&self) -> Option<String> {
        match &self.0 {
            Event::Cancelled { reason, .. } | Event::Closed { reason } => Some(reason.clone()),
            Event::Lost { key } => Some(format!("key {key} was lost with the worker that held it")),
            _ => None,
        }
    }

    /// The exception an erred key raises (rebuilt from the task's, or the scheduler's).
    fn exception(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match &self.0 {
            Event::Erred { failure, .. } => failure_exception(py, failure).map(Some),
            _ => Ok(None),
        }
    }
}

fn to_keys(objs: &[Bound<'_, PyAny>]) -> PyResult<Vec<Key>> {
    objs.iter().map(key_from_py).collect()
}

/// Connection to a scheduler (and, for data, to workers).
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct ClientConnection(Client);

#[pymethods]
impl ClientConnection {
    #[new]
    #[pyo3(signature = (address, token=None, timeout=10.0, tls=None))]
    fn new(
        py: Python<'_>,
        address: String,
        token: Option<String>,
        timeout: f64,
        tls: TlsArg,
    ) -> PyResult<Self> {
        let tls = load_tls(tls)?;
        let handle = runtime().handle();
        py.detach(|| Client::connect(handle, &address, token, tls, timeout))
            .map(Self)
            .map_err(client_err)
    }

    /// Sends, in one frame: released keys, new functions, then tasks with the wanted keys.
    #[pyo3(signature = (tasks, wanted, functions, released=Vec::new()))]
    fn submit(
        &self,
        mut tasks: PyRefMut<'_, WireTasks>,
        wanted: Vec<Bound<'_, PyAny>>,
        functions: Vec<(u64, Vec<u8>)>,
        released: Vec<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let wire = std::mem::take(&mut tasks.0);
        let functions = functions
            .into_iter()
            .map(|(id, blob)| (id, Bytes::from(blob)))
            .collect();
        (self.0)
            .submit(wire, to_keys(&wanted)?, functions, to_keys(&released)?)
            .map_err(client_err)
    }

    /// The client no longer holds futures for these keys.
    fn release(&self, keys: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let keys = to_keys(&keys)?;
        self.0
            .send(ClientToScheduler::Release { keys })
            .map_err(client_err)
    }

    /// Cancel these keys.
    fn cancel(&self, keys: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let keys = to_keys(&keys)?;
        self.0
            .send(ClientToScheduler::Cancel { keys })
            .map_err(client_err)
    }

    /// Run these erred keys again (with the erred dependencies behind them).
    fn retry(&self, keys: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let keys = to_keys(&keys)?;
        self.0
            .send(ClientToScheduler::Retry { keys })
            .map_err(client_err)
    }

    /// Tells the scheduler about data this client put on a worker.
    fn scattered(&self, worker: String, keys: Vec<(Bound<'_, PyAny>, u64)>) -> PyResult<()> {
        let keys = keys
            .iter()
            .map(|(k, n)| Ok((key_from_py(k)?, *n)))
            .collect::<PyResult<_>>()?;
        let msg = ClientToScheduler::Scattered { worker, keys };
        self.0.send(msg).map_err(client_err)
    }

    /// Waits up to `timeout` seconds until key reports are queued (without taking them);
    /// a thread waiting for `pending` results takes them in bursts.
    #[pyo3(signature = (timeout, pending=1))]
    fn wait_events(&self, py: Python<'_>, timeout: f64, pending: usize) -> bool {
        let limit = std::time::Duration::from_secs_f64(timeout.clamp(0.0, 1e6));
        py.detach(|| self.0.inbox().wait(limit, pending))
    }

    /// The event thread's `wait_events`: woken only while no thread is `waiting`.
    fn listen_events(&self, py: Python<'_>, timeout: f64) -> bool {
        let limit = std::time::Duration::from_secs_f64(timeout.clamp(0.0, 1e6));
        py.detach(|| self.0.inbox().listen(limit))
    }

    /// A thread starts or stops waiting for futures (it takes reports itself).
    fn waiting(&self, start: bool) {
        self.0.inbox().waiting(start);
    }

    /// Key reports received within `timeout` seconds.
    fn next_events(&self, py: Python<'_>, timeout: f64) -> Vec<KeyEvent> {
        let events = py.detach(|| self.0.take_events(timeout));
        events.into_iter().map(KeyEvent).collect()
    }

    /// `[(key, [worker addresses])]` for the given keys.
    fn who_has<'py>(
        &self,
        py: Python<'py>,
        keys: Vec<Bound<'py, PyAny>>,
        timeout: f64,
    ) -> PyResult<Vec<(Bound<'py, PyAny>, Vec<String>)>> {
        let request = Request::WhoHas(to_keys(&keys)?);
        match self.request(py, request, timeout)? {
            (SchedulerToClient::WhoHas { holders, .. }, _) => holders
                .into_iter()
                .map(|(k, a)| Ok((key_to_py(py, &k)?, a)))
                .collect(),
            _ => Err(protocol_err("who_has")),
        }
    }

    /// The scheduler's JSON description of the cluster.
    fn info(&self, py: Python<'_>, timeout: f64) -> PyResult<String> {
        match self.request(py, Request::Info, timeout)? {
            (SchedulerToClient::Info { json, .. }, _) => Ok(json),
            _ => Err(protocol_err("info")),
        }
    }

    /// A dashboard view as JSON text (`"task-stream?since=0"`, `"progress"`, ...).
    fn dashboard(&self, py: Python<'_>, path: String, timeout: f64) -> PyResult<String> {
        match self.request(py, Request::Dashboard(path), timeout)? {
            (SchedulerToClient::Info { json, .. }, _) => Ok(json),
            _ => Err(protocol_err("dashboard")),
        }
    }

    /// Active memory management, answered as JSON (`{"pending": n, "amm": running}`):
    /// `op` is `"rebalance"` (of `keys` among `workers`, all when None), `"run_once"`,
    /// `"start"` (every `interval` seconds), `"stop"` or `"status"`.
    #[pyo3(signature = (op, timeout, keys=None, workers=None, interval=2.0))]
    fn memory(
        &self,
        py: Python<'_>,
        op: &str,
        timeout: f64,
        keys: Option<Vec<Bound<'_, PyAny>>>,
        workers: Option<Vec<String>>,
        interval: f64,
    ) -> PyResult<String> {
        let op = match op {
            "rebalance" => MemoryOp::Rebalance {
                keys: keys
                    .map(|ks| ks.iter().map(key_from_py).collect::<PyResult<_>>())
                    .transpose()?,
                workers,
            },
            "run_once" => MemoryOp::RunOnce,
            "start" => MemoryOp::Start {
                interval_ms: (interval.max(0.001) * 1000.0) as u64,
            },
            "stop" => MemoryOp::Stop,
            "status" => MemoryOp::Status,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown memory op {other:?}"
                )))
            }
        };
        match self.request(py, Request::Memory(op), timeout)? {
            (SchedulerToClient::Info { json, .. }, _) => Ok(json),
            _ => Err(protocol_err("memory")),
        }
    }

    /// The scheduler's account of the task for `key`.
    fn why(&self, py: Python<'_>, key: &Bound<'_, PyAny>, timeout: f64) -> PyResult<String> {
        match self.request(py, Request::Why(key_from_py(key)?), timeout)? {
            (SchedulerToClient::Why { text, .. }, _) => Ok(text),
            _ => Err(protocol_err("why")),
        }
    }

    /// Runs a pickled `(function, args, kwargs)` on every worker:
    /// `[(address, pickled result or error, ok)]`.
    fn run<'py>(
        &self,
        py: Python<'py>,
        call: Vec<u8>,
        timeout: f64,
    ) -> PyResult<Vec<(String, Bound<'py, PyBytes>, bool)>> {
        let (reply, buffers) = self.request(py, Request::Run(Bytes::from(call)), timeout)?;
        let SchedulerToClient::RunResults { results, .. } = reply else {
            return Err(protocol_err("run"));
        };
        Ok(results
            .into_iter()
            .map(|(addr, ix, ok)| {
                let b = ix.get(&buffers).unwrap_or_default();
                (addr, PyBytes::new(py, &b), ok)
            })
            .collect())
    }

    /// Runs a pickled call in the scheduler's process: `(pickled result or error, ok)`;
    /// an empty result with `ok` false means the scheduler runs no calls.
    fn call<'py>(
        &self,
        py: Python<'py>,
        call: Vec<u8>,
        timeout: f64,
    ) -> PyResult<(Bound<'py, PyBytes>, bool)> {
        let (reply, buffers) = self.request(py, Request::Call(Bytes::from(call)), timeout)?;
        let SchedulerToClient::CallResult { result, ok, .. } = reply else {
            return Err(protocol_err("call"));
        };
        let b = result.get(&buffers).unwrap_or_default();
        Ok((PyBytes::new(py, &b), ok))
    }

    /// Moves data off these workers, then closes them.
    fn retire_workers(&self, py: Python<'_>, workers: Vec<String>, timeout: f64) -> PyResult<()> {
        self.request(py, Request::RetireWorkers(workers), timeout)
            .map(drop)
    }

    /// Closes these workers asking them to replace their processes.
    fn restart_workers(&self, py: Python<'_>, workers: Vec<String>, timeout: f64) -> PyResult<()> {
        self.request(py, Request::RestartWorkers(workers), timeout)
            .map(drop)
    }

    /// Fetches values from a worker: `([(key, pickle, [buffers])], [missing keys])`.
    #[allow(clippy::type_complexity)] // the Python-facing tuple shape, documented above
    fn get_data<'py>(
        &self,
        py: Python<'py>,
        address: String,
        keys: Vec<Bound<'py, PyAny>>,
        timeout: f64,
    ) -> PyResult<(
        Vec<(Bound<'py, PyAny>, Bound<'py, Frame>, Vec<Bound<'py, Frame>>)>,
        Vec<Bound<'py, PyAny>>,
    )> {
        let keys = to_keys(&keys)?;
        let reply = py
            .detach(|| self.0.get_data(&address, keys, timeout))
            .map_err(client_err)?;
        let what = format!("worker {address}'s reply");
        let buf = |ix: BufIx| -> PyResult<Bound<'py, Frame>> {
            let bytes = ix
                .resolve(&reply.buffers, &what)
                .map_err(pyo3::exceptions::PyConnectionError::new_err)?;
            py_from_bytes(py, bytes)
        };
        let mut out = Vec::with_capacity(reply.values.len());
        for v in reply.values {
            let bufs = v
                .buffers
                .iter()
                .map(|&ix| buf(ix))
                .collect::<PyResult<_>>()?;
            out.push((key_to_py(py, &v.key)?, buf(v.pickle)?, bufs));
        }
        let missing = reply
            .missing
            .iter()
            .map(|k| key_to_py(py, k))
            .collect::<PyResult<_>>()?;
        Ok((out, missing))
    }

    /// Stores values on a worker: `values` is `[(key, pickle, [buffers])]`.
    #[allow(clippy::type_complexity)] // the Python-facing tuple shape, documented above
    fn put_data(
        &self,
        py: Python<'_>,
        address: String,
        values: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>, Vec<Bound<'_, PyAny>>)>,
        timeout: f64,
    ) -> PyResult<()> {
        let mut buffers = Vec::new();
        let mut stored = Vec::with_capacity(values.len());
        for (key, pickle, bufs) in values {
            let mut ix = |b: &Bound<'_, PyAny>| -> PyResult<BufIx> {
                buffers.push(bytes_from_py(b)?);
                Ok(BufIx(buffers.len() as u32 - 1))
            };
            let pickle = ix(&pickle)?;
            let buffers = bufs.iter().map(&mut ix).collect::<PyResult<_>>()?;
            stored.push(StoredValue {
                key: key_from_py(&key)?,
                pickle,
                buffers,
            });
        }
        py.detach(|| self.0.put_data(&address, stored, buffers, timeout))
            .map_err(client_err)
    }

    /// Tells the scheduler that the worker at `address` ends in `seconds` (its lifetime).
    fn worker_ends(&self, address: String, seconds: f64) -> PyResult<()> {
        let in_ms = (seconds.clamp(0.0, 1e12) * 1000.0) as u64;
        let msg = ClientToScheduler::WorkerEnds { address, in_ms };
        self.0.send(msg).map_err(client_err)
    }

    /// Says goodbye to the scheduler.
    fn close(&self) {
        let _ = self.0.send(ClientToScheduler::Close);
    }
}

impl ClientConnection {
    fn request(
        &self,
        py: Python<'_>,
        request: Request,
        timeout: f64,
    ) -> PyResult<(SchedulerToClient, std::sync::Arc<Vec<Bytes>>)> {
        py.detach(|| self.0.request(request, timeout))
            .map_err(client_err)
    }
}
