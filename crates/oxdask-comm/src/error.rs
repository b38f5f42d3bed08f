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
        /// Whether the peer presented a (wrong) token at all.
        given: bool,
    },
    /// The accepting side refused us, and said why (missing token, wrong role, TLS required...).
    #[error("{context}: the {peer} refused the connection: {reason}")]
    Refused {
        /// Which peer.
        context: String,
        /// The role we expected of it, e.g. "scheduler".
        peer: Role,
        /// The reason it gave.
        reason: String,
    },
    /// A TLS setting could not be loaded (unreadable file, malformed PEM, key not matching).
    #[error("{item} {origin}: {reason}")]
    TlsConfig {
        /// What was being loaded, e.g. `TLS CA file`.
        item: &'static str,
        /// The path, or `(inline PEM)`.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS handshake failed (untrusted certificate, or the peer does not speak TLS).
    #[error("{context}: TLS handshake failed: {source}{hint}")]
    TlsHandshake {
        /// Which peer.
        context: String,
        /// What rustls reported.
        #[source]
        source: std::io::Error,
        /// A likely cause, when one can be told (may be empty).
        hint: &'static str,
    },
    /// A `tls://` address without TLS settings to use for it.
    #[error("{context}: a tls:// address needs TLS settings (a CA file, a certificate and a key)")]
    TlsNotConfigured {
        /// Which address.
        context: String,
    },
    /// A peer connected without TLS to an endpoint that requires it.
    #[error("{context}: the peer connected without TLS, but this endpoint requires TLS")]
    ExpectedTls {
        /// Which peer.
        context: String,
    },
    /// A peer started a TLS handshake with an endpoint that does not use TLS.
    #[error(
        "{context}: the peer started a TLS handshake, but this endpoint does not use TLS \
         (start it with TLS settings, or connect to its tcp:// address)"
    )]
    UnexpectedTls {
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
