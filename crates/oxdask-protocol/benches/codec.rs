//! Codec micro-benchmarks: a batch of many small messages, and one frame with a large buffer.
//!
//! Run briefly with `cargo bench -p oxdask-protocol -- --quick`.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use oxdask_protocol::{decode_batch, Batch, Frame, FrameDecoder};
use serde::{Deserialize, Serialize};
use std::hint::black_box;

/// Shaped like a scheduler's "compute this task" message.
#[derive(Debug, Serialize, Deserialize)]
struct ComputeTask {
    key: String,
    priority: (i32, u32),
    dependencies: Vec<u32>,
    worker: Option<u32>,
}

fn messages(n: u32) -> Vec<ComputeTask> {
    (0..n)
        .map(|i| ComputeTask {
            key: format!("('sum-chunk', {i})"),
            priority: (0, i),
            dependencies: vec![i, i + 1],
            worker: Some(i % 8),
        })
        .collect()
}

/// The sender's side: serialize into a batch, frame it, and lay the chunks out as a socket read
/// would deliver them.
fn encode(msgs: &[ComputeTask]) -> BytesMut {
    let mut batch = Batch::new();
    for msg in msgs {
        batch.push(msg).expect("bench messages serialize");
    }
    let chunks = batch
        .into_frame()
        .expect("bench batch fits")
        .into_chunks()
        .expect("bench frame fits");
    let mut wire = BytesMut::new();
    for chunk in chunks {
        wire.extend_from_slice(&chunk);
    }
    wire
}

fn batch_of_small_messages(c: &mut Criterion) {
    let msgs = messages(1_000);
    let mut group = c.benchmark_group("batch_1000_small");
    group.throughput(Throughput::Elements(1_000));
    group.bench_function("encode+decode", |b| {
        b.iter(|| {
            let mut wire = encode(black_box(&msgs));
            let frame = FrameDecoder::default()
                .decode(&mut wire)
                .expect("valid frame")
                .expect("complete frame");
            let decoded: Vec<ComputeTask> = decode_batch(&frame.payload).expect("valid batch");
            black_box(decoded)
        });
    });
    group.finish();
}

fn one_large_buffer(c: &mut Criterion) {
    const LEN: usize = 64 << 20;
    let buffer = Bytes::from(vec![0xabu8; LEN]);
    let mut group = c.benchmark_group("frame_64MiB_buffer");
    group.throughput(Throughput::Bytes(LEN as u64));
    group.sample_size(10);
    // Encoding only writes a header: the buffer is handed on, not copied.
    group.bench_function("encode", |b| {
        b.iter(|| {
            let frame = Frame::new(Bytes::from_static(b"\x80"), vec![buffer.clone()]);
            black_box(frame.into_chunks().expect("frame fits"))
        });
    });
    // Decoding splits the receive buffer; the copy that fills it (the socket read) is setup.
    let mut wire = BytesMut::new();
    Frame::new(Bytes::from_static(b"\x80"), vec![buffer.clone()])
        .write_to(&mut wire)
        .expect("frame fits");
    group.bench_function("decode", |b| {
        b.iter_batched(
            || wire.clone(),
            |mut src| {
                let frame = FrameDecoder::default()
                    .decode(&mut src)
                    .expect("valid frame")
                    .expect("complete frame");
                black_box(frame)
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, batch_of_small_messages, one_large_buffer);
criterion_main!(benches);
