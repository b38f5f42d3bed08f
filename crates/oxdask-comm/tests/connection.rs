//! Connections over loopback: handshake rules, batching, buffers.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::time::Duration;

use bytes::Bytes;
use oxdask_comm::{accept, connect, CommError, Connection};
use oxdask_protocol::{decode_batch, Frame, Hello, Role};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

async fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("tcp://{}", l.local_addr().unwrap());
    (l, addr)
}

fn hello(token: Option<&str>) -> Hello {
    Hello {
        token: token.map(str::to_owned),
        ..Hello::default()
    }
}

/// Accepts one connection on `l` as `me` (hello holding `own_token`), admitting `roles`.
fn accept_one(
    l: TcpListener,
    me: Role,
    own_token: Option<&'static str>,
    roles: &'static [Role],
    token_required: Option<&'static str>,
) -> JoinHandle<Result<Connection, CommError>> {
    tokio::spawn(async move {
        let (stream, _) = l.accept().await.unwrap();
        accept(stream, me, hello(own_token), roles, token_required, None).await
    })
}

/// A raw socket to `addr` that has sent a valid client handshake.
async fn raw_client(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr.strip_prefix("tcp://").unwrap())
        .await
        .unwrap();
    let mut out = bytes::BytesMut::new();
    oxdask_protocol::Handshake::new(Role::Client, hello(None))
        .encode(&mut out)
        .unwrap();
    s.write_all(&out).await.unwrap();
    s
}

async fn pair(
    token_required: Option<&'static str>,
    token_given: Option<&str>,
) -> (Result<Connection, CommError>, Result<Connection, CommError>) {
    let (l, addr) = listener().await;
    let server = accept_one(l, Role::Scheduler, None, &[Role::Client], token_required);
    let client = connect(
        &addr,
        Role::Client,
        hello(token_given),
        Role::Scheduler,
        None,
    )
    .await;
    let server = timeout(LIMIT, server).await.unwrap().unwrap();
    (server, client)
}

#[tokio::test]
async fn messages_and_buffers_arrive_batched() {
    let (server, client) = pair(None, None).await;
    let (mut reader, _s) = server.unwrap().split();
    let (_r, sender) = client.unwrap().split();
    for i in 0..1000u32 {
        assert!(sender.send(("msg", i)));
    }
    let data = Bytes::from(vec![7u8; 1 << 20]);
    assert!(sender.send_buffers(vec![data.clone()], |ix| ("data", ix)));
    let mut got: Vec<(String, u32)> = Vec::new();
    let mut frames = 0;
    let mut buffers = Vec::new();
    while got.len() < 1001 {
        let frame = timeout(LIMIT, reader.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        frames += 1;
        got.extend(decode_batch::<(String, u32)>(&frame.payload).unwrap());
        buffers.extend(frame.buffers);
    }
    assert_eq!(got[999], ("msg".to_owned(), 999));
    let (kind, ix) = &got[1000];
    assert_eq!(kind, "data");
    assert_eq!(buffers[*ix as usize], data);
    assert!(frames < 1001, "messages were batched ({frames} frames)");
}

#[tokio::test]
async fn token_is_checked_before_any_message() {
    let (server, client) = pair(Some("s3cret"), Some("wrong")).await;
    assert!(matches!(
        server.unwrap_err(),
        CommError::BadToken { given: true, .. }
    ));
    let told = client.unwrap_err().to_string();
    assert!(told.contains("does not match"), "{told}");
    assert!(
        !told.contains("s3cret"),
        "the secret never travels back: {told}"
    );
    let (server, client) = pair(Some("s3cret"), None).await;
    let err = server.unwrap_err().to_string();
    assert!(err.contains("did not present the required token"), "{err}");
    let told = client.unwrap_err().to_string();
    assert!(
        told.contains("the scheduler refused the connection: authentication failed: this scheduler requires a token"),
        "{told}"
    );
    let (server, _client) = pair(Some("s3cret"), Some("s3cret")).await;
    assert_eq!(server.unwrap().peer.role, Role::Client);
}

#[tokio::test]
async fn wrong_role_is_refused() {
    let (l, addr) = listener().await;
    let server = accept_one(l, Role::Scheduler, None, &[Role::Worker], None);
    let client = connect(&addr, Role::Client, hello(None), Role::Scheduler, None).await;
    let told = client.unwrap_err().to_string();
    assert!(
        told.contains("the scheduler refused the connection: this scheduler accepts worker"),
        "{told}"
    );
    let err = timeout(LIMIT, server).await.unwrap().unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            CommError::WrongRole {
                got: Role::Client,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn garbage_and_wrong_version_are_refused_with_a_clear_error() {
    let (l, addr) = listener().await;
    let server = tokio::spawn(async move {
        let mut errors = Vec::new();
        for _ in 0..2 {
            let (stream, _) = l.accept().await.unwrap();
            let r = accept(
                stream,
                Role::Scheduler,
                hello(None),
                &[Role::Client],
                None,
                None,
            )
            .await;
            errors.push(r.unwrap_err().to_string());
        }
        errors
    });
    let target = addr.strip_prefix("tcp://").unwrap().to_owned();
    let mut s = TcpStream::connect(&target).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut s2 = TcpStream::connect(&target).await.unwrap();
    let mut wrong = b"OXDASK".to_vec();
    wrong.extend_from_slice(&999u16.to_le_bytes());
    wrong.push(1);
    wrong.extend_from_slice(&0u32.to_le_bytes());
    s2.write_all(&wrong).await.unwrap();
    let errors = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(errors[0].contains("not an oxdask peer"), "{}", errors[0]);
    assert!(errors[1].contains("999"), "{}", errors[1]);
}

#[tokio::test]
async fn connecting_to_a_closed_port_names_the_address() {
    let (l, addr) = listener().await;
    drop(l);
    let err = connect(&addr, Role::Client, hello(None), Role::Scheduler, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&format!("connecting to {addr}")), "{err}");
}

#[tokio::test]
async fn a_refusal_never_carries_the_acceptors_own_token() {
    use tokio::io::AsyncReadExt;
    let (l, addr) = listener().await;
    // A worker's data server: its hello holds the token it presents elsewhere.
    let server = accept_one(
        l,
        Role::Worker,
        Some("s3cret"),
        &[Role::Client],
        Some("s3cret"),
    );
    let mut s = raw_client(&addr).await;
    let mut answer = Vec::new();
    timeout(LIMIT, s.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(timeout(LIMIT, server).await.unwrap().unwrap().is_err());
    let text = String::from_utf8_lossy(&answer);
    assert!(text.contains("requires a token"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

/// What a scheduler's frame reader makes of `bytes`, written by a raw client after its
/// handshake (the client then closes its side).
async fn read_raw(bytes: &[u8]) -> Result<Option<Frame>, CommError> {
    let (l, addr) = listener().await;
    let accepted = accept_one(l, Role::Scheduler, None, &[Role::Client], None);
    let server = tokio::spawn(async move {
        let (mut reader, _sender) = accepted.await.unwrap().unwrap().split();
        timeout(LIMIT, reader.next()).await.unwrap()
    });
    let mut s = raw_client(&addr).await;
    s.write_all(bytes).await.unwrap();
    s.shutdown().await.unwrap();
    timeout(LIMIT, server).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_large_declared_frame_cut_short_is_an_error_not_a_wait() {
    let mut out = bytes::BytesMut::new();
    // Within the limits (a 3 GiB buffer), but only 1 MiB of it ever arrives.
    oxdask_protocol::encode_header(0, &[3 << 30], &mut out).unwrap();
    out.extend_from_slice(&vec![0u8; 1 << 20]);
    let outcome = read_raw(&out).await;
    assert!(matches!(outcome, Err(CommError::Closed)), "{outcome:?}");
}

#[tokio::test]
async fn a_peer_by_tcp_can_neither_lend_buffers_nor_send_control_frames() {
    // Lent buffers (addresses in the sender's memory) are only for a same-machine peer that
    // was offered them: from anyone else they are an error, never a read of some memory.
    let lent = Frame::new(Bytes::from_static(b"x"), vec![Bytes::from(vec![1u8; 64])]);
    let (lent, _kept) = lent.into_chunks_lending(1).unwrap();
    let control = vec![Bytes::from_static(&[2, 0, 0, 0, 0, 0, 0, 0, 0xc1, 1])];
    for chunks in [lent, control] {
        let outcome = read_raw(&chunks.concat()).await;
        assert!(
            matches!(&outcome, Err(CommError::Io { source, .. }) if source.kind() == std::io::ErrorKind::InvalidData),
            "{outcome:?}"
        );
    }
}

#[tokio::test]
async fn large_frames_arrive_whole_and_reuse_the_buffers_of_dropped_ones() {
    let (server, client) = pair(None, None).await;
    let (mut reader, _s) = server.unwrap().split();
    let (_r, sender) = client.unwrap().split();
    let mut previous: Option<usize> = None;
    let mut reused = 0;
    for round in 0..4u8 {
        // 24 MiB and a little more each time, with small messages around it
        let big: Vec<u8> = (0..(24 << 20) + usize::from(round))
            .map(|i| (i % 251) as u8 ^ round)
            .collect();
        let data = Bytes::from(big);
        assert!(sender.send(("before", u32::from(round))));
        assert!(
            sender.send_buffers(vec![data.clone(), Bytes::from_static(b"tail")], |ix| (
                "data", ix
            ))
        );
        assert!(sender.send(("after", u32::from(round))));
        let mut got: Vec<(String, u32)> = Vec::new();
        let mut buffers = Vec::new();
        while got.len() < 3 {
            let frame = timeout(LIMIT, reader.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            got.extend(decode_batch::<(String, u32)>(&frame.payload).unwrap());
            buffers.extend(frame.buffers);
        }
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["before", "data", "after"]);
        let ix = got[1].1 as usize;
        assert_eq!(buffers[ix], data, "round {round}");
        assert_eq!(&buffers[ix + 1][..], b"tail");
        let at = buffers[ix].as_ptr() as usize;
        if previous.is_some_and(|p| at.abs_diff(p) < 4096) {
            reused += 1;
        }
        previous = Some(at);
        drop(buffers); // the frame's buffer goes back to be recycled
    }
    assert!(
        reused >= 2,
        "later frames reused the first one's buffer ({reused})"
    );
    assert!(oxdask_comm::recycled_bytes() >= 24 << 20);
}
