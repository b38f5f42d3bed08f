//! The client's connection to a scheduler, as used by `oxdask.distributed.Client`.
//!
//! Networking runs on the process-wide tokio runtime ([`crate::runtime::runtime`]). A reader
//! task sorts what the scheduler sends: key reports go to an event queue that Python drains
//! with [`ClientConnection::next_events`] (blocking without the GIL); replies to requests go to
//! the waiting caller. Data moves between the client and workers directly (`get_data`,
//! `put_data`), never through the scheduler.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use oxdask_comm::{connect, FrameReader, Sender, Tls};
use oxdask_graph::Key;
use oxdask_protocol::messages::{
    BufIx, ClientToScheduler, PeerReply, PeerRequest, SchedulerToClient, StoredValue, WireTask,
};
use oxdask_protocol::{decode_batch, Hello, Role};
use parking_lot::{Condvar, Mutex};
use pyo3::exceptions::{PyConnectionError, PyTimeoutError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use tokio::sync::oneshot;

use crate::buffer::{bytes_from_py, py_from_bytes, Frame};
use crate::key::{key_from_py, key_to_py};
use crate::runtime::runtime;
use crate::security::{load_tls, TlsArg};

/// A report about a key, as Python receives it.
enum KeyEvent {
    Memory {
        key: Key,
        nbytes: u64,
        type_name: String,
        value: Option<Bytes>,
    },
    Erred {
        key: Key,
        from: Key,
        exception: Bytes,
        traceback: Bytes,
        text: String,
    },
    Cancelled {
        key: Key,
        reason: String,
    },
    Closed {
        reason: String,
    },
}

/// A reply to a request, with the frame's buffers.
type Reply = (SchedulerToClient, Arc<Vec<Bytes>>);

/// Key reports waiting for Python, and who waits for them: threads waiting for a future
/// (`waiters`, woken first: they take the reports themselves) or else the event thread.
#[derive(Default)]
struct Inbox {
    events: Mutex<Queue>,
    /// Threads waiting for a future.
    ready: Condvar,
    /// The event thread, woken only while no thread waits for a future.
    listener: Condvar,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<KeyEvent>,
    /// Threads between `waiting(True)` and `waiting(False)`.
    waiters: usize,
    /// Of those, threads in `wait_events` for one result (woken by every report).
    eager: usize,
}

/// Reports a thread waiting for many results lets gather (or waits [`LINGER`] for) before
/// it takes them: fewer, larger bursts to apply.
const BATCH: usize = 64;
const LINGER: Duration = Duration::from_millis(1);

impl Inbox {
    fn push(&self, event: KeyEvent) {
        let mut q = self.events.lock();
        q.events.push_back(event);
        if q.waiters > 0 {
            let n = q.events.len();
            if q.eager > 0 || n == 1 || n == BATCH {
                self.ready.notify_all();
            }
        } else {
            self.listener.notify_one();
        }
    }
}

/// Connection to a scheduler (and, for data, to workers).
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct ClientConnection {
    sender: Sender,
    inbox: Arc<Inbox>,
    next_id: AtomicU64,
    token: Option<String>,
    tls: Option<Tls>,
    peers: Mutex<HashMap<String, Peer>>,
}

/// Requests to a worker waiting for their reply, by request id.
type PeerPending = Arc<Mutex<HashMap<u64, oneshot::Sender<(PeerReply, Arc<Vec<Bytes>>)>>>>;

/// A cached connection to a worker's data server.
#[derive(Clone)]
struct Peer {
    sender: Sender,
    pending: PeerPending,
}

fn hello(token: &Option<String>) -> Hello {
    Hello {
        token: token.clone(),
        ..Hello::default()
    }
}

fn conn_err(e: impl std::fmt::Display) -> PyErr {
    PyConnectionError::new_err(e.to_string())
}

/// Connects (as a client) to a peer of role `expect`, without holding the GIL, and splits the
/// connection on the shared runtime.
fn open(
    py: Python<'_>,
    address: &str,
    token: &Option<String>,
    tls: Option<&Tls>,
    expect: Role,
    timeout: f64,
) -> PyResult<(FrameReader, Sender)> {
    let h = hello(token);
    let conn = py.detach(|| {
        runtime().block_on(async {
            let connecting = connect(address, Role::Client, h, expect, tls);
            tokio::time::timeout(timeout_secs(timeout), connecting).await
        })
    });
    match conn {
        Ok(Ok(c)) => {
            let _guard = runtime().enter();
            Ok(c.split())
        }
        Ok(Err(e)) => Err(conn_err(e)),
        Err(_) => Err(PyTimeoutError::new_err(format!(
            "timed out after {timeout}s connecting to {address}"
        ))),
    }
}

fn timeout_secs(t: f64) -> Duration {
    Duration::from_secs_f64(t.clamp(0.0, 1e6))
}

async fn read_scheduler(mut reader: FrameReader, inbox: Arc<Inbox>) {
    let reason = loop {
        let frame = match reader.next().await {
            Ok(Some(f)) => f,
            Ok(None) => break "the scheduler closed the connection".to_owned(),
            Err(e) => break format!("lost the connection to the scheduler: {e}"),
        };
        let Ok(msgs) = decode_batch::<SchedulerToClient>(&frame.payload) else {
            break "the scheduler sent a message this client cannot decode".to_owned();
        };
        let buffers = Arc::new(frame.buffers);
        for msg in msgs {
            match msg {
                SchedulerToClient::InMemory {
                    key,
                    nbytes,
                    type_name,
                    value,
                } => {
                    inbox.push(KeyEvent::Memory {
                        key,
                        nbytes,
                        type_name,
                        value,
                    });
                }
                SchedulerToClient::Erred { key, from, error } => inbox.push(KeyEvent::Erred {
                    key,
                    from,
                    exception: error.exception,
                    traceback: error.traceback,
                    text: error.text,
                }),
                SchedulerToClient::Cancelled { key, reason } => {
                    inbox.push(KeyEvent::Cancelled { key, reason });
                }
                reply => {
                    let id = reply_id(&reply);
                    if let Some(tx) = inbox.pending.lock().remove(&id) {
                        let _ = tx.send((reply, Arc::clone(&buffers)));
                    }
                }
            }
        }
    };
    inbox.pending.lock().clear();
    inbox.push(KeyEvent::Closed { reason });
}

fn reply_id(reply: &SchedulerToClient) -> u64 {
    match reply {
        SchedulerToClient::WhoHas { id, .. }
        | SchedulerToClient::Info { id, .. }
        | SchedulerToClient::Why { id, .. }
        | SchedulerToClient::RunResults { id, .. }
        | SchedulerToClient::Done { id } => *id,
        _ => u64::MAX,
    }
}

/// One task as Python passes it to `submit`.
type PyTask<'py> = (
    Bound<'py, PyAny>,      // key
    Vec<Bound<'py, PyAny>>, // deps
    Vec<u8>,                // payload
    Option<u64>,            // function id
    String,                 // func_name
    i32,                    // priority
    Option<Vec<String>>,    // workers
    bool,                   // allow_other_workers
    Vec<(String, f64)>,     // resources
    u32,                    // retries
);

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
        let (reader, sender) = open(py, &address, &token, tls.as_ref(), Role::Scheduler, timeout)?;
        let inbox = Arc::new(Inbox::default());
        runtime().spawn(read_scheduler(reader, Arc::clone(&inbox)));
        Ok(Self {
            sender,
            inbox,
            next_id: AtomicU64::new(1),
            token,
            tls,
            peers: Mutex::new(HashMap::new()),
        })
    }

    /// Sends, in one frame: the keys this client no longer holds futures for (`released`,
    /// first, so a release never overtakes a later submission of its key), new functions,
    /// and tasks with the keys this client wants.
    #[pyo3(signature = (tasks, wanted, functions, released=Vec::new()))]
    fn submit(
        &self,
        tasks: Vec<PyTask<'_>>,
        wanted: Vec<Bound<'_, PyAny>>,
        functions: Vec<(u64, Vec<u8>)>,
        released: Vec<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let released: Vec<Key> = released.iter().map(key_from_py).collect::<PyResult<_>>()?;
        let mut wire = Vec::with_capacity(tasks.len());
        for (
            key,
            deps,
            payload,
            function,
            func_name,
            priority,
            workers,
            allow,
            resources,
            retries,
        ) in tasks
        {
            wire.push(WireTask {
                key: key_from_py(&key)?,
                deps: deps.iter().map(key_from_py).collect::<PyResult<_>>()?,
                payload: Bytes::from(payload),
                function,
                func_name,
                priority,
                workers,
                allow_other_workers: allow,
                resources,
                retries,
            });
        }
        let wanted = wanted.iter().map(key_from_py).collect::<PyResult<_>>()?;
        let sent = self.sender.send_with(move |batch| {
            if !released.is_empty() {
                batch.push(&ClientToScheduler::Release { keys: released })?;
            }
            if !functions.is_empty() {
                let mut items = Vec::with_capacity(functions.len());
                for (id, blob) in functions {
                    items.push((id, batch.push_buffer_ix(Bytes::from(blob))?));
                }
                batch.push(&ClientToScheduler::Functions { items })?;
            }
            batch.push(&ClientToScheduler::Submit {
                tasks: wire,
                wanted,
            })
        });
        if sent {
            Ok(())
        } else {
            Err(conn_err("the connection to the scheduler is closed"))
        }
    }

    /// The client no longer holds futures for these keys.
    fn release(&self, keys: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let keys = keys.iter().map(key_from_py).collect::<PyResult<_>>()?;
        self.send(ClientToScheduler::Release { keys })
    }

    /// Cancel these keys.
    fn cancel(&self, keys: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let keys = keys.iter().map(key_from_py).collect::<PyResult<_>>()?;
        self.send(ClientToScheduler::Cancel { keys })
    }

    /// Tells the scheduler about data this client put on a worker.
    fn scattered(&self, worker: String, keys: Vec<(Bound<'_, PyAny>, u64)>) -> PyResult<()> {
        let keys = keys
            .iter()
            .map(|(k, n)| Ok((key_from_py(k)?, *n)))
            .collect::<PyResult<_>>()?;
        self.send(ClientToScheduler::Scattered { worker, keys })
    }

    /// Waits up to `timeout` seconds until key reports are queued (without taking them);
    /// returns whether some are. A thread between `waiting(True)` and `waiting(False)` is
    /// woken by reports; the event thread (the others) only while there is none. With
    /// `batch` (waiting for many results), it returns once [`BATCH`] reports are queued or
    /// [`LINGER`] after the first.
    #[pyo3(signature = (timeout, batch=false))]
    fn wait_events(&self, py: Python<'_>, timeout: f64, batch: bool) -> bool {
        py.detach(|| {
            let deadline = Instant::now() + timeout_secs(timeout);
            let mut q = self.inbox.events.lock();
            q.eager += usize::from(!batch);
            loop {
                let n = q.events.len();
                if n > 0 && (!batch || n >= BATCH) {
                    break;
                }
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let until = if n > 0 {
                    (now + LINGER).min(deadline)
                } else {
                    deadline
                };
                let timed_out = self.inbox.ready.wait_until(&mut q, until).timed_out();
                if timed_out && n > 0 {
                    break; // lingered: take what there is
                }
            }
            q.eager -= usize::from(!batch);
            !q.events.is_empty()
        })
    }

    /// The event thread's [`Self::wait_events`]: reports wake it only while no thread
    /// waits for a future (those take the reports themselves, without a hand-off).
    fn listen_events(&self, py: Python<'_>, timeout: f64) -> bool {
        py.detach(|| {
            let mut q = self.inbox.events.lock();
            if q.events.is_empty() || q.waiters > 0 {
                self.inbox.listener.wait_for(&mut q, timeout_secs(timeout));
            }
            !q.events.is_empty() && q.waiters == 0
        })
    }

    /// A thread starts (`True`) or stops waiting for futures. The last to stop hands
    /// reports still queued to the event thread.
    fn waiting(&self, start: bool) {
        let mut q = self.inbox.events.lock();
        if start {
            q.waiters += 1;
        } else {
            q.waiters = q.waiters.saturating_sub(1);
            if q.waiters == 0 && !q.events.is_empty() {
                self.inbox.listener.notify_one();
            }
        }
    }

    /// Waits up to `timeout` seconds for key reports; returns a list of tuples:
    /// `("memory", key, nbytes, type_name, pickled value or None)`, `("erred", key, from, exception, traceback, text)`,
    /// `("cancelled", key, reason)`, `("closed", reason)`.
    fn next_events<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyList>> {
        let events: Vec<KeyEvent> = py.detach(|| {
            let mut q = self.inbox.events.lock();
            if q.events.is_empty() {
                self.inbox.ready.wait_for(&mut q, timeout_secs(timeout));
            }
            q.events.drain(..).collect()
        });
        let out = PyList::empty(py);
        for e in events {
            let item = match e {
                KeyEvent::Memory {
                    key,
                    nbytes,
                    type_name,
                    value,
                } => PyTuple::new(
                    py,
                    [
                        "memory".into_pyobject(py)?.into_any(),
                        key_to_py(py, &key)?,
                        nbytes.into_pyobject(py)?.into_any(),
                        type_name.into_pyobject(py)?.into_any(),
                        match value {
                            Some(v) => PyBytes::new(py, &v).into_any(),
                            None => py.None().into_bound(py),
                        },
                    ],
                )?,
                KeyEvent::Erred {
                    key,
                    from,
                    exception,
                    traceback,
                    text,
                } => PyTuple::new(
                    py,
                    [
                        "erred".into_pyobject(py)?.into_any(),
                        key_to_py(py, &key)?,
                        key_to_py(py, &from)?,
                        PyBytes::new(py, &exception).into_any(),
                        PyBytes::new(py, &traceback).into_any(),
                        text.into_pyobject(py)?.into_any(),
                    ],
                )?,
                KeyEvent::Cancelled { key, reason } => PyTuple::new(
                    py,
                    [
                        "cancelled".into_pyobject(py)?.into_any(),
                        key_to_py(py, &key)?,
                        reason.into_pyobject(py)?.into_any(),
                    ],
                )?,
                KeyEvent::Closed { reason } => PyTuple::new(
                    py,
                    [
                        "closed".into_pyobject(py)?.into_any(),
                        reason.into_pyobject(py)?.into_any(),
                    ],
                )?,
            };
            out.append(item)?;
        }
        Ok(out)
    }

    /// `{key: [worker addresses]}` for the given keys.
    fn who_has<'py>(
        &self,
        py: Python<'py>,
        keys: Vec<Bound<'py, PyAny>>,
        timeout: f64,
    ) -> PyResult<Vec<(Bound<'py, PyAny>, Vec<String>)>> {
        let keys: Vec<Key> = keys.iter().map(key_from_py).collect::<PyResult<_>>()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, _) = self.request(py, id, ClientToScheduler::WhoHas { id, keys }, timeout)?;
        let SchedulerToClient::WhoHas { holders, .. } = reply else {
            return Err(conn_err(
                "the scheduler answered who_has with another message",
            ));
        };
        holders
            .into_iter()
            .map(|(k, a)| Ok((key_to_py(py, &k)?, a)))
            .collect()
    }

    /// The scheduler's JSON description of the cluster.
    fn info(&self, py: Python<'_>, timeout: f64) -> PyResult<String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, _) = self.request(py, id, ClientToScheduler::Info { id }, timeout)?;
        match reply {
            SchedulerToClient::Info { json, .. } => Ok(json),
            _ => Err(conn_err("the scheduler answered info with another message")),
        }
    }

    /// The scheduler's account of the task for `key`: its state, what it waits for, its
    /// recent transitions.
    fn why(&self, py: Python<'_>, key: &Bound<'_, PyAny>, timeout: f64) -> PyResult<String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let key = key_from_py(key)?;
        let (reply, _) = self.request(py, id, ClientToScheduler::Why { id, key }, timeout)?;
        match reply {
            SchedulerToClient::Why { text, .. } => Ok(text),
            _ => Err(conn_err("the scheduler answered why with another message")),
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
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.inbox.pending.lock().insert(id, tx);
        let sent = self
            .sender
            .send_buffers(vec![Bytes::from(call)], move |ix| ClientToScheduler::Run {
                id,
                call: BufIx(ix),
            });
        if !sent {
            return Err(conn_err("the connection to the scheduler is closed"));
        }
        let (reply, buffers) = self.wait_reply(py, id, rx, timeout)?;
        let SchedulerToClient::RunResults { results, .. } = reply else {
            return Err(conn_err("the scheduler answered run with another message"));
        };
        results
            .into_iter()
            .map(|(addr, ix, ok)| {
                let b = ix.get(&buffers).unwrap_or_default();
                Ok((addr, PyBytes::new(py, &b), ok))
            })
            .collect()
    }

    /// Moves data off these workers, then closes them.
    fn retire_workers(&self, py: Python<'_>, workers: Vec<String>, timeout: f64) -> PyResult<()> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.request(
            py,
            id,
            ClientToScheduler::RetireWorkers { id, workers },
            timeout,
        )?;
        Ok(())
    }

    /// Closes these workers asking them to replace their processes (`oxdask worker` does).
    fn restart_workers(&self, py: Python<'_>, workers: Vec<String>, timeout: f64) -> PyResult<()> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.request(
            py,
            id,
            ClientToScheduler::RestartWorkers { id, workers },
            timeout,
        )?;
        Ok(())
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
        let keys: Vec<Key> = keys.iter().map(key_from_py).collect::<PyResult<_>>()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, buffers) = self.peer_request(
            py,
            &address,
            id,
            PeerRequest::GetData { id, keys },
            Vec::new(),
            timeout,
        )?;
        let PeerReply::Data {
            values, missing, ..
        } = reply
        else {
            return Err(conn_err(format!(
                "worker {address} answered get_data with another message"
            )));
        };
        let buf = |ix: BufIx| -> PyResult<Bound<'py, Frame>> {
            let bytes = ix
                .resolve(&buffers, format_args!("worker {address}'s reply"))
                .map_err(conn_err)?;
            py_from_bytes(py, bytes)
        };
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            let bufs = v
                .buffers
                .iter()
                .map(|&ix| buf(ix))
                .collect::<PyResult<Vec<_>>>()?;
            out.push((key_to_py(py, &v.key)?, buf(v.pickle)?, bufs));
        }
        let missing = missing
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
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut buffers = Vec::new();
        let mut stored = Vec::with_capacity(values.len());
        for (key, pickle, bufs) in values {
            let pickle_ix = BufIx(buffers.len() as u32);
            buffers.push(bytes_from_py(&pickle)?);
            let mut ixs = Vec::with_capacity(bufs.len());
            for b in bufs {
                ixs.push(BufIx(buffers.len() as u32));
                buffers.push(bytes_from_py(&b)?);
            }
            stored.push(StoredValue {
                key: key_from_py(&key)?,
                pickle: pickle_ix,
                buffers: ixs,
            });
        }
        let req = PeerRequest::PutData {
            id,
            values: stored,
            report: false,
        };
        let (reply, _) = self.peer_request(py, &address, id, req, buffers, timeout)?;
        match reply {
            PeerReply::Stored { .. } => Ok(()),
            _ => Err(conn_err(format!(
                "worker {address} answered put_data with another message"
            ))),
        }
    }

    /// Says goodbye to the scheduler.
    fn close(&self) {
        self.sender.send(ClientToScheduler::Close);
    }
}

impl ClientConnection {
    fn send(&self, msg: ClientToScheduler) -> PyResult<()> {
        if self.sender.send(msg) {
            Ok(())
        } else {
            Err(conn_err("the connection to the scheduler is closed"))
        }
    }

    fn request(
        &self,
        py: Python<'_>,
        id: u64,
        msg: ClientToScheduler,
        timeout: f64,
    ) -> PyResult<Reply> {
        let (tx, rx) = oneshot::channel();
        self.inbox.pending.lock().insert(id, tx);
        self.send(msg)?;
        self.wait_reply(py, id, rx, timeout)
    }

    fn wait_reply(
        &self,
        py: Python<'_>,
        id: u64,
        rx: oneshot::Receiver<Reply>,
        timeout: f64,
    ) -> PyResult<Reply> {
        let got = py.detach(|| {
            runtime().block_on(async { tokio::time::timeout(timeout_secs(timeout), rx).await })
        });
        match got {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(conn_err(
                "the connection to the scheduler closed during a request",
            )),
            Err(_) => {
                self.inbox.pending.lock().remove(&id);
                Err(PyTimeoutError::new_err(format!(
                    "no answer from the scheduler within {timeout}s"
                )))
            }
        }
    }

    fn peer(&self, py: Python<'_>, address: &str, timeout: f64) -> PyResult<Peer> {
        if let Some(p) = self.peers.lock().get(address) {
            if !p.sender.is_closed() {
                return Ok(p.clone());
            }
        }
        let (mut reader, sender) = open(
            py,
            address,
            &self.token,
            self.tls.as_ref(),
            Role::Worker,
            timeout,
        )?;
        let pending: PeerPending = Arc::default();
        let p2 = Arc::clone(&pending);
        runtime().spawn(async move {
            while let Ok(Some(frame)) = reader.next().await {
                let Ok(msgs) = decode_batch::<PeerReply>(&frame.payload) else {
                    break;
                };
                let buffers = Arc::new(frame.buffers);
                for m in msgs {
                    let id = match &m {
                        PeerReply::Data { id, .. }
                        | PeerReply::Stored { id }
                        | PeerReply::Pieces { id, .. } => *id,
                    };
                    if let Some(tx) = p2.lock().remove(&id) {
                        let _ = tx.send((m, Arc::clone(&buffers)));
                    }
                }
            }
            p2.lock().clear();
        });
        let peer = Peer { sender, pending };
        self.peers.lock().insert(address.to_owned(), peer.clone());
        Ok(peer)
    }

    fn peer_request(
        &self,
        py: Python<'_>,
        address: &str,
        id: u64,
        req: PeerRequest,
        buffers: Vec<Bytes>,
        timeout: f64,
    ) -> PyResult<(PeerReply, Arc<Vec<Bytes>>)> {
        let peer = self.peer(py, address, timeout)?;
        let (tx, rx) = oneshot::channel();
        peer.pending.lock().insert(id, tx);
        if !peer.sender.send_buffers(buffers, move |_| req) {
            return Err(conn_err(format!(
                "the connection to worker {address} is closed"
            )));
        }
        let got = py.detach(|| {
            runtime().block_on(async { tokio::time::timeout(timeout_secs(timeout), rx).await })
        });
        match got {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(_)) => Err(conn_err(format!(
                "worker {address} closed the connection during a request"
            ))),
            Err(_) => {
                peer.pending.lock().remove(&id);
                Err(PyTimeoutError::new_err(format!(
                    "no answer from worker {address} within {timeout}s"
                )))
            }
        }
    }
}
