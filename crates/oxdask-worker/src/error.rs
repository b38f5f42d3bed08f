//! Errors of the worker runtime.

use std::time::Duration;

use oxdask_comm::CommError;
use oxdask_protocol::ProtocolError;

/// Why a worker could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The data server could not bind its address.
    #[error("could not listen on {address}: {source}")]
    Listen {
        /// The address from the configuration.
        address: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The scheduler could not be reached, or refused the handshake.
    #[error("could not reach the scheduler at {address}: {source}")]
    Connect {
        /// The scheduler's address.
        address: String,
        /// What failed.
        #[source]
        source: CommError,
    },
    /// The scheduler did not answer in time (connecting, or welcoming the worker).
    #[error("the scheduler at {address} did not answer within {after:?}")]
    Timeout {
        /// The scheduler's address.
        address: String,
        /// How long the worker waited.
        after: Duration,
    },
    /// The scheduler answered the registration with something other than `Welcome`.
    #[error("the scheduler at {address} did not welcome this worker: {reason}")]
    Rejected {
        /// The scheduler's address.
        address: String,
        /// What it said instead.
        reason: String,
    },
    /// The connection to the scheduler broke or closed without a `Close` message.
    #[error("lost the connection to the scheduler at {address}: {reason}")]
    SchedulerLost {
        /// The scheduler's address.
        address: String,
        /// What happened.
        reason: String,
    },
    /// The threads that run tasks could not be started.
    #[error("could not start the task threads: {0}")]
    Threads(#[source] std::io::Error),
    /// The host's start-up hook ([`crate::Host::started`]) failed.
    #[error("the worker's host failed to start: {0}")]
    Host(String),
    /// The scheduler sent a frame that does not decode as its messages.
    #[error("bad message from the scheduler at {address}: {source}")]
    Protocol {
        /// The scheduler's address.
        address: String,
        /// What was wrong.
        #[source]
        source: ProtocolError,
    },
}

/// Result type of this crate.
pub type Result<T, E = WorkerError> = std::result::Result<T, E>;
