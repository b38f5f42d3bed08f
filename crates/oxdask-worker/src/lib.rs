//! oxdask's distributed worker: it runs the tasks the scheduler assigns, holds their
//! results, and exchanges data with other workers peer to peer, as `distributed.Worker`
//! does.
//!
//! * [`state`] is the worker's *decisions*: a pure, deterministic state machine
//!   ([`WorkerState`]) deciding what to run, fetch, report and drop. No IO, no clock.
//! * [`run_worker`] is the IO around it: the scheduler connection (register, heartbeats),
//!   a data server answering peers, a pool of peer connections for fetches, and execution
//!   on blocking threads.
//! * Values and execution belong to the embedding program through the [`Host`] trait, so
//!   this crate knows nothing of Python: oxdask's binding implements [`Host`] with pickled
//!   Python objects; the tests implement it with byte vectors.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use oxdask_worker::{run_worker, Host, WorkerConfig};
//! # async fn example<H: Host>(host: Arc<H>) -> Result<(), oxdask_worker::WorkerError> {
//! let mut config = WorkerConfig::new("tcp://127.0.0.1:8786");
//! config.nthreads = 4;
//! let exit = run_worker(config, host, std::future::pending()).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod error;
pub mod memory;
mod runtime;
pub mod state;

pub use error::{Result, WorkerError};
pub use runtime::{
    rejoin, run_worker, secede, Executed, Host, PeerHandle, Pieces, WorkerConfig, WorkerExit,
};
pub use state::{
    Command, Event, EventKind, FetchId, StateConfig, StimulusId, TaskStatus, WorkerState,
};
