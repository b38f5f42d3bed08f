//! Opening connections: TCP, then handshakes in both directions.

use std::time::Duration;

use bytes::BytesMut;
use oxdask_protocol::{Frame, FrameDecoder, Handshake, Hello, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::writer::{spawn_writer, Sender};
use crate::{CommError, Result};

/// How long a peer has to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Who is on the other end, as it introduced itself.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The peer's role.
    pub role: Role,
    /// The peer's hello (name, software); the token is never kept.
    pub name: Option<String>,
    /// The peer's software string, for logs.
    pub software: String,
    /// The socket address of the peer.
    pub address: String,
}

/// An open, authenticated connection.
#[derive(Debug)]
pub struct Connection {
    /// Who is on the other end.
    pub peer: Peer,
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    buffered: BytesMut,
}

impl Connection {
    /// Splits into a frame reader and a batching sender (which spawns its writer task on the
    /// current tokio runtime).
    pub fn split(self) -> (FrameReader, Sender) {
        let reader = FrameReader {
            half: self.reader,
            buf: self.buffered,
            decoder: FrameDecoder::default(),
            context: format!("peer {}", self.peer.address),
        };
        (reader, spawn_writer(self.writer))
    }
}

/// Reads whole frames from a connection.
#[derive(Debug)]
pub struct FrameReader {
    half: OwnedReadHalf,
    buf: BytesMut,
    decoder: FrameDecoder,
    context: String,
}

impl FrameReader {
    /// The next frame; `Ok(None)` when the peer closed the connection cleanly.
    pub async fn next(&mut self) -> Result<Option<Frame>> {
        loop {
            let frame =
                self.decoder
                    .decode(&mut self.buf)
                    .map_err(|source| CommError::Protocol {
                        context: self.context.clone(),
                        source,
                    })?;
            if let Some(frame) = frame {
                return Ok(Some(frame));
            }
            // Once the header is known (and its lengths checked against the limits), make room
            // for the whole frame at once: growing a large receive buffer step by step would
            // copy it again at every step.
            match self.decoder.body_len() {
                Some(need) => self.buf.reserve(need.saturating_sub(self.buf.len())),
                None => self.buf.reserve(64 << 10),
            }
            let n = self
                .half
                .read_buf(&mut self.buf)
                .await
                .map_err(|source| CommError::Io {
                    context: self.context.clone(),
                    source,
                })?;
            if n == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(CommError::Closed)
                };
            }
        }
    }
}

/// Connects to `address` (`tcp://host:port` or `host:port`) as `role`, expecting a peer of
/// `expect` role.
pub async fn connect(address: &str, role: Role, hello: Hello, expect: Role) -> Result<Connection> {
    let target = address.strip_prefix("tcp://").unwrap_or(address);
    let context = format!("connecting to {address}");
    let stream = TcpStream::connect(target)
        .await
        .map_err(|source| CommError::Io {
            context: context.clone(),
            source,
        })?;
    handshake(stream, role, hello, &[expect], None, context).await
}

/// Completes the handshake on an accepted stream: the peer must have one of the `allowed`
/// roles and, if `token` is set, present it.
pub async fn accept(
    stream: TcpStream,
    role: Role,
    hello: Hello,
    allowed: &[Role],
    token: Option<&str>,
) -> Result<Connection> {
    let context = match stream.peer_addr() {
        Ok(a) => format!("peer {a}"),
        Err(_) => "peer".to_owned(),
    };
    handshake(stream, role, hello, allowed, token, context).await
}

async fn handshake(
    stream: TcpStream,
    role: Role,
    hello: Hello,
    allowed: &[Role],
    token: Option<&str>,
    context: String,
) -> Result<Connection> {
    stream.set_nodelay(true).map_err(|source| CommError::Io {
        context: context.clone(),
        source,
    })?;
    let address = stream
        .peer_addr()
        .map(|a| format!("tcp://{a}"))
        .unwrap_or_default();
    let (mut reader, mut writer) = stream.into_split();
    let mut out = BytesMut::new();
    Handshake::new(role, hello)
        .encode(&mut out)
        .map_err(|source| CommError::Protocol {
            context: context.clone(),
            source,
        })?;
    let io = |source| CommError::Io {
        context: context.clone(),
        source,
    };
    writer.write_all(&out).await.map_err(io)?;
    let mut buf = BytesMut::with_capacity(1024);
    let theirs = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
        loop {
            if let Some(h) = Handshake::decode(&mut buf).map_err(|source| CommError::Protocol {
                context: context.clone(),
                source,
            })? {
                return Ok(h);
            }
            let n = reader
                .read_buf(&mut buf)
                .await
                .map_err(|source| CommError::Io {
                    context: context.clone(),
                    source,
                })?;
            if n == 0 {
                return Err(CommError::Closed);
            }
        }
    })
    .await
    .map_err(|_| CommError::Timeout {
        context: context.clone(),
    })??;
    if !allowed.contains(&theirs.role) {
        return Err(CommError::WrongRole {
            context,
            expected: allowed.to_vec(),
            got: theirs.role,
        });
    }
    if let Some(required) = token {
        if theirs.hello.token.as_deref() != Some(required) {
            return Err(CommError::BadToken { context });
        }
    }
    Ok(Connection {
        peer: Peer {
            role: theirs.role,
            name: theirs.hello.name,
            software: theirs.hello.software,
            address,
        },
        reader,
        writer,
        buffered: buf,
    })
}
