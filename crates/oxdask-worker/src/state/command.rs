//! Commands: imperatives the runtime carries out, in order.

use oxdask_graph::Key;
use oxdask_protocol::messages::{ComputeTask, WorkerToScheduler};

use super::FetchId;

/// Something to do. The commands of one `handle` call come in this order: messages to the
/// scheduler, then at most one [`Command::Drop`], then fetches, then executions.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run this task. The command carries everything needed: the runtime looks up the values
    /// of `task.deps` (in that order, duplicates included) in its store, where all of them
    /// are, and the function bytes by `task.function` in its function table. It reports
    /// [`crate::EventKind::TaskCompleted`] or [`crate::EventKind::TaskFailed`].
    Execute(Box<ComputeTask>),
    /// Ask peer `from` for these keys in one request; report the outcome under `id`.
    Fetch {
        /// The request id.
        id: FetchId,
        /// The peer's address.
        from: String,
        /// The keys.
        keys: Vec<Key>,
    },
    /// Send a message to the scheduler.
    Send(WorkerToScheduler),
    /// Remove these values from the store.
    Drop {
        /// The keys.
        keys: Vec<Key>,
    },
    /// The seceded task `key` has its thread back: its `rejoin()` returns.
    Rejoin {
        /// The task.
        key: Key,
    },
}
