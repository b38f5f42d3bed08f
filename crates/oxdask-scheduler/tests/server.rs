//! The scheduler server over loopback, with a scripted worker and client.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use oxdask_comm::connect;
use oxdask_graph::Key;
use oxdask_protocol::messages::{
    ClientToScheduler, SchedulerToClient, SchedulerToWorker, WorkerToScheduler,
};
use oxdask_protocol::Role;
use oxdask_scheduler::server::{serve, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

mod common;

use common::{hello, next, open, register_worker, task, LIMIT};

fn config(token: Option<&str>) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".into(),
        http: Some("127.0.0.1:0".into()),
        token: token.map(str::to_owned),
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn client_task_runs_on_worker_and_is_reported() {
    let server = serve(config(None)).await.unwrap();
    let (mut w_reader, w_sender) =
        register_worker(&server.address, "tcp://127.0.0.1:1", "w1").await;
    let (mut c_reader, c_sender) = open(&server.address, Role::Client, None).await;
    c_sender.send(ClientToScheduler::Submit {
        tasks: vec![task("a", &[]), task("b", &["a"])],
        wanted: vec![Key::str("b")],
    });

    for key in ["a", "b"] {
        let msgs: Vec<SchedulerToWorker> = next(&mut w_reader).await;
        let SchedulerToWorker::Compute(c) = &msgs[0] else {
            panic!("expected compute, got {msgs:?}")
        };
        assert_eq!(c.key, Key::str(key));
        // Only `b` is wanted by the client, so only `b` may come back inline.
        assert_eq!(c.inline, key == "b");
        w_sender.send(WorkerToScheduler::TaskFinished {
            key: Key::str(key),
            nbytes: 8,
            duration_us: 10,
            stop_us: 0,
            type_name: "int".into(),
            value: c.inline.then(|| bytes::Bytes::from_static(b"pickled b")),
        });
    }
    let reports: Vec<SchedulerToClient> = next(&mut c_reader).await;
    assert_eq!(
        reports[0],
        SchedulerToClient::InMemory {
            key: Key::str("b"),
            nbytes: 8,
            type_name: "int".into(),
            value: Some(bytes::Bytes::from_static(b"pickled b")),
        }
    );

    // The state endpoint reports the worker and the task counts.
    let http = server.http_address.clone().unwrap();
    let request = "GET /json/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let body = http_get(&http, request).await;
    assert!(body.contains("\"nthreads\":1"), "{body}");
    assert!(body.contains("\"memory\":"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn worker_death_reschedules_its_task() {
    let server = serve(config(None)).await.unwrap();
    let mut workers = Vec::new();
    for i in 0..2 {
        let address = format!("tcp://127.0.0.1:{}", 10 + i);
        workers.push(register_worker(&server.address, &address, &format!("w{i}")).await);
    }
    let (mut c_reader, c_sender) = open(&server.address, Role::Client, None).await;
    c_sender.send(ClientToScheduler::Submit {
        tasks: vec![task("x", &[])],
        wanted: vec![Key::str("x")],
    });
    // Whoever got it dies (drop both halves); the other one must receive it.
    let (mut w1, mut w0) = (workers.pop().unwrap(), workers.pop().unwrap());
    let first = tokio::select! {
        m = next::<SchedulerToWorker>(&mut w0.0) => {
            assert!(matches!(m[0], SchedulerToWorker::Compute(_)));
            0
        }
        m = next::<SchedulerToWorker>(&mut w1.0) => {
            assert!(matches!(m[0], SchedulerToWorker::Compute(_)));
            1
        }
    };
    let (dead, survivor) = if first == 0 { (w0, w1) } else { (w1, w0) };
    drop(dead);
    let (mut survivor_r, survivor_s) = survivor;
    let msgs: Vec<SchedulerToWorker> = next(&mut survivor_r).await;
    assert!(matches!(&msgs[0], SchedulerToWorker::Compute(c) if c.key == Key::str("x")));
    survivor_s.send(WorkerToScheduler::TaskFinished {
        key: Key::str("x"),
        nbytes: 1,
        duration_us: 1,
        stop_us: 0,
        type_name: "int".into(),
        value: None,
    });
    let reports: Vec<SchedulerToClient> = next(&mut c_reader).await;
    assert!(
        matches!(&reports[0], SchedulerToClient::InMemory { key, .. } if *key == Key::str("x"))
    );
    server.stop().await;
}

#[tokio::test]
async fn wrong_token_is_refused_and_others_keep_working() {
    let server = serve(config(Some("secret"))).await.unwrap();
    let bad = connect(
        &server.address,
        Role::Client,
        hello(Some("nope")),
        Role::Scheduler,
        None,
    )
    .await
    .unwrap_err()
    .to_string();
    // The scheduler refuses during the handshake, before reading any message, and says why.
    assert!(
        bad.contains("the scheduler refused the connection: authentication failed"),
        "{bad}"
    );
    let (mut r, s) = open(&server.address, Role::Client, Some("secret")).await;
    s.send(ClientToScheduler::Info { id: 7 });
    let msgs: Vec<SchedulerToClient> = next(&mut r).await;
    assert!(
        matches!(&msgs[0], SchedulerToClient::Info { id: 7, json } if json.contains("Scheduler"))
    );
    // The state endpoint wants the token too; /health does not.
    let http = server.http_address.clone().unwrap();
    let get = |path: &str, auth: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n")
    };
    let refused = http_get(&http, &get("/json/state", "")).await;
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    let wrong = http_get(&http, &get("/json/state", "Authorization: Bearer nope\r\n")).await;
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let state = http_get(
        &http,
        &get("/json/state", "Authorization: Bearer secret\r\n"),
    )
    .await;
    assert!(
        state.starts_with("HTTP/1.1 200") && state.contains("\"workers\""),
        "{state}"
    );
    assert!(http_get(&http, &get("/health", "")).await.ends_with("ok"));
    server.stop().await;
}

/// Sends a raw HTTP request to `http://host:port`; returns the whole response.
async fn http_get(http: &str, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(http.strip_prefix("http://").unwrap())
        .await
        .unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut body = String::new();
    timeout(LIMIT, s.read_to_string(&mut body))
        .await
        .unwrap()
        .unwrap();
    body
}

#[tokio::test]
async fn a_stopped_server_releases_its_ports() {
    let server = serve(config(None)).await.unwrap();
    let address = server.address.clone();
    let http = server.http_address.clone().unwrap();
    server.stop().await;
    for target in [
        address.strip_prefix("tcp://").unwrap(),
        http.strip_prefix("http://").unwrap(),
    ] {
        let refused = timeout(LIMIT, async {
            while tokio::net::TcpStream::connect(target).await.is_ok() {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(
            refused.is_ok(),
            "{target} still accepts connections after stop"
        );
    }
}
