//! Work stealing: moving queued-but-not-started tasks from busy workers to idle ones.
//!
//! Placement favours data locality, which can pile work on the workers holding the data
//! while others sit idle. On each `Tick`, every idle worker (nothing processing, no steal
//! on its way) is a thief. Its victim is the worker with the most tasks beyond its thread
//! count, which the scheduler takes to be waiting in the worker's local queue (ties: lowest
//! id). The victim runs its tasks best priority first, so the worst-priority tasks wait
//! longest; they are considered first. A task is worth stealing when moving its inputs
//! costs less than waiting for it: transfer time (bytes of dependencies the thief lacks,
//! divided by `bandwidth`) must be below its expected wait on the victim (the expected
//! durations of the victim's tasks ahead of it, divided by the victim's threads). This is
//! Dask's computation-to-communication criterion. A thief takes at most one task per
//! thread, and only tasks it may run (restrictions, resources).
//!
//! The scheduler sends `Steal` and keeps the task processing on the victim until the victim
//! answers. `stolen: true` means the victim gave it up: it goes to the thief if the thief
//! can still take it, else back to the queue. `stolen: false` means it had started
//! already, and nothing changes.

use oxdask_graph::Key;

use super::{Command, PendingSteal, Priority, SchedulerState, TaskId, TaskState, WorkerId};

impl SchedulerState {
    pub(crate) fn steal_work(&mut self) {
        if !self.config.work_stealing {
            return;
        }
        let thieves: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, w)| w.is_running() && w.busy() == 0 && w.incoming_steals == 0)
            .map(|(&id, _)| id)
            .collect();
        for thief in thieves {
            let Some(victim) = self.pick_victim() else {
                return;
            };
            self.steal_from(victim, thief);
        }
    }

    /// Tasks a worker holds beyond its threads, not counting those already being stolen.
    fn excess(&self, worker: WorkerId) -> usize {
        let w = &self.workers[&worker];
        w.busy()
            .saturating_sub(w.outgoing_steals as usize)
            .saturating_sub(w.nthreads as usize)
    }

    fn pick_victim(&self) -> Option<WorkerId> {
        self.workers
            .keys()
            .map(|&id| (self.excess(id), id))
            .filter(|&(excess, _)| excess > 0)
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, id)| id)
    }

    fn steal_from(&mut self, victim: WorkerId, thief: WorkerId) {
        let budget = self
            .excess(victim)
            .min(self.workers[&thief].nthreads as usize);
        let v = &self.workers[&victim];
        let (occupancy, threads) = (v.occupancy, u64::from(v.nthreads));
        let mut queue: Vec<(Priority, TaskId, u64)> = v
            .processing
            .iter()
            .filter(|(t, _)| !v.long_running.contains(t))
            .map(|(&t, &cost)| (self.tasks[t].priority, t, cost))
            .collect();
        // Worst priority first: those run last on the victim.
        queue.sort_unstable_by(|a, b| b.cmp(a));
        let mut behind = 0u64;
        let mut chosen = Vec::new();
        for (_, t, cost) in queue {
            if chosen.len() >= budget {
                break;
            }
            let ahead = occupancy.saturating_sub(behind + cost);
            behind += cost;
            let wait = ahead / threads;
            if self.steals.contains_key(&t) || !self.can_run_on(t, thief) {
                continue;
            }
            let (transfer, _) = self.inputs(t).moving_to(thief, &self.config);
            if transfer < wait {
                chosen.push(t);
            }
        }
        for t in chosen {
            self.steals.insert(t, PendingSteal { victim, thief });
            self.workers
                .get_mut(&victim)
                .expect("invariant: the victim is live")
                .outgoing_steals += 1;
            self.workers
                .get_mut(&thief)
                .expect("invariant: the thief is live")
                .incoming_steals += 1;
            let key = self.tasks[t].key.clone();
            self.out.emit(Command::Steal {
                worker: victim,
                key,
            });
        }
    }

    /// Undoes the counters of a steal that is over.
    pub(crate) fn end_steal(&mut self, steal: PendingSteal) {
        if let Some(v) = self.workers.get_mut(&steal.victim) {
            v.outgoing_steals -= 1;
        }
        if let Some(th) = self.workers.get_mut(&steal.thief) {
            th.incoming_steals -= 1;
        }
    }

    pub(crate) fn on_steal_response(&mut self, worker: WorkerId, key: &Key, stolen: bool) {
        self.touch(worker);
        let Some(t) = self.tasks.id(key) else {
            return;
        };
        let pending = self.steals.get(&t).copied().filter(|s| s.victim == worker);
        if let Some(steal) = pending {
            self.steals.remove(&t);
            self.end_steal(steal);
        }
        // A refusal, or an answer about a task that moved on meanwhile, changes nothing.
        if !stolen || self.tasks[t].state != (TaskState::Processing { worker }) {
            return;
        }
        self.make_ready(t);
        if let Some(PendingSteal { thief, .. }) = pending {
            if self.can_run_on(t, thief) {
                self.assign(t, thief);
            }
        }
    }
}
