//! Connections to workers' data servers, opened on first use and kept: one pool serves a
//! worker's fetches and shuffle takes and a client's `get_data`/`put_data`.
//!
//! One connection per peer carries every request to it; replies are matched to requests by
//! id, so concurrent requests to one peer share the connection. A connection that fails
//! fails the requests waiting on it and is dropped from the pool; the next request opens a
//! new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use oxdask_graph::Key;
use oxdask_protocol::messages::{BufIx, PeerReply, PeerRequest, StoredValue};
use oxdask_protocol::{decode_batch, Hello, Role};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::{connect, FrameReader, Sender, Tls};

/// Why a request to a peer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// The peer did not answer (or could not be reached) in time.
    #[error("{0}")]
    Timeout(String),
    /// The connection failed, closed, or carried something unexpected.
    #[error("{0}")]
    Failed(String),
}

/// A peer's answer to `GetData`: the values found, the keys it did not have, and the buffers
/// of the frame the values came in.
#[derive(Debug)]
pub struct DataReply {
    /// Values found.
    pub values: Vec<StoredValue>,
    /// Keys the peer does not hold.
    pub missing: Vec<Key>,
    /// The frame's buffers, which the values' [`BufIx`]es index.
    pub buffers: Vec<Bytes>,
}

/// A peer's answer to `TakeShuffle`: the pieces, each `(input, pickle, buffers)`.
pub type Pieces = Vec<(u32, Bytes, Vec<Bytes>)>;

type Answer = Result<(PeerReply, Vec<Bytes>), PeerError>;
type Waiters = Mutex<HashMap<u64, oneshot::Sender<Answer>>>;

#[derive(Debug)]
struct PeerConn {
    sender: Sender,
    waiters: Waiters,
}

/// The pool of connections to peers' data servers.
#[derive(Debug)]
pub struct PeerPool {
    conns: Mutex<HashMap<String, Arc<PeerConn>>>,
    role: Role,
    hello: Hello,
    timeout: Duration,
    next_id: AtomicU64,
    tls: Option<Tls>,
}

impl PeerPool {
    /// A pool connecting as `role` with `hello`; `timeout` bounds connecting and, unless a
    /// request gives its own, waiting for a reply.
    pub fn new(role: Role, hello: Hello, timeout: Duration, tls: Option<Tls>) -> Self {
        Self {
            conns: Mutex::new(HashMap::new()),
            role,
            hello,
            timeout,
            next_id: AtomicU64::new(0),
            tls,
        }
    }

    /// Asks `address` for `keys`. Errors say what failed, naming the peer.
    pub async fn get_data(
        self: &Arc<Self>,
        address: &str,
        keys: Vec<Key>,
        timeout: Option<Duration>,
    ) -> Result<DataReply, PeerError> {
        let make = move |id| PeerRequest::GetData { id, keys };
        match self.request(address, Vec::new(), make, timeout).await? {
            (
                PeerReply::Data {
                    values, missing, ..
                },
                buffers,
            ) => Ok(DataReply {
                values,
                missing,
                buffers,
            }),
            (other, _) => Err(unexpected(address, "GetData", &other)),
        }
    }

    /// Stores values on `address`: `values` index `buffers`, as on the wire.
    pub async fn put_data(
        self: &Arc<Self>,
        address: &str,
        values: Vec<StoredValue>,
        buffers: Vec<Bytes>,
        timeout: Option<Duration>,
    ) -> Result<(), PeerError> {
        let make = move |id| PeerRequest::PutData {
            id,
            values,
            report: false,
        };
        match self.request(address, buffers, make, timeout).await? {
            (PeerReply::Stored { error: None, .. }, _) => Ok(()),
            (PeerReply::Stored { error: Some(e), .. }, _) => {
                Err(PeerError::Failed(format!("{address}: {e}")))
            }
            (other, _) => Err(unexpected(address, "PutData", &other)),
        }
    }

    /// Asks `address` for (and has it forget) its pieces of output `partition` of the
    /// dataframe shuffle `shuffle`. Errors name the peer.
    pub async fn take_shuffle(
        self: &Arc<Self>,
        address: &str,
        shuffle: String,
        partition: u32,
    ) -> Result<Pieces, PeerError> {
        let request = move |id| PeerRequest::TakeShuffle {
            id,
            shuffle,
            partition,
        };
        let (pieces, error, buffers) =
            match self.request(address, Vec::new(), request, None).await? {
                (PeerReply::Pieces { pieces, error, .. }, buffers) => (pieces, error, buffers),
                (other, _) => return Err(unexpected(address, "TakeShuffle", &other)),
            };
        if let Some(error) = error {
            return Err(PeerError::Failed(format!("{address}: {error}")));
        }
        let what = format_args!("a shuffle piece from {address}");
        let resolve = |ix: &BufIx| ix.resolve(&buffers, what).map_err(PeerError::Failed);
        pieces
            .into_iter()
            .map(|p| {
                let parts = p.buffers.iter().map(resolve);
                Ok((
                    p.input,
                    resolve(&p.pickle)?,
                    parts.collect::<Result<_, _>>()?,
                ))
            })
            .collect()
    }

    /// Sends `request`, which has no reply, to `address`.
    pub async fn send(
        self: &Arc<Self>,
        address: &str,
        request: PeerRequest,
    ) -> Result<(), PeerError> {
        let conn = self.connection(address).await?;
        if conn.sender.send(request) {
            Ok(())
        } else {
            self.forget(address, &conn);
            Err(PeerError::Failed(format!(
                "connection to {address} is closed"
            )))
        }
    }

    /// Sends the request `make(id)` with `buffers` to `address` and waits up to `timeout`
    /// (the pool's by default) for its reply.
    pub async fn request(
        self: &Arc<Self>,
        address: &str,
        buffers: Vec<Bytes>,
        make: impl FnOnce(u64) -> PeerRequest + Send + 'static,
        timeout: Option<Duration>,
    ) -> Result<(PeerReply, Vec<Bytes>), PeerError> {
        let timeout = timeout.unwrap_or(self.timeout);
        let conn = tokio::time::timeout(timeout, self.connection(address))
            .await
            .map_err(|_| PeerError::Timeout(format!("connecting to {address} timed out")))??;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        conn.waiters.lock().insert(id, tx);
        if !conn.sender.send_buffers(buffers, move |_| make(id)) {
            conn.waiters.lock().remove(&id);
            self.forget(address, &conn);
            return Err(PeerError::Failed(format!(
                "connection to {address} is closed"
            )));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(PeerError::Failed(format!(
                "connection to {address} was lost"
            ))),
            Err(_) => {
                conn.waiters.lock().remove(&id);
                Err(PeerError::Timeout(format!(
                    "no answer from {address} within {timeout:?}"
                )))
            }
        }
    }

    async fn connection(self: &Arc<Self>, address: &str) -> Result<Arc<PeerConn>, PeerError> {
        if let Some(conn) = self.conns.lock().get(address) {
            if !conn.sender.is_closed() {
                return Ok(conn.clone());
            }
        }
        let connecting = connect(
            address,
            self.role,
            self.hello.clone(),
            Role::Worker,
            self.tls.as_ref(),
        );
        let opened = tokio::time::timeout(self.timeout, connecting)
            .await
            .map_err(|_| PeerError::Timeout(format!("connecting to {address} timed out")))?
            .map_err(|e| PeerError::Failed(format!("connecting to {address}: {e}")))?;
        let (reader, sender) = opened.split();
        let conn = Arc::new(PeerConn {
            sender,
            waiters: Mutex::new(HashMap::new()),
        });
        // Two requests may have raced to connect: the first connection stays.
        let conn = {
            let mut conns = self.conns.lock();
            match conns.get(address) {
                Some(existing) if !existing.sender.is_closed() => return Ok(existing.clone()),
                _ => {
                    conns.insert(address.to_owned(), conn.clone());
                    conn
                }
            }
        };
        let pool = Arc::clone(self);
        let address = address.to_owned();
        let reading = conn.clone();
        tokio::spawn(async move {
            let reason = read_replies(reader, &reading).await;
            tracing::debug!(peer = %address, %reason, "peer connection ended");
            pool.forget(&address, &reading);
            let waiters: Vec<_> = reading.waiters.lock().drain().collect();
            for (_, tx) in waiters {
                let failed = format!("connection to {address} failed: {reason}");
                let _ = tx.send(Err(PeerError::Failed(failed)));
            }
        });
        Ok(conn)
    }

    /// Drops `conn` from the pool, unless it was replaced already.
    fn forget(&self, address: &str, conn: &Arc<PeerConn>) {
        let mut conns = self.conns.lock();
        if conns.get(address).is_some_and(|c| Arc::ptr_eq(c, conn)) {
            conns.remove(address);
        }
    }
}

fn unexpected(address: &str, request: &str, reply: &PeerReply) -> PeerError {
    let what = match reply {
        PeerReply::Data { .. } => "Data",
        PeerReply::Stored { .. } => "Stored",
        PeerReply::Pieces { .. } => "Pieces",
    };
    PeerError::Failed(format!("{address} answered {request} with {what}"))
}

/// Hands each reply to its waiter until the connection ends; returns why it ended.
async fn read_replies(mut reader: FrameReader, conn: &PeerConn) -> String {
    loop {
        let frame = match reader.next().await {
            Ok(Some(frame)) => frame,
            Ok(None) => return "closed by the peer".to_owned(),
            Err(e) => return e.to_string(),
        };
        let replies = match decode_batch::<PeerReply>(&frame.payload) {
            Ok(replies) => replies,
            Err(e) => return e.to_string(),
        };
        for reply in replies {
            let id = match &reply {
                PeerReply::Data { id, .. }
                | PeerReply::Pieces { id, .. }
                | PeerReply::Stored { id, .. } => *id,
            };
            if let Some(tx) = conn.waiters.lock().remove(&id) {
                let _ = tx.send(Ok((reply, frame.buffers.clone())));
            }
        }
    }
}
