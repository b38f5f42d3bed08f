//! What can go wrong talking to the scheduler or a worker.

use oxdask_comm::PeerError;

/// A failed client operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The connection could not be opened, is closed, or was lost.
    #[error("{0}")]
    Connection(String),
    /// No answer (or no connection) within the timeout.
    #[error("{0}")]
    Timeout(String),
    /// The peer answered with something this client did not expect.
    #[error("{0}")]
    Protocol(String),
}

impl From<PeerError> for ClientError {
    fn from(e: PeerError) -> Self {
        match e {
            PeerError::Timeout(text) => Self::Timeout(text),
            PeerError::Failed(text) => Self::Connection(text),
        }
    }
}
