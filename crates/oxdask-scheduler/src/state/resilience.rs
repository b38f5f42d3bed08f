//! Losing workers and data.
//!
//! When a worker leaves, the tasks it was processing go back to the queue. If it *died*
//! (crash, lost connection, missed heartbeats) each of those tasks becomes more suspicious:
//! a task that was running on more than `allowed_failures` workers that died errs with
//! `KilledWorker`, as in Dask, since it is likely the task itself that kills them (for
//! example by exhausting memory), and dependents err with it. Workers that close or retire
//! do not count against their tasks.
//!
//! Results the worker held lose a replica. A result with no replica left is recomputed from
//! its lineage (the task's payload and its dependencies, recomputed recursively if they were
//! freed too) when it is still needed; dependents that were queued or processing go back to
//! waiting. Only scattered data, which has no lineage, is truly lost: its clients receive
//! `ReportLost` and its dependents err.

use oxdask_graph::Key;

use super::{Command, LeaveReason, SchedulerState, TaskError, TaskId, TaskState, WorkerId};

impl SchedulerState {
    /// Forgets `worker`: reschedules (or kills) its tasks and drops its replicas.
    pub(crate) fn remove_worker(&mut self, worker: WorkerId, reason: LeaveReason) {
        self.forget_moves(Some(worker));
        let Some(w) = self.workers.get_mut(&worker) else {
            return;
        };
        // Not running any more: nothing is placed on it while it is taken apart.
        w.status = super::WorkerStatus::Retiring;
        let address = w.address.clone();
        let closing_reason = w.closing_reason.clone();
        let processing: Vec<TaskId> = w.processing.keys().copied().collect();
        for t in processing {
            if reason == LeaveReason::Died {
                let task = &mut self.tasks[t];
                task.suspicious += 1;
                if task.suspicious > self.config.allowed_failures {
                    let error = TaskError::KilledWorker {
                        key: task.key.clone(),
                        deaths: task.suspicious,
                        last_worker: address.clone(),
                        last_reason: closing_reason.clone(),
                    };
                    self.fail_with(t, error, None);
                    continue;
                }
            }
            self.make_ready(t);
        }
        let held: Vec<TaskId> = self.workers[&worker].has_what.iter().copied().collect();
        for t in held {
            self.drop_replica(t, worker);
        }
        let thefts: Vec<TaskId> = self
            .steals
            .iter()
            .filter(|(_, s)| s.thief == worker)
            .map(|(&t, _)| t)
            .collect();
        for t in thefts {
            if let Some(steal) = self.steals.remove(&t) {
                self.end_steal(steal);
            }
        }
        self.replicating
            .retain(|_, r| r.to != worker && r.from != worker);
        self.retiring.remove(&worker);
        self.out.forget_worker(worker);
        let w = self
            .workers
            .remove(&worker)
            .expect("invariant: the worker being removed is live");
        debug_assert!(w.processing.is_empty() && w.has_what.is_empty());
        self.fill_needed = true;
    }

    /// `worker` failed to fetch `key` from `holder`: that replica is gone. If others remain,
    /// `worker`'s tasks that need the key are re-sent with the current holders; if none do,
    /// the key is recomputed (or lost) as when its last holder dies.
    pub(crate) fn on_data_missing(&mut self, worker: WorkerId, holder: WorkerId, key: &Key) {
        self.touch(worker);
        let Some(t) = self.tasks.id(key) else {
            return;
        };
        if self.workers.contains_key(&holder) {
            self.drop_replica(t, holder);
        }
        if !self.tasks[t].state.is_memory() {
            return;
        }
        for i in 0..self.tasks[t].dependents.len() {
            let d = self.tasks[t].dependents[i];
            if self.tasks[d].state == (TaskState::Processing { worker }) {
                let task = self.compute_spec(d);
                self.out.emit(Command::Compute { worker, task });
            }
        }
    }

    /// Workers silent for longer than `worker_ttl` are closed and treated as dead.
    pub(crate) fn expire_silent_workers(&mut self) {
        let ttl = self.config.worker_ttl;
        let expired: Vec<(WorkerId, super::Time)> = self
            .workers
            .iter()
            .map(|(&id, w)| (id, self.now.saturating_sub(w.last_seen)))
            .filter(|&(_, silent)| silent > ttl)
            .collect();
        for (worker, silent) in expired {
            self.remove_worker(worker, LeaveReason::Died);
            self.out.emit(Command::CloseWorker {
                worker,
                reason: format!("no heartbeat for {silent} (worker_ttl is {ttl})"),
            });
        }
    }
}
