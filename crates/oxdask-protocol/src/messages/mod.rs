//! The messages of the distributed system, by connection kind.
//!
//! ```text
//!   client ──ClientToScheduler──►  scheduler  ◄──WorkerToScheduler── worker
//!          ◄─SchedulerToClient───             ──SchedulerToWorker──►
//!   client/worker ──PeerRequest──► worker ──PeerReply──► (data moves peer to peer)
//! ```
//!
//! Messages travel in [`crate::Batch`]es: one frame carries many messages of one direction plus
//! the raw buffers they name by [`BufIx`]. Task payloads are small (pickled calls referring to
//! functions by id), so they travel inline; results travel as pickle protocol 5 streams whose
//! out-of-band buffers are separate frame buffers, never copied into a payload.

mod client;
mod common;
mod peer;
mod worker;

pub use client::{ClientToScheduler, Failure, MemoryOp, SchedulerToClient, WireTask, RESTART};
pub use common::{BufIx, ErrorBlob, StoredValue, WorkerInfo};
pub use peer::{PeerReply, PeerRequest, ShufflePiece};
pub use worker::{epoch_us, ComputeTask, DiskSpan, SchedulerToWorker, WorkerToScheduler};

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};
    use oxdask_graph::Key;

    use super::*;
    use crate::{decode_batch, Batch, FrameDecoder};

    #[test]
    fn a_buffer_index_resolves_or_says_what_named_it() {
        let buffers = [Bytes::from_static(b"a"), Bytes::from_static(b"b")];
        assert_eq!(BufIx(1).get(&buffers).as_deref(), Some(&b"b"[..]));
        assert_eq!(BufIx(2).get(&buffers), None);
        let err = BufIx(5).resolve(&buffers, "value x").unwrap_err();
        assert_eq!(err, "value x names buffer 5 of a frame with 2");
    }

    #[test]
    fn batch_of_commands_with_buffers_round_trips() {
        let mut batch = Batch::new();
        let f = batch.push_buffer(Bytes::from_static(b"cloudpickled function"));
        let fix = BufIx(u32::try_from(f).unwrap());
        let msgs = vec![
            SchedulerToWorker::Functions {
                items: vec![(7, fix)],
            },
            SchedulerToWorker::Compute(ComputeTask {
                key: Key::chunk("x", &[0, 1]),
                payload: Bytes::from_static(b"\x80\x05call"),
                function: Some(7),
                deps: vec![(Key::str("a"), vec!["tcp://127.0.0.1:1".into()])],
                priority: -3,
                resources: vec![("GPU".into(), 1.0)],
                nbytes: vec![800],
                inline: true,
            }),
            SchedulerToWorker::Free {
                keys: vec![Key::str("a")],
            },
        ];
        for m in &msgs {
            batch.push(m).unwrap();
        }
        let mut wire = BytesMut::new();
        for chunk in batch.into_frame().unwrap().into_chunks().unwrap() {
            wire.extend_from_slice(&chunk);
        }
        let frame = FrameDecoder::default().decode(&mut wire).unwrap().unwrap();
        let back: Vec<SchedulerToWorker> = decode_batch(&frame.payload).unwrap();
        assert_eq!(back, msgs);
        assert_eq!(&frame.buffers[0][..], b"cloudpickled function");
    }

    #[test]
    fn keys_are_plain_messagepack_values() {
        use crate::{decode_message, encode_message};
        assert_eq!(&encode_message(&Key::str("a")).unwrap()[..], b"\xa1a");
        assert_eq!(
            &encode_message(&Key::chunk("x", &[0])).unwrap()[..],
            b"\x92\xa1x\x00"
        );
        assert_eq!(&encode_message(&Key::Int(-1)).unwrap()[..], b"\xff");
        let keys = vec![
            Key::str("inc-8f3a"),
            Key::Int(i64::MIN),
            Key::Int(i64::MAX),
            Key::Float((-0.5f64).to_bits()),
            Key::Float(f64::NAN.to_bits()),
            Key::Bytes(b"\x00\xff".as_slice().into()),
            Key::Tuple(vec![].into()),
            Key::Tuple(vec![Key::str("x"), Key::Tuple(vec![Key::Int(1)].into())].into()),
        ];
        let back: Vec<Key> = decode_message(&encode_message(&keys).unwrap()).unwrap();
        assert_eq!(back, keys);
        // An unsigned integer beyond i64, a map, or nil is no key.
        for bad in [
            &b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff"[..],
            b"\x80",
            b"\xc0",
        ] {
            let err = decode_message::<Key>(bad).unwrap_err().to_string();
            assert!(err.contains("Key"), "{err}");
        }
    }
}
