//! Real workers (`run_worker` with a fake host) against a fake scheduler over loopback.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use bytes::Bytes;
use common::*;
use oxdask_comm::{connect, Connection};
use oxdask_protocol::messages::{
    BufIx, PeerReply, PeerRequest, SchedulerToWorker, StoredValue, WorkerToScheduler,
};
use oxdask_protocol::{decode_batch, Hello, Role};
use oxdask_worker::{run_worker, WorkerConfig, WorkerError, WorkerExit};
use std::sync::Arc;

async fn client_to(worker: &str) -> Connection {
    within(connect(
        worker,
        Role::Client,
        Hello::default(),
        Role::Worker,
        None,
    ))
    .await
    .unwrap()
}

/// Sends one request and returns the reply and its frame's buffers.
async fn ask(
    conn: Connection,
    request: PeerRequest,
    buffers: Vec<Bytes>,
) -> (PeerReply, Vec<Bytes>) {
    let (mut reader, sender) = conn.split();
    assert!(sender.send_buffers(buffers, move |_| request));
    let frame = within(reader.next()).await.unwrap().unwrap();
    let mut replies = decode_batch::<PeerReply>(&frame.payload).unwrap();
    (replies.remove(0), frame.buffers)
}

/// Reads an integer value out of a `Data` reply.
fn value_of(reply: &PeerReply, buffers: &[Bytes], key: &str) -> Option<i64> {
    let PeerReply::Data { values, .. } = reply else {
        panic!("expected Data, got {reply:?}");
    };
    let v = values.iter().find(|v| v.key == k(key))?;
    assert_eq!(&buffers[v.pickle.0 as usize][..], b"v");
    as_int(&buffers[v.buffers[0].0 as usize])
}

#[tokio::test]
async fn a_dependency_moves_peer_to_peer_and_results_are_right() {
    let scheduler = FakeScheduler::bind().await;
    let a = RunningWorker::start(&scheduler.address);
    let mut wa = scheduler.accept_worker(1).await;
    let b = RunningWorker::start(&scheduler.address);
    let mut wb = scheduler.accept_worker(2).await;
    assert_eq!(wa.info.as_ref().unwrap().nthreads, 2);

    // x = (5 + nothing) * 2, with the factor in function 7.
    let factor = int(2);
    assert!(wa
        .sender
        .send_buffers(vec![factor], |ix| SchedulerToWorker::Functions {
            items: vec![(7, BufIx(ix))],
        }));
    let mut x = task("x", 5, &[]);
    x.function = Some(7);
    wa.send(SchedulerToWorker::Compute(x));
    let got = wa
        .until(|m| matches!(m, WorkerToScheduler::TaskFinished { .. }))
        .await;
    let WorkerToScheduler::TaskFinished {
        key,
        nbytes,
        type_name,
        ..
    } = &got[0]
    else {
        panic!("{got:?}");
    };
    assert_eq!((key, *nbytes, type_name.as_str()), (&k("x"), 8, "int"));

    // y = 1 + x on B, which must fetch x from A; a client wants y, so it comes back inline.
    let mut y = task("y", 1, &[("x", &wa.address())]);
    y.inline = true;
    wb.send(SchedulerToWorker::Compute(y));
    let got = wb
        .until(|m| matches!(m, WorkerToScheduler::TaskFinished { .. }))
        .await;
    assert_eq!(
        got,
        vec![
            WorkerToScheduler::DataAdded {
                keys: vec![(k("x"), 8)]
            },
            WorkerToScheduler::TaskFinished {
                key: k("y"),
                nbytes: 8,
                duration_us: match &got[1] {
                    WorkerToScheduler::TaskFinished { duration_us, .. } => *duration_us,
                    other => panic!("{other:?}"),
                },
                stop_us: match &got[1] {
                    WorkerToScheduler::TaskFinished { stop_us, .. } => {
                        let now = oxdask_protocol::messages::epoch_us();
                        assert!(*stop_us <= now && now - stop_us < 60_000_000, "{stop_us}");
                        *stop_us
                    }
                    other => panic!("{other:?}"),
                },
                type_name: "int".into(),
                value: match &got[1] {
                    WorkerToScheduler::TaskFinished { value, .. } => {
                        assert!(
                            value.is_some(),
                            "an inline task's small result travels back"
                        );
                        value.clone()
                    }
                    other => panic!("{other:?}"),
                },
            },
        ]
    );

    // A client reads y (and a key B does not have) from B's data server.
    let request = PeerRequest::GetData {
        id: 1,
        keys: vec![k("y"), k("nope")],
    };
    let (reply, buffers) = ask(client_to(&wb.address()).await, request, vec![]).await;
    assert_eq!(value_of(&reply, &buffers, "y"), Some(11));
    let PeerReply::Data { id, missing, .. } = &reply else {
        unreachable!()
    };
    assert_eq!((*id, missing.clone()), (1, vec![k("nope")]));

    assert_eq!(a.stop().await.unwrap(), WorkerExit::Shutdown);
    assert_eq!(b.stop().await.unwrap(), WorkerExit::Shutdown);
}

#[tokio::test]
async fn put_data_is_stored_reported_and_usable() {
    let scheduler = FakeScheduler::bind().await;
    let w = RunningWorker::start(&scheduler.address);
    let mut link = scheduler.accept_worker(1).await;
    let value = StoredValue {
        key: k("p"),
        pickle: BufIx(0),
        buffers: vec![BufIx(1)],
    };
    let request = PeerRequest::PutData {
        id: 2,
        values: vec![value],
        report: true,
    };
    let buffers = vec![Bytes::from_static(b"v"), int(42)];
    let (reply, _) = ask(client_to(&link.address()).await, request, buffers).await;
    assert_eq!(reply, PeerReply::Stored { id: 2, error: None });
    let (msg, _) = link.next().await;
    assert_eq!(
        msg,
        WorkerToScheduler::DataAdded {
            keys: vec![(k("p"), 8)]
        }
    );

    link.send(SchedulerToWorker::Compute(task(
        "z",
        1,
        &[("p", &link.address())],
    )));
    let got = link
        .until(|m| matches!(m, WorkerToScheduler::TaskFinished { .. }))
        .await;
    assert_eq!(got.len(), 1, "{got:?}");
    let request = PeerRequest::GetData {
        id: 3,
        keys: vec![k("z"), k("p")],
    };
    let (reply, buffers) = ask(client_to(&link.address()).await, request, vec![]).await;
    assert_eq!(value_of(&reply, &buffers, "z"), Some(43));
    assert_eq!(value_of(&reply, &buffers, "p"), Some(42));

    // Freed by the scheduler: gone.
    link.send(SchedulerToWorker::Free { keys: vec![k("p")] });
    let request = PeerRequest::GetData {
        id: 4,
        keys: vec![k("p")],
    };
    let mut missing_now = false;
    for _ in 0..50 {
        let (reply, _) = ask(client_to(&link.address()).await, request.clone(), vec![]).await;
        if matches!(&reply, PeerReply::Data { missing, .. } if missing == &vec![k("p")]) {
            missing_now = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(missing_now, "p was never dropped");
    w.stop().await.unwrap();
}

#[tokio::test]
async fn failures_and_missing_data_are_reported() {
    let scheduler = FakeScheduler::bind().await;
    let a = RunningWorker::start(&scheduler.address);
    let wa = scheduler.accept_worker(1).await;
    let b = RunningWorker::start(&scheduler.address);
    let mut wb = scheduler.accept_worker(2).await;

    let mut bad = task("bad", 0, &[]);
    bad.payload = Bytes::from_static(b"fail");
    wb.send(SchedulerToWorker::Compute(bad));
    let (msg, _) = wb.next().await;
    let WorkerToScheduler::TaskErred { key, error } = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(
        (key, error.text.as_str()),
        (k("bad"), "ValueError: asked to fail")
    );

    // A names a function B never received.
    let mut unknown = task("f", 0, &[]);
    unknown.function = Some(99);
    wb.send(SchedulerToWorker::Compute(unknown));
    let (msg, _) = wb.next().await;
    let WorkerToScheduler::TaskErred { error, .. } = msg else {
        panic!("{msg:?}")
    };
    assert!(error.text.contains("function 99"), "{}", error.text);

    // A does not hold `ghost`: B tells the scheduler.
    wb.send(SchedulerToWorker::Compute(task(
        "y",
        0,
        &[("ghost", &wa.address())],
    )));
    let (msg, _) = wb.next().await;
    assert_eq!(
        msg,
        WorkerToScheduler::DataMissing {
            key: k("ghost"),
            holder: wa.address()
        }
    );

    // Steal: y waits for its input, so it is given back.
    wb.send(SchedulerToWorker::Steal { key: k("y") });
    let (msg, _) = wb.next().await;
    assert_eq!(
        msg,
        WorkerToScheduler::StealResponse {
            key: k("y"),
            stolen: true
        }
    );

    // Client.run.
    assert!(wb
        .sender
        .send_buffers(vec![Bytes::from_static(b"abc")], |ix| {
            SchedulerToWorker::Run {
                id: 5,
                call: BufIx(ix),
            }
        }));
    let (msg, buffers) = wb.next().await;
    let WorkerToScheduler::RunResult { id, result, ok } = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(
        (id, ok, &buffers[result.0 as usize][..]),
        (5, true, &b"cba"[..])
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn close_from_the_scheduler_stops_the_worker() {
    let scheduler = FakeScheduler::bind().await;
    let w = RunningWorker::start(&scheduler.address);
    let link = scheduler.accept_worker(1).await;
    let address = link.address();
    link.send(SchedulerToWorker::Close {
        reason: "retired".into(),
    });
    let exit = within(w.handle).await.unwrap().unwrap();
    assert_eq!(
        exit,
        WorkerExit::Closed {
            reason: "retired".into()
        }
    );
    // The data server is gone.
    let refused = within(connect(
        &address,
        Role::Client,
        Hello::default(),
        Role::Worker,
        None,
    ))
    .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn losing_the_scheduler_is_an_error_naming_it() {
    let scheduler = FakeScheduler::bind().await;
    let w = RunningWorker::start(&scheduler.address);
    let link = scheduler.accept_worker(1).await;
    drop(link);
    let err = within(w.handle).await.unwrap().unwrap_err();
    assert!(matches!(err, WorkerError::SchedulerLost { .. }), "{err}");
    assert!(err.to_string().contains(&scheduler.address), "{err}");
}

#[tokio::test]
async fn an_unreachable_scheduler_is_a_clear_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("tcp://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = WorkerConfig::new(address.as_str());
    let err = within(run_worker(
        config,
        Arc::new(FakeHost::default()),
        std::future::pending(),
    ))
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, WorkerError::Connect { .. }), "{text}");
    assert!(
        text.starts_with(&format!("could not reach the scheduler at {address}")),
        "{text}"
    );
}

#[tokio::test]
async fn a_task_takes_shuffle_pieces_from_a_peer_which_forgets_them() {
    let scheduler = FakeScheduler::bind().await;
    let a = RunningWorker::start(&scheduler.address);
    let wa = scheduler.accept_worker(1).await;
    let b = RunningWorker::start(&scheduler.address);
    let mut wb = scheduler.accept_worker(2).await;
    {
        let mut held = a.host.shuffles.lock().unwrap();
        held.insert(("s".into(), 0), vec![(0, 5), (3, 7)]);
        held.insert(("s".into(), 1), vec![(1, 100)]);
        held.insert(("t".into(), 0), vec![(0, 1)]);
    }
    // B runs a task that takes partition 0 of "s" from A, peer to peer.
    let mut take = task("sum", 0, &[]);
    take.payload = Bytes::from(format!("take {}", wa.address()));
    take.inline = true;
    wb.send(SchedulerToWorker::Compute(take));
    let got = wb
        .until(|m| matches!(m, WorkerToScheduler::TaskFinished { .. }))
        .await;
    let WorkerToScheduler::TaskFinished { key, .. } = got.last().unwrap() else {
        panic!("{got:?}");
    };
    assert_eq!(key, &k("sum"));
    let (reply, buffers) = ask(
        client_to(&wb.address()).await,
        PeerRequest::GetData {
            id: 1,
            keys: vec![k("sum")],
        },
        vec![],
    )
    .await;
    assert_eq!(value_of(&reply, &buffers, "sum"), Some(12));
    assert!(!a
        .host
        .shuffles
        .lock()
        .unwrap()
        .contains_key(&("s".into(), 0)));

    // Dropping "s" on A leaves "t".
    let conn = client_to(&wa.address()).await;
    let (_reader, sender) = conn.split();
    assert!(sender.send(PeerRequest::DropShuffle {
        shuffle: "s".into()
    }));
    within(async {
        while a.host.shuffles.lock().unwrap().len() != 1 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(a
        .host
        .shuffles
        .lock()
        .unwrap()
        .contains_key(&("t".into(), 0)));
    assert_eq!(a.stop().await.unwrap(), WorkerExit::Shutdown);
    assert_eq!(b.stop().await.unwrap(), WorkerExit::Shutdown);
}
