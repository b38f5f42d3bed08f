//! Property tests of the public decoding entry points.
//!
//! (a) any frames, split anywhere, decode to themselves; (b) arbitrary bytes never panic;
//! (c) adversarial headers fail as soon as a limit is visibly broken, without the decoder
//! growing the receive buffer.

use bytes::{BufMut, Bytes, BytesMut};
use oxdask_protocol::{Frame, FrameDecoder, Handshake, Limits, ProtocolError};
use proptest::prelude::*;

fn frame() -> impl Strategy<Value = Frame> {
    (
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..5),
    )
        .prop_map(|(payload, buffers)| {
            Frame::new(payload, buffers.into_iter().map(Bytes::from).collect())
        })
}

/// Feeds `wire` to a decoder in pieces cut at `cuts` (positions, any order, any repeats) and
/// collects every frame decoded, stopping at the first error.
fn feed(
    decoder: &mut FrameDecoder,
    wire: &[u8],
    cuts: &[usize],
) -> Result<Vec<Frame>, ProtocolError> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (wire.len() + 1)).collect();
    cuts.push(wire.len());
    cuts.sort_unstable();
    let mut frames = Vec::new();
    let mut src = BytesMut::new();
    let mut start = 0;
    for end in cuts {
        src.put_slice(&wire[start..end]);
        start = end;
        while let Some(frame) = decoder.decode(&mut src)? {
            frames.push(frame);
        }
    }
    Ok(frames)
}

/// Small limits so that random headers hit them often.
fn small_limits() -> Limits {
    Limits {
        max_payload: 1000,
        max_buffers: 16,
        max_buffer_len: 5000,
        max_total: 20_000,
    }
}

/// The error a header must produce given only the `lens` visible so far, if any.
fn expected_error(
    limits: &Limits,
    payload_len: u32,
    count: u32,
    lens: &[u64],
) -> Option<&'static str> {
    if payload_len > limits.max_payload {
        return Some("payload");
    }
    if count > limits.max_buffers {
        return Some("count");
    }
    let mut total = u64::from(payload_len);
    for &len in lens.iter().take(count as usize) {
        if len > limits.max_buffer_len {
            return Some("buffer");
        }
        total += len;
        if total > limits.max_total {
            return Some("total");
        }
    }
    None
}

fn kind(err: &ProtocolError) -> &'static str {
    match err {
        ProtocolError::PayloadTooLarge { .. } => "payload",
        ProtocolError::TooManyBuffers { .. } => "count",
        ProtocolError::BufferTooLarge { .. } => "buffer",
        ProtocolError::FrameTooLarge { .. } => "total",
        other => panic!("unexpected error kind: {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn frames_survive_any_split(
        frames in prop::collection::vec(frame(), 0..6),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut wire = BytesMut::new();
        for frame in &frames {
            frame.write_to(&mut wire).unwrap();
        }
        let mut decoder = FrameDecoder::default();
        let decoded = feed(&mut decoder, &wire, &cuts).unwrap();
        prop_assert_eq!(decoded, frames);
        prop_assert_eq!(decoder.body_len(), None);
    }

    #[test]
    fn chunks_and_contiguous_encoding_agree(frame in frame()) {
        let mut flat = BytesMut::new();
        frame.write_to(&mut flat).unwrap();
        prop_assert_eq!(flat.len() as u64, frame.encoded_len());
        prop_assert_eq!(&flat[..], &frame.into_chunks().unwrap().concat()[..]);
    }

    #[test]
    fn random_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        small in any::<bool>(),
    ) {
        let limits = if small { small_limits() } else { Limits::default() };
        // Any outcome but a panic is acceptable.
        let _ = feed(&mut FrameDecoder::new(limits), &bytes, &cuts);
        let mut src = BytesMut::from(&bytes[..]);
        let _ = Handshake::decode(&mut src);
        let mut src = BytesMut::from(&b"OXDASK\x01\x00"[..]);
        src.put_slice(&bytes);
        let _ = Handshake::decode(&mut src);
    }

    #[test]
    fn adversarial_headers_fail_as_soon_as_visible(
        payload_len in prop_oneof![0..2000u32, any::<u32>()],
        count in prop_oneof![0..32u32, any::<u32>()],
        lens in prop::collection::vec(prop_oneof![0..6000u64, any::<u64>()], 0..20),
    ) {
        let limits = small_limits();
        let mut src = BytesMut::with_capacity(1024);
        src.put_u32_le(payload_len);
        src.put_u32_le(count);
        for &len in &lens {
            src.put_u64_le(len);
        }
        let capacity = src.capacity();
        let len_before = src.len();
        let result = FrameDecoder::new(limits).decode(&mut src);
        match expected_error(&limits, payload_len, count, &lens) {
            Some(expected) => {
                let err = result.expect_err("a visible limit violation must fail at once");
                prop_assert_eq!(kind(&err), expected);
                prop_assert_eq!(src.len(), len_before, "nothing consumed on error");
            }
            None => {
                // Either still waiting for header/body bytes, or a frame made of the bytes
                // present (the extra lengths pushed past the header become its body).
                if let Some(frame) = result.unwrap() {
                    prop_assert_eq!(frame.payload.len() as u64, u64::from(payload_len));
                    prop_assert!(frame.encoded_len() <= len_before as u64);
                    prop_assert_eq!(src.len() as u64, len_before as u64 - frame.encoded_len());
                }
            }
        }
        // Consuming a valid header shrinks the view; nothing may ever grow it.
        prop_assert!(src.capacity() <= capacity, "the decoder must not grow the buffer");
    }
}

#[test]
fn huge_declared_total_fails_immediately_with_default_limits() {
    // 65,536 buffers of 4 GiB each would be 256 TiB; the fifth length already breaks 16 GiB.
    let mut src = BytesMut::new();
    src.put_u32_le(0);
    src.put_u32_le(1 << 16);
    for _ in 0..5 {
        src.put_u64_le(4 << 30);
    }
    let err = FrameDecoder::default().decode(&mut src).unwrap_err();
    assert!(matches!(
        err,
        ProtocolError::FrameTooLarge { total, max } if total == 20 << 30 && max == 16 << 30
    ));
}

/// A nested MessagePack-able value covering strings, bytes, floats, options, maps and sequences.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Value {
    Int(i64),
    Float(f64),
    Text(String),
    Missing(Option<u8>),
    List(Vec<Value>),
    Map(std::collections::BTreeMap<String, Value>),
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::Int),
        (-1e9f64..1e9).prop_map(Value::Float),
        ".{0,40}".prop_map(Value::Text),
        any::<Option<u8>>().prop_map(Value::Missing),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::List),
            prop::collection::btree_map(".{0,8}", inner, 0..8).prop_map(Value::Map),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn messages_round_trip_and_refuse_trailing_bytes(v in value(), extra in 1..4usize) {
        let bytes = oxdask_protocol::encode_message(&v).unwrap();
        prop_assert_eq!(oxdask_protocol::decode_message::<Value>(&bytes).unwrap(), v);
        let mut longer = bytes.to_vec();
        longer.extend(std::iter::repeat_n(0xc0, extra));
        let err = oxdask_protocol::decode_message::<Value>(&longer).unwrap_err();
        prop_assert!(
            matches!(err, ProtocolError::TrailingBytes { extra: e, .. } if e == extra as u64),
            "{}", err
        );
    }

    #[test]
    fn random_payloads_never_panic_the_message_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = oxdask_protocol::decode_message::<serde::de::IgnoredAny>(&bytes);
        let _ = oxdask_protocol::decode_message::<Value>(&bytes);
        let _ = oxdask_protocol::decode_batch::<(u8, String)>(&bytes);
    }
}
