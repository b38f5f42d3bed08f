//! Per-event buffers: commands on their way out, and follow-up work.

use std::collections::BTreeMap;

use oxdask_graph::Key;

use super::{Command, TaskId, WorkerId};

/// Commands of the event being handled.
///
/// `FreeKeys` are coalesced into one command per worker per event. A worker's pending frees
/// are flushed before any other command to that worker, so a worker always sees "forget x"
/// before a later "compute x" of the same event, never after.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    commands: Vec<Command>,
    frees: BTreeMap<WorkerId, Vec<Key>>,
}

impl Outbox {
    pub(crate) fn emit(&mut self, cmd: Command) {
        if let Some(w) = cmd.worker() {
            if let Some(keys) = self.frees.remove(&w) {
                self.commands.push(Command::FreeKeys { worker: w, keys });
            }
        }
        self.commands.push(cmd);
    }

    pub(crate) fn free(&mut self, worker: WorkerId, key: Key) {
        self.frees.entry(worker).or_default().push(key);
    }

    /// Drops pending frees for a worker that is gone.
    pub(crate) fn forget_worker(&mut self, worker: WorkerId) {
        self.frees.remove(&worker);
    }

    /// All commands of the event, pending frees last in worker order.
    pub(crate) fn take(&mut self) -> Vec<Command> {
        for (worker, keys) in std::mem::take(&mut self.frees) {
            self.commands.push(Command::FreeKeys { worker, keys });
        }
        std::mem::take(&mut self.commands)
    }
}

/// Tasks to revisit before the event is done. Entries may be stale (the task changed state
/// or was forgotten meanwhile); every consumer re-checks the condition it was queued for.
#[derive(Debug, Default)]
pub(crate) struct Work {
    /// A dependency left memory while these were queued or processing.
    pub pull_back: Vec<TaskId>,
    /// Released tasks that became needed.
    pub activate: Vec<TaskId>,
    /// Tasks that may no longer be needed.
    pub release: Vec<TaskId>,
    /// Tasks that may no longer be referenced.
    pub forget: Vec<TaskId>,
    /// Waiting tasks whose last dependency arrived.
    pub ready: Vec<TaskId>,
}
