//! Why a task failed: the payload of `Erred` states and of `ReportErred`.

use std::sync::Arc;

use oxdask_graph::Key;

use super::TaskErrorBlob;

/// The failure a task erred with. Dependents of a failed task carry the same value, so a
/// client waiting on any of them receives the original exception.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TaskError {
    /// The task raised; the blob is passed through untouched.
    #[error("{}", .0.text)]
    Raised(Arc<TaskErrorBlob>),
    /// Too many workers died while running the task (Dask's `KilledWorker`).
    #[error(
        "KilledWorker: task {key} was running on {deaths} workers that died (last: {last_worker}{})",
        death_reason(.last_reason)
    )]
    KilledWorker {
        /// The task.
        key: Key,
        /// How many workers died running it.
        deaths: u32,
        /// Address of the last of them.
        last_worker: String,
        /// Why the last of them died, when it said so before exiting (e.g. memory).
        last_reason: Option<String>,
    },
    /// The task depends on a key that is neither in its graph nor known to the scheduler.
    #[error("task {key} depends on missing key {missing}")]
    MissingDependency {
        /// The task.
        key: Key,
        /// The key that exists nowhere.
        missing: Key,
    },
    /// A client asked for a key that is neither in its graph nor known to the scheduler.
    #[error("key {key} is not in the submitted graph and not known to the scheduler")]
    UnknownKey {
        /// The key.
        key: Key,
    },
    /// The submitted graph cannot run (a cycle); every new task of that submission errs.
    #[error("task {key} is part of an invalid graph: {reason}")]
    InvalidGraph {
        /// The task.
        key: Key,
        /// What is wrong with the graph.
        reason: String,
    },
    /// Data without lineage (scattered) is needed but gone: lost with the only worker holding
    /// it, or freed once no client wanted it (and then needed to recompute a dependent).
    #[error("key {key} {} and cannot be recomputed: it was scattered", lost_how(.worker))]
    Lost {
        /// The key.
        key: Key,
        /// The address of the worker it was lost with; `None` if it was freed.
        worker: Option<String>,
    },
}

fn death_reason(reason: &Option<String>) -> String {
    reason
        .as_ref()
        .map_or_else(String::new, |r| format!(", which exited because {r}"))
}

fn lost_how(worker: &Option<String>) -> String {
    match worker {
        Some(w) => format!("was lost with {w}"),
        None => "was freed when no client wanted it any more".to_owned(),
    }
}
