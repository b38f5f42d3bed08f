//! Commands: imperatives the IO layer carries out.

use std::sync::Arc;

use oxdask_graph::Key;

use super::{ClientId, Priority, TaskError, TaskPayload, WorkerId};

/// Something to do. All commands returned by one `handle` call are caused by that event's
/// stimulus. Order matters only per destination, and is preserved per destination.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run a task. A worker that already has this task queued treats a repeated `Compute` as
    /// an update of where its dependencies are (as Dask's worker does with `compute-task`).
    Compute {
        /// Where to run it.
        worker: WorkerId,
        /// What to run.
        task: ComputeSpec,
    },
    /// Forget these keys: drop their data, and cancel them if queued or running (a late
    /// result is then discarded by the scheduler anyway). One per worker per event.
    FreeKeys {
        /// The worker.
        worker: WorkerId,
        /// Keys to forget.
        keys: Vec<Key>,
    },
    /// Ask a worker to give back a task it has not started; it answers with
    /// [`crate::EventKind::StealResponse`].
    Steal {
        /// The victim.
        worker: WorkerId,
        /// The task.
        key: Key,
    },
    /// Fetch these keys from the listed holders and keep them; answered with
    /// [`crate::EventKind::DataAdded`] with `client: None`. Used to drain retiring workers.
    Replicate {
        /// The worker that fetches.
        worker: WorkerId,
        /// Keys and who holds each.
        keys: Vec<(Key, Vec<WorkerId>)>,
    },
    /// Close a worker's connection; the scheduler has already forgotten it.
    CloseWorker {
        /// The worker.
        worker: WorkerId,
        /// Why, for its log (`retired`, `no heartbeat for 300s`).
        reason: String,
    },
    /// A key the client wants is in memory.
    ReportInMemory {
        /// The client.
        client: ClientId,
        /// The key.
        key: Key,
        /// Its size.
        nbytes: u64,
        /// Its type name (empty when unknown, as for scattered data).
        type_name: Arc<str>,
    },
    /// A key the client wants failed (itself or through a dependency).
    ReportErred {
        /// The client.
        client: ClientId,
        /// The key the client wants.
        key: Key,
        /// The original failure.
        error: TaskError,
    },
    /// The client's future for `key` is cancelled.
    ReportCancelled {
        /// The client.
        client: ClientId,
        /// The key.
        key: Key,
        /// Why, e.g. `cancelled by client`, `dependency 'x' was cancelled`.
        reason: String,
    },
    /// A key the client wants was lost and cannot be recomputed (scattered data whose only
    /// holder died).
    ReportLost {
        /// The client.
        client: ClientId,
        /// The key.
        key: Key,
    },
}

impl Command {
    /// The worker this command goes to, if any.
    pub fn worker(&self) -> Option<WorkerId> {
        match self {
            Command::Compute { worker, .. }
            | Command::FreeKeys { worker, .. }
            | Command::Steal { worker, .. }
            | Command::Replicate { worker, .. }
            | Command::CloseWorker { worker, .. } => Some(*worker),
            _ => None,
        }
    }

    /// The client this command goes to, if any.
    pub fn client(&self) -> Option<ClientId> {
        match self {
            Command::ReportInMemory { client, .. }
            | Command::ReportErred { client, .. }
            | Command::ReportCancelled { client, .. }
            | Command::ReportLost { client, .. } => Some(*client),
            _ => None,
        }
    }
}

/// Everything a worker needs to run one task.
#[derive(Clone, Debug, PartialEq)]
pub struct ComputeSpec {
    /// The task's key.
    pub key: Key,
    /// What to run.
    pub payload: TaskPayload,
    /// Its priority: a worker runs its queued tasks smallest first.
    pub priority: Priority,
    /// Each dependency, in argument order, with the workers holding it (never empty).
    pub deps: Vec<(Key, Vec<WorkerId>)>,
    /// Size in bytes of each dependency, in `deps` order (lets the worker bound how much it
    /// fetches at once).
    pub nbytes: Vec<u64>,
    /// Resources it occupies while running.
    pub resources: Vec<(String, f64)>,
    /// Whether a client wants the result (it may then travel back with the completion).
    pub wanted: bool,
}
