//! The batching writer: everything queued while the previous write was in flight goes out as
//! one frame.

use bytes::Bytes;
use oxdask_protocol::{Batch, ProtocolError};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::connection::BoxedWrite;

/// A message waiting to be written: it adds itself (and its buffers) to the frame being built.
pub type Outgoing = Box<dyn FnOnce(&mut Batch) -> Result<(), ProtocolError> + Send>;

/// Queues messages for a connection; cheap to clone.
#[derive(Clone, Debug)]
pub struct Sender {
    tx: mpsc::UnboundedSender<Outgoing>,
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
        self.tx.send(Box::new(build)).is_ok()
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
}

pub(crate) fn spawn_writer(mut half: BoxedWrite) -> Sender {
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = Batch::new();
            let mut ok = first(&mut batch).is_ok();
            while ok && batch.payload_len() < MAX_BATCH_PAYLOAD {
                match rx.try_recv() {
                    Ok(next) => ok = next(&mut batch).is_ok(),
                    Err(_) => break,
                }
            }
            if !ok {
                tracing::error!("dropping a connection: a message could not be encoded");
                break;
            }
            let Ok(chunks) = batch.into_frame().and_then(|f| f.into_chunks()) else {
                tracing::error!("dropping a connection: a frame exceeded the protocol limits");
                break;
            };
            if write_chunks(&mut half, chunks).await.is_err() {
                break;
            }
        }
        let _ = half.shutdown().await;
    });
    Sender { tx }
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
