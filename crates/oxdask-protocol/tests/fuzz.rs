//! Fuzzing the untrusted-input entry points: the handshake decoder, the frame decoder and the
//! message parsers of every connection kind.
//!
//! Inputs are random bytes, and valid handshakes and frames of real messages that are then
//! mutated (bytes flipped, lengths rewritten, cut short, spliced), fed in random pieces. A case
//! passes if nothing panics and the decoders keep their promises: a decoded frame is exactly
//! what the bytes said, nothing is consumed on error, and the receive buffer never grows.
//!
//! CI runs [`fuzz_ci`] (a few hundred cases). The long run, outside CI:
//!
//! ```text
//! OXDASK_FUZZ_CASES=1000000 cargo test --release -p oxdask-protocol --test fuzz -- --ignored --nocapture
//! ```
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use oxdask_graph::Key;
use oxdask_protocol::messages::{
    BufIx, ClientToScheduler, ComputeTask, PeerReply, PeerRequest, SchedulerToClient,
    SchedulerToWorker, StoredValue, WireTask, WorkerInfo, WorkerToScheduler,
};
use oxdask_protocol::{
    decode_batch, decode_message, Batch, Frame, FrameDecoder, Handshake, Hello, Limits, Role,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Encoded frames of real messages of every direction: the seeds that mutations start from.
fn seeds() -> Vec<Vec<u8>> {
    let task = WireTask {
        key: Key::chunk("x", &[0, 1]),
        deps: vec![Key::str("a")],
        payload: Bytes::from_static(b"\x80\x05payload"),
        function: Some(7),
        func_name: "inc".into(),
        priority: -3,
        workers: Some(vec!["tcp://127.0.0.1:1".into()]),
        allow_other_workers: true,
        resources: vec![("GPU".into(), 1.0)],
        retries: 2,
    };
    let mut out = Vec::new();
    let mut push = |build: &dyn Fn(&mut Batch)| {
        let mut batch = Batch::new();
        build(&mut batch);
        let mut wire = BytesMut::new();
        batch.into_frame().unwrap().write_to(&mut wire).unwrap();
        out.push(wire.to_vec());
    };
    push(&|b| {
        let ix = b.push_buffer(Bytes::from_static(b"cloudpickled"));
        b.push(&ClientToScheduler::Functions {
            items: vec![(7, BufIx(u32::try_from(ix).unwrap()))],
        })
        .unwrap();
        b.push(&ClientToScheduler::Submit {
            tasks: vec![task.clone()],
            wanted: vec![Key::str("a"), Key::chunk("x", &[0, 1])],
        })
        .unwrap();
        b.push(&ClientToScheduler::Release {
            keys: vec![Key::str("a")],
        })
        .unwrap();
    });
    push(&|b| {
        b.push(&WorkerToScheduler::Register(WorkerInfo {
            address: "tls://127.0.0.1:9".into(),
            name: "w".into(),
            nthreads: 2,
            memory_limit: 1 << 30,
            resources: vec![("GPU".into(), 1.0)],
            pid: 42,
            nanny: false,
        }))
        .unwrap();
        b.push(&WorkerToScheduler::TaskFinished {
            key: Key::str("a"),
            nbytes: 8,
            duration_us: 10,
            stop_us: 0,
            type_name: "int".into(),
            value: Some(Bytes::from_static(b"\x80\x05K\x01.")),
        })
        .unwrap();
    });
    push(&|b| {
        b.push(&SchedulerToWorker::Compute(ComputeTask {
            key: Key::chunk("x", &[0, 1]),
            payload: Bytes::from_static(b"\x80\x05call"),
            function: Some(7),
            deps: vec![(Key::str("a"), vec!["tcp://127.0.0.1:1".into()])],
            priority: -3,
            resources: vec![],
            nbytes: vec![800],
            inline: true,
        }))
        .unwrap();
        b.push(&SchedulerToWorker::Free {
            keys: vec![Key::str("a")],
        })
        .unwrap();
    });
    push(&|b| {
        b.push(&SchedulerToClient::InMemory {
            key: Key::str("b"),
            nbytes: 8,
            type_name: "int".into(),
            value: None,
        })
        .unwrap();
    });
    push(&|b| {
        let ix = b.push_buffer(Bytes::from(vec![1u8; 40]));
        b.push(&PeerRequest::PutData {
            id: 3,
            values: vec![StoredValue {
                key: Key::str("v"),
                pickle: BufIx(u32::try_from(ix).unwrap()),
                buffers: vec![],
            }],
            report: false,
        })
        .unwrap();
        b.push(&PeerRequest::GetData {
            id: 4,
            keys: vec![Key::str("v")],
        })
        .unwrap();
    });
    let mut hs = BytesMut::new();
    Handshake::new(
        Role::Worker,
        Hello {
            name: Some("w".into()),
            token: Some("t".into()),
            ..Hello::default()
        },
    )
    .encode(&mut hs)
    .unwrap();
    out.push(hs.to_vec());
    out
}

/// One fuzz input: where it starts from and how it is changed.
#[derive(Clone, Debug)]
enum Input {
    Random(Vec<u8>),
    Mutated { seed: usize, edits: Vec<Edit> },
}

#[derive(Clone, Debug)]
enum Edit {
    Flip { at: usize, xor: u8 },
    Overwrite { at: usize, bytes: Vec<u8> },
    Truncate { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Duplicate { from: usize, len: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    let bytes = prop::collection::vec(any::<u8>(), 1..9);
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(at, xor)| Edit::Flip { at, xor }),
        // Interesting length-like values written over headers and MessagePack lengths.
        2 => (any::<usize>(), prop_oneof![
            bytes.clone(),
            Just(u32::MAX.to_le_bytes().to_vec()),
            Just(u64::MAX.to_le_bytes().to_vec()),
            Just(vec![0xdd, 0xff, 0xff, 0xff, 0xff]),
            Just(vec![0xdf, 0x7f, 0xff, 0xff, 0xff]),
            Just(vec![0xc6, 0xff, 0xff, 0xff, 0xf0]),
        ]).prop_map(|(at, bytes)| Edit::Overwrite { at, bytes }),
        1 => any::<usize>().prop_map(|at| Edit::Truncate { at }),
        1 => (any::<usize>(), bytes).prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
        1 => (any::<usize>(), 1..64usize).prop_map(|(from, len)| Edit::Duplicate { from, len }),
    ]
}

fn input(nseeds: usize) -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Input::Random),
        4 => (0..nseeds, prop::collection::vec(edit(), 0..4))
            .prop_map(|(seed, edits)| Input::Mutated { seed, edits }),
    ]
}

fn materialize(input: &Input, seeds: &[Vec<u8>]) -> Vec<u8> {
    match input {
        Input::Random(bytes) => bytes.clone(),
        Input::Mutated { seed, edits } => {
            let mut v = seeds[*seed].clone();
            for e in edits {
                let at = |i: usize, len: usize| i % (len + 1);
                match e {
                    Edit::Flip { at: i, xor } => {
                        if !v.is_empty() {
                            let i = i % v.len();
                            v[i] ^= xor;
                        }
                    }
                    Edit::Overwrite { at: i, bytes } => {
                        let i = at(*i, v.len());
                        for (k, b) in bytes.iter().enumerate() {
                            if let Some(slot) = v.get_mut(i + k) {
                                *slot = *b;
                            }
                        }
                    }
                    Edit::Truncate { at: i } => {
                        let i = at(*i, v.len());
                        v.truncate(i);
                    }
                    Edit::Insert { at: i, bytes } => {
                        let i = at(*i, v.len());
                        v.splice(i..i, bytes.iter().copied());
                    }
                    Edit::Duplicate { from, len } => {
                        let from = at(*from, v.len());
                        let end = (from + len).min(v.len());
                        let piece = v[from..end].to_vec();
                        v.extend_from_slice(&piece);
                    }
                }
            }
            v
        }
    }
}

/// Runs every decoder on `wire`, fed in pieces cut at `cuts`; panics on a broken promise.
/// Returns how many whole frames were decoded and how many of their payloads parsed as a batch
/// of some connection kind's messages (how deep the input got).
fn exercise(wire: &[u8], cuts: &[usize], small_limits: bool) -> (u64, u64) {
    // Handshake: at most one, consumed only when whole and valid.
    let mut src = BytesMut::from(wire);
    if let Ok(Some(_)) = Handshake::decode(&mut src) {
        assert!(src.len() < wire.len(), "a decoded handshake consumes bytes");
    } else {
        assert_eq!(
            src.len(),
            wire.len(),
            "nothing is consumed without a handshake"
        );
    }

    let limits = if small_limits {
        Limits {
            max_payload: 4096,
            max_buffers: 8,
            max_buffer_len: 4096,
            max_total: 16 << 10,
        }
    } else {
        Limits::default()
    };
    let mut decoder = FrameDecoder::new(limits);
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (wire.len() + 1)).collect();
    cuts.push(wire.len());
    cuts.sort_unstable();
    let mut src = BytesMut::new();
    let mut start = 0;
    let mut frames: Vec<Frame> = Vec::new();
    'feed: for end in cuts {
        src.put_slice(&wire[start..end]);
        start = end;
        loop {
            let before = src.len();
            match decoder.decode(&mut src) {
                Ok(Some(frame)) => {
                    let used = before - src.len();
                    assert!(
                        used as u64 >= frame.body_len(),
                        "a frame is what it consumed"
                    );
                    frames.push(frame);
                }
                Ok(None) => break,
                Err(_) => {
                    assert_eq!(src.len(), before, "nothing is consumed on error");
                    break 'feed;
                }
            }
        }
        assert!(
            src.len() <= wire.len(),
            "the decoder never grows the buffer"
        );
    }
    let parsed = frames
        .iter()
        .filter(|frame| parse_everything(&frame.payload))
        .count();
    // The message parsers also see the raw bytes, as a payload.
    parse_everything(wire);
    (frames.len() as u64, parsed as u64)
}

/// Parses `payload` as each kind of message batch; true if any succeeded.
fn parse_everything(payload: &[u8]) -> bool {
    let oks = [
        decode_batch::<ClientToScheduler>(payload).is_ok(),
        decode_batch::<SchedulerToClient>(payload).is_ok(),
        decode_batch::<WorkerToScheduler>(payload).is_ok(),
        decode_batch::<SchedulerToWorker>(payload).is_ok(),
        decode_batch::<PeerRequest>(payload).is_ok(),
        decode_batch::<PeerReply>(payload).is_ok(),
        decode_message::<Hello>(payload).is_ok(),
    ];
    oks.iter().any(|&ok| ok)
}

/// Runs `cases` inputs; returns the time taken, the frames decoded and the payloads parsed.
fn run(cases: u32) -> (std::time::Duration, u64, u64) {
    let seeds = seeds();
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let counts = std::cell::Cell::new((0u64, 0u64));
    let started = Instant::now();
    let strategy = (
        input(seeds.len()),
        prop::collection::vec(any::<usize>(), 0..6),
        any::<bool>(),
    );
    let result = runner.run(&strategy, |(input, cuts, small)| {
        let wire = materialize(&input, &seeds);
        let (frames, parsed) = exercise(&wire, &cuts, small);
        let (f, p) = counts.get();
        counts.set((f + frames, p + parsed));
        Ok(())
    });
    if let Err(e) = result {
        panic!("fuzz case failed: {e}");
    }
    let (frames, parsed) = counts.get();
    (started.elapsed(), frames, parsed)
}

#[test]
fn seeds_decode_cleanly() {
    // The unmutated seeds must decode, or the mutations would start from nothing useful.
    let seeds = seeds();
    for seed in &seeds[..seeds.len() - 1] {
        let mut src = BytesMut::from(&seed[..]);
        let frame = FrameDecoder::default().decode(&mut src).unwrap().unwrap();
        assert!(src.is_empty());
        let ok = decode_batch::<ClientToScheduler>(&frame.payload).is_ok()
            || decode_batch::<WorkerToScheduler>(&frame.payload).is_ok()
            || decode_batch::<SchedulerToWorker>(&frame.payload).is_ok()
            || decode_batch::<SchedulerToClient>(&frame.payload).is_ok()
            || decode_batch::<PeerRequest>(&frame.payload).is_ok();
        assert!(ok, "seed payload decodes as some message batch");
    }
    let mut hs = BytesMut::from(&seeds[seeds.len() - 1][..]);
    assert!(Handshake::decode(&mut hs).unwrap().is_some());
}

#[test]
fn fuzz_ci() {
    run(512);
}

#[test]
#[ignore = "long run: OXDASK_FUZZ_CASES (default 1,000,000), outside CI"]
fn fuzz_long() {
    let cases = std::env::var("OXDASK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let (took, frames, parsed) = run(cases);
    eprintln!(
        "fuzz: {cases} inputs in {:.1}s ({:.0} inputs/s); {frames} whole frames decoded, \
         {parsed} of their payloads parsed as messages",
        took.as_secs_f64(),
        f64::from(cases) / took.as_secs_f64()
    );
}
