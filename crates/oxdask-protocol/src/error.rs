//! The one error type of this crate.
//!
//! Every variant names what was wrong and what was expected, with the numbers as fields, so the IO
//! layer can log them structurally. A framing or handshake error means the byte stream can no
//! longer be trusted: the caller closes the connection. Message-level errors ([`Encode`],
//! [`Decode`], [`TrailingBytes`]) leave the framing intact.
//!
//! [`Encode`]: ProtocolError::Encode
//! [`Decode`]: ProtocolError::Decode
//! [`TrailingBytes`]: ProtocolError::TrailingBytes

use crate::handshake::MAGIC;

/// `Result` with [`ProtocolError`] as the default error.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;

/// Everything that can go wrong when reading or writing the oxdask wire format.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The first bytes of the stream are not [`MAGIC`].
    #[error(
        "not an oxdask peer: expected the stream to start with magic \"{}\", got \"{}\"",
        MAGIC.escape_ascii(),
        got.escape_ascii()
    )]
    NotOxdaskPeer {
        /// The bytes received where the magic was expected (at most its length).
        got: Vec<u8>,
    },

    /// The peer speaks another [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
    #[error(
        "protocol version mismatch: we speak oxdask protocol version {ours}, \
         the peer speaks version {theirs}"
    )]
    VersionMismatch {
        /// Our [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
        ours: u16,
        /// The version the peer announced.
        theirs: u16,
    },

    /// The handshake's role byte is not one of [`Role`](crate::Role)'s values.
    #[error("unknown peer role byte {byte}: expected 1 (client), 2 (worker) or 3 (scheduler)")]
    UnknownRole {
        /// The byte received.
        byte: u8,
    },

    /// The handshake's hello is longer than [`MAX_HELLO_LEN`](crate::MAX_HELLO_LEN).
    #[error("handshake hello of {len} bytes exceeds the limit of {max} bytes")]
    HelloTooLarge {
        /// The declared length.
        len: u64,
        /// The limit.
        max: u64,
    },

    /// A frame's header payload is longer than allowed.
    #[error("frame payload of {len} bytes exceeds the limit of {max} bytes")]
    PayloadTooLarge {
        /// The declared (or, when encoding, actual) payload length.
        len: u64,
        /// The limit: [`Limits::max_payload`](crate::Limits::max_payload), or what the wire
        /// format can represent.
        max: u64,
    },

    /// A frame declares more out-of-band buffers than allowed.
    #[error("frame declares {count} buffers, more than the limit of {max}")]
    TooManyBuffers {
        /// The declared (or, when encoding, actual) number of buffers.
        count: u64,
        /// The limit: [`Limits::max_buffers`](crate::Limits::max_buffers), or what the wire
        /// format can represent.
        max: u64,
    },

    /// One out-of-band buffer is longer than allowed.
    #[error("frame buffer {index} of {len} bytes exceeds the limit of {max} bytes per buffer")]
    BufferTooLarge {
        /// The buffer's position in the frame.
        index: u64,
        /// Its declared length.
        len: u64,
        /// [`Limits::max_buffer_len`](crate::Limits::max_buffer_len).
        max: u64,
    },

    /// Payload plus buffers add up to more than allowed.
    #[error("frame of at least {total} bytes exceeds the limit of {max} bytes per frame")]
    FrameTooLarge {
        /// The total declared so far (payload plus the buffer lengths seen so far).
        total: u64,
        /// [`Limits::max_total`](crate::Limits::max_total).
        max: u64,
    },

    /// A message could not be serialized to MessagePack.
    #[error("cannot encode a {type_name} as MessagePack: {source}")]
    Encode {
        /// The Rust type being encoded.
        type_name: &'static str,
        /// What `rmp-serde` reported.
        #[source]
        source: rmp_serde::encode::Error,
    },

    /// A payload is not a valid MessagePack encoding of the expected type.
    #[error("malformed message: expected a MessagePack {type_name}, {source}")]
    Decode {
        /// The Rust type that was expected.
        type_name: &'static str,
        /// What `rmp-serde` reported.
        #[source]
        source: rmp_serde::decode::Error,
    },

    /// A frame body handed to the decoder does not match the header it read.
    #[error("frame body of {got} bytes where the header announced {expected}")]
    BodyMismatch {
        /// The body length the header announced (0 when no header was pending).
        expected: u64,
        /// The length handed over.
        got: u64,
    },

    /// A payload holds a valid message followed by unexpected bytes.
    #[error("malformed message: expected a single MessagePack {type_name}, found {extra} bytes after it")]
    TrailingBytes {
        /// The Rust type that was decoded.
        type_name: &'static str,
        /// How many bytes were left over.
        extra: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_name_both_sides() {
        let err = ProtocolError::NotOxdaskPeer {
            got: b"GET /\r".to_vec(),
        };
        assert_eq!(
            err.to_string(),
            "not an oxdask peer: expected the stream to start with magic \"OXDASK\", \
             got \"GET /\\r\""
        );
        let err = ProtocolError::VersionMismatch { ours: 1, theirs: 7 };
        assert_eq!(
            err.to_string(),
            "protocol version mismatch: we speak oxdask protocol version 1, \
             the peer speaks version 7"
        );
    }
}
