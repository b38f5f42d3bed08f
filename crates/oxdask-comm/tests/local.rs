//! The same-machine shortcut: a listener's Unix socket, preferred by `connect`.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test
#![cfg(target_os = "linux")]

use std::time::Duration;

use bytes::Bytes;
use oxdask_comm::{accept_local, bind_local, connect, CommError, Connection, Listener};
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

/// A TCP listener and the Unix socket beside it; the TCP address.
async fn listeners() -> (TcpListener, tokio::net::UnixListener, String) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("tcp://{}", tcp.local_addr().unwrap());
    let local = bind_local(&addr).expect("a Unix socket beside the TCP listener");
    (tcp, local, addr)
}

/// Accepts one connection on `local` as a worker requiring the token "s3cret".
fn accept_one(
    local: tokio::net::UnixListener,
) -> tokio::task::JoinHandle<Result<Connection, CommError>> {
    tokio::spawn(async move {
        let (stream, _) = local.accept().await.unwrap();
        let token = Some("s3cret");
        accept_local(stream, Role::Worker, hello(None), &[Role::Client], token).await
    })
}

/// A worker listening on TCP and on the Unix socket beside it (requiring the token "s3cret"),
/// and a client connecting to the TCP address with `token`: what each end got, and the TCP
/// listener (which should have seen nothing).
async fn pair(
    token: &str,
) -> (
    Result<Connection, CommError>,
    Result<Connection, CommError>,
    TcpListener,
    String,
) {
    let (tcp, local, addr) = listeners().await;
    let server = accept_one(local);
    let client = connect(&addr, Role::Client, hello(Some(token)), Role::Worker, None).await;
    let server = timeout(LIMIT, server).await.unwrap().unwrap();
    (server, client, tcp, addr)
}

#[tokio::test]
async fn a_tcp_address_is_reached_through_the_unix_socket_beside_it() {
    let (server, client, tcp, addr) = pair("s3cret").await;
    let (server, client) = (server.unwrap(), client.unwrap());
    assert_eq!(
        client.peer.address, addr,
        "reported under the address asked for"
    );
    assert_eq!(server.peer.address, "local");
    // Nothing came by TCP.
    assert!(timeout(Duration::from_millis(100), tcp.accept())
        .await
        .is_err());

    let (mut reader, _s) = server.split();
    let (_r, sender) = client.split();
    let data = Bytes::from(vec![7u8; 20 << 20]);
    assert!(sender.send_buffers(vec![data.clone()], |ix| ("data", ix)));
    let frame = timeout(LIMIT, reader.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let msgs: Vec<(String, u32)> = decode_batch(&frame.payload).unwrap();
    assert_eq!(msgs, vec![("data".to_owned(), 0)]);
    assert_eq!(frame.buffers[0], data);
}

#[tokio::test]
async fn the_token_is_checked_on_the_unix_socket_too() {
    let (server, client, _tcp, _addr) = pair("wrong").await;
    assert!(
        matches!(client, Err(CommError::Refused { .. })),
        "{client:?}"
    );
    assert!(
        matches!(server, Err(CommError::BadToken { .. })),
        "{server:?}"
    );
}

#[tokio::test]
async fn without_a_unix_socket_the_connection_goes_by_tcp() {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("tcp://{}", tcp.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = tcp.accept().await.unwrap();
        oxdask_comm::accept(
            stream,
            Role::Worker,
            hello(None),
            &[Role::Client],
            None,
            None,
        )
        .await
    });
    let client = connect(&addr, Role::Client, hello(None), Role::Worker, None).await;
    assert!(client.is_ok(), "{client:?}");
    let server = timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
    assert!(server.peer.address.starts_with("tcp://127.0.0.1:"));
}

#[tokio::test]
async fn a_name_is_free_again_once_its_listener_is_dropped() {
    let (_tcp, local, addr) = listeners().await;
    assert!(bind_local(&addr).is_none(), "a name has one listener");
    drop(local);
    assert!(bind_local(&addr).is_some());
    assert!(
        bind_local("tls://127.0.0.1:1").is_none(),
        "TLS addresses take no shortcut"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_buffers_are_lent_and_copied_from_the_senders_memory() {
    let (server, client, _tcp, _addr) = pair("s3cret").await;
    let (mut server_reader, server_sender) = server.unwrap().split();
    let (mut client_reader, client_sender) = client.unwrap().split();

    // A first exchange: each side has read the other's offer to read lent buffers by now.
    assert!(client_sender.send(("hello", 0)));
    timeout(LIMIT, server_reader.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(server_sender.send(("hi", 0)));
    timeout(LIMIT, client_reader.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let big = Bytes::from(
        (0..24u32 << 20)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let small = Bytes::from_static(b"small");
    assert!(client_sender.send_buffers(vec![big.clone(), small.clone()], |ix| ("data", ix)));
    let frame = timeout(LIMIT, server_reader.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(frame.buffers, vec![big.clone(), small]);
    assert!(frame.lent.is_empty());
    assert_eq!(
        client_sender.lent_bytes(),
        big.len(),
        "lent until the receiver is done"
    );
    // The receiver's "done" reaches the sender's reader, which lets go of the buffer.
    let _ = timeout(Duration::from_millis(300), client_reader.next()).await;
    assert_eq!(client_sender.lent_bytes(), 0);
}

#[tokio::test]
async fn a_listener_takes_the_shortest_way_in_it_offers() {
    for pipes in [false, true] {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut listener = Listener::new(tcp, None).unwrap().with_unix_socket();
        if pipes {
            listener = listener.with_pipes();
        }
        let addr = listener.address().to_owned();
        let client = tokio::spawn(async move {
            connect(&addr, Role::Client, hello(None), Role::Worker, None).await
        });
        let incoming = timeout(LIMIT, listener.accept()).await.unwrap().unwrap();
        let (expected, origin) = if pipes {
            ("inproc", "this process")
        } else {
            ("local", "this machine")
        };
        assert_eq!(incoming.origin(), origin);
        let conn = incoming
            .open(Role::Worker, hello(None), &[Role::Client], None)
            .await
            .unwrap();
        assert_eq!(conn.peer.address, expected);
        timeout(LIMIT, client).await.unwrap().unwrap().unwrap();
    }
}
