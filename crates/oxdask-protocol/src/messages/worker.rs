//! Worker <-> scheduler.

use bytes::Bytes;
use oxdask_graph::Key;
use serde::{Deserialize, Serialize};

use super::{BufIx, ErrorBlob, WorkerInfo};

/// A task a worker is asked to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComputeTask {
    /// The task's key.
    pub key: Key,
    /// The pickled call.
    pub payload: Bytes,
    /// Function id the payload refers to, if any.
    pub function: Option<u64>,
    /// Dependencies and the addresses of workers holding them.
    pub deps: Vec<(Key, Vec<String>)>,
    /// Scheduling priority (lower runs first).
    pub priority: i64,
    /// Resources held while running.
    pub resources: Vec<(String, f64)>,
    /// Size in bytes of each dependency, in `deps` order, so the worker can bound the bytes it
    /// fetches at once; missing entries (an empty list from an older peer) mean unknown.
    #[serde(default)]
    pub nbytes: Vec<u64>,
    /// A client wants the result: send it back with `TaskFinished` if it is small.
    #[serde(default)]
    pub inline: bool,
}

/// Commands from the scheduler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SchedulerToWorker {
    /// Registration accepted.
    Welcome {
        /// Id the scheduler knows the worker by.
        worker_id: u32,
    },
    /// Functions the following tasks refer to (each sent once per worker).
    Functions {
        /// `(id, buffer holding the cloudpickled function)`.
        items: Vec<(u64, BufIx)>,
    },
    /// Run a task.
    Compute(ComputeTask),
    /// Drop these results.
    Free {
        /// The keys.
        keys: Vec<Key>,
    },
    /// Give back this task if it has not started ([`WorkerToScheduler::StealResponse`]).
    Steal {
        /// The key.
        key: Key,
    },
    /// Fetch these keys from the given holders and keep a copy (retire, replication).
    Replicate {
        /// `(key, holder addresses)`.
        keys: Vec<(Key, Vec<String>)>,
    },
    /// Run `function(*args)` and answer with [`WorkerToScheduler::RunResult`].
    Run {
        /// Request id.
        id: u64,
        /// Pickled `(function, args, kwargs)`.
        call: BufIx,
    },
    /// Shut down.
    Close {
        /// Why (logged by the worker).
        reason: String,
    },
}

/// Reports of a worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkerToScheduler {
    /// First message after the handshake.
    Register(WorkerInfo),
    /// Periodic liveness and memory.
    Heartbeat {
        /// Bytes of stored results held in memory (not counting spilled ones).
        managed: u64,
        /// Process memory (RSS) in bytes.
        process: u64,
        /// Bytes of stored results spilled to disk.
        spilled: u64,
        /// The process's CPU time and I/O so far (the scheduler derives rates).
        #[serde(default)]
        usage: crate::ProcessUsage,
    },
    /// The worker fetched `keys` from the worker at `from` (for the task stream).
    Transferred {
        /// The keys.
        keys: Vec<Key>,
        /// The peer's address.
        from: String,
        /// Bytes moved.
        nbytes: u64,
        /// How long it took, microseconds.
        duration_us: u64,
        /// When it ended, by the worker's clock: microseconds since the UNIX epoch (0:
        /// unknown; the scheduler then uses the message's arrival).
        #[serde(default)]
        stop_us: u64,
    },
    /// Results the worker wrote to disk (spilled) or read back, for the task stream; sent
    /// with heartbeats.
    Disk {
        /// What happened, oldest first.
        spans: Vec<DiskSpan>,
    },
    /// The worker paused (its process memory passed the pause threshold: it starts no task
    /// and fetches nothing until it falls back) or resumed.
    Paused {
        /// True when paused.
        paused: bool,
        /// Why, for the scheduler's log and state endpoint.
        reason: String,
    },
    /// The worker is about to exit on its own (for example, its process memory passed the
    /// terminate threshold); its connection closes next. The reason explains the death to
    /// users whose tasks were running there.
    Closing {
        /// Why.
        reason: String,
    },
    /// A task finished and its result is stored.
    TaskFinished {
        /// The key.
        key: Key,
        /// Size of the result in bytes.
        nbytes: u64,
        /// Run time in microseconds.
        duration_us: u64,
        /// When it ended, by the worker's clock: microseconds since the UNIX epoch (0:
        /// unknown; the scheduler then uses the message's arrival).
        #[serde(default)]
        stop_us: u64,
        /// Python type name of the result.
        type_name: String,
        /// The result itself (a pickle), when the task was marked `inline` and the result is
        /// small: the scheduler passes it on to the clients, which then need no fetch.
        value: Option<Bytes>,
    },
    /// A running task left its thread (`secede()`): it keeps running, but no longer counts
    /// against the worker's threads, so the scheduler sends more work.
    LongRunning {
        /// The key.
        key: Key,
    },
    /// A task raised.
    TaskErred {
        /// The key.
        key: Key,
        /// The exception.
        error: ErrorBlob,
    },
    /// A dependency could not be fetched from `holder`.
    DataMissing {
        /// The key.
        key: Key,
        /// The address that did not have it.
        holder: String,
    },
    /// Data now held (replicated, or put by a client).
    DataAdded {
        /// Keys and sizes.
        keys: Vec<(Key, u64)>,
    },
    /// Answer to [`SchedulerToWorker::Steal`].
    StealResponse {
        /// The key.
        key: Key,
        /// True if the task was given back (it had not started).
        stolen: bool,
    },
    /// Answer to [`SchedulerToWorker::Run`].
    RunResult {
        /// Request id.
        id: u64,
        /// Pickled result or exception.
        result: BufIx,
        /// False if `result` is an exception.
        ok: bool,
    },
}

/// Results written to disk (spilled) or read back in one go.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskSpan {
    /// True for a read back (unspill), false for a write (spill).
    pub read: bool,
    /// The first key (names the span's task prefix).
    pub key: Key,
    /// How many results.
    pub count: u32,
    /// Their bytes.
    pub nbytes: u64,
    /// How long it took, microseconds.
    pub duration_us: u64,
    /// When it ended, microseconds since the UNIX epoch (the worker's clock).
    pub stop_us: u64,
}

/// Microseconds since the UNIX epoch by this machine's clock (0 if it is before 1970).
#[must_use]
pub fn epoch_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
