//! Frames, their header encoding, and the limits a receiver enforces.
//!
//! A [`Frame`] is one message on the wire: a header payload (a serialized message) plus zero or
//! more raw out-of-band buffers. Encoding never copies a buffer: [`Frame::into_chunks`] returns
//! the small frame header followed by the caller's own [`Bytes`] handles, ready for a vectored
//! write. The layout is drawn in the crate documentation.
//!
//! Invariant: a header written here always satisfies what the wire can represent (payload and
//! buffer count fit in `u32`); whether it satisfies a receiver's [`Limits`] is the receiver's
//! check ([`crate::FrameDecoder`]), which a sender may run first with [`Limits::check`].

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};

/// Bytes before the buffer-length table: `u32` payload length, `u32` number of buffers.
pub(crate) const PREFIX_LEN: usize = 8;
/// Bytes per entry of the buffer-length table (`u64` little-endian).
pub(crate) const BUFFER_LEN_SIZE: usize = 8;

/// Set in a buffer-length entry, it marks a *lent* buffer: the entry's other bits are the
/// buffer's length, and its body on the wire is [`LENT_BODY`] bytes, the buffer's address in the
/// sender's memory (`u64` little-endian), which the receiver reads from there itself. Only
/// between processes of one machine that agreed to it (see `oxdask_comm`).
pub const LENT: u64 = 1 << 63;
/// Bytes on the wire for a lent buffer.
pub const LENT_BODY: usize = 8;

/// A buffer of a decoded frame that the sender lent instead of sending (see [`LENT`]): its
/// place in [`Frame::buffers`] holds an empty buffer until the receiver fills it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lent {
    /// Which buffer of the frame.
    pub index: usize,
    /// Its address in the sender's memory.
    pub addr: u64,
    /// Its length.
    pub len: usize,
}

/// Size in bytes of the frame header for a frame with `nbuffers` buffers.
pub const fn header_len(nbuffers: usize) -> usize {
    PREFIX_LEN + BUFFER_LEN_SIZE * nbuffers
}

/// What a receiver accepts, checked from the header before any body byte is awaited.
///
/// A declared length over a limit is an error as soon as its header bytes arrive, so a hostile
/// or confused peer can never make the receiver wait for, or reserve, more than these bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest header payload (the serialized message or batch), in bytes.
    pub max_payload: u32,
    /// Most out-of-band buffers in one frame.
    pub max_buffers: u32,
    /// Largest single out-of-band buffer, in bytes.
    pub max_buffer_len: u64,
    /// Largest payload plus all buffers of one frame, in bytes (the header is not counted).
    pub max_total: u64,
}

impl Default for Limits {
    /// 64 MiB payload, 65,536 buffers, 4 GiB per buffer, 16 GiB per frame.
    ///
    /// Messages are metadata; 64 MiB already holds a batch of about a million task messages.
    /// pickle protocol 5 yields one buffer per contiguous array, so 65,536 buffers (a 512 KiB
    /// length table) covers any realistic batch. 4 GiB per buffer and 16 GiB per frame are well
    /// above Dask's recommended chunk sizes (~100 MiB) yet keep a single frame below the memory
    /// of a typical worker.
    fn default() -> Self {
        Self {
            max_payload: 64 << 20,
            max_buffers: 1 << 16,
            max_buffer_len: 4 << 30,
            max_total: 16 << 30,
        }
    }
}

impl Limits {
    /// Checks a frame a sender is about to write against these (the receiver's) limits, so that
    /// the sender can fail one message instead of being disconnected.
    pub fn check(&self, frame: &Frame) -> Result<()> {
        let payload_len =
            u32::try_from(frame.payload.len()).map_err(|_| ProtocolError::PayloadTooLarge {
                len: as_u64(frame.payload.len()),
                max: u64::from(u32::MAX),
            })?;
        let count =
            u32::try_from(frame.buffers.len()).map_err(|_| ProtocolError::TooManyBuffers {
                count: as_u64(frame.buffers.len()),
                max: u64::from(u32::MAX),
            })?;
        self.check_prefix(payload_len, count)?;
        let mut sum = 0;
        for (index, buffer) in frame.buffers.iter().enumerate() {
            sum = self.check_buffer(as_u64(index), as_u64(buffer.len()), payload_len, sum)?;
        }
        Ok(())
    }

    /// Checks the fixed 8-byte prefix of a frame header.
    pub(crate) fn check_prefix(&self, payload_len: u32, count: u32) -> Result<()> {
        if payload_len > self.max_payload {
            return Err(ProtocolError::PayloadTooLarge {
                len: payload_len.into(),
                max: self.max_payload.into(),
            });
        }
        if count > self.max_buffers {
            return Err(ProtocolError::TooManyBuffers {
                count: count.into(),
                max: self.max_buffers.into(),
            });
        }
        if u64::from(payload_len) > self.max_total {
            return Err(ProtocolError::FrameTooLarge {
                total: payload_len.into(),
                max: self.max_total,
            });
        }
        Ok(())
    }

    /// Checks one buffer length; `sum` is the total of the buffers before it. Returns the new sum.
    pub(crate) fn check_buffer(
        &self,
        index: u64,
        len: u64,
        payload_len: u32,
        sum: u64,
    ) -> Result<u64> {
        if len > self.max_buffer_len {
            return Err(ProtocolError::BufferTooLarge {
                index,
                len,
                max: self.max_buffer_len,
            });
        }
        // Both terms are at most `max_total` (checked before), so saturation only hides values
        // that are over the limit anyway.
        let sum = sum.saturating_add(len);
        let total = sum.saturating_add(payload_len.into());
        if total > self.max_total {
            return Err(ProtocolError::FrameTooLarge {
                total,
                max: self.max_total,
            });
        }
        Ok(sum)
    }
}

/// One message on the wire: a serialized header payload and its raw out-of-band buffers.
///
/// When decoded, `payload` and every buffer are zero-copy slices of the receive buffer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// The serialized message (see [`crate::encode_message`] and [`crate::Batch`]).
    pub payload: Bytes,
    /// Raw buffers sent as-is after the payload, e.g. pickle protocol 5 out-of-band buffers.
    /// Messages refer to them by index.
    pub buffers: Vec<Bytes>,
    /// Buffers of a decoded frame that still have to be read from the sender's memory.
    pub lent: Vec<Lent>,
}

impl Frame {
    /// A frame of `payload` and `buffers`.
    pub fn new(payload: impl Into<Bytes>, buffers: Vec<Bytes>) -> Self {
        Self {
            payload: payload.into(),
            buffers,
            lent: Vec::new(),
        }
    }

    /// Length of the payload plus all buffers, i.e. of everything after the header.
    pub fn body_len(&self) -> u64 {
        self.buffers
            .iter()
            .fold(as_u64(self.payload.len()), |acc, b| acc + as_u64(b.len()))
    }

    /// Length of the whole frame on the wire, header included.
    pub fn encoded_len(&self) -> u64 {
        as_u64(header_len(self.buffers.len())) + self.body_len()
    }

    /// Encodes the frame as chunks to write in order, preferably with one vectored write:
    /// `[header, payload, buffer 0, buffer 1, ...]`.
    ///
    /// Only the header is newly allocated; payload and buffers are moved, never copied.
    pub fn into_chunks(self) -> Result<Vec<Bytes>> {
        // No buffer is as long as the address space: none is lent.
        self.into_chunks_lending(usize::MAX)
            .map(|(chunks, _)| chunks)
    }

    /// [`Frame::into_chunks`], lending (see [`LENT`]) every buffer of at least `lend_from`
    /// bytes instead of writing it: those come back as the second value, to be kept alive, at
    /// the addresses the header names, until the receiver has read them.
    pub fn into_chunks_lending(self, lend_from: usize) -> Result<(Vec<Bytes>, Vec<Bytes>)> {
        let lend = |b: &Bytes| b.len() >= lend_from;
        let lens = self.buffers.iter().map(|b| {
            if lend(b) {
                LENT | as_u64(b.len())
            } else {
                as_u64(b.len())
            }
        });
        let mut header = BytesMut::with_capacity(header_len(self.buffers.len()));
        write_header_raw(self.payload.len(), lens, &mut header)?;
        let mut chunks = Vec::with_capacity(2 + self.buffers.len());
        chunks.push(header.freeze());
        chunks.push(self.payload);
        let mut lent = Vec::new();
        for buffer in self.buffers {
            if lend(&buffer) {
                let addr = as_u64(buffer.as_ptr() as usize);
                chunks.push(Bytes::copy_from_slice(&addr.to_le_bytes()));
                lent.push(buffer);
            } else {
                chunks.push(buffer);
            }
        }
        Ok((chunks, lent))
    }

    /// Appends the whole frame to `dst` as one contiguous byte string.
    ///
    /// This copies the payload and every buffer; use [`Frame::into_chunks`] for large buffers.
    pub fn write_to(&self, dst: &mut BytesMut) -> Result<()> {
        let start = dst.len();
        let len =
            usize::try_from(self.encoded_len()).map_err(|_| ProtocolError::FrameTooLarge {
                total: self.encoded_len(),
                max: as_u64(usize::MAX),
            })?;
        dst.reserve(len);
        if let Err(err) = write_header(self.payload.len(), self.buffers.iter().map(Bytes::len), dst)
        {
            dst.truncate(start);
            return Err(err);
        }
        dst.put_slice(&self.payload);
        for buffer in &self.buffers {
            dst.put_slice(buffer);
        }
        Ok(())
    }
}

/// Appends the header of a frame with a payload of `payload_len` bytes and buffers of
/// `buffer_lens` bytes to `dst`.
///
/// The payload and buffers themselves are written by the caller, as they are, after it. Fails,
/// writing nothing, only if the payload or the number of buffers does not fit in a `u32`.
pub fn encode_header(payload_len: usize, buffer_lens: &[usize], dst: &mut BytesMut) -> Result<()> {
    write_header(payload_len, buffer_lens.iter().copied(), dst)
}

fn write_header<I>(payload_len: usize, buffer_lens: I, dst: &mut BytesMut) -> Result<()>
where
    I: ExactSizeIterator<Item = usize>,
{
    write_header_raw(payload_len, buffer_lens.map(as_u64), dst)
}

/// [`write_header`] with the length entries as written (flags included).
fn write_header_raw<I>(payload_len: usize, buffer_lens: I, dst: &mut BytesMut) -> Result<()>
where
    I: ExactSizeIterator<Item = u64>,
{
    let payload_len = u32::try_from(payload_len).map_err(|_| ProtocolError::PayloadTooLarge {
        len: as_u64(payload_len),
        max: u64::from(u32::MAX),
    })?;
    let count = u32::try_from(buffer_lens.len()).map_err(|_| ProtocolError::TooManyBuffers {
        count: as_u64(buffer_lens.len()),
        max: u64::from(u32::MAX),
    })?;
    dst.reserve(header_len(buffer_lens.len()));
    dst.put_u32_le(payload_len);
    dst.put_u32_le(count);
    for len in buffer_lens {
        dst.put_u64_le(len);
    }
    Ok(())
}

/// Widens a `usize`; lossless on every platform Rust supports (pointers are at most 64 bits).
pub(crate) fn as_u64(n: usize) -> u64 {
    u64::try_from(n).expect("usize is at most 64 bits wide")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_is_little_endian_lengths() {
        let mut dst = BytesMut::new();
        encode_header(3, &[1, 0x0102], &mut dst).unwrap();
        assert_eq!(dst.len(), header_len(2));
        assert_eq!(&dst[..8], &[3, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&dst[8..16], &1u64.to_le_bytes());
        assert_eq!(&dst[16..24], &0x0102u64.to_le_bytes());
    }

    #[test]
    fn chunks_share_the_buffers_without_copying() {
        let big = Bytes::from(vec![7u8; 1 << 20]);
        let ptr = big.as_ptr();
        let frame = Frame::new(Bytes::from_static(b"msg"), vec![big]);
        assert_eq!(frame.encoded_len(), 8 + 8 + 3 + (1 << 20));
        let chunks = frame.into_chunks().unwrap();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].len(), header_len(1));
        assert_eq!(&chunks[1][..], b"msg");
        assert_eq!(
            chunks[2].as_ptr(),
            ptr,
            "the buffer must be passed through, not copied"
        );
    }

    #[test]
    fn write_to_matches_chunks() {
        let frame = Frame::new(
            Bytes::from_static(b"hello"),
            vec![Bytes::from_static(b"ab"), Bytes::new()],
        );
        let mut flat = BytesMut::new();
        frame.write_to(&mut flat).unwrap();
        let joined: Vec<u8> = frame.into_chunks().unwrap().concat();
        assert_eq!(&flat[..], &joined[..]);
    }

    #[test]
    fn limits_check_each_bound() {
        let limits = Limits {
            max_payload: 4,
            max_buffers: 2,
            max_buffer_len: 10,
            max_total: 15,
        };
        let ok = Frame::new(vec![0; 4], vec![Bytes::from(vec![0; 10])]);
        limits.check(&ok).unwrap();
        let payload = Frame::new(vec![0; 5], vec![]);
        assert!(matches!(
            limits.check(&payload),
            Err(ProtocolError::PayloadTooLarge { len: 5, max: 4 })
        ));
        let many = Frame::new(Bytes::new(), vec![Bytes::new(); 3]);
        assert!(matches!(
            limits.check(&many),
            Err(ProtocolError::TooManyBuffers { count: 3, max: 2 })
        ));
        let big = Frame::new(Bytes::new(), vec![Bytes::new(), Bytes::from(vec![0; 11])]);
        assert!(matches!(
            limits.check(&big),
            Err(ProtocolError::BufferTooLarge {
                index: 1,
                len: 11,
                max: 10
            })
        ));
        let total = Frame::new(vec![0; 4], vec![Bytes::from(vec![0; 10]); 2]);
        assert!(matches!(
            limits.check(&total),
            Err(ProtocolError::FrameTooLarge { total: 24, max: 15 })
        ));
    }

    #[test]
    fn default_limits_are_consistent() {
        let limits = Limits::default();
        assert!(u64::from(limits.max_payload) <= limits.max_total);
        assert!(limits.max_buffer_len <= limits.max_total);
    }
}
