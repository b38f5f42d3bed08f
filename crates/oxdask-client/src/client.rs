//! The connection to a scheduler: submissions, requests with replies, and data to and from
//! workers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use oxdask_comm::{connect, DataReply, FrameReader, PeerPool, Sender, Tls};
use oxdask_graph::Key;
use oxdask_protocol::messages::{
    BufIx, ClientToScheduler, MemoryOp, SchedulerToClient, StoredValue, WireTask,
};
use oxdask_protocol::{decode_batch, Hello, Role};
use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::{ClientError, Inbox, KeyEvent};

/// A reply to a request, with the buffers of its frame.
type Reply = (SchedulerToClient, Arc<Vec<Bytes>>);
type Pending = Mutex<HashMap<u64, oneshot::Sender<Reply>>>;

/// A request that has a reply ([`Client::request`]); the id is filled in.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Where are these keys?
    WhoHas(Vec<Key>),
    /// The cluster as JSON.
    Info,
    /// The scheduler's account of a key.
    Why(Key),
    /// A dashboard view as JSON (`"task-stream?since=0"`, `"progress"`...).
    Dashboard(String),
    /// Move data off these workers, then close them.
    RetireWorkers(Vec<String>),
    /// Close these workers asking them to replace their processes.
    RestartWorkers(Vec<String>),
    /// Run a pickled `(function, args, kwargs)` on every worker.
    Run(Bytes),
    /// Run a pickled call in the scheduler's process.
    Call(Bytes),
    /// Active memory management (rebalance, the active memory manager).
    Memory(MemoryOp),
}

/// A connection to a scheduler (and, for data, to workers).
pub struct Client {
    sender: Sender,
    /// Set when the connection ended (before the waiting requests are failed).
    closed: Arc<AtomicBool>,
    inbox: Arc<Inbox>,
    pending: Arc<Pending>,
    next_id: AtomicU64,
    peers: Arc<PeerPool>,
    runtime: Handle,
}

fn timeout_of(seconds: f64) -> Duration {
    Duration::from_secs_f64(if seconds.is_finite() {
        seconds.clamp(0.0, 1e6)
    } else {
        1e6
    })
}

impl Client {
    /// Connects to the scheduler at `address` within `timeout` seconds; networking runs on
    /// `runtime`. Call from outside the runtime.
    ///
    /// # Errors
    ///
    /// [`ClientError::Timeout`] or [`ClientError::Connection`], naming the address.
    pub fn connect(
        runtime: &Handle,
        address: &str,
        token: Option<String>,
        tls: Option<Tls>,
        timeout: f64,
    ) -> Result<Self, ClientError> {
        let hello = Hello {
            token,
            ..Hello::default()
        };
        let limit = timeout_of(timeout);
        let connecting = connect(
            address,
            Role::Client,
            hello.clone(),
            Role::Scheduler,
            tls.as_ref(),
        );
        let conn = runtime
            .block_on(async { tokio::time::timeout(limit, connecting).await })
            .map_err(|_| {
                ClientError::Timeout(format!(
                    "timed out after {timeout}s connecting to {address}"
                ))
            })?
            .map_err(|e| ClientError::Connection(e.to_string()))?;
        let (reader, sender) = {
            let _guard = runtime.enter();
            conn.split()
        };
        let inbox = Arc::new(Inbox::default());
        let pending = Arc::new(Pending::default());
        let closed = Arc::new(AtomicBool::new(false));
        let reading = read_scheduler(reader, inbox.clone(), pending.clone(), closed.clone());
        runtime.spawn(reading);
        Ok(Self {
            sender,
            closed,
            inbox,
            pending,
            next_id: AtomicU64::new(1),
            peers: Arc::new(PeerPool::new(Role::Client, hello, limit, tls)),
            runtime: runtime.clone(),
        })
    }

    /// The key reports.
    #[must_use]
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Takes the queued key reports, waiting up to `timeout` seconds for one.
    #[must_use]
    pub fn take_events(&self, timeout: f64) -> Vec<KeyEvent> {
        self.inbox.take(timeout_of(timeout))
    }

    /// Sends, in one frame: the keys this client no longer holds futures for (`released`,
    /// first, so a release never overtakes a later submission of its key), new functions
    /// (`(id, pickled function)`), and tasks with the keys this client wants.
    ///
    /// # Errors
    ///
    /// [`ClientError::Connection`] when the connection is closed.
    pub fn submit(
        &self,
        tasks: Vec<WireTask>,
        wanted: Vec<Key>,
        functions: Vec<(u64, Bytes)>,
        released: Vec<Key>,
    ) -> Result<(), ClientError> {
        let sent = self.sender.send_with(move |batch| {
            if !released.is_empty() {
                batch.push(&ClientToScheduler::Release { keys: released })?;
            }
            if !functions.is_empty() {
                let mut items = Vec::with_capacity(functions.len());
                for (id, blob) in functions {
                    items.push((id, batch.push_buffer_ix(blob)?));
                }
                batch.push(&ClientToScheduler::Functions { items })?;
            }
            batch.push(&ClientToScheduler::Submit { tasks, wanted })
        });
        closed_unless(sent)
    }

    /// Sends a message that has no reply (release, cancel, scattered, close).
    ///
    /// # Errors
    ///
    /// [`ClientError::Connection`] when the connection is closed.
    pub fn send(&self, msg: ClientToScheduler) -> Result<(), ClientError> {
        closed_unless(self.sender.send(msg))
    }

    /// Sends `request` and waits up to `timeout` seconds for its reply (with its frame's
    /// buffers).
    ///
    /// # Errors
    ///
    /// [`ClientError::Timeout`], or [`ClientError::Connection`] when the connection closes.
    pub fn request(&self, request: Request, timeout: f64) -> Result<Reply, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        let sent = match request {
            Request::WhoHas(keys) => self.sender.send(ClientToScheduler::WhoHas { id, keys }),
            Request::Info => self.sender.send(ClientToScheduler::Info { id }),
            Request::Why(key) => self.sender.send(ClientToScheduler::Why { id, key }),
            Request::Dashboard(path) => self.sender.send(ClientToScheduler::Dashboard { id, path }),
            Request::RetireWorkers(workers) => self
                .sender
                .send(ClientToScheduler::RetireWorkers { id, workers }),
            Request::RestartWorkers(workers) => self
                .sender
                .send(ClientToScheduler::RestartWorkers { id, workers }),
            Request::Memory(op) => self.sender.send(ClientToScheduler::Memory { id, op }),
            Request::Run(call) => {
                self.sender
                    .send_buffers(vec![call], move |ix| ClientToScheduler::Run {
                        id,
                        call: BufIx(ix),
                    })
            }
            Request::Call(call) => {
                self.sender
                    .send_buffers(vec![call], move |ix| ClientToScheduler::Call {
                        id,
                        call: BufIx(ix),
                    })
            }
        };
        // The reader sets `closed` before failing the waiting requests: a request registered
        // after that sees it here.
        if !sent || self.closed.load(Ordering::SeqCst) {
            self.pending.lock().remove(&id);
            return Err(closed());
        }
        let limit = timeout_of(timeout);
        match self
            .runtime
            .block_on(async { tokio::time::timeout(limit, rx).await })
        {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(ClientError::Connection(
                "the connection to the scheduler closed during a request".into(),
            )),
            Err(_) => {
                self.pending.lock().remove(&id);
                Err(ClientError::Timeout(format!(
                    "no answer from the scheduler within {timeout}s"
                )))
            }
        }
    }

    /// Fetches values from the worker at `address`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Timeout`] or [`ClientError::Connection`], naming the worker.
    pub fn get_data(
        &self,
        address: &str,
        keys: Vec<Key>,
        timeout: f64,
    ) -> Result<DataReply, ClientError> {
        let limit = Some(timeout_of(timeout));
        let peers = self.peers.clone();
        Ok(self
            .runtime
            .block_on(async move { peers.get_data(address, keys, limit).await })?)
    }

    /// Stores values on the worker at `address`; `values` index `buffers`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Timeout`] or [`ClientError::Connection`], naming the worker.
    pub fn put_data(
        &self,
        address: &str,
        values: Vec<StoredValue>,
        buffers: Vec<Bytes>,
        timeout: f64,
    ) -> Result<(), ClientError> {
        let limit = Some(timeout_of(timeout));
        let peers = self.peers.clone();
        Ok(self
            .runtime
            .block_on(async move { peers.put_data(address, values, buffers, limit).await })?)
    }
}

fn closed() -> ClientError {
    ClientError::Connection("the connection to the scheduler is closed".into())
}

fn closed_unless(sent: bool) -> Result<(), ClientError> {
    if sent {
        Ok(())
    } else {
        Err(closed())
    }
}

/// Sorts what the scheduler sends until the connection ends, then reports why.
async fn read_scheduler(
    mut reader: FrameReader,
    inbox: Arc<Inbox>,
    pending: Arc<Pending>,
    closed: Arc<AtomicBool>,
) {
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
            let event = match msg {
                SchedulerToClient::InMemory {
                    key,
                    nbytes,
                    type_name,
                    value,
                } => KeyEvent::Memory {
                    key,
                    nbytes,
                    type_name,
                    value,
                },
                SchedulerToClient::Erred { key, from, error } => KeyEvent::Erred {
                    key,
                    from,
                    failure: error,
                },
                SchedulerToClient::Cancelled { key, reason } => KeyEvent::Cancelled { key, reason },
                SchedulerToClient::Lost { key } => KeyEvent::Lost { key },
                reply => {
                    if let Some(tx) = reply_id(&reply).and_then(|id| pending.lock().remove(&id)) {
                        let _ = tx.send((reply, Arc::clone(&buffers)));
                    }
                    continue;
                }
            };
            inbox.push(event);
        }
    };
    closed.store(true, Ordering::SeqCst);
    pending.lock().clear();
    inbox.push(KeyEvent::Closed { reason });
}

fn reply_id(reply: &SchedulerToClient) -> Option<u64> {
    match reply {
        SchedulerToClient::WhoHas { id, .. }
        | SchedulerToClient::Info { id, .. }
        | SchedulerToClient::Why { id, .. }
        | SchedulerToClient::RunResults { id, .. }
        | SchedulerToClient::CallResult { id, .. }
        | SchedulerToClient::Done { id } => Some(*id),
        _ => None,
    }
}
