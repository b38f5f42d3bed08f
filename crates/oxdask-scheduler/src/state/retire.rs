//! Graceful retirement of workers.
//!
//! A retiring worker gets no new tasks, replicas, or stolen work. It finishes what it is
//! processing (idle workers may steal its queued tasks). Every result that only it holds is
//! copied to a running worker with [`Command::Replicate`], choosing the worker holding the
//! fewest bytes (counting copies planned in the same pass; ties: lowest id). Once it processes
//! nothing and holds no unique data, the scheduler forgets it and sends
//! `CloseWorker { reason: "retired" }`. With no running worker to copy to, it waits (for a
//! worker to join).

use std::collections::BTreeMap;

use oxdask_graph::Key;

use super::{Command, LeaveReason, Replication, SchedulerState, TaskId, TaskState};
use super::{WorkerId, WorkerStatus};

impl SchedulerState {
    pub(crate) fn on_retire_requested(&mut self, workers: &[WorkerId]) {
        for &id in workers {
            if let Some(w) = self.workers.get_mut(&id) {
                if w.status != WorkerStatus::Retiring {
                    w.status = WorkerStatus::Retiring;
                    self.retiring.insert(id);
                }
            }
        }
    }

    /// Moves retirements forward; true if a worker was closed (the caller settles again).
    pub(crate) fn retire_progress(&mut self) -> bool {
        let mut closed = false;
        let retiring: Vec<WorkerId> = self.retiring.iter().copied().collect();
        for id in retiring {
            let Some(w) = self.workers.get(&id) else {
                self.retiring.remove(&id);
                continue;
            };
            let unique: Vec<TaskId> = w
                .has_what
                .iter()
                .copied()
                .filter(|&t| {
                    matches!(&self.tasks[t].state, TaskState::Memory { holders, .. } if holders.len() == 1)
                })
                .collect();
            if unique.is_empty() && w.processing.is_empty() {
                self.remove_worker(id, LeaveReason::Retired);
                self.out.emit(Command::CloseWorker {
                    worker: id,
                    reason: "retired".into(),
                });
                closed = true;
            } else {
                self.replicate_away(id, &unique);
            }
        }
        closed
    }

    /// Asks running workers to copy `keys`, held only by `from`, unless already under way.
    fn replicate_away(&mut self, from: WorkerId, keys: &[TaskId]) {
        let mut load: Vec<(u64, WorkerId)> = self
            .workers
            .iter()
            .filter(|(_, w)| w.is_running())
            .map(|(&id, w)| (w.nbytes, id))
            .collect();
        if load.is_empty() {
            return;
        }
        let mut batches: BTreeMap<WorkerId, Vec<(Key, Vec<WorkerId>)>> = BTreeMap::new();
        for &t in keys {
            if self.replicating.contains_key(&t) {
                continue;
            }
            let TaskState::Memory { nbytes, .. } = self.tasks[t].state else {
                continue;
            };
            let slot = load
                .iter_mut()
                .min()
                .expect("invariant: checked non-empty above");
            slot.0 += nbytes;
            let to = slot.1;
            self.replicating.insert(t, Replication { from, to });
            let key = self.tasks[t].key.clone();
            batches.entry(to).or_default().push((key, vec![from]));
        }
        for (worker, keys) in batches {
            self.out.emit(Command::Replicate { worker, keys });
        }
    }
}
