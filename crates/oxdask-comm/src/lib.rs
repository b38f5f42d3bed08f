//! Connections between oxdask's scheduler, workers and clients.
//!
//! [`connect`] and [`accept`] open a TCP connection (with TLS on it for `tls://` addresses,
//! mutually authenticated against one CA: [`Tls`]) and exchange handshakes
//! ([`oxdask_protocol::Handshake`]): protocol versions must match, the peer must have the
//! expected role, and, when the acceptor requires a token, the peer must present it — all
//! before a single message (let alone a pickle) is read. The connection then splits into a
//! [`FrameReader`] and a [`Sender`]. The sender hands messages to a writer task that packs
//! everything queued into one frame ([`oxdask_protocol::Batch`]), so a burst of thousands of
//! small messages costs one write, and large buffers go out with a vectored write, uncopied.
//!
//! For a plain `tcp://` address, [`connect`] takes the shortest way to the listener:
//!
//! | listener | registered with | accepted by | transport |
//! |---|---|---|---|
//! | in this process | [`bind_inproc`] | [`accept_inproc`] | an in-memory pipe |
//! | on this machine | [`bind_local`] | [`accept_local`] | a Unix socket; large buffers lent (`lend`) |
//! | elsewhere | — | [`accept`] | TCP |
//!
//! A server listens with a [`Listener`]: its TCP socket plus the shortcuts it asks for, one
//! `accept` for all of them, and [`Incoming::open`] running the handshakes each way needs.
#![warn(missing_docs)]

mod connection;
mod error;
mod huge;
mod inproc;
mod kept;
mod lend;
mod listener;
mod local;
mod peers;
mod recycle;
mod tls;
mod writer;

pub use connection::{
    accept, accept_inproc, accept_local, connect, constant_time_eq, Connection, FrameReader, Peer,
    HANDSHAKE_TIMEOUT,
};
pub use error::{CommError, Result};
pub use huge::{advise_huge, HUGE_FROM};
pub use inproc::{bind as bind_inproc, InprocListener};
pub use kept::Kept;
pub use listener::{Incoming, Listener};
pub use local::{bind as bind_local, borrowed_bytes};
pub use peers::{DataReply, PeerError, PeerPool, Pieces};
pub use recycle::{recycled_bytes, set_limit as limit_recycled};
pub use tls::{PemSource, ServerTlsStream, TemporaryPki, Tls};
pub use writer::{Outgoing, Sender};
