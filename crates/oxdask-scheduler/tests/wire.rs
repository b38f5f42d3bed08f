//! Bad input on the wire: raw sockets send garbage, oversized lengths, truncated frames, a
//! wrong version and malformed messages to a running scheduler. Each time the scheduler closes
//! that connection and keeps serving: a worker and a client then complete a task round trip.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use bytes::BytesMut;
use oxdask_graph::Key;
use oxdask_protocol::messages::{
    ClientToScheduler, SchedulerToClient, SchedulerToWorker, WorkerToScheduler,
};
use oxdask_protocol::{encode_header, Handshake, Hello, Role};
use oxdask_scheduler::server::{serve, ServerConfig, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

mod common;

use common::{next, open, register_worker, task, LIMIT};

async fn server() -> ServerHandle {
    serve(ServerConfig {
        listen: "127.0.0.1:0".into(),
        http: None,
        ..ServerConfig::default()
    })
    .await
    .unwrap()
}

async fn raw(server: &ServerHandle) -> TcpStream {
    let target = server.address.strip_prefix("tcp://").unwrap();
    timeout(LIMIT, TcpStream::connect(target))
        .await
        .unwrap()
        .unwrap()
}

/// A valid handshake of `role`, as raw bytes.
fn handshake(role: Role) -> BytesMut {
    let mut out = BytesMut::new();
    Handshake::new(role, Hello::default())
        .encode(&mut out)
        .unwrap();
    out
}

/// Reads until the scheduler closes the connection (EOF or reset), within the time limit;
/// returns the bytes it sent before closing.
async fn closed_by_server(mut s: TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let outcome = timeout(LIMIT, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the scheduler did not close the connection"
    );
    got
}

/// A worker and a client complete a task through the scheduler.
async fn round_trip_works(server: &ServerHandle, key: &str) {
    let worker_address = format!("tcp://127.0.0.1:{}", 1000 + key.len());
    let (mut w_reader, w_sender) =
        register_worker(&server.address, &worker_address, &format!("w-{key}")).await;
    let (mut c_reader, c_sender) = open(&server.address, Role::Client, None).await;
    c_sender.send(ClientToScheduler::Submit {
        tasks: vec![task(key, &[])],
        wanted: vec![Key::str(key)],
    });
    let msgs: Vec<SchedulerToWorker> = next(&mut w_reader).await;
    assert!(
        matches!(&msgs[0], SchedulerToWorker::Compute(c) if c.key == Key::str(key)),
        "{msgs:?}"
    );
    w_sender.send(WorkerToScheduler::TaskFinished {
        key: Key::str(key),
        nbytes: 8,
        duration_us: 10,
        stop_us: 0,
        type_name: "int".into(),
        value: None,
    });
    let reports: Vec<SchedulerToClient> = next(&mut c_reader).await;
    assert!(
        matches!(&reports[0], SchedulerToClient::InMemory { key: k, .. } if *k == Key::str(key)),
        "{reports:?}"
    );
}

#[tokio::test]
async fn garbage_bytes_before_the_handshake() {
    let server = server().await;
    let mut s = raw(&server).await;
    s.write_all(b"\x00\xff garbage that is not oxdask \x13\x37")
        .await
        .unwrap();
    let answer = closed_by_server(s).await;
    // The refusal is a handshake whose hello says why.
    assert!(answer.starts_with(b"OXDASK"), "{answer:?}");
    round_trip_works(&server, "after-garbage").await;
    server.stop().await;
}

#[tokio::test]
async fn wrong_protocol_version() {
    let server = server().await;
    let mut s = raw(&server).await;
    let mut bytes = handshake(Role::Client);
    bytes[6..8].copy_from_slice(&999u16.to_le_bytes());
    s.write_all(&bytes).await.unwrap();
    let answer = closed_by_server(s).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.contains("protocol version mismatch") && text.contains("999"),
        "{text}"
    );
    round_trip_works(&server, "after-version").await;
    server.stop().await;
}

#[tokio::test]
async fn oversized_length_prefix_is_refused_without_waiting_for_it() {
    let server = server().await;
    let mut s = raw(&server).await;
    s.write_all(&handshake(Role::Client)).await.unwrap();
    // A frame header declaring a 4 GiB payload (over the 64 MiB limit), and then nothing:
    // the scheduler must close at once rather than wait for (or reserve) the payload.
    s.write_all(&u32::MAX.to_le_bytes()).await.unwrap();
    s.write_all(&0u32.to_le_bytes()).await.unwrap();
    closed_by_server(s).await;
    // The same with a 16 EiB out-of-band buffer declared.
    let mut s = raw(&server).await;
    s.write_all(&handshake(Role::Worker)).await.unwrap();
    let mut header = BytesMut::new();
    encode_header(10, &[0], &mut header).unwrap();
    header[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    s.write_all(&header).await.unwrap();
    closed_by_server(s).await;
    round_trip_works(&server, "after-oversized").await;
    server.stop().await;
}

#[tokio::test]
async fn truncated_frame_then_close() {
    let server = server().await;
    let mut s = raw(&server).await;
    s.write_all(&handshake(Role::Client)).await.unwrap();
    let mut header = BytesMut::new();
    encode_header(1000, &[], &mut header).unwrap();
    s.write_all(&header).await.unwrap();
    s.write_all(&[0x91; 10]).await.unwrap(); // 10 of the 1000 promised bytes
    drop(s);
    // A truncated handshake too.
    let mut s = raw(&server).await;
    s.write_all(&handshake(Role::Worker)[..9]).await.unwrap();
    drop(s);
    round_trip_works(&server, "after-truncated").await;
    server.stop().await;
}

#[tokio::test]
async fn valid_handshake_then_garbage_messages() {
    let server = server().await;
    for (role, payload) in [
        (Role::Client, &b"\xc1\xc1\xc1"[..]), // never-used MessagePack markers
        (Role::Worker, &b"\x92\x01"[..]),     // an array cut short
        (Role::Client, &b"\xdd\xff\xff\xff\xff"[..]), // an array of 4 billion items, absent
        (Role::Worker, &b"\x91\xa4junk"[..]), // a well-formed array of an unknown message
    ] {
        let mut s = raw(&server).await;
        s.write_all(&handshake(role)).await.unwrap();
        let mut frame = BytesMut::new();
        encode_header(payload.len(), &[], &mut frame).unwrap();
        frame.extend_from_slice(payload);
        s.write_all(&frame).await.unwrap();
        let answer = closed_by_server(s).await;
        assert!(answer.starts_with(b"OXDASK"), "the handshake was answered");
    }
    round_trip_works(&server, "after-bad-messages").await;
    server.stop().await;
}

#[tokio::test]
async fn non_loopback_address_without_protection_is_refused_before_binding() {
    let err = serve(ServerConfig {
        listen: "0.0.0.0:0".into(),
        http: None,
        ..ServerConfig::default()
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    let text = err.to_string();
    assert!(
        text.contains("anyone who can reach an open scheduler can run code on every worker")
            && text.contains("--insecure"),
        "{text}"
    );
}
