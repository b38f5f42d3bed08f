//! TLS connections over loopback, with certificates generated for each test.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::time::Duration;

use bytes::Bytes;
use oxdask_comm::{accept, connect, CommError, Connection, TemporaryPki, Tls};
use oxdask_protocol::{decode_batch, Hello, Role};
use tokio::net::TcpListener;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(15);

fn hello(token: Option<&str>) -> Hello {
    Hello {
        token: token.map(str::to_owned),
        ..Hello::default()
    }
}

/// One accepted connection on a fresh loopback listener, with the server's settings, and the
/// client's attempt with its own; the address scheme is the client's choice.
async fn attempt(
    server_tls: Option<Tls>,
    client_tls: Option<Tls>,
    scheme: &str,
    token: Option<&'static str>,
) -> (Result<Connection, CommError>, Result<Connection, CommError>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("{scheme}://{}", l.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = l.accept().await.unwrap();
        accept(
            stream,
            Role::Scheduler,
            hello(None),
            &[Role::Client],
            token,
            server_tls.as_ref(),
        )
        .await
    });
    let client = timeout(
        LIMIT,
        connect(
            &addr,
            Role::Client,
            hello(None),
            Role::Scheduler,
            client_tls.as_ref(),
        ),
    )
    .await
    .expect("connect never hangs");
    let server = timeout(LIMIT, server)
        .await
        .expect("accept never hangs")
        .unwrap();
    (server, client)
}

#[tokio::test]
async fn mutual_tls_carries_messages_and_buffers() {
    let tls = TemporaryPki::generate().unwrap().tls().unwrap();
    let (server, client) = attempt(Some(tls.clone()), Some(tls), "tls", None).await;
    let server = server.unwrap();
    let client = client.unwrap();
    assert!(server.peer.address.starts_with("tls://127.0.0.1:"));
    assert!(client.peer.address.starts_with("tls://127.0.0.1:"));
    let (mut reader, _s) = server.split();
    let (_r, sender) = client.split();
    let data = Bytes::from(vec![3u8; 3 << 20]);
    for i in 0..100u32 {
        assert!(sender.send(("msg", i)));
    }
    assert!(sender.send_buffers(vec![data.clone()], |ix| ("data", ix)));
    let mut got: Vec<(String, u32)> = Vec::new();
    let mut buffers = Vec::new();
    while got.len() < 101 {
        let frame = timeout(LIMIT, reader.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        got.extend(decode_batch::<(String, u32)>(&frame.payload).unwrap());
        buffers.extend(frame.buffers);
    }
    assert_eq!(got[99], ("msg".to_owned(), 99));
    assert_eq!(buffers[got[100].1 as usize], data);
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let ours = TemporaryPki::generate().unwrap();
    let theirs = TemporaryPki::generate().unwrap();
    let (server, client) = attempt(
        Some(ours.tls().unwrap()),
        Some(theirs.tls().unwrap()),
        "tls",
        None,
    )
    .await;
    let server = server.unwrap_err();
    assert!(matches!(server, CommError::TlsHandshake { .. }), "{server}");
    let client = client.unwrap_err().to_string();
    assert!(client.contains("TLS handshake failed"), "{client}");
}

#[tokio::test]
async fn a_client_without_a_certificate_of_the_ca_cannot_pose_as_one() {
    // The client trusts the server's CA but presents a certificate of another CA.
    let ours = TemporaryPki::generate().unwrap();
    let other = TemporaryPki::generate().unwrap();
    let client_tls = Tls::from_strings(&ours.ca, &other.cert, Some(&other.key)).unwrap();
    let (server, client) = attempt(Some(ours.tls().unwrap()), Some(client_tls), "tls", None).await;
    assert!(server.is_err());
    assert!(client.is_err());
}

#[tokio::test]
async fn tls_client_to_a_plain_server_fails_clearly() {
    let tls = TemporaryPki::generate().unwrap().tls().unwrap();
    let (server, client) = attempt(None, Some(tls), "tls", None).await;
    let server = server.unwrap_err();
    assert!(
        matches!(server, CommError::UnexpectedTls { .. }),
        "{server}"
    );
    let client = client.unwrap_err().to_string();
    assert!(
        client.contains("TLS handshake failed") && client.contains("did not answer with TLS"),
        "{client}"
    );
}

#[tokio::test]
async fn plain_client_to_a_tls_server_is_told_to_use_tls() {
    let tls = TemporaryPki::generate().unwrap().tls().unwrap();
    let (server, client) = attempt(Some(tls), None, "tcp", None).await;
    let server = server.unwrap_err();
    assert!(matches!(server, CommError::ExpectedTls { .. }), "{server}");
    let client = client.unwrap_err().to_string();
    assert!(
        client.contains("the scheduler refused the connection: this scheduler requires TLS"),
        "{client}"
    );
}

#[tokio::test]
async fn tls_address_without_settings_is_an_error_before_connecting() {
    let err = connect(
        "tls://127.0.0.1:1",
        Role::Client,
        hello(None),
        Role::Scheduler,
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CommError::TlsNotConfigured { .. }), "{err}");
}

#[tokio::test]
async fn token_is_checked_inside_tls() {
    let tls = TemporaryPki::generate().unwrap().tls().unwrap();
    let (server, client) = attempt(Some(tls.clone()), Some(tls), "tls", Some("s3cret")).await;
    assert!(matches!(
        server.unwrap_err(),
        CommError::BadToken { given: false, .. }
    ));
    let told = client.unwrap_err().to_string();
    assert!(told.contains("requires a token"), "{told}");
}
