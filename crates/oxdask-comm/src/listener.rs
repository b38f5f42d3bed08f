//! A listening endpoint: its TCP (or TLS) socket and the shortcuts beside it.
//!
//! A [`Listener`] accepts on its TCP socket and, when asked, on the shortcuts that
//! [`crate::connect`] prefers for its address: pipes from this process
//! ([`Listener::with_pipes`]) and the same-machine Unix socket ([`Listener::with_unix_socket`]).
//! Whatever the way in, [`Incoming::open`] runs the handshakes the way requires, so servers
//! have one accept loop.

use std::net::SocketAddr;

use oxdask_protocol::{Hello, Role};
use tokio::io::DuplexStream;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use crate::inproc::InprocListener;
use crate::tls::Tls;
use crate::{accept, accept_inproc, accept_local, Connection, Result};

/// A server's endpoint; see the module docs.
#[derive(Debug)]
pub struct Listener {
    tcp: TcpListener,
    address: String,
    tls: Option<Tls>,
    pipes: Option<InprocListener>,
    unix: Option<UnixListener>,
}

/// A connection accepted by a [`Listener`], before its handshakes.
#[derive(Debug)]
pub enum Incoming {
    /// By TCP (TLS on it when the listener has TLS settings), from this address.
    Tcp(TcpStream, SocketAddr, Option<Tls>),
    /// By the same-machine Unix socket.
    Unix(UnixStream),
    /// By a pipe from this process.
    Pipe(DuplexStream),
}

impl Listener {
    /// Listens on `tcp`; with `tls`, for `tls://` connections.
    pub fn new(tcp: TcpListener, tls: Option<Tls>) -> std::io::Result<Self> {
        let scheme = if tls.is_some() { "tls" } else { "tcp" };
        let address = format!("{scheme}://{}", tcp.local_addr()?);
        Ok(Self {
            tcp,
            address,
            tls,
            pipes: None,
            unix: None,
        })
    }

    /// `tcp://host:port` (or `tls://`) that peers connect to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Also takes pipes from this process (plain TCP addresses only).
    #[must_use]
    pub fn with_pipes(mut self) -> Self {
        self.pipes = crate::inproc::bind(&self.address);
        self
    }

    /// Also takes connections on the same-machine Unix socket (plain TCP addresses only).
    #[must_use]
    pub fn with_unix_socket(mut self) -> Self {
        self.unix = crate::local::bind(&self.address);
        self
    }

    /// The next connection, by whichever way it came.
    ///
    /// # Errors
    ///
    /// Accepting on the TCP socket failed (out of file descriptors, typically).
    pub async fn accept(&mut self) -> std::io::Result<Incoming> {
        let Self {
            tcp,
            tls,
            pipes,
            unix,
            ..
        } = self;
        let pipe = async {
            match pipes {
                Some(pipes) => pipes.accept().await,
                None => std::future::pending().await,
            }
        };
        let local = async {
            match unix {
                Some(unix) => unix
                    .accept()
                    .await
                    .map(|(stream, _)| Incoming::Unix(stream)),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            accepted = tcp.accept() => {
                accepted.map(|(stream, addr)| Incoming::Tcp(stream, addr, tls.clone()))
            }
            Some(pipe) = pipe => Ok(Incoming::Pipe(pipe)),
            accepted = local => accepted,
        }
    }
}

impl Incoming {
    /// Runs the handshakes of this way in (see [`accept`]): the connection, or why the peer
    /// was refused.
    pub async fn open(
        self,
        role: Role,
        hello: Hello,
        allowed: &'static [Role],
        token: Option<String>,
    ) -> Result<Connection> {
        let token = token.as_deref();
        match self {
            Incoming::Tcp(stream, _, tls) => {
                accept(stream, role, hello, allowed, token, tls.as_ref()).await
            }
            Incoming::Unix(stream) => accept_local(stream, role, hello, allowed, token).await,
            Incoming::Pipe(pipe) => accept_inproc(pipe, role, hello, allowed, token).await,
        }
    }

    /// Where it came from, for logs.
    pub fn origin(&self) -> String {
        match self {
            Incoming::Tcp(_, addr, _) => addr.to_string(),
            Incoming::Unix(_) => "this machine".into(),
            Incoming::Pipe(_) => "this process".into(),
        }
    }
}
