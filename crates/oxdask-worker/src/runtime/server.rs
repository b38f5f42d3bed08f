//! The data server: other workers and clients connect to fetch values (`GetData`) and to put
//! them (`PutData`, a client's scatter).

use std::sync::Arc;

use bytes::Bytes;
use oxdask_comm::{Connection, Listener, Sender};
use oxdask_graph::Key;
use oxdask_protocol::messages::{PeerReply, PeerRequest, ShufflePiece, StoredValue};
use oxdask_protocol::{decode_batch, Frame, Hello, Role};
use tokio::sync::{mpsc, oneshot};

use super::store::Serialized;
use super::{Host, Internal, Store};

/// What connection handlers share.
pub(crate) struct ServerContext<H: Host> {
    pub(crate) host: Arc<H>,
    pub(crate) store: Arc<Store<H::Value>>,
    pub(crate) hello: Hello,
    pub(crate) token: Option<String>,
    /// To the state owner, which stores put values.
    pub(crate) internal: mpsc::UnboundedSender<Internal<H::Value>>,
}

/// Who may connect to the data server.
const ALLOWED: &[Role] = &[Role::Worker, Role::Client];

/// Accepts peers, by whichever way they come, until the task is aborted.
pub(crate) async fn serve<H: Host>(mut listener: Listener, ctx: Arc<ServerContext<H>>) {
    loop {
        match listener.accept().await {
            Ok(incoming) => {
                let hello = ctx.hello.clone();
                let opening = incoming.open(Role::Worker, hello, ALLOWED, ctx.token.clone());
                tokio::spawn(serve_peer(opening, ctx.clone()));
            }
            Err(e) => tracing::warn!(error = %e, "accepting a peer failed"),
        }
    }
}

async fn serve_peer<H: Host>(
    opening: impl std::future::Future<Output = oxdask_comm::Result<Connection>>,
    ctx: Arc<ServerContext<H>>,
) {
    let conn = match opening.await {
        Ok(conn) => conn,
        Err(e) => return tracing::warn!(error = %e, "refused a peer"),
    };
    let peer = conn.peer.address.clone();
    let (mut reader, sender) = conn.split();
    loop {
        let frame = match reader.next().await {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(e) => return tracing::debug!(%peer, error = %e, "peer connection failed"),
        };
        let requests = match decode_batch::<PeerRequest>(&frame.payload) {
            Ok(requests) => requests,
            Err(e) => return tracing::warn!(%peer, error = %e, "bad request; closing"),
        };
        for request in requests {
            match request {
                PeerRequest::GetData { id, keys } => get_data(&ctx, &sender, id, keys).await,
                PeerRequest::PutData { id, values, report } => {
                    put_data(&ctx, &sender, &frame, id, values, report, &peer).await;
                }
                PeerRequest::TakeShuffle {
                    id,
                    shuffle,
                    partition,
                } => take_shuffle(&ctx, &sender, id, shuffle, partition).await,
                PeerRequest::DropShuffle { shuffle } => {
                    let host = ctx.host.clone();
                    tokio::task::spawn_blocking(move || host.drop_shuffle(&shuffle));
                }
            }
        }
    }
}

/// Serializes the values held among `keys` (on a blocking thread; spilled values are sent
/// as read from disk) and replies.
async fn get_data<H: Host>(ctx: &ServerContext<H>, sender: &Sender, id: u64, keys: Vec<Key>) {
    let host = ctx.host.clone();
    let store = ctx.store.clone();
    let serialized = tokio::task::spawn_blocking(move || {
        let (found, mut missing) = store.read_many(keys);
        let mut out = Vec::with_capacity(found.len());
        for (key, value) in found {
            match value {
                Serialized::Disk { pickle, buffers } => out.push((key, pickle, buffers)),
                Serialized::Memory(value) => match host.serialize(&value) {
                    Ok((pickle, buffers)) => out.push((key, pickle, buffers)),
                    Err(e) => {
                        tracing::error!(key = %key, error = %e.text, "could not serialize a value");
                        missing.push(key);
                    }
                },
            }
        }
        (out, missing)
    })
    .await;
    let (values, missing) = match serialized {
        Ok(done) => done,
        Err(e) => return tracing::error!(error = %e, "serializing values panicked"),
    };
    sender.send_with(move |batch| {
        let mut stored = Vec::with_capacity(values.len());
        for (key, pickle, buffers) in values {
            let pickle = batch.push_buffer_ix(pickle)?;
            let buffers = buffers
                .into_iter()
                .map(|b| batch.push_buffer_ix(b))
                .collect::<Result<Vec<_>, _>>()?;
            stored.push(StoredValue {
                key,
                pickle,
                buffers,
            });
        }
        batch.push(&PeerReply::Data {
            id,
            values: stored,
            missing,
        })
    });
}

/// Hands over this worker's pieces of a shuffle's output partition (taken and serialized by
/// the host on a blocking thread).
async fn take_shuffle<H: Host>(
    ctx: &ServerContext<H>,
    sender: &Sender,
    id: u64,
    shuffle: String,
    partition: u32,
) {
    let host = ctx.host.clone();
    let taken = tokio::task::spawn_blocking(move || host.take_shuffle(&shuffle, partition))
        .await
        .map_err(|e| format!("taking shuffle pieces panicked: {e}"))
        .and_then(|r| r.map_err(|e| e.text));
    sender.send_with(move |batch| {
        let (pieces, error) = match taken {
            Ok(pieces) => (pieces, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        let mut out = Vec::with_capacity(pieces.len());
        for (input, pickle, buffers) in pieces {
            out.push(ShufflePiece {
                input,
                pickle: batch.push_buffer_ix(pickle)?,
                buffers: buffers
                    .into_iter()
                    .map(|b| batch.push_buffer_ix(b))
                    .collect::<Result<_, _>>()?,
            });
        }
        batch.push(&PeerReply::Pieces {
            id,
            pieces: out,
            error,
        })
    });
}

/// Deserializes put values, has the state owner store them, then replies: stored, or why
/// not (a client waiting for the reply must never wait out its timeout on a failure).
async fn put_data<H: Host>(
    ctx: &ServerContext<H>,
    sender: &Sender,
    frame: &Frame,
    id: u64,
    values: Vec<StoredValue>,
    report: bool,
    peer: &str,
) {
    let host = ctx.host.clone();
    let buffers = frame.buffers.clone();
    let decoded =
        tokio::task::spawn_blocking(move || deserialize_all(&*host, values, &buffers)).await;
    let error = match decoded {
        Ok(Ok(values)) => {
            let (done, stored) = oneshot::channel();
            let put = Internal::Put {
                values,
                report,
                done,
            };
            if ctx.internal.send(put).is_ok() && stored.await.is_ok() {
                None
            } else {
                Some("the worker is closing".to_owned())
            }
        }
        Ok(Err(e)) => Some(e),
        Err(e) => Some(format!("deserializing put data panicked: {e}")),
    };
    if let Some(e) = &error {
        tracing::warn!(%peer, error = %e, "could not store put data");
    }
    sender.send(PeerReply::Stored { id, error });
}

/// Rebuilds values from a frame's buffers. Errors name the key and what was wrong.
pub(crate) fn deserialize_all<H: Host + ?Sized>(
    host: &H,
    values: Vec<StoredValue>,
    buffers: &[Bytes],
) -> Result<Vec<(Key, H::Value, u64)>, String> {
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        let what = format_args!("value {}", v.key);
        let pickle = v.pickle.resolve(buffers, what)?;
        let parts = v
            .buffers
            .iter()
            .map(|ix| ix.resolve(buffers, what))
            .collect::<Result<Vec<_>, _>>()?;
        let (value, nbytes) = host
            .deserialize(pickle, parts)
            .map_err(|e| format!("could not deserialize {}: {}", v.key, e.text))?;
        out.push((v.key, value, nbytes));
    }
    Ok(out)
}
