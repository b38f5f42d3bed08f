//! Events: past-tense facts the IO layer reports to the scheduler.

use bytes::Bytes;
use oxdask_graph::Key;

use super::{ClientId, StimulusId, Time, WorkerId};

/// One fact, with the id of the stimulus that produced it. Every command that
/// [`crate::SchedulerState::handle`] returns for this event is caused by it, so the IO layer
/// stamps `stimulus` on the messages it sends (as distributed does with `stimulus_id`).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Where the fact came from; logged on every task it changes.
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

/// Everything that can happen to the scheduler.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A client connected.
    ClientConnected {
        /// The new client.
        client: ClientId,
    },
    /// A client went away: everything it wanted is released.
    ClientDisconnected {
        /// The client.
        client: ClientId,
    },
    /// A client submitted tasks and asked for some keys (its futures).
    GraphSubmitted {
        /// Who submitted.
        client: ClientId,
        /// New tasks; a key the scheduler already knows keeps its existing task (keys name
        /// computations, as in Dask). A dependency may be a key submitted earlier.
        tasks: Vec<NewTask>,
        /// Keys the client holds futures for: they are computed and kept until released.
        wanted: Vec<Key>,
    },
    /// A client dropped its futures for `keys`; results nobody else needs are freed.
    KeysReleased {
        /// The client.
        client: ClientId,
        /// Keys it no longer wants.
        keys: Vec<Key>,
    },
    /// A client cancelled `keys`: its futures for them and for everything it wants that
    /// depends on them are cancelled (other clients' interest is untouched).
    KeysCancelled {
        /// The client.
        client: ClientId,
        /// Keys to cancel.
        keys: Vec<Key>,
    },
    /// A client retries these erred keys (Dask's `Client.retry`): they and the erred
    /// dependencies they inherited their failure from run again.
    RetryRequested {
        /// The keys.
        keys: Vec<Key>,
    },
    /// A worker registered. Joining again under a live id replaces the old registration.
    WorkerJoined {
        /// Its id.
        worker: WorkerId,
        /// Its contact address, for messages and errors (`tcp://10.0.0.2:4000`).
        address: String,
        /// Threads it runs tasks on.
        nthreads: u32,
        /// Its memory limit in bytes (0: none).
        memory_limit: u64,
        /// Abstract resources it offers, e.g. `("GPU", 2.0)`.
        resources: Vec<(String, f64)>,
    },
    /// A worker is gone.
    WorkerLeft {
        /// The worker.
        worker: WorkerId,
        /// Why: only `Died` counts against the tasks it was running.
        reason: LeaveReason,
    },
    /// A worker finished a task and holds its result.
    TaskFinished {
        /// The worker.
        worker: WorkerId,
        /// The task.
        key: Key,
        /// Size of the result.
        nbytes: u64,
        /// How long the task ran (teaches the expected duration of its function).
        duration: Time,
        /// The result's type name, for clients (`numpy.ndarray`).
        type_name: String,
    },
    /// A task running on a worker left its thread (`secede()`): it no longer counts against
    /// the worker's threads (root-task queuing) nor its expected work (occupancy).
    TaskSeceded {
        /// The worker.
        worker: WorkerId,
        /// The task.
        key: Key,
    },
    /// A task raised an exception on a worker. The worker forgets the task after reporting
    /// (the scheduler sends no `FreeKeys` for it); if it has retries left, a new `Compute`
    /// follows, possibly to the same worker.
    TaskErred {
        /// The worker.
        worker: WorkerId,
        /// The task.
        key: Key,
        /// The exception, opaque to the scheduler.
        error: TaskErrorBlob,
    },
    /// A worker holds data it did not compute.
    DataAdded {
        /// The worker now holding the keys.
        worker: WorkerId,
        /// Keys and their sizes.
        keys: Vec<(Key, u64)>,
        /// `Some`: a client scattered the data and wants it (it has no lineage, so it cannot
        /// be recomputed if lost; scattering to an unknown worker is answered with
        /// `ReportLost`). `None`: the worker completed a [`crate::Command::Replicate`].
        client: Option<ClientId>,
    },
    /// `worker` could not fetch `key` from `holder`, which the scheduler had listed as a
    /// holder: the scheduler forgets that replica and recomputes or redirects.
    DataMissing {
        /// The worker that tried to fetch.
        worker: WorkerId,
        /// The worker that should have had the data.
        holder: WorkerId,
        /// The dependency.
        key: Key,
    },
    /// A worker is alive.
    Heartbeat {
        /// The worker.
        worker: WorkerId,
        /// Its process memory (RSS) in bytes.
        memory: u64,
        /// Bytes of results it stores (managed memory).
        managed: u64,
        /// Bytes of results it spilled to disk.
        spilled: u64,
    },
    /// A worker paused (its memory passed its pause threshold) or resumed. A paused worker
    /// gets no new tasks; its queued tasks may be stolen.
    WorkerPaused {
        /// The worker.
        worker: WorkerId,
        /// True when paused.
        paused: bool,
        /// Why.
        reason: String,
    },
    /// A worker will end at `at` (its `--lifetime`, its batch job's walltime): it gets no task
    /// expected to outlast it, and adaptive scaling asks for its replacement ahead of time.
    WorkerEnds {
        /// The worker.
        worker: WorkerId,
        /// When it ends.
        at: Time,
    },
    /// A worker said it is about to exit on its own, and why (its connection closes next;
    /// `WorkerLeft` follows). The reason goes into the `KilledWorker` errors of its tasks.
    WorkerClosing {
        /// The worker.
        worker: WorkerId,
        /// Why.
        reason: String,
    },
    /// Periodic housekeeping: expire silent workers, then balance work by stealing.
    Tick,
    /// A worker answered a [`crate::Command::Steal`].
    StealResponse {
        /// The victim that was asked.
        worker: WorkerId,
        /// The task.
        key: Key,
        /// True if it gave the task up (it had not started it).
        stolen: bool,
    },
    /// Retire these workers gracefully: no new tasks, copy away the data only they hold,
    /// then close them.
    RetireRequested {
        /// The workers.
        workers: Vec<WorkerId>,
    },
    /// `Client.rebalance`: even out the bytes held among `workers` (all running ones when
    /// `None`), moving only `keys` if given.
    RebalanceRequested {
        /// The keys that may move.
        keys: Option<Vec<Key>>,
        /// The workers taking part.
        workers: Option<Vec<WorkerId>>,
    },
    /// One pass of the active memory manager: drop surplus replicas.
    ReduceReplicasRequested,
}

/// Why a worker left.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LeaveReason {
    /// It closed its connection in an orderly way.
    Closed,
    /// It died (crash, OOM kill, lost connection, heartbeat timeout).
    Died,
    /// It was retired at the scheduler's request.
    Retired,
}

/// A task as a client submits it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTask {
    /// The task's key.
    pub key: Key,
    /// Keys whose results it consumes, in argument order (repeats are ignored).
    pub deps: Vec<Key>,
    /// What a worker runs; opaque here.
    pub payload: TaskPayload,
    /// Name under which durations are learned, e.g. the key prefix `inc`.
    pub func_name: String,
    /// User priority; higher runs first.
    pub priority: i32,
    /// Workers allowed to run it (`None`: any).
    pub restrictions: Option<Vec<WorkerId>>,
    /// With restrictions: run elsewhere when no allowed worker can take it.
    pub allow_other_workers: bool,
    /// Abstract resources it occupies while running, e.g. `("GPU", 1.0)`.
    pub resources: Vec<(String, f64)>,
    /// How many times it is re-run after raising before it errs.
    pub retries: u32,
}

impl NewTask {
    /// A task with no dependencies, restrictions, or retries; `func_name` is the key's name.
    pub fn new(key: Key, payload: TaskPayload) -> Self {
        let func_name = key.name().unwrap_or_default().to_owned();
        Self {
            key,
            deps: Vec::new(),
            payload,
            func_name,
            priority: 0,
            restrictions: None,
            allow_other_workers: false,
            resources: Vec::new(),
            retries: 0,
        }
    }
}

/// The serialized task, opaque to the scheduler and cheap to clone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskPayload {
    /// The serialized function and arguments.
    pub data: Bytes,
    /// Id of a function the workers cache, when the payload refers to one.
    pub function: Option<u64>,
}

impl TaskPayload {
    /// A payload of serialized bytes.
    pub fn new(data: Bytes) -> Self {
        Self {
            data,
            function: None,
        }
    }
}

/// An exception raised by a task, as the worker sent it: never interpreted, never stringified
/// beyond the short `text` the worker provides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskErrorBlob {
    /// The pickled exception.
    pub exception: Bytes,
    /// The pickled traceback.
    pub traceback: Bytes,
    /// A one-line description, e.g. `ZeroDivisionError: division by zero`.
    pub text: String,
}
