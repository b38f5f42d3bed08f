//! Many small messages in one frame.
//!
//! A scheduler sends thousands of tiny messages per second (one per task transition); a frame
//! each would cost a header, a syscall and a wake-up each. A [`Batch`] serializes messages as they
//! are pushed into one payload that is a MessagePack array, so the receiver decodes it as a
//! plain `Vec<T>` ([`decode_batch`]) and a Python peer as a list. Out-of-band buffers pushed with
//! [`Batch::push_buffer`] travel as the frame's buffers; messages refer to them by the index it
//! returns.
//!
//! Layout of the payload: `0xdd` (MessagePack array 32), the message count as a big-endian `u32`,
//! then each message, its structs as arrays of fields (see [`crate::message`]). The count is
//! patched in by [`Batch::into_frame`], so pushing never moves already-written bytes.

use bytes::{BufMut, Bytes, BytesMut};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ProtocolError, Result};
use crate::frame::{as_u64, Frame};
use crate::message::{decode_message, encode_compact_into};
use crate::messages::BufIx;

/// MessagePack marker of an array whose length follows as a big-endian `u32`.
const ARRAY32: u8 = 0xdd;
const ARRAY32_HEADER_LEN: usize = 5;

/// Builds one frame out of many messages and their out-of-band buffers.
#[derive(Debug)]
pub struct Batch {
    /// Array header placeholder followed by the serialized messages.
    payload: BytesMut,
    count: usize,
    buffers: Vec<Bytes>,
}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        let mut payload = BytesMut::with_capacity(256);
        payload.put_u8(ARRAY32);
        payload.put_u32(0);
        Self {
            payload,
            count: 0,
            buffers: Vec::new(),
        }
    }

    /// Serializes `msg` into the batch. On error the batch is unchanged.
    pub fn push<T: Serialize + ?Sized>(&mut self, msg: &T) -> Result<()> {
        encode_compact_into(msg, &mut self.payload)?;
        self.count += 1;
        Ok(())
    }

    /// Number of buffers pushed so far (the index the next one will get).
    pub fn buffer_count(&self) -> usize {
        self.buffers.len()
    }

    /// Adds an out-of-band buffer (not copied) and returns its index in the frame's buffers.
    pub fn push_buffer(&mut self, buffer: Bytes) -> usize {
        self.buffers.push(buffer);
        self.buffers.len() - 1
    }

    /// [`Self::push_buffer`], returning the index as messages name it ([`BufIx`]).
    ///
    /// # Errors
    ///
    /// [`ProtocolError::TooManyBuffers`] past `u32::MAX` buffers.
    pub fn push_buffer_ix(&mut self, buffer: Bytes) -> Result<BufIx> {
        let ix = self.push_buffer(buffer);
        u32::try_from(ix)
            .map(BufIx)
            .map_err(|_| ProtocolError::TooManyBuffers {
                count: ix as u64,
                max: u64::from(u32::MAX),
            })
    }

    /// Number of messages pushed.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no message has been pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of payload so far, so the IO layer can flush before reaching
    /// [`Limits::max_payload`](crate::Limits::max_payload).
    pub fn payload_len(&self) -> usize {
        self.payload.len()
    }

    /// The frame carrying every pushed message and buffer.
    ///
    /// Fails if the payload does not fit the wire's `u32` payload length.
    pub fn into_frame(mut self) -> Result<Frame> {
        if u32::try_from(self.payload.len()).is_err() {
            return Err(ProtocolError::PayloadTooLarge {
                len: as_u64(self.payload.len()),
                max: u64::from(u32::MAX),
            });
        }
        let count = u32::try_from(self.count)
            .expect("every message takes at least one byte, so a payload within u32 counts fewer");
        self.payload[1..ARRAY32_HEADER_LEN].copy_from_slice(&count.to_be_bytes());
        Ok(Frame::new(self.payload.freeze(), self.buffers))
    }
}

/// Decodes the messages of a batch payload (written by [`Batch`], or any MessagePack array).
///
/// Errors name the expected `Vec<T>`.
pub fn decode_batch<T: DeserializeOwned>(payload: &[u8]) -> Result<Vec<T>> {
    decode_message::<Vec<T>>(payload)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::message::encode_message;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Msg {
        Compute { key: String, buffer: Option<usize> },
        Release { key: String },
    }

    #[test]
    fn round_trip_with_buffers() {
        let mut batch = Batch::new();
        let data = Bytes::from(vec![1u8; 1000]);
        let index = batch.push_buffer(data.clone());
        let msgs = vec![
            Msg::Compute {
                key: "x-0".into(),
                buffer: Some(index),
            },
            Msg::Release { key: "y".into() },
        ];
        for msg in &msgs {
            batch.push(msg).unwrap();
        }
        assert_eq!(batch.len(), 2);
        let frame = batch.into_frame().unwrap();
        assert_eq!(decode_batch::<Msg>(&frame.payload).unwrap(), msgs);
        assert_eq!(frame.buffers, vec![data]);
    }

    #[test]
    fn empty_batch_is_an_empty_array() {
        let batch = Batch::default();
        assert!(batch.is_empty());
        let frame = batch.into_frame().unwrap();
        assert_eq!(decode_batch::<Msg>(&frame.payload).unwrap(), vec![]);
    }

    #[test]
    fn batch_payload_equals_encoding_the_vec() {
        // A plain `encode_message(&vec)` uses the shortest array header (one byte up to 15
        // elements); the messages after it are the same bytes.
        let msgs: Vec<u32> = (0..10).collect();
        let mut batch = Batch::new();
        for m in &msgs {
            batch.push(m).unwrap();
        }
        let frame = batch.into_frame().unwrap();
        let plain = encode_message(&msgs).unwrap();
        assert_eq!(&frame.payload[ARRAY32_HEADER_LEN..], &plain[1..]);
        assert_eq!(decode_batch::<u32>(&frame.payload).unwrap(), msgs);
    }

    #[test]
    fn decode_error_names_the_vec_type() {
        let payload = encode_message(&"oops").unwrap();
        let err = decode_batch::<Msg>(&payload).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("Vec<") && text.contains("Msg>"), "{text}");
    }
}
