//! Client <-> scheduler.

use bytes::Bytes;
use oxdask_graph::Key;
use serde::{Deserialize, Serialize};

use super::{BufIx, ErrorBlob};

/// The `Close` reason asking a worker to replace its process
/// ([`ClientToScheduler::RestartWorkers`]).
pub const RESTART: &str = "restart";

/// A task as a client submits it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireTask {
    /// The task's key.
    pub key: Key,
    /// Keys whose results the task needs (submitted in this graph or earlier).
    pub deps: Vec<Key>,
    /// The pickled call; opaque to the scheduler.
    pub payload: Bytes,
    /// Id of the function in the client's function table, if the payload refers to one.
    pub function: Option<u64>,
    /// Name used to learn durations (usually the key's prefix).
    pub func_name: String,
    /// User priority; higher runs first.
    pub priority: i32,
    /// Worker addresses or names the task is restricted to.
    pub workers: Option<Vec<String>>,
    /// Whether `workers` is only a preference.
    pub allow_other_workers: bool,
    /// Resources the task holds while it runs.
    pub resources: Vec<(String, f64)>,
    /// Automatic re-runs after an exception.
    pub retries: u32,
}

/// Why a task failed, as a client receives it: structured, so the client raises the matching
/// exception without parsing text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Failure {
    /// The task raised; the exception as the worker caught it.
    Raised(ErrorBlob),
    /// The task was running on more workers that died than allowed (Dask's `KilledWorker`).
    KilledWorker {
        /// The task.
        key: Key,
        /// How many workers died running it.
        deaths: u32,
        /// Address of the last of them.
        last_worker: String,
        /// Why the last of them died, when known (signal, exit code, memory).
        last_reason: Option<String>,
    },
    /// Scattered data the task needs is gone and cannot be recomputed.
    Lost {
        /// The key that was lost.
        key: Key,
        /// The worker it was lost with; `None` if it was freed.
        worker: Option<String>,
    },
    /// The scheduler cannot run the task (missing dependency, unknown key, invalid graph).
    Invalid {
        /// What is wrong, naming the keys.
        text: String,
    },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Raised(blob) => f.write_str(&blob.text),
            Self::KilledWorker {
                key,
                deaths,
                last_worker,
                last_reason,
            } => {
                write!(
                    f,
                    "task {key} was running on {deaths} workers that died (last: {last_worker}"
                )?;
                if let Some(reason) = last_reason {
                    write!(f, ", which exited because {reason}")?;
                }
                f.write_str(")")
            }
            Self::Lost { key, worker } => match worker {
                Some(w) => write!(f, "key {key} was lost with {w} and cannot be recomputed: it was scattered"),
                None => write!(f, "key {key} was freed when no client wanted it any more and cannot be recomputed: it was scattered"),
            },
            Self::Invalid { text } => f.write_str(text),
        }
    }
}

/// Requests of a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientToScheduler {
    /// Pickled functions, referred to by id from task payloads; sent once per function.
    Functions {
        /// `(id, buffer holding the cloudpickled function)`.
        items: Vec<(u64, BufIx)>,
    },
    /// New tasks, and the keys the client holds futures for.
    Submit {
        /// The tasks.
        tasks: Vec<WireTask>,
        /// Keys to report on and keep.
        wanted: Vec<Key>,
    },
    /// The client dropped its futures for these keys.
    Release {
        /// The keys.
        keys: Vec<Key>,
    },
    /// Run these erred keys again, with the erred dependencies they failed through.
    Retry {
        /// The keys.
        keys: Vec<Key>,
    },
    /// Cancel these keys (and what only they need).
    Cancel {
        /// The keys.
        keys: Vec<Key>,
    },
    /// Where are these keys? Answered by [`SchedulerToClient::WhoHas`].
    WhoHas {
        /// Request id echoed in the reply.
        id: u64,
        /// The keys.
        keys: Vec<Key>,
    },
    /// Data the client put on workers itself (scatter).
    Scattered {
        /// Worker address.
        worker: String,
        /// Keys and their sizes in bytes.
        keys: Vec<(Key, u64)>,
    },
    /// A JSON description of the cluster, answered by [`SchedulerToClient::Info`].
    Info {
        /// Request id echoed in the reply.
        id: u64,
    },
    /// A dashboard view as JSON (`"progress"`, `"task-stream?since=N"`, `"groups"`,
    /// `"graph?limit=N"`, `"exceptions"`, `"metrics"`), answered by
    /// [`SchedulerToClient::Info`].
    Dashboard {
        /// Request id echoed in the reply.
        id: u64,
        /// The view and its parameters, as after `/json/` in the dashboard's routes.
        path: String,
    },
    /// Where the task for `key` is and why (waiting on what, queued because of what, its
    /// recent transitions), answered by [`SchedulerToClient::Why`].
    Why {
        /// Request id echoed in the reply.
        id: u64,
        /// The key.
        key: Key,
    },
    /// Move data off these workers, then close them.
    RetireWorkers {
        /// Request id echoed in the reply.
        id: u64,
        /// Worker addresses.
        workers: Vec<String>,
    },
    /// Close these workers with the reason [`RESTART`]: a worker started by `oxdask worker`
    /// then replaces its own process (a fresh one registers under a new address).
    RestartWorkers {
        /// Request id echoed in the reply.
        id: u64,
        /// Worker addresses.
        workers: Vec<String>,
    },
    /// Run `function(*args)` on every worker; answered by [`SchedulerToClient::RunResults`].
    Run {
        /// Request id echoed in the reply.
        id: u64,
        /// Pickled `(function, args, kwargs)`.
        call: BufIx,
    },
    /// Run a pickled call in the scheduler's process (coordination primitives, published
    /// datasets, `run_on_scheduler`); answered by [`SchedulerToClient::CallResult`].
    Call {
        /// Request id echoed in the reply.
        id: u64,
        /// The pickled call, opaque to the scheduler.
        call: BufIx,
    },
    /// Active memory management (`Client.rebalance`, `Client.amm`); answered by
    /// [`SchedulerToClient::Info`] with `{"pending": moves not finished, "amm": running}`.
    Memory {
        /// Request id echoed in the reply.
        id: u64,
        /// What to do.
        op: MemoryOp,
    },
    /// The worker at `address` will end in `in_ms` milliseconds (its lifetime, its job's
    /// walltime): the scheduler gives it no task expected to outlast it.
    WorkerEnds {
        /// The worker's address.
        address: String,
        /// Milliseconds from now.
        in_ms: u64,
    },
    /// A nanny's worker process died, and why (a signal, an exit code, its memory); sent
    /// by the nanny, so the `KilledWorker` errors of the tasks it ran name the cause.
    WorkerDied {
        /// The worker's process id.
        pid: u32,
        /// Why it died ("its process was killed by signal 9 ...").
        reason: String,
    },
    /// The client is leaving.
    Close,
}

/// What a [`ClientToScheduler::Memory`] request asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MemoryOp {
    /// Even out the bytes held among `workers` (all when `None`), moving only `keys` if given.
    Rebalance {
        /// The keys that may move.
        keys: Option<Vec<Key>>,
        /// The workers taking part, by address.
        workers: Option<Vec<String>>,
    },
    /// One pass of the active memory manager (drop surplus replicas).
    RunOnce,
    /// Run the active memory manager every `interval_ms` milliseconds.
    Start {
        /// The interval.
        interval_ms: u64,
    },
    /// Stop running it.
    Stop,
    /// Only report.
    Status,
}

/// Reports to a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SchedulerToClient {
    /// A wanted key is in memory on some worker.
    InMemory {
        /// The key.
        key: Key,
        /// Its size in bytes.
        nbytes: u64,
        /// Python type name of the result.
        type_name: String,
        /// The result (a pickle) when it is small and arrived with the task's completion.
        value: Option<Bytes>,
    },
    /// A wanted key failed (itself, or through the dependency `from`).
    Erred {
        /// The key.
        key: Key,
        /// The failing task's key (equal to `key` unless a dependency failed).
        from: Key,
        /// What went wrong.
        error: Failure,
    },
    /// A wanted key's data (scattered, so without lineage) was lost with the worker that
    /// held it.
    Lost {
        /// The key.
        key: Key,
    },
    /// A wanted key will not be computed; `reason` says why (never a bare "cancelled").
    Cancelled {
        /// The key.
        key: Key,
        /// Why.
        reason: String,
    },
    /// Who holds each key (worker addresses).
    WhoHas {
        /// The request id.
        id: u64,
        /// `(key, addresses)`; an empty list means the key is not in memory.
        holders: Vec<(Key, Vec<String>)>,
    },
    /// JSON description of the cluster.
    Info {
        /// The request id.
        id: u64,
        /// The JSON text.
        json: String,
    },
    /// The scheduler's account of a task ([`ClientToScheduler::Why`]).
    Why {
        /// The request id.
        id: u64,
        /// The explanation, in lines of text.
        text: String,
    },
    /// Results of [`ClientToScheduler::Run`]: worker address and pickled result.
    RunResults {
        /// The request id.
        id: u64,
        /// `(worker address, pickled result or pickled exception, ok)`.
        results: Vec<(String, BufIx, bool)>,
    },
    /// Result of [`ClientToScheduler::Call`].
    CallResult {
        /// The request id.
        id: u64,
        /// The pickled result, or the pickled exception when `ok` is false (empty when the
        /// scheduler runs no calls).
        result: BufIx,
        /// Whether the call returned.
        ok: bool,
    },
    /// Acknowledges a request that has no other answer (retire).
    Done {
        /// The request id.
        id: u64,
    },
}
