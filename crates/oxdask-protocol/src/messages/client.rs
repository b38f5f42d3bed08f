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
    /// The client is leaving.
    Close,
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
        /// The original exception.
        error: ErrorBlob,
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
    /// Acknowledges a request that has no other answer (retire).
    Done {
        /// The request id.
        id: u64,
    },
}
