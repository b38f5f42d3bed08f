//! The nanny: a supervisor of one worker process, as Dask's.
//!
//! [`supervise`] starts the worker's command and watches it: when the process dies for any
//! reason (a signal such as the OOM killer's or `kill -9`, a crash, its memory limit) it
//! tells the scheduler why ([`oxdask_protocol::messages::ClientToScheduler::WorkerDied`], so
//! the `KilledWorker` error of a task that kills its workers names the cause) and starts a
//! fresh process; it also kills a process whose memory passes the terminate threshold, which
//! the worker cannot always do itself (a task holding the GIL in C code). The decisions are
//! the pure [`Policy`], tested without processes.
#![warn(missing_docs)]

mod policy;
mod supervise;

pub use policy::{over_memory, Decision, Exit, Policy, RESTART_CODE};
pub use supervise::{supervise, NannyConfig};
