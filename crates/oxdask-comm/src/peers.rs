//! Connections to other workers' data servers, opened on first use and kept.
//!
//! One connection per peer carries every request to it; replies are matched to requests by
//! id, so the state machine's concurrent requests to one peer share the connection. A
//! connection that fails fails the requests waiting on it and is dropped from the pool; the
//! next request opens a new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use oxdask_comm::{connect, FrameReader, Sender, Tls};
use oxdask_graph::Key;
use oxdask_protocol::messages::{PeerReply, PeerRequest, StoredValue};
use oxdask_protocol::{decode_batch, Hello, Role};
use parking_lot::Mutex;
use tokio::sync::oneshot;

/// A peer's answer to `GetData`: the values, with the buffers of the frame they came in.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) values: Vec<StoredValue>,
    pub(crate) buffers: Vec<Bytes>,
}

/// A peer's answer to `TakeShuffle`: the pieces, each `(input, pickle, buffers)`.
pub type Pieces = Vec<(u32, Bytes, Vec<Bytes>)>;

type Waiters = Mutex<HashMap<u64, oneshot::Sender<Result<(PeerReply, Vec<Bytes>), String>>>>;

#[derive(Debug)]
struct PeerConn {
    sender: Sender,
    waiters: Waiters,
}

/// The pool of peer connections.
#[derive(Debug)]
pub(crate) struct Peers {
    conns: Mutex<HashMap<String, Arc<PeerConn>>>,
    hello: Hello,
    timeout: Duration,
    next_id: AtomicU64,
    tls: Option<Tls>,
}

impl Peers {
    pub(crate) fn new(hello: Hello, timeout: Duration, tls: Option<Tls>) -> Self {
        Self {
            conns: Mutex::new(HashMap::new()),
            hello,
            timeout,
            next_id: AtomicU64::new(0),
            tls,
        }
    }

    /// Asks `address` for `keys`. Errors say what failed, naming the peer.
    pub(crate) async fn get_data(
        self: &Arc<Self>,
        address: &str,
        keys: Vec<Key>,
    ) -> Result<Reply, String> {
        match self
            .request(address, |id| PeerRequest::GetData { id, keys })
            .await?
        {
            (PeerReply::Data { values, .. }, buffers) => Ok(Reply { values, buffers }),
            (other, _) => Err(format!("{address} answered GetData with {other:?}")),
        }
    }

    /// Asks `address` for (and has it forget) its pieces of output `partition` of the
    /// dataframe shuffle `shuffle`. Errors name the peer.
    pub(crate) async fn take_shuffle(
        self: &Arc<Self>,
        address: &str,
        shuffle: String,
        partition: u32,
    ) -> Result<Pieces, String> {
        let request = |id| PeerRequest::TakeShuffle {
            id,
            shuffle,
            partition,
        };
        let (pieces, error, buffers) = match self.request(address, request).await? {
            (PeerReply::Pieces { pieces, error, .. }, buffers) => (pieces, error, buffers),
            (other, _) => return Err(format!("{address} answered TakeShuffle with {other:?}")),
        };
        if let Some(error) = error {
            return Err(format!("{address}: {error}"));
        }
        let what = format_args!("a shuffle piece from {address}");
        pieces
            .into_iter()
            .map(|p| {
                let parts = p.buffers.iter().map(|ix| ix.resolve(&buffers, what));
                let pickle = p.pickle.resolve(&buffers, what)?;
                Ok((p.input, pickle, parts.collect::<Result<_, _>>()?))
            })
            .collect()
    }

    /// Sends `request`, which has no reply, to `address`.
    pub(crate) async fn send(
        self: &Arc<Self>,
        address: &str,
        request: PeerRequest,
    ) -> Result<(), String> {
        let conn = self.connection(address).await?;
        if conn.sender.send(request) {
            Ok(())
        } else {
            self.forget(address, &conn);
            Err(format!("connection to {address} is closed"))
        }
    }

    /// Sends the request `make(id)` to `address` and waits for its reply.
    async fn request(
        self: &Arc<Self>,
        address: &str,
        make: impl FnOnce(u64) -> PeerRequest,
    ) -> Result<(PeerReply, Vec<Bytes>), String> {
        let conn = self.connection(address).await?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        conn.waiters.lock().insert(id, tx);
        if !conn.sender.send(make(id)) {
            conn.waiters.lock().remove(&id);
            self.forget(address, &conn);
            return Err(format!("connection to {address} is closed"));
        }
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(format!("connection to {address} was lost")),
            Err(_) => {
                conn.waiters.lock().remove(&id);
                Err(format!(
                    "no answer from {address} within {:?}",
                    self.timeout
                ))
            }
        }
    }

    async fn connection(self: &Arc<Self>, address: &str) -> Result<Arc<PeerConn>, String> {
        if let Some(conn) = self.conns.lock().get(address) {
            if !conn.sender.is_closed() {
                return Ok(conn.clone());
            }
        }
        let opened = tokio::time::timeout(
            self.timeout,
            connect(
                address,
                Role::Worker,
                self.hello.clone(),
                Role::Worker,
                self.tls.as_ref(),
            ),
        )
        .await
        .map_err(|_| format!("connecting to {address} timed out"))?
        .map_err(|e| e.to_string())?;
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
                let _ = tx.send(Err(format!("connection to {address} failed: {reason}")));
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
                PeerReply::Data { id, .. } | PeerReply::Pieces { id, .. } => *id,
                PeerReply::Stored { .. } => continue,
            };
            if let Some(tx) = conn.waiters.lock().remove(&id) {
                let _ = tx.send(Ok((reply, frame.buffers.clone())));
            }
        }
    }
}
