//! Events: facts the runtime reports to the state machine, in the past tense.

use std::fmt;

use bytes::Bytes;
use oxdask_graph::Key;
use oxdask_protocol::messages::{ComputeTask, ErrorBlob};

/// The origin of an event (distributed's `stimulus_id`). Every state change records the
/// stimulus that caused it, so [`crate::WorkerState::why`] can say how a task got where it is.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StimulusId(pub u64);

impl fmt::Display for StimulusId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stimulus {}", self.0)
    }
}

/// One request for data sent to a peer ([`crate::Command::Fetch`]); its outcome is reported
/// with the same id ([`EventKind::DataFetched`] or [`EventKind::FetchFailed`]).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FetchId(pub u64);

impl fmt::Display for FetchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fetch {}", self.0)
    }
}

/// A fact and the stimulus it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Where the event came from.
    pub stimulus: StimulusId,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// An event of `kind` caused by `stimulus`.
    pub fn new(stimulus: StimulusId, kind: EventKind) -> Self {
        Self { stimulus, kind }
    }
}

/// What happened.
///
/// Values travel outside the state machine: before reporting [`EventKind::DataFetched`],
/// [`EventKind::TaskCompleted`] or [`EventKind::DataPut`], the runtime stores each value under
/// its key *unless a value for that key is already stored*; the state machine then answers
/// with [`crate::Command::Drop`] for every such value it does not keep. So the store always
/// holds exactly the keys the state machine has in memory.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// The scheduler asked for a task to be computed here. A repeated request for a task
    /// already known updates where its dependencies are (as after a `DataMissing`).
    ComputeRequested(ComputeTask),
    /// The scheduler released these keys: forget their data, and cancel them if they have
    /// not started. A value still needed by a local task is dropped when that task is done.
    FreeRequested {
        /// The keys.
        keys: Vec<Key>,
    },
    /// The scheduler wants this task back if it has not started.
    StealRequested {
        /// The key.
        key: Key,
    },
    /// The scheduler asked for copies of these keys, fetched from the listed holders.
    ReplicateRequested {
        /// `(key, holder addresses)`.
        keys: Vec<(Key, Vec<String>)>,
    },
    /// A peer answered a fetch with these values (already stored by the runtime) and their
    /// sizes. Requested keys not among them are missing on that peer.
    DataFetched {
        /// The request.
        id: FetchId,
        /// Keys received and their sizes in bytes.
        values: Vec<(Key, u64)>,
    },
    /// A fetch got no answer: the peer was unreachable, broke the protocol, or sent data
    /// that could not be deserialized. Every key of the request failed on that peer.
    FetchFailed {
        /// The request.
        id: FetchId,
        /// What went wrong, for the log.
        error: String,
    },
    /// A task ran and its result is stored.
    TaskCompleted {
        /// The key.
        key: Key,
        /// Size of the result in bytes.
        nbytes: u64,
        /// Run time in microseconds.
        duration_us: u64,
        /// When it ended, microseconds since the UNIX epoch (0: unknown).
        stop_us: u64,
        /// Python type name of the result.
        type_name: String,
        /// The pickled result, when the task was `inline` and the result small.
        value: Option<Bytes>,
    },
    /// A task raised (or could not be started, e.g. its function was never received).
    TaskFailed {
        /// The key.
        key: Key,
        /// The exception.
        error: ErrorBlob,
    },
    /// The memory monitor paused the worker (process memory above the pause threshold) or
    /// resumed it.
    PauseChanged {
        /// True to pause.
        paused: bool,
        /// Why, for the scheduler.
        reason: String,
    },
    /// A client put these values here (scatter); the runtime already stored them.
    DataPut {
        /// Keys and sizes in bytes.
        keys: Vec<(Key, u64)>,
        /// Whether to tell the scheduler (`DataAdded`); see `PeerRequest::PutData`.
        report: bool,
    },
    /// The running task `key` left its thread (`secede()`): the thread no longer counts, and
    /// the scheduler is told (`LongRunning`).
    Seceded {
        /// The task.
        key: Key,
    },
    /// The seceded task `key` asks for a thread again (`rejoin()`); answered by
    /// [`crate::Command::Rejoin`] once one is free (at once if it had not seceded).
    RejoinRequested {
        /// The task.
        key: Key,
    },
}

impl EventKind {
    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::ComputeRequested(_) => "compute-requested",
            EventKind::FreeRequested { .. } => "free-requested",
            EventKind::StealRequested { .. } => "steal-requested",
            EventKind::ReplicateRequested { .. } => "replicate-requested",
            EventKind::DataFetched { .. } => "data-fetched",
            EventKind::FetchFailed { .. } => "fetch-failed",
            EventKind::TaskCompleted { .. } => "task-completed",
            EventKind::TaskFailed { .. } => "task-failed",
            EventKind::DataPut { .. } => "data-put",
            EventKind::PauseChanged { .. } => "pause-changed",
            EventKind::Seceded { .. } => "seceded",
            EventKind::RejoinRequested { .. } => "rejoin-requested",
        }
    }
}
