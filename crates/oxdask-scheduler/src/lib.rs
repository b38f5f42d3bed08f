//! The decision core of oxdask's distributed scheduler.
//!
//! oxdask mirrors `dask.distributed`: one central scheduler, workers that compute tasks and
//! hold their results (exchanging them peer to peer), and clients that submit graphs and wait
//! for keys. This crate holds the scheduler's *decisions* and nothing else:
//!
//! * [`state::SchedulerState`] is a pure, deterministic state machine. The IO server (a tokio
//!   task, written separately) owns one, turns every network message into an [`Event`], calls
//!   [`SchedulerState::handle`], and carries out the returned [`Command`]s. No sockets, threads,
//!   clocks or randomness live here: time is an argument, so every scenario replays exactly.
//! * The policies follow Dask's: placement by dependency bytes then occupancy, root-task queuing
//!   bounded by `worker_saturation`, work stealing by compute/transfer ratio, reference-counted
//!   release of results, lineage recomputation of lost data, `KilledWorker` after repeated
//!   deaths, retries, and graceful retirement. Each is documented where it is implemented.
//!
//! ```
//! use oxdask_graph::Key;
//! use oxdask_scheduler::{
//!     ClientId, Command, Event, EventKind, NewTask, SchedulerConfig, SchedulerState, StimulusId,
//!     TaskPayload, Time, WorkerId,
//! };
//!
//! let mut s = SchedulerState::new(SchedulerConfig::default());
//! let ev = |id, kind| Event::new(StimulusId(id), kind);
//! s.handle(ev(1, EventKind::WorkerJoined {
//!     worker: WorkerId(1),
//!     address: "tcp://10.0.0.1:4000".into(),
//!     nthreads: 2,
//!     memory_limit: 1 << 30,
//!     resources: vec![],
//! }), Time::ZERO);
//! let task = NewTask::new(Key::str("x"), TaskPayload::new(vec![1, 2, 3].into()));
//! let cmds = s.handle(ev(2, EventKind::GraphSubmitted {
//!     client: ClientId(1),
//!     tasks: vec![task],
//!     wanted: vec![Key::str("x")],
//! }), Time::ZERO);
//! assert!(matches!(&cmds[..], [Command::Compute { worker: WorkerId(1), .. }]));
//! s.check_invariants();
//! ```
#![warn(missing_docs)]

mod error;
pub mod server;
pub mod state;

pub use error::{Result, SchedulerError};
pub use state::{
    key_prefix, AdaptivePolicy, ClientId, Command, ComputeSpec, Event, EventKind, GraphView,
    GroupView, LeaveReason, NewTask, PrefixCounts, Priority, Recommendation, SchedulerConfig,
    SchedulerState, StateCounts, StateKind, StimulusId, TaskError, TaskErrorBlob, TaskPayload,
    TaskState, TaskStateView, Time, Transition, WorkerId, WorkerStatus, WorkerView,
};
