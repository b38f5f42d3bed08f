//! Opening connections: TCP (optionally TLS on it), a Unix socket on one machine or a pipe in
//! one process (see the crate docs), then the oxdask handshake; reading frames, with the
//! lent buffers of a same-machine peer copied in (see [`crate::lend`]).
//!
//! ```text
//!  connect(tls://a)                         accept (endpoint with TLS)
//!   TCP connect ─────────────────────────►  peek first byte: "O" = plain oxdask peer ─► refuse
//!   TLS handshake (CA-signed both ways) ◄─► TLS handshake
//!   send Handshake ──────────────────────►  read Handshake: version, role, token
//!   read Handshake ◄──────────────────────  answer: our Handshake (refused: why, then close)
//! ```
//!
//! Everything up to the accepted handshake is bounded by [`HANDSHAKE_TIMEOUT`]; nothing the
//! peer sends is read as a message (let alone unpickled) before its token has been checked.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use oxdask_protocol::{Frame, FrameDecoder, Handshake, Hello, ProtocolError, Role};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::mpsc::WeakUnboundedSender;

use crate::inproc;
use crate::lend::{Control, Lending};
use crate::local;
use crate::recycle;
use crate::tls::Tls;
use crate::writer::{spawn_writer, Item, Sender};
use crate::{CommError, Result};

/// How long a peer has to complete the TLS and oxdask handshakes.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long opening the TCP connection itself may take.
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a refusing acceptor waits for the peer to read its answer and close.
const LINGER: Duration = Duration::from_secs(1);
/// How much receive buffer a frame reader reserves ahead of the bytes that have arrived (or, once
/// more than this has arrived, as much again as has arrived: the buffer doubles). A length
/// prefix alone thus never makes the reader allocate more than this; a frame that really is
/// larger costs a few reallocations (each copying what has arrived).
const RESERVE_AHEAD: usize = 64 << 20;

pub(crate) type BoxedRead = Box<dyn AsyncRead + Send + Unpin>;
pub(crate) type BoxedWrite = Box<dyn AsyncWrite + Send + Unpin>;

/// Who is on the other end, as it introduced itself.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The peer's role.
    pub role: Role,
    /// The peer's hello (name, software); the token is never kept.
    pub name: Option<String>,
    /// The peer's software string, for logs.
    pub software: String,
    /// The socket address of the peer, `tcp://ip:port` or `tls://ip:port`.
    pub address: String,
}

/// An open, authenticated connection (plain TCP or TLS).
pub struct Connection {
    /// Who is on the other end.
    pub peer: Peer,
    reader: BoxedRead,
    writer: BoxedWrite,
    buffered: BytesMut,
    /// For a connection between processes of one machine (see [`crate::lend`]).
    lending: Option<Arc<Lending>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Splits into a frame reader and a batching sender (which spawns its writer task on the
    /// current tokio runtime).
    pub fn split(self) -> (FrameReader, Sender) {
        let sender = spawn_writer(self.writer, self.lending.clone());
        if let Some(lending) = &self.lending {
            if local::can_read(lending.peer) {
                let _ = sender.tx_control(Control::ReadsLent);
            }
        }
        let reader = FrameReader {
            half: self.reader,
            buf: self.buffered,
            large: None,
            decoder: FrameDecoder::default(),
            context: format!("peer {}", self.peer.address),
            lending: self.lending,
            control: sender.downgrade(),
            copying: None,
        };
        (reader, sender)
    }
}

/// A frame whose lent buffers are being copied from the sender, on a blocking thread.
type Copying = (
    Frame,
    tokio::task::JoinHandle<std::io::Result<Vec<(usize, Bytes)>>>,
);

/// Reads whole frames from a connection.
pub struct FrameReader {
    half: BoxedRead,
    buf: BytesMut,
    /// The body of a large frame being read into a buffer of its own (see [`crate::recycle`]),
    /// and its length; kept here so that a cancelled `next` loses nothing.
    large: Option<(Vec<u8>, usize)>,
    decoder: FrameDecoder,
    context: String,
    lending: Option<Arc<Lending>>,
    /// The writer of the same connection, for control frames.
    control: WeakUnboundedSender<Item>,
    /// Kept here, like `large`, so that a cancelled `next` loses nothing.
    copying: Option<Copying>,
}

impl fmt::Debug for FrameReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameReader")
            .field("context", &self.context)
            .field("buffered", &self.buf.len())
            .field(
                "large",
                &self.large.as_ref().map(|(b, need)| (b.len(), *need)),
            )
            .finish_non_exhaustive()
    }
}

impl FrameReader {
    /// The next frame; `Ok(None)` when the peer closed the connection cleanly.
    ///
    /// A frame whose header breaks the protocol's [`oxdask_protocol::Limits`] is an error as
    /// soon as the header arrives; the connection must then be closed.
    pub async fn next(&mut self) -> Result<Option<Frame>> {
        loop {
            if self.copying.is_some() {
                return self.finish_copy().await.map(Some);
            }
            if self.large.is_some() {
                if let Some(frame) = self.read_large().await? {
                    if let Some(frame) = self.received(frame)? {
                        return Ok(Some(frame));
                    }
                }
                continue;
            }
            let frame =
                self.decoder
                    .decode(&mut self.buf)
                    .map_err(|source| CommError::Protocol {
                        context: self.context.clone(),
                        source,
                    })?;
            if let Some(frame) = frame {
                if let Some(frame) = self.received(frame)? {
                    return Ok(Some(frame));
                }
                continue;
            }
            // Once the header is known (and its lengths checked against the limits), make room
            // for the frame in as few steps as possible: growing a large receive buffer step by
            // step copies it at every step. But reserve at most RESERVE_AHEAD beyond what has
            // arrived, so a declared length is never a reason to allocate by itself.
            match self.decoder.body_len() {
                // A large body goes to a recycled buffer of its own (what already arrived is
                // copied there once), growing as below when the buffer is new.
                Some(need) if need >= recycle::RECYCLE_FROM => {
                    let have = self.buf.len().min(need);
                    let mut body = recycle::take(need, have.max(RESERVE_AHEAD));
                    body.extend_from_slice(&self.buf[..have]);
                    self.buf.advance(have);
                    self.large = Some((body, need));
                    continue;
                }
                Some(need) => {
                    let have = self.buf.len();
                    let ahead = have.max(RESERVE_AHEAD);
                    self.buf
                        .reserve(need.min(have.saturating_add(ahead)).saturating_sub(have));
                }
                None => self.buf.reserve(64 << 10),
            }
            let n = read_some(&mut self.half, &mut self.buf, &self.context).await?;
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

impl FrameReader {
    /// A decoded frame as the application gets it: `None` for a control frame (applied here),
    /// or when its lent buffers are still to be copied (started here, see `finish_copy`).
    fn received(&mut self, mut frame: Frame) -> Result<Option<Frame>> {
        if let Some(control) = Control::parse(&frame.payload) {
            let applied = match (control, &self.lending) {
                (Ok(control), Some(lending)) => lending.apply(control),
                (Ok(_), None) => Err("a control frame from a peer on another machine".into()),
                (Err(e), _) => Err(e),
            };
            return applied.map(|()| None).map_err(|e| self.broken(e));
        }
        if frame.lent.is_empty() {
            return Ok(Some(frame));
        }
        let Some(lending) = &self.lending else {
            return Err(self.broken("lent buffers from a peer on another machine".into()));
        };
        let (pid, lent) = (lending.peer, std::mem::take(&mut frame.lent));
        let job = tokio::task::spawn_blocking(move || {
            lent.into_iter()
                .map(|l| local::read_from(pid, l.addr, l.len).map(|b| (l.index, b)))
                .collect()
        });
        self.copying = Some((frame, job));
        Ok(None)
    }

    /// Waits for the copy of the lent buffers of the frame in `copying`, tells the sender it
    /// may let go of them, and returns the frame.
    async fn finish_copy(&mut self) -> Result<Frame> {
        let (_, job) = self
            .copying
            .as_mut()
            .expect("called with a copy in progress");
        let copied = job.await;
        let (mut frame, _) = self.copying.take().expect("checked above");
        let copied = copied
            .map_err(|e| self.broken(format!("copying lent buffers failed: {e}")))?
            .map_err(|e| self.broken(format!("could not copy lent buffers: {e}")))?;
        for (index, bytes) in copied {
            frame.buffers[index] = bytes;
        }
        if let Some(tx) = self.control.upgrade() {
            let _ = tx.send(Item::Control(Control::Done(1).frame()));
        }
        Ok(frame)
    }

    /// The error for a peer that broke the lending rules.
    fn broken(&self, why: String) -> CommError {
        CommError::Io {
            context: self.context.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, why),
        }
    }
}

/// One read from `half` into `buf`; the number of bytes read (0 at the end of the stream).
async fn read_some(half: &mut BoxedRead, buf: &mut impl BufMut, context: &str) -> Result<usize> {
    half.read_buf(buf).await.map_err(|source| CommError::Io {
        context: context.to_owned(),
        source,
    })
}

impl FrameReader {
    /// Reads more of the large body in progress; the frame once it is complete.
    async fn read_large(&mut self) -> Result<Option<Frame>> {
        let Some((body, need)) = &mut self.large else {
            return Ok(None);
        };
        let need = *need;
        if body.len() < need {
            let have = body.len();
            if have == body.capacity() {
                // Full: at least double (a reallocation copies what arrived, so growing by
                // what each read brought would copy the body over and over).
                let ahead = have.max(RESERVE_AHEAD);
                recycle::grow(body, recycle::rounded(need.min(have.saturating_add(ahead))));
            }
            let room = (body.capacity() - have).min(need - have);
            let mut into = (&mut *body).limit(room);
            let n = read_some(&mut self.half, &mut into, &self.context).await?;
            if n == 0 {
                return Err(CommError::Closed);
            }
            if body.len() < need {
                return Ok(None);
            }
        }
        let (body, _) = self.large.take().expect("checked above");
        self.decoder
            .decode_body(recycle::into_bytes(body))
            .map(Some)
            .map_err(|source| CommError::Protocol {
                context: self.context.clone(),
                source,
            })
    }
}

/// Connects to `address` as `role`, expecting a peer of `expect` role.
///
/// `tls://host:port` connects with TLS (and needs `tls`); `tcp://host:port` or `host:port`
/// connects without. The peer's refusal (missing token, TLS required...) is reported with the
/// reason it gave.
pub async fn connect(
    address: &str,
    role: Role,
    hello: Hello,
    expect: Role,
    tls: Option<&Tls>,
) -> Result<Connection> {
    let context = format!("connecting to {address}");
    let (target, use_tls) = match address.strip_prefix("tls://") {
        Some(rest) => (rest, true),
        None => (address.strip_prefix("tcp://").unwrap_or(address), false),
    };
    let tls = match (use_tls, tls) {
        (true, None) => return Err(CommError::TlsNotConfigured { context }),
        (true, Some(t)) => Some(t),
        (false, _) => None,
    };
    if tls.is_none() {
        // The shortcuts (see the crate docs), reported under the address asked for.
        let asked = || format!("tcp://{target}");
        if let Some(pipe) = inproc::connect(target) {
            return connect_plain(pipe, role, hello, expect, asked(), &context).await;
        }
        if let Some(unix) = local::connect(target) {
            let peer = local::peer_pid(&unix);
            let conn = connect_plain(unix, role, hello, expect, asked(), &context).await?;
            return Ok(conn.lending_with(peer));
        }
    }
    let stream = tokio::time::timeout(TCP_CONNECT_TIMEOUT, TcpStream::connect(target))
        .await
        .map_err(|_| CommError::Timeout {
            context: context.clone(),
        })?
        .map_err(|source| CommError::Io {
            context: context.clone(),
            source,
        })?;
    set_nodelay(&stream, &context)?;
    let address = peer_address(&stream, use_tls);
    let opened = async {
        let (reader, writer) = match tls {
            None => split_tcp(stream),
            Some(tls) => {
                let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                // Names are not checked (see the tls module), but SNI needs a valid one.
                let name = ServerName::try_from(host.to_owned())
                    .unwrap_or_else(|_| ServerName::try_from("localhost").expect("a valid name"));
                let tls_stream = tls
                    .connector()
                    .connect(name, stream)
                    .await
                    .map_err(|source| tls_error(&context, source, true))?;
                split_any(tls_stream)
            }
        };
        connector_handshake(reader, writer, role, hello, expect, &context).await
    };
    finish(opened, address, &context).await
}

/// [`connect`]'s oxdask handshake on a stream without TLS; the peer is reported at `address`.
async fn connect_plain<S>(
    stream: S,
    role: Role,
    hello: Hello,
    expect: Role,
    address: String,
    context: &str,
) -> Result<Connection>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (reader, writer) = split_any(stream);
    let opened = connector_handshake(reader, writer, role, hello, expect, context);
    finish(opened, address, context).await
}

/// The connection once `opened` (the TLS and oxdask handshakes) completes within
/// [`HANDSHAKE_TIMEOUT`]; `address` is the peer's, as it will be reported.
async fn finish(
    opened: impl std::future::Future<Output = Result<Opened>>,
    address: String,
    context: &str,
) -> Result<Connection> {
    let (peer, reader, writer, buffered) = tokio::time::timeout(HANDSHAKE_TIMEOUT, opened)
        .await
        .map_err(|_| CommError::Timeout {
        context: context.to_owned(),
    })??;
    Ok(Connection {
        peer: Peer { address, ..peer },
        reader,
        writer,
        buffered,
        lending: None,
    })
}

impl Connection {
    /// This connection, between processes of one machine, with process `peer` at the other
    /// end (when the kernel said which).
    fn lending_with(mut self, peer: Option<i32>) -> Self {
        self.lending = peer.map(|pid| Arc::new(Lending::new(pid)));
        self
    }
}

/// [`accept`] for a connection to the same-machine Unix socket (see [`crate::bind_local`]):
/// no TLS, and a peer running as another user is refused before any byte is read.
pub async fn accept_local(
    stream: UnixStream,
    role: Role,
    hello: Hello,
    allowed: &[Role],
    token: Option<&str>,
) -> Result<Connection> {
    let context = "a peer on this machine".to_owned();
    if !local::same_user(&stream) {
        return Err(CommError::Io {
            context,
            source: std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the peer runs as another user",
            ),
        });
    }
    let peer = local::peer_pid(&stream);
    let conn = accept_plain(stream, role, hello, allowed, token, "local", &context).await?;
    Ok(conn.lending_with(peer))
}

/// [`accept`] for a pipe from this process (see [`crate::bind_inproc`]).
pub async fn accept_inproc(
    stream: DuplexStream,
    role: Role,
    hello: Hello,
    allowed: &[Role],
    token: Option<&str>,
) -> Result<Connection> {
    let context = "a peer in this process";
    accept_plain(stream, role, hello, allowed, token, "inproc", context).await
}

/// The oxdask handshake, within [`HANDSHAKE_TIMEOUT`], on a stream without TLS; the peer is
/// reported at `address`.
async fn accept_plain<S>(
    stream: S,
    role: Role,
    hello: Hello,
    allowed: &[Role],
    token: Option<&str>,
    address: &str,
    context: &str,
) -> Result<Connection>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let check = Check {
        role,
        allowed,
        token,
    };
    let (reader, writer) = split_any(stream);
    let accepted = acceptor_handshake(reader, writer, hello, &check, false, context);
    finish(accepted, address.into(), context).await
}

/// Completes the handshakes on an accepted stream: TLS first when `tls` is set, then oxdask's,
/// where the peer must have one of the `allowed` roles and, if `token` is set, present it.
///
/// A refused peer is told why before the connection closes.
pub async fn accept(
    stream: TcpStream,
    role: Role,
    hello: Hello,
    allowed: &[Role],
    token: Option<&str>,
    tls: Option<&Tls>,
) -> Result<Connection> {
    let context = match stream.peer_addr() {
        Ok(a) => format!("peer {a}"),
        Err(_) => "peer".to_owned(),
    };
    set_nodelay(&stream, &context)?;
    let address = peer_address(&stream, tls.is_some());
    let check = Check {
        role,
        allowed,
        token,
    };
    let accepted = async {
        let Some(tls) = tls else {
            let (reader, writer) = split_tcp(stream);
            return acceptor_handshake(reader, writer, hello, &check, false, &context).await;
        };
        // A plain oxdask peer starts with the magic's "O"; a TLS client with 0x16 (handshake
        // record). Tell the former in plain words instead of failing its bytes as TLS.
        let mut first = [0u8; 1];
        let n = stream
            .peek(&mut first)
            .await
            .map_err(|source| CommError::Io {
                context: context.clone(),
                source,
            })?;
        if n == 0 {
            return Err(CommError::Closed);
        }
        if first[0] == oxdask_protocol::MAGIC[0] {
            let (reader, writer) = split_tcp(stream);
            return acceptor_handshake(reader, writer, hello, &check, true, &context).await;
        }
        let tls_stream = tls
            .acceptor()
            .accept(stream)
            .await
            .map_err(|source| tls_error(&context, source, false))?;
        let (reader, writer) = split_any(tls_stream);
        acceptor_handshake(reader, writer, hello, &check, false, &context).await
    };
    finish(accepted, address, &context).await
}

/// What an acceptor requires of its peer.
struct Check<'a> {
    role: Role,
    allowed: &'a [Role],
    token: Option<&'a str>,
}

type Opened = (Peer, BoxedRead, BoxedWrite, BytesMut);

async fn connector_handshake(
    mut reader: BoxedRead,
    mut writer: BoxedWrite,
    role: Role,
    hello: Hello,
    expect: Role,
    context: &str,
) -> Result<Opened> {
    write_handshake(&mut writer, Handshake::new(role, hello), context).await?;
    let mut buf = BytesMut::with_capacity(1024);
    let theirs = read_handshake(&mut reader, &mut buf, context)
        .await
        .map_err(|e| match e {
            // The first bytes of a TLS record: a TLS server that dropped our plain bytes.
            CommError::Protocol {
                source: ProtocolError::NotOxdaskPeer { got },
                ..
            } if got.first().is_some_and(|b| (0x14..=0x17).contains(b)) => CommError::Refused {
                context: context.to_owned(),
                peer: expect,
                reason: "it answered with TLS: connect to its tls:// address with TLS \
                             settings"
                    .to_owned(),
            },
            other => other,
        })?;
    if let Some(reason) = theirs.hello.refused {
        return Err(CommError::Refused {
            context: context.to_owned(),
            peer: expect,
            reason,
        });
    }
    if theirs.role != expect {
        return Err(CommError::WrongRole {
            context: context.to_owned(),
            expected: vec![expect],
            got: theirs.role,
        });
    }
    Ok((peer_of(theirs), reader, writer, buf))
}

async fn acceptor_handshake(
    mut reader: BoxedRead,
    mut writer: BoxedWrite,
    hello: Hello,
    check: &Check<'_>,
    require_tls: bool,
    context: &str,
) -> Result<Opened> {
    // An acceptor's own token (a worker's, say) never goes back: the peer has proven it knows
    // the secret, or is being refused for not knowing it.
    let hello = Hello {
        token: None,
        ..hello
    };
    let mut buf = BytesMut::with_capacity(1024);
    let theirs = read_handshake(&mut reader, &mut buf, context).await;
    let verdict = theirs.and_then(|theirs| {
        if require_tls {
            return Err(CommError::ExpectedTls {
                context: context.to_owned(),
            });
        }
        judge(&theirs, check, context).map(|()| theirs)
    });
    match verdict {
        Ok(theirs) => {
            write_handshake(&mut writer, Handshake::new(check.role, hello), context).await?;
            Ok((peer_of(theirs), reader, writer, buf))
        }
        Err(err) => {
            let err = match err {
                CommError::Protocol {
                    source: ProtocolError::NotOxdaskPeer { got },
                    ..
                } if got.first() == Some(&0x16) => CommError::UnexpectedTls {
                    context: context.to_owned(),
                },
                other => other,
            };
            let answer = Hello {
                refused: Some(refusal(&err, check.role)),
                ..hello
            };
            refuse(reader, writer, Handshake::new(check.role, answer)).await;
            Err(err)
        }
    }
}

/// Whether the peer's handshake passes the acceptor's checks.
fn judge(theirs: &Handshake, check: &Check<'_>, context: &str) -> Result<()> {
    if !check.allowed.contains(&theirs.role) {
        return Err(CommError::WrongRole {
            context: context.to_owned(),
            expected: check.allowed.to_vec(),
            got: theirs.role,
        });
    }
    if let Some(required) = check.token {
        let given = theirs.hello.token.as_deref().unwrap_or("");
        if !constant_time_eq(given.as_bytes(), required.as_bytes()) {
            return Err(CommError::BadToken {
                context: context.to_owned(),
                given: theirs.hello.token.is_some(),
            });
        }
    }
    Ok(())
}

/// What the refused peer is told: enough to fix its side, nothing about the secret.
fn refusal(err: &CommError, ours: Role) -> String {
    match err {
        CommError::BadToken { given: false, .. } => format!(
            "authentication failed: this {ours} requires a token and none was given \
             (set OXDASK_TOKEN, or pass the token)"
        ),
        CommError::BadToken { given: true, .. } => {
            format!("authentication failed: the token given does not match this {ours}'s")
        }
        CommError::WrongRole { expected, got, .. } => {
            let expected: Vec<String> = expected.iter().map(Role::to_string).collect();
            format!(
                "this {ours} accepts {} connections, not a {got}",
                expected.join(" or ")
            )
        }
        CommError::ExpectedTls { .. } => format!(
            "this {ours} requires TLS: connect to its tls:// address with TLS settings \
             (a CA file, a certificate and a key)"
        ),
        CommError::Protocol { source, .. } => source.to_string(),
        _ => "the handshake failed".to_owned(),
    }
}

/// Sends the refusal, then gives the peer a moment to read it and close first, so that our
/// close does not reset the connection before the answer is read. Best effort, bounded.
async fn refuse(mut reader: BoxedRead, mut writer: BoxedWrite, answer: Handshake) {
    let linger = async {
        let mut out = BytesMut::new();
        if answer.encode(&mut out).is_err() {
            return;
        }
        if writer.write_all(&out).await.is_err() || writer.flush().await.is_err() {
            return;
        }
        let _ = writer.shutdown().await;
        let mut sink = [0u8; 4096];
        for _ in 0..64 {
            match reader.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, linger).await;
}

async fn write_handshake(writer: &mut BoxedWrite, ours: Handshake, context: &str) -> Result<()> {
    let mut out = BytesMut::new();
    ours.encode(&mut out)
        .map_err(|source| CommError::Protocol {
            context: context.to_owned(),
            source,
        })?;
    let io = |source| CommError::Io {
        context: context.to_owned(),
        source,
    };
    writer.write_all(&out).await.map_err(io)?;
    writer.flush().await.map_err(io)
}

async fn read_handshake(
    reader: &mut BoxedRead,
    buf: &mut BytesMut,
    context: &str,
) -> Result<Handshake> {
    loop {
        if let Some(h) = Handshake::decode(buf).map_err(|source| CommError::Protocol {
            context: context.to_owned(),
            source,
        })? {
            return Ok(h);
        }
        let n = reader.read_buf(buf).await.map_err(|source| CommError::Io {
            context: context.to_owned(),
            source,
        })?;
        if n == 0 {
            return Err(CommError::Closed);
        }
    }
}

fn peer_of(theirs: Handshake) -> Peer {
    Peer {
        role: theirs.role,
        name: theirs.hello.name,
        software: theirs.hello.software,
        address: String::new(),
    }
}

fn tls_error(context: &str, source: std::io::Error, connecting: bool) -> CommError {
    let garbled = source
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::InvalidMessage(_)));
    let hint = match (garbled, connecting) {
        (true, true) => {
            " (the server did not answer with TLS: is it started with TLS settings? \
             A plain server has a tcp:// address)"
        }
        (true, false) => " (the peer does not speak TLS)",
        (false, _) => "",
    };
    CommError::TlsHandshake {
        context: context.to_owned(),
        source,
        hint,
    }
}

fn set_nodelay(stream: &TcpStream, context: &str) -> Result<()> {
    stream.set_nodelay(true).map_err(|source| CommError::Io {
        context: context.to_owned(),
        source,
    })
}

fn peer_address(stream: &TcpStream, tls: bool) -> String {
    let scheme = if tls { "tls" } else { "tcp" };
    stream
        .peer_addr()
        .map(|a| format!("{scheme}://{a}"))
        .unwrap_or_default()
}

fn split_tcp(stream: TcpStream) -> (BoxedRead, BoxedWrite) {
    let (r, w) = stream.into_split();
    (Box::new(r), Box::new(w))
}

fn split_any<S>(stream: S) -> (BoxedRead, BoxedWrite)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (r, w) = tokio::io::split(stream);
    (Box::new(r), Box::new(w))
}

/// Equality whose time does not depend on where the inputs first differ (for secrets).
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret!"));
        assert!(constant_time_eq(b"", b""));
    }
}
