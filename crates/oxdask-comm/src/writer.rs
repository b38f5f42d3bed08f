//! The batching writer: everything queued while the previous write was in flight goes out as
//! one frame.

use std::sync::Arc;

use bytes::Bytes;
use oxdask_protocol::{Batch, ProtocolError};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::connection::BoxedWrite;
use crate::lend::{Lending, LEND_FROM};

/// A message waiting to be written: it adds itself (and its buffers) to the frame being built.
pub type Outgoing = Box<dyn FnOnce(&mut Batch) -> Result<(), ProtocolError> + Send>;

/// What the writer task is handed.
pub(crate) enum Item {
    /// A message, packed with the others queued into one frame.
    Message(Outgoing),
    /// A whole control frame of the transport's own (see [`crate::lend`]), written as it is.
    Control(Bytes),
}

/// Queues messages for a connection; cheap to clone.
#[derive(Clone, Debug)]
pub struct Sender {
    tx: mpsc::UnboundedSender<Item>,
    lending: Option<Arc<Lending>>,
}

/// Largest payload packed into one frame before it is written.
const MAX_BATCH_PAYLOAD: usize = 8 << 20;

impl Sender {
    /// Queues a message without buffers. False if the connection is closed.
    pub fn send<T: Serialize + Send + 'static>(&self, msg: T) -> bool {
        self.send_with(move |b| b.push(&msg))
    }

    /// Queues a message built against the frame's buffer list, e.g.
    /// `|b| { let ix = b.push_buffer(data); b.push(&Msg { data: ix }) }`.
    pub fn send_with(
        &self,
        build: impl FnOnce(&mut Batch) -> Result<(), ProtocolError> + Send + 'static,
    ) -> bool {
        self.tx.send(Item::Message(Box::new(build))).is_ok()
    }

    /// Queues a message together with buffers it refers to by index: `make(first_index)`.
    pub fn send_buffers<T: Serialize + Send + 'static>(
        &self,
        buffers: Vec<Bytes>,
        make: impl FnOnce(u32) -> T + Send + 'static,
    ) -> bool {
        self.send_with(move |b| {
            let mut first = None;
            for buf in buffers {
                let ix = b.push_buffer(buf);
                first.get_or_insert(ix);
            }
            let first = first.unwrap_or(b.buffer_count());
            let first = u32::try_from(first).map_err(|_| ProtocolError::TooManyBuffers {
                count: first as u64,
                max: u32::MAX as u64,
            })?;
            b.push(&make(first))
        })
    }

    /// True once the writer has stopped (connection closed or failed).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Queues a control frame (see [`crate::lend`]); false if the connection is closed.
    pub(crate) fn tx_control(&self, control: crate::lend::Control) -> bool {
        self.tx.send(Item::Control(control.frame())).is_ok()
    }

    /// Bytes this end has lent to the peer and not yet got back: buffers of 1 MiB or more, on
    /// a connection between processes of one machine, until the peer has copied them.
    pub fn lent_bytes(&self) -> usize {
        self.lending.as_ref().map_or(0, |l| l.lent_bytes())
    }

    /// A handle that does not keep the writer alive (the frame reader's, for control frames).
    pub(crate) fn downgrade(&self) -> mpsc::WeakUnboundedSender<Item> {
        self.tx.downgrade()
    }
}

/// Starts the writer task of a connection; `lending` for one between processes of one machine.
pub(crate) fn spawn_writer(mut half: BoxedWrite, lending: Option<Arc<Lending>>) -> Sender {
    let (tx, mut rx) = mpsc::unbounded_channel::<Item>();
    let sender = Sender {
        tx,
        lending: lending.clone(),
    };
    tokio::spawn(async move {
        let mut next = rx.recv().await;
        while let Some(item) = next.take() {
            let first = match item {
                Item::Control(frame) => {
                    if write_chunks(&mut half, vec![frame]).await.is_err() {
                        break;
                    }
                    next = rx.recv().await;
                    continue;
                }
                Item::Message(first) => first,
            };
            let mut batch = Batch::new();
            let mut ok = first(&mut batch).is_ok();
            while ok && batch.payload_len() < MAX_BATCH_PAYLOAD {
                match rx.try_recv() {
                    Ok(Item::Message(more)) => ok = more(&mut batch).is_ok(),
                    // Written after this batch, in the order queued.
                    Ok(control) => {
                        next = Some(control);
                        break;
                    }
                    Err(_) => break,
                }
            }
            if !ok {
                tracing::error!("dropping a connection: a message could not be encoded");
                break;
            }
            let Ok(chunks) = batch.into_frame().and_then(|frame| match &lending {
                Some(lending) if lending.may_lend() => {
                    let (chunks, lent) = frame.into_chunks_lending(LEND_FROM)?;
                    lending.keep(lent);
                    Ok(chunks)
                }
                _ => frame.into_chunks(),
            }) else {
                tracing::error!("dropping a connection: a frame exceeded the protocol limits");
                break;
            };
            if write_chunks(&mut half, chunks).await.is_err() {
                break;
            }
            if next.is_none() {
                next = rx.recv().await;
            }
        }
        let _ = half.shutdown().await;
    });
    sender
}

async fn write_chunks(half: &mut BoxedWrite, chunks: Vec<Bytes>) -> std::io::Result<()> {
    // Small frames: one write of the concatenation; large buffers: written as they are.
    let total: usize = chunks.iter().map(Bytes::len).sum();
    if total <= 64 << 10 {
        let mut joined = Vec::with_capacity(total);
        for c in &chunks {
            joined.extend_from_slice(c);
        }
        half.write_all(&joined).await?;
    } else {
        for c in chunks {
            half.write_all(&c).await?;
        }
    }
    // A no-op on TCP; TLS may hold the last record until flushed.
    half.flush().await
}
