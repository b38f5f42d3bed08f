//! Connections inside one process: a registered listener is reached through a pipe.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::time::Duration;

use oxdask_comm::{accept, accept_inproc, bind_inproc, connect, CommError};
use oxdask_protocol::{decode_batch, Hello, Role};
use tokio::net::TcpListener;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

fn hello(token: Option<&str>) -> Hello {
    Hello {
        token: token.map(str::to_owned),
        ..Hello::default()
    }
}

#[tokio::test]
async fn a_registered_address_is_reached_through_a_pipe_then_by_tcp_once_dropped() {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("tcp://{}", tcp.local_addr().unwrap());
    let mut pipes = bind_inproc(&addr).unwrap();
    assert!(bind_inproc(&addr).is_none(), "an address has one listener");
    assert!(
        bind_inproc("tls://127.0.0.1:1").is_none(),
        "TLS addresses take no pipe"
    );

    let server = tokio::spawn(async move {
        let pipe = pipes.accept().await.unwrap();
        let conn = accept_inproc(
            pipe,
            Role::Scheduler,
            hello(None),
            &[Role::Client],
            Some("t"),
        )
        .await
        .unwrap();
        (conn, pipes)
    });
    let client = connect(&addr, Role::Client, hello(Some("t")), Role::Scheduler, None)
        .await
        .unwrap();
    let (server, pipes) = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(server.peer.address, "inproc");
    let (mut reader, _s) = server.split();
    let (_r, sender) = client.split();
    assert!(sender.send(("hello", 1u32)));
    let frame = timeout(LIMIT, reader.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let msgs: Vec<(String, u32)> = decode_batch(&frame.payload).unwrap();
    assert_eq!(msgs, vec![("hello".to_owned(), 1)]);

    // A wrong token is refused on a pipe as on a socket.
    let mut pipes = pipes;
    let server = tokio::spawn(async move {
        let pipe = pipes.accept().await.unwrap();
        let r = accept_inproc(
            pipe,
            Role::Scheduler,
            hello(None),
            &[Role::Client],
            Some("t"),
        )
        .await;
        (r.map(|_| ()), pipes)
    });
    let refused = connect(&addr, Role::Client, hello(Some("x")), Role::Scheduler, None).await;
    assert!(
        matches!(refused, Err(CommError::Refused { .. })),
        "{refused:?}"
    );
    let (accepted, pipes) = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(matches!(accepted, Err(CommError::BadToken { .. })));

    drop(pipes);
    let server = tokio::spawn(async move {
        let (stream, _) = tcp.accept().await.unwrap();
        accept(
            stream,
            Role::Scheduler,
            hello(None),
            &[Role::Client],
            None,
            None,
        )
        .await
    });
    connect(&addr, Role::Client, hello(None), Role::Scheduler, None)
        .await
        .unwrap();
    let by_tcp = timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
    assert!(by_tcp.peer.address.starts_with("tcp://127.0.0.1:"));
}
