//! Errors of connections.

use oxdask_protocol::{ProtocolError, Role};

/// What can go wrong on a connection.
#[derive(Debug, thiserror::Error)]
pub enum CommError {
    /// Could not reach or talk to the peer.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, e.g. `connecting to tcp://127.0.0.1:8786`.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The peer broke the protocol (bad magic, version mismatch, oversized frame...).
    #[error("{context}: {source}")]
    Protocol {
        /// Which peer.
        context: String,
        /// What was wrong.
        #[source]
        source: ProtocolError,
    },
    /// The peer is not the kind of peer expected here.
    #[error("{context}: expected a {expected:?} peer, got a {got:?}")]
    WrongRole {
        /// Which peer.
        context: String,
        /// Roles accepted here.
        expected: Vec<Role>,
        /// Role the peer announced.
        got: Role,
    },
    /// The peer did not present the shared secret this endpoint requires.
    #[error("{context}: authentication failed: the peer did not present the required token")]
    BadToken {
        /// Which peer.
        context: String,
    },
    /// The handshake did not complete in time.
    #[error("{context}: timed out waiting for the handshake")]
    Timeout {
        /// Which peer.
        context: String,
    },
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
}

/// Result type of this crate.
pub type Result<T, E = CommError> = std::result::Result<T, E>;
