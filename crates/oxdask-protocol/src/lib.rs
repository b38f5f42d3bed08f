//! The wire format spoken between oxdask's distributed scheduler, workers and clients.
//!
//! Bytes in, bytes out: this crate owns the handshake, the framing and the (de)serialization of
//! messages, and nothing else. It opens no sockets and does not depend on tokio; the server
//! crates wrap [`FrameDecoder`] in a tokio codec. The untrusted-input entry points are exactly
//! two, [`Handshake::decode`] and [`FrameDecoder::decode`], each taking a `&mut BytesMut` — the
//! natural targets for fuzzing.
//!
//! # Wire layout
//!
//! A connection starts with one [`Handshake`] from each side, then carries frames:
//!
//! ```text
//! handshake   "OXDASK" | version: u16 LE | role: u8 | hello_len: u32 LE | hello (MessagePack)
//!
//! frame       ┌──────────────── header: 8 + 8·n bytes ───────────────┐
//!             │ payload_len: u32 LE │ n: u32 LE │ len_0: u64 LE │ …  │ len_{n-1}: u64 LE │
//!             ├─────────────────────┴───────────┴───────────────┴────┴───────────────────┤
//!             │ payload: payload_len bytes (one message, or a Batch: a MessagePack array) │
//!             ├──────────────────────────────────────────────────────────────────────────┤
//!             │ buffer 0: len_0 bytes, raw                                                │
//!             │ …                                                                         │
//!             │ buffer n-1: len_{n-1} bytes, raw                                          │
//!             └──────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! All integers are little-endian except inside MessagePack (big-endian, by its own spec). The
//! payload length is a `u32` (payloads are metadata, far below 4 GiB); buffer lengths are `u64`.
//!
//! # Why buffers are separate
//!
//! Data — NumPy arrays, pandas columns, pickle protocol 5 out-of-band buffers — travels as raw
//! buffers after the payload, never inside it. The sender hands its `Bytes` to a vectored write
//! untouched ([`Frame::into_chunks`]); the receiver's [`Frame`] buffers are slices of its receive
//! buffer (`split_to(..).freeze()`). A 64 MiB array is thus never copied into or out of a
//! serialized message, nor escaped, nor re-parsed. Messages name their buffers by index.
//!
//! Between two processes of one machine that agreed to it, a large buffer may instead be
//! *lent*: its length entry carries the [`LENT`] bit and its body is the 8-byte address of the
//! buffer in the sender's memory, which the receiver copies from there itself (one copy, at
//! memory speed, instead of two through a socket). The decoded [`Frame`] lists such buffers in
//! `lent`; the transport (`oxdask_comm`) fills them and tells the sender when it may let go.
//!
//! # Limits
//!
//! A receiver enforces [`Limits`] (defaults: 64 MiB payload, 65,536 buffers, 4 GiB per buffer,
//! 16 GiB per frame). Each declared length is checked as soon as its own bytes arrive, so an
//! oversized length prefix is an immediate error, never a wait for gigabytes that may not come,
//! and the decoder never allocates on the strength of an unchecked length. Handshake hellos are
//! capped at [`MAX_HELLO_LEN`].
//!
//! # Messages
//!
//! Messages are MessagePack ([`rmp_serde`]), structs as maps with field names. MessagePack
//! rather than bincode or postcard because it is self-describing: Python's `msgpack` (what
//! distributed uses), or any other language, can read and write it without a schema, captured
//! traffic can be inspected with stock tools, and a new optional field does not break older
//! peers. [`encode_message`]/[`decode_message`] handle one message per frame; a [`Batch`] packs
//! thousands of small ones into a single frame.
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use oxdask_protocol::{decode_batch, Batch, FrameDecoder};
//!
//! let mut batch = Batch::new();
//! batch.push(&("compute", "x-0"))?;
//! batch.push(&("release", "y"))?;
//! let chunks = batch.into_frame()?.into_chunks()?; // header, payload, buffers: write vectored
//!
//! let mut received = BytesMut::new(); // what the socket delivered
//! for chunk in &chunks {
//!     received.extend_from_slice(chunk);
//! }
//! let frame = FrameDecoder::default().decode(&mut received)?.expect("a whole frame arrived");
//! let msgs: Vec<(String, String)> = decode_batch(&frame.payload)?;
//! assert_eq!(msgs[1], ("release".to_owned(), "y".to_owned()));
//! # Ok::<(), oxdask_protocol::ProtocolError>(())
//! ```
//!
//! # Versioning
//!
//! [`PROTOCOL_VERSION`] is bumped on any incompatible change: to this framing, the handshake, or
//! the meaning or shape of any message (adding an optional, defaulted field is compatible;
//! renaming, removing or retyping one is not). Peers of different versions never talk: the
//! handshake refuses a mismatch with [`ProtocolError::VersionMismatch`], naming both versions.
#![warn(missing_docs)]

mod batch;
mod decoder;
mod error;
mod frame;
mod handshake;
mod message;
pub mod messages;
mod usage;

pub use batch::{decode_batch, Batch};
pub use decoder::FrameDecoder;
pub use error::{ProtocolError, Result};
pub use frame::{encode_header, header_len, Frame, Lent, Limits, LENT, LENT_BODY};
pub use handshake::{Handshake, Hello, Role, MAGIC, MAX_HELLO_LEN};
pub use message::{decode_message, encode_message, encode_message_into};
pub use usage::{field as proc_field, ProcessUsage};

/// The version of the wire protocol this crate speaks; see "Versioning" above.
pub const PROTOCOL_VERSION: u16 = 6;
