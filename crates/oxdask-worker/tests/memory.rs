//! Memory limits on a real worker (fake host, fake scheduler): spilling to disk and reading
//! back, pausing, and exiting with a reason.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::*;
use oxdask_comm::connect;
use oxdask_protocol::messages::{PeerReply, PeerRequest, SchedulerToWorker, WorkerToScheduler};
use oxdask_protocol::{decode_batch, Hello, Role};
use oxdask_worker::memory::MemoryThresholds;
use oxdask_worker::{WorkerConfig, WorkerExit};

const OFF: MemoryThresholds = MemoryThresholds {
    target: None,
    spill: None,
    pause: None,
    terminate: None,
};

fn config(scheduler: &str, limit: u64, thresholds: MemoryThresholds) -> WorkerConfig {
    let mut config = WorkerConfig::new(scheduler);
    config.nthreads = 1;
    config.memory_limit = limit;
    config.memory = thresholds;
    config.heartbeat = Duration::from_millis(20);
    config.memory_monitor_interval = Duration::from_millis(10);
    config
}

/// Twenty 8-byte results under a 100-byte limit with a 60% target: most go to disk, and
/// they still feed tasks (loaded back) and peers (sent from disk) with the right values.
#[tokio::test]
async fn results_beyond_the_target_spill_and_read_back() {
    let scheduler = FakeScheduler::bind().await;
    let thresholds = MemoryThresholds {
        target: Some(0.6),
        ..OFF
    };
    let w = RunningWorker::start_with(config(&scheduler.address, 100, thresholds));
    let mut link = scheduler.accept_worker(1).await;
    for i in 0..20 {
        link.send(SchedulerToWorker::Compute(task(&format!("x{i}"), i, &[])));
        link.until(|m| matches!(m, WorkerToScheduler::TaskFinished { .. }))
            .await;
    }
    let mut spilled = 0;
    for _ in 0..50 {
        let (managed, s) = link.heartbeat().await;
        assert_eq!(managed + s, 20 * 8, "every result is in memory or on disk");
        spilled = s;
        if spilled >= 20 * 8 - 60 {
            break;
        }
    }
    assert!(spilled >= 20 * 8 - 60, "spilled only {spilled} bytes");

    // A peer reads the oldest results, which are on disk.
    let conn = within(connect(
        &link.address(),
        Role::Client,
        Hello::default(),
        Role::Worker,
        None,
    ))
    .await
    .unwrap();
    let (mut reader, sender) = conn.split();
    let keys = vec![k("x0"), k("x1"), k("x19")];
    assert!(sender.send(PeerRequest::GetData { id: 1, keys }));
    let frame = within(reader.next()).await.unwrap().unwrap();
    let replies = decode_batch::<PeerReply>(&frame.payload).unwrap();
    let PeerReply::Data {
        values, missing, ..
    } = &replies[0]
    else {
        panic!("{replies:?}");
    };
    assert!(missing.is_empty());
    let mut got: Vec<(String, i64)> = values
        .iter()
        .map(|v| {
            let n = as_int(&frame.buffers[v.buffers[0].0 as usize]).unwrap();
            (v.key.to_string(), n)
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![("'x0'".into(), 0), ("'x1'".into(), 1), ("'x19'".into(), 19)]
    );

    // A task summing every result loads the spilled ones back.
    let addr = link.address();
    let deps: Vec<(String, &str)> = (0..20).map(|i| (format!("x{i}"), addr.as_str())).collect();
    let deps: Vec<(&str, &str)> = deps.iter().map(|(d, h)| (d.as_str(), *h)).collect();
    let mut total = task("total", 1000, &deps);
    total.inline = true;
    link.send(SchedulerToWorker::Compute(total));
    let got = link
        .until(|m| matches!(m, WorkerToScheduler::TaskFinished { .. }))
        .await;
    let Some(WorkerToScheduler::TaskFinished { value, .. }) = got.last() else {
        panic!("{got:?}");
    };
    assert_eq!(
        as_int(value.as_ref().unwrap()),
        Some(1000 + (0..20).sum::<i64>())
    );
    w.stop().await.unwrap();
}

/// Process memory above the pause threshold: the worker says so and starts nothing.
#[tokio::test]
async fn a_worker_over_its_pause_threshold_pauses() {
    let scheduler = FakeScheduler::bind().await;
    let thresholds = MemoryThresholds {
        pause: Some(0.8),
        ..OFF
    };
    // Any process is above 80% of one kilobyte.
    let w = RunningWorker::start_with(config(&scheduler.address, 1 << 10, thresholds));
    let mut link = scheduler.accept_worker(1).await;
    let got = link
        .until(|m| matches!(m, WorkerToScheduler::Paused { .. }))
        .await;
    let Some(WorkerToScheduler::Paused { paused, reason }) = got.last() else {
        panic!("{got:?}");
    };
    assert!(*paused);
    assert!(
        reason.contains("above 80% of the memory limit (1.00 KiB)"),
        "{reason}"
    );
    link.send(SchedulerToWorker::Compute(task("x", 1, &[])));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let call = vec![bytes::Bytes::from_static(b"call")];
    assert!(link.sender.send_buffers(call, |ix| SchedulerToWorker::Run {
        id: 1,
        call: oxdask_protocol::messages::BufIx(ix),
    }));
    // The Run (answered or not) comes after any TaskFinished that would have been sent.
    let next = link.next().await.0;
    assert!(
        !matches!(next, WorkerToScheduler::TaskFinished { .. }),
        "a paused worker ran a task: {next:?}"
    );
    w.stop().await.unwrap();
}

/// Process memory above the terminate threshold: the worker tells the scheduler why, then
/// stops with `MemoryExceeded`.
#[tokio::test]
async fn a_worker_over_its_terminate_threshold_exits_saying_why() {
    let scheduler = FakeScheduler::bind().await;
    let thresholds = MemoryThresholds {
        terminate: Some(0.95),
        ..OFF
    };
    let w = RunningWorker::start_with(config(&scheduler.address, 1 << 10, thresholds));
    let mut link = scheduler.accept_worker(1).await;
    let got = link
        .until(|m| matches!(m, WorkerToScheduler::Closing { .. }))
        .await;
    let Some(WorkerToScheduler::Closing { reason }) = got.last() else {
        panic!("{got:?}");
    };
    assert!(
        reason.contains("exceeded 95% of its memory limit (1.00 KiB)"),
        "{reason}"
    );
    let exit = within(w.handle).await.unwrap().unwrap();
    assert!(
        matches!(exit, WorkerExit::MemoryExceeded { .. }),
        "{exit:?}"
    );
}
