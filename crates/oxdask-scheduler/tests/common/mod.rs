//! Helpers shared by the scheduler's socket tests: a scripted client and worker.
#![allow(dead_code)] // each test binary uses its own subset
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::time::Duration;

use bytes::Bytes;
use oxdask_comm::{connect, FrameReader, Sender};
use oxdask_graph::Key;
use oxdask_protocol::messages::{SchedulerToWorker, WireTask, WorkerInfo, WorkerToScheduler};
use oxdask_protocol::{decode_batch, Hello, Role};
use serde::de::DeserializeOwned;
use tokio::time::timeout;

pub const LIMIT: Duration = Duration::from_secs(15);

pub fn hello(token: Option<&str>) -> Hello {
    Hello {
        token: token.map(str::to_owned),
        ..Hello::default()
    }
}

/// The messages of the next frame.
pub async fn next<T: DeserializeOwned>(reader: &mut FrameReader) -> Vec<T> {
    let frame = timeout(LIMIT, reader.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    decode_batch(&frame.payload).unwrap()
}

/// A connection to the scheduler at `address` as `role`.
pub async fn open(address: &str, role: Role, token: Option<&str>) -> (FrameReader, Sender) {
    let conn = timeout(
        LIMIT,
        connect(address, role, hello(token), Role::Scheduler, None),
    )
    .await
    .unwrap()
    .unwrap();
    conn.split()
}

/// A worker connection that has registered as `address` and been welcomed.
pub async fn register_worker(scheduler: &str, address: &str, name: &str) -> (FrameReader, Sender) {
    let (mut reader, sender) = open(scheduler, Role::Worker, None).await;
    sender.send(WorkerToScheduler::Register(WorkerInfo {
        address: address.to_owned(),
        name: name.to_owned(),
        nthreads: 1,
        memory_limit: 0,
        resources: vec![],
        pid: 1,
        nanny: false,
    }));
    let welcome: Vec<SchedulerToWorker> = next(&mut reader).await;
    assert!(matches!(welcome[0], SchedulerToWorker::Welcome { .. }));
    (reader, sender)
}

/// A task with a placeholder payload.
pub fn task(key: &str, deps: &[&str]) -> WireTask {
    WireTask {
        key: Key::str(key),
        deps: deps.iter().map(|d| Key::str(d)).collect(),
        payload: Bytes::from_static(b"payload"),
        function: None,
        func_name: "f".into(),
        priority: 0,
        workers: None,
        allow_other_workers: false,
        resources: vec![],
        retries: 0,
    }
}
