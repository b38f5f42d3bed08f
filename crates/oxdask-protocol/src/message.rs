//! Serializing one message to and from a frame payload, as MessagePack.
//!
//! A lone message (the handshake's hello, [`encode_message`]) writes structs as maps with
//! field names (`rmp_serde::encode::write_named`), the form Python's `msgpack` and
//! distributed's own messages use: a peer of another version can still read the hello and
//! be told why it is refused, and optional fields may be left out. The messages of a
//! [`crate::Batch`] (everything after the handshake, between peers of one protocol version)
//! write structs as arrays of their fields in declaration order ([`encode_compact_into`]): no
//! field names to write and match per message, which were almost half the bytes of a task.
//! Reading accepts both forms.
//!
//! Decoding is strict about framing: the payload must hold exactly one value, so a sender and
//! receiver disagreeing about a message's shape fail loudly rather than silently ignoring bytes.

use bytes::{BufMut, Bytes, BytesMut};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ProtocolError, Result};
use crate::frame::as_u64;

/// Serializes `msg` as a MessagePack payload.
pub fn encode_message<T: Serialize + ?Sized>(msg: &T) -> Result<Bytes> {
    let mut dst = BytesMut::new();
    encode_message_into(msg, &mut dst)?;
    Ok(dst.freeze())
}

/// Appends `msg`, serialized as MessagePack, to `dst`. On error `dst` is left as it was.
pub fn encode_message_into<T: Serialize + ?Sized>(msg: &T, dst: &mut BytesMut) -> Result<()> {
    encode_into(msg, dst, true)
}

/// Appends `msg` to `dst` with structs as arrays of their fields (see the module docs). On
/// error `dst` is left as it was.
pub(crate) fn encode_compact_into<T: Serialize + ?Sized>(
    msg: &T,
    dst: &mut BytesMut,
) -> Result<()> {
    encode_into(msg, dst, false)
}

/// `msg` appended to `dst`, structs as maps with field names when `named`, else as arrays.
fn encode_into<T: Serialize + ?Sized>(msg: &T, dst: &mut BytesMut, named: bool) -> Result<()> {
    let start = dst.len();
    let mut writer = dst.writer();
    let written = if named {
        rmp_serde::encode::write_named(&mut writer, msg)
    } else {
        rmp_serde::encode::write(&mut writer, msg)
    };
    written.map_err(|source| {
        writer.get_mut().truncate(start);
        ProtocolError::Encode {
            type_name: std::any::type_name::<T>(),
            source,
        }
    })
}

/// Deserializes one `T` from a MessagePack payload; the payload must hold nothing else.
///
/// Errors name `T`, so a log line says which message kind was malformed.
pub fn decode_message<T: DeserializeOwned>(payload: &[u8]) -> Result<T> {
    let type_name = std::any::type_name::<T>();
    // `from_slice` reads strings in place; it is twice as fast as a `Cursor` reader on small
    // messages, but cannot say where the value ended, hence `value_len` below.
    let value = rmp_serde::from_slice::<T>(payload)
        .map_err(|source| ProtocolError::Decode { type_name, source })?;
    // `None` (the value looks cut short) can follow a success when `T` stops reading a sequence
    // early; rmp-serde has judged the bytes a valid `T`, so that is left to it.
    match value_len(payload) {
        Some(len) if len < payload.len() => Err(ProtocolError::TrailingBytes {
            type_name,
            extra: as_u64(payload.len() - len),
        }),
        _ => Ok(value),
    }
}

/// Length of the MessagePack value at the start of `bytes`; `None` if malformed or cut short.
///
/// Walks the markers without decoding anything, keeping a count of values still to skip rather
/// than recursing, so no nesting depth can overflow the stack.
fn value_len(bytes: &[u8]) -> Option<usize> {
    let mut pos = 0;
    let mut pending: u64 = 1;
    while pending > 0 {
        pending -= 1;
        let marker = *bytes.get(pos)?;
        pos += 1;
        let mut read = |n: usize| read_be(bytes, &mut pos, n);
        let (skip, items): (usize, u64) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => (0, u64::from(marker & 0x0f)),
            0xa0..=0xbf => (usize::from(marker & 0x1f), 0),
            0xc1 => return None, // never used
            0xc4 | 0xd9 => (read(1)?, 0),
            0xc5 | 0xda => (read(2)?, 0),
            0xc6 | 0xdb => (read(4)?, 0),
            0xc7 => (read(1)?.checked_add(1)?, 0), // ext: length, type byte, data
            0xc8 => (read(2)?.checked_add(1)?, 0),
            0xc9 => (read(4)?.checked_add(1)?, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xca | 0xce | 0xd2 => (4, 0),
            0xcb | 0xcf | 0xd3 => (8, 0),
            0xd4 => (2, 0), // fixext: type byte, then 1, 2, 4, 8 or 16 bytes
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (0, as_u64(read(2)?)),
            0xdd => (0, as_u64(read(4)?)),
            0xde => (0, 2 * as_u64(read(2)?)),
            0xdf => (0, 2 * as_u64(read(4)?)),
        };
        pos = pos.checked_add(skip)?;
        pending = pending.saturating_add(items);
    }
    (pos <= bytes.len()).then_some(pos)
}

/// Reads an `n`-byte big-endian unsigned integer at `pos` and moves past it.
fn read_be(bytes: &[u8], pos: &mut usize, n: usize) -> Option<usize> {
    let field = bytes.get(*pos..pos.checked_add(n)?)?;
    *pos += n;
    field.iter().try_fold(0usize, |acc, &b| {
        acc.checked_mul(256)?.checked_add(b.into())
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Ping {
        seq: u64,
        note: Option<String>,
    }

    #[test]
    fn round_trip_and_map_form() {
        let ping = Ping {
            seq: 7,
            note: Some("hi".into()),
        };
        let bytes = encode_message(&ping).unwrap();
        assert_eq!(
            bytes[0], 0x82,
            "a struct is a two-entry map, readable by any peer"
        );
        assert_eq!(decode_message::<Ping>(&bytes).unwrap(), ping);
    }

    #[test]
    fn decode_error_names_the_expected_type() {
        let bytes = encode_message("not a ping").unwrap();
        let err = decode_message::<Ping>(&bytes).unwrap_err();
        assert!(matches!(err, ProtocolError::Decode { .. }));
        let text = err.to_string();
        assert!(
            text.starts_with("malformed message: expected a MessagePack "),
            "{text}"
        );
        assert!(text.contains("Ping"), "{text}");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = BytesMut::new();
        encode_message_into(&1u8, &mut bytes).unwrap();
        encode_message_into(&2u8, &mut bytes).unwrap();
        let err = decode_message::<u8>(&bytes).unwrap_err();
        assert!(matches!(err, ProtocolError::TrailingBytes { extra: 1, .. }));
    }

    #[test]
    fn value_len_walks_every_marker_family() {
        let cases: &[&[u8]] = &[
            &[0x05],                                    // positive fixint
            &[0xe0],                                    // negative fixint
            &[0xc0],                                    // nil
            &[0x92, 0x01, 0xa1, b'x'],                  // fixarray of fixint and fixstr
            &[0x81, 0xa1, b'k', 0xc3],                  // fixmap
            &[0xc4, 0x02, 1, 2],                        // bin 8
            &[0xc5, 0x00, 0x01, 9],                     // bin 16
            &[0xc7, 0x01, 0x05, 9],                     // ext 8
            &[0xd6, 0xff, 0, 0, 0, 0],                  // fixext 4 (a timestamp)
            &[0xcb, 0, 0, 0, 0, 0, 0, 0, 0],            // float 64
            &[0xdc, 0x00, 0x02, 0xcc, 200, 0xd0, 0x80], // array 16 of uint 8 and int 8
            &[0xdf, 0, 0, 0, 1, 0xd9, 1, b'a', 0x90],   // map 32 of str 8 to empty array
        ];
        for case in cases {
            assert_eq!(value_len(case), Some(case.len()), "{case:02x?}");
            assert_eq!(
                value_len(&case[..case.len() - 1]),
                None,
                "{case:02x?} cut short"
            );
        }
        assert_eq!(value_len(&[0xc1]), None);
        assert_eq!(value_len(&[0xdd, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(value_len(&[0x01, 0x02]), Some(1));
    }

    #[test]
    fn truncated_payload_is_a_decode_error() {
        let bytes = encode_message(&Ping { seq: 1, note: None }).unwrap();
        let err = decode_message::<Ping>(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(matches!(err, ProtocolError::Decode { .. }));
    }
}
