//! The incremental frame decoder: the single entry point for untrusted frame bytes.
//!
//! ```text
//!            header incomplete: Ok(None)            body incomplete: Ok(None)
//!                 ┌──────┐                               ┌──────┐
//!                 ▼      │  whole header present,        ▼      │
//!   start ──► Header { checked } ── within limits ──► Body { lens } ── body present ──► Ok(Some(frame))
//!                 │          (header consumed)                           │ (body consumed)
//!                 │ a declared length over a limit                       └──► back to Header
//!                 ▼
//!              Err(..)  (nothing consumed; the stream is unusable and must be closed)
//! ```
//!
//! Invariants:
//! * Every length is checked against [`Limits`] as soon as its own 8 bytes arrive, before the
//!   rest of the header or any body byte is awaited; so the decoder never waits for, nor
//!   allocates for, more than the limits allow. It never reserves space in `src`: the IO layer
//!   may do so using [`FrameDecoder::body_len`], which is only known once the header has passed.
//! * The header is consumed only when complete and valid; each length is read once (the
//!   `checked` counter), so a header arriving in many small reads costs linear time.
//! * A decoded frame's payload and buffers are `split_to` slices of `src`: no byte is copied.

use bytes::{Buf, BytesMut};

use crate::error::{ProtocolError, Result};
use crate::frame::{
    as_u64, header_len, Frame, Lent, Limits, BUFFER_LEN_SIZE, LENT, LENT_BODY, PREFIX_LEN,
};

/// Decodes [`Frame`]s from a growing receive buffer, like tokio-util's `Decoder` without tokio.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    limits: Limits,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Nothing of the current frame consumed yet; the first `checked` buffer lengths passed the
    /// limits and sum to `sum` bytes.
    Header { checked: usize, sum: u64 },
    /// Header consumed and valid; waiting for `body_len` bytes.
    Body(Body),
}

impl Default for State {
    fn default() -> Self {
        State::Header { checked: 0, sum: 0 }
    }
}

#[derive(Debug)]
struct Body {
    payload_len: usize,
    /// Per buffer: its length, and whether it is lent (its body then being its address).
    buffer_lens: Vec<(usize, bool)>,
    body_len: usize,
}

impl Body {
    /// The frame whose body is `rest` (exactly `body_len` bytes): its parts are slices of it.
    fn split(&self, mut rest: bytes::Bytes) -> Frame {
        let payload = rest.split_to(self.payload_len);
        let mut lent = Vec::new();
        let buffers = self
            .buffer_lens
            .iter()
            .enumerate()
            .map(|(index, &(len, is_lent))| {
                if !is_lent {
                    return rest.split_to(len);
                }
                let addr = rest.split_to(LENT_BODY);
                let addr = u64::from_le_bytes(addr[..].try_into().expect("8 address bytes"));
                lent.push(Lent { index, addr, len });
                bytes::Bytes::new()
            })
            .collect();
        debug_assert!(rest.is_empty(), "buffer lengths sum to the body length");
        Frame {
            payload,
            buffers,
            lent,
        }
    }
}

impl FrameDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: State::default(),
        }
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Once the current frame's header has been read, how many bytes its body (payload plus
    /// buffers) has in total; `None` while the header is incomplete.
    ///
    /// The value has passed the limits, so the IO layer may reserve that much receive buffer to
    /// read a large frame without repeated reallocation.
    pub fn body_len(&self) -> Option<usize> {
        match &self.state {
            State::Header { .. } => None,
            State::Body(body) => Some(body.body_len),
        }
    }

    /// Takes the next complete frame off the front of `src`.
    ///
    /// Returns `Ok(None)` when more bytes are needed (after consuming, at most, a complete and
    /// valid header), and an error as soon as a declared length breaks the limits. After an
    /// error the stream cannot be resynchronized: close the connection. Calling again on the
    /// same bytes reports the same error.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>> {
        let body = match std::mem::take(&mut self.state) {
            State::Body(body) => body,
            State::Header { checked, sum } => match self.read_header(src, checked, sum)? {
                Ok(body) => body,
                Err(progress) => {
                    self.state = progress;
                    return Ok(None);
                }
            },
        };
        if src.len() < body.body_len {
            self.state = State::Body(body);
            return Ok(None);
        }
        Ok(Some(body.split(src.split_to(body.body_len).freeze())))
    }

    /// Completes the pending frame from its whole body, which the IO layer read into a buffer
    /// of its own (see [`FrameDecoder::body_len`]) instead of into the receive buffer. The
    /// frame's parts are slices of `body`. An error when no header is pending or `body` is
    /// not the announced length (the decoder is then back to expecting a header).
    pub fn decode_body(&mut self, body: bytes::Bytes) -> Result<Frame> {
        let State::Body(pending) = std::mem::take(&mut self.state) else {
            return Err(ProtocolError::BodyMismatch {
                expected: 0,
                got: as_u64(body.len()),
            });
        };
        if body.len() != pending.body_len {
            return Err(ProtocolError::BodyMismatch {
                expected: as_u64(pending.body_len),
                got: as_u64(body.len()),
            });
        }
        Ok(pending.split(body))
    }

    /// Validates as much of the header as `src` holds. `Ok(Ok(body))` when the header was
    /// complete (it is then consumed), `Ok(Err(state))` with the progress to keep otherwise.
    fn read_header(
        &self,
        src: &mut BytesMut,
        mut checked: usize,
        mut sum: u64,
    ) -> Result<std::result::Result<Body, State>> {
        let Some(prefix) = src.get(..PREFIX_LEN) else {
            return Ok(Err(State::Header { checked, sum }));
        };
        let payload_len = read_u32(&prefix[..4]);
        let count = read_u32(&prefix[4..]);
        self.limits.check_prefix(payload_len, count)?;
        let count = usize::try_from(count).expect("u32 fits in usize on supported platforms");

        // A lent buffer counts against the limits at its own length (the receiver will hold
        // that much), and against the body at the length of its address.
        let present = ((src.len() - PREFIX_LEN) / BUFFER_LEN_SIZE).min(count);
        for index in checked..present {
            let len = read_len(src, index);
            sum = self
                .limits
                .check_buffer(as_u64(index), len & !LENT, payload_len, sum)?;
        }
        checked = present;
        if checked < count {
            return Ok(Err(State::Header { checked, sum }));
        }

        let total = sum + u64::from(payload_len);
        usize::try_from(total).map_err(|_| ProtocolError::FrameTooLarge {
            total,
            max: as_u64(usize::MAX),
        })?;
        let buffer_lens: Vec<(usize, bool)> = (0..count)
            .map(|index| {
                let len = read_len(src, index);
                let own = usize::try_from(len & !LENT)
                    .expect("each buffer is at most the frame's total, which fits in usize");
                (own, len & LENT != 0)
            })
            .collect();
        let body_len = buffer_lens.iter().fold(
            usize::try_from(payload_len).expect("u32 fits in usize"),
            |acc, &(len, is_lent)| acc + if is_lent { LENT_BODY } else { len },
        );
        src.advance(header_len(count));
        Ok(Ok(Body {
            payload_len: usize::try_from(payload_len).expect("u32 fits in usize"),
            buffer_lens,
            body_len,
        }))
    }
}

fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes.try_into().expect("caller passes exactly 4 bytes"))
}

/// The length of buffer `index` from the header at the front of `src`, which holds it.
fn read_len(src: &[u8], index: usize) -> u64 {
    let at = PREFIX_LEN + BUFFER_LEN_SIZE * index;
    let bytes = &src[at..at + BUFFER_LEN_SIZE];
    u64::from_le_bytes(bytes.try_into().expect("slice is exactly 8 bytes"))
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, Bytes};

    use super::*;
    use crate::frame::encode_header;

    fn sample() -> Frame {
        Frame::new(
            Bytes::from_static(b"payload"),
            vec![
                Bytes::from_static(b"first buffer"),
                Bytes::new(),
                Bytes::from(vec![9u8; 300]),
            ],
        )
    }

    fn encoded(frame: &Frame) -> BytesMut {
        let mut dst = BytesMut::new();
        frame.write_to(&mut dst).unwrap();
        dst
    }

    #[test]
    fn round_trip() {
        let mut src = encoded(&sample());
        let mut decoder = FrameDecoder::default();
        assert_eq!(decoder.decode(&mut src).unwrap(), Some(sample()));
        assert!(src.is_empty());
        assert_eq!(decoder.decode(&mut src).unwrap(), None);
    }

    #[test]
    fn empty_frame_round_trips() {
        let mut src = encoded(&Frame::default());
        assert_eq!(src.len(), 8);
        let frame = FrameDecoder::default().decode(&mut src).unwrap();
        assert_eq!(frame, Some(Frame::default()));
    }

    #[test]
    fn truncated_input_byte_by_byte() {
        let whole = encoded(&sample());
        let mut decoder = FrameDecoder::default();
        let mut src = BytesMut::new();
        for (i, &byte) in whole.iter().enumerate() {
            assert_eq!(
                decoder.decode(&mut src).unwrap(),
                None,
                "complete after {i} bytes"
            );
            src.put_u8(byte);
        }
        assert_eq!(decoder.body_len(), Some(7 + 12 + 300));
        assert_eq!(decoder.decode(&mut src).unwrap(), Some(sample()));
        assert!(src.is_empty());
        assert_eq!(decoder.body_len(), None);
    }

    #[test]
    fn a_frame_lending_between_sent_buffers_decodes_byte_by_byte() {
        let big = Bytes::from(vec![9u8; 5000]);
        let frame = Frame::new(
            Bytes::from_static(b"pay"),
            vec![
                Bytes::from_static(b"ab"),
                big.clone(),
                Bytes::from_static(b"c"),
            ],
        );
        let (chunks, _lent) = frame.into_chunks_lending(100).unwrap();
        let whole: Vec<u8> = chunks.concat();
        let mut decoder = FrameDecoder::default();
        let mut src = BytesMut::new();
        for &byte in &whole {
            assert_eq!(decoder.decode(&mut src).unwrap(), None);
            src.put_u8(byte);
        }
        assert_eq!(decoder.body_len(), Some(3 + 2 + LENT_BODY + 1));
        let got = decoder.decode(&mut src).unwrap().unwrap();
        assert_eq!(
            got.buffers,
            vec![
                Bytes::from_static(b"ab"),
                Bytes::new(),
                Bytes::from_static(b"c")
            ]
        );
        assert_eq!(got.lent.len(), 1);
        assert_eq!((got.lent[0].index, got.lent[0].len), (1, 5000));
        assert_eq!(got.lent[0].addr, big.as_ptr() as u64);
        assert!(src.is_empty());
    }

    #[test]
    fn two_frames_back_to_back() {
        let second = Frame::new(Bytes::from_static(b"2"), vec![Bytes::from_static(b"xyz")]);
        let mut src = encoded(&sample());
        second.write_to(&mut src).unwrap();
        src.put_slice(b"\x05"); // the start of a third frame
        let mut decoder = FrameDecoder::default();
        assert_eq!(decoder.decode(&mut src).unwrap(), Some(sample()));
        assert_eq!(decoder.decode(&mut src).unwrap(), Some(second));
        assert_eq!(decoder.decode(&mut src).unwrap(), None);
        assert_eq!(&src[..], b"\x05");
    }

    #[test]
    fn a_body_read_elsewhere_completes_the_pending_frame() {
        let whole = encoded(&sample());
        let header = header_len(3);
        let mut src = BytesMut::from(&whole[..header + 5]); // header and a little body
        let mut decoder = FrameDecoder::default();
        assert_eq!(decoder.decode(&mut src).unwrap(), None);
        assert_eq!(decoder.body_len(), Some(7 + 12 + 300));
        let body = Bytes::copy_from_slice(&whole[header..]);
        let err = decoder.decode_body(body.slice(1..)).unwrap_err();
        assert!(
            matches!(err, ProtocolError::BodyMismatch { expected, got } if expected == 319 && got == 318)
        );
        assert_eq!(decoder.body_len(), None, "back to expecting a header");
        let mut src = BytesMut::from(&whole[..header]);
        assert_eq!(decoder.decode(&mut src).unwrap(), None);
        let frame = decoder.decode_body(body.clone()).unwrap();
        assert_eq!(frame, sample());
        assert_eq!(
            frame.buffers[0].as_ptr(),
            body[7..].as_ptr(),
            "slices of the body"
        );
        assert!(decoder.decode_body(body).is_err(), "no header pending");
    }

    #[test]
    fn decoded_frame_is_a_view_of_the_receive_buffer() {
        let mut src = encoded(&sample());
        let start = src.as_ptr() as usize;
        let frame = FrameDecoder::default().decode(&mut src).unwrap().unwrap();
        assert_eq!(frame.payload.as_ptr() as usize, start + header_len(3));
        assert_eq!(
            frame.buffers[2].as_ptr() as usize,
            start + header_len(3) + 7 + 12
        );
    }

    #[test]
    fn lent_buffers_travel_as_addresses_and_count_at_their_own_length() {
        let big = Bytes::from(vec![5u8; 4096]);
        let small = Bytes::from_static(b"tail");
        let frame = Frame::new(Bytes::from_static(b"msg"), vec![big.clone(), small.clone()]);
        let (chunks, lent) = frame.into_chunks_lending(1024).unwrap();
        assert_eq!(
            lent,
            vec![big.clone()],
            "only the large buffer is lent, and kept"
        );
        let mut wire = BytesMut::new();
        for c in &chunks {
            wire.extend_from_slice(c);
        }
        assert_eq!(
            wire.len(),
            header_len(2) + 3 + LENT_BODY + 4,
            "the address, not the bytes"
        );
        let got = FrameDecoder::default().decode(&mut wire).unwrap().unwrap();
        assert_eq!(&got.payload[..], b"msg");
        assert_eq!(got.buffers[1], small);
        assert!(got.buffers[0].is_empty());
        assert_eq!(
            got.lent,
            vec![Lent {
                index: 0,
                addr: big.as_ptr() as u64,
                len: 4096
            }]
        );
        // A lent buffer over the limits is refused as a sent one would be.
        let limits = Limits {
            max_buffer_len: 1000,
            ..Limits::default()
        };
        let (chunks, _lent) = Frame::new(Bytes::new(), vec![big])
            .into_chunks_lending(1)
            .unwrap();
        let mut wire = BytesMut::from(&chunks[0][..]);
        assert!(matches!(
            FrameDecoder::new(limits).decode(&mut wire),
            Err(ProtocolError::BufferTooLarge { len: 4096, .. })
        ));
    }

    #[test]
    fn oversized_payload_prefix_fails_from_eight_bytes() {
        let mut src = BytesMut::new();
        src.put_u32_le(u32::MAX);
        src.put_u32_le(0);
        let err = FrameDecoder::default().decode(&mut src).unwrap_err();
        assert!(matches!(
            err,
            ProtocolError::PayloadTooLarge { len, max } if len == u64::from(u32::MAX) && max == 64 << 20
        ));
        assert_eq!(src.len(), 8, "nothing is consumed on error");
    }

    #[test]
    fn too_many_buffers_fails_before_the_length_table_arrives() {
        let mut src = BytesMut::new();
        src.put_u32_le(0);
        src.put_u32_le(u32::MAX);
        let mut decoder = FrameDecoder::default();
        let err = decoder.decode(&mut src).unwrap_err();
        assert!(matches!(
            err,
            ProtocolError::TooManyBuffers { max: 65_536, .. }
        ));
        // Sticky: the same bytes give the same error.
        assert!(decoder.decode(&mut src).is_err());
    }

    #[test]
    fn oversized_buffer_fails_as_soon_as_its_length_arrives() {
        let mut src = BytesMut::new();
        // Declares 1000 buffers but only the first two lengths have arrived.
        src.put_u32_le(0);
        src.put_u32_le(1000);
        src.put_u64_le(10);
        src.put_u64_le(u64::MAX); // a lent buffer (the top bit) of 2^63 - 1 bytes
        let capacity = src.capacity();
        let err = FrameDecoder::default().decode(&mut src).unwrap_err();
        assert!(matches!(
            err,
            ProtocolError::BufferTooLarge {
                index: 1,
                len: 0x7fff_ffff_ffff_ffff,
                ..
            }
        ));
        assert_eq!(src.capacity(), capacity, "the decoder never reserves");
    }

    #[test]
    fn total_over_the_limit_fails() {
        let limits = Limits {
            max_total: 100,
            ..Limits::default()
        };
        let mut src = BytesMut::new();
        encode_header(50, &[40, 20], &mut src).unwrap();
        let err = FrameDecoder::new(limits).decode(&mut src).unwrap_err();
        assert!(matches!(
            err,
            ProtocolError::FrameTooLarge {
                total: 110,
                max: 100
            }
        ));
    }

    #[test]
    fn header_is_checked_once_across_calls() {
        let limits = Limits {
            max_buffer_len: 5,
            ..Limits::default()
        };
        let mut decoder = FrameDecoder::new(limits);
        let mut src = BytesMut::new();
        encode_header(0, &[1, 2, 6], &mut src).unwrap();
        let whole = src.split();
        src.put_slice(&whole[..20]); // prefix, first length, half of the second
        assert_eq!(decoder.decode(&mut src).unwrap(), None);
        src.put_slice(&whole[20..]);
        let err = decoder.decode(&mut src).unwrap_err();
        assert!(matches!(
            err,
            ProtocolError::BufferTooLarge {
                index: 2,
                len: 6,
                max: 5
            }
        ));
    }
}
