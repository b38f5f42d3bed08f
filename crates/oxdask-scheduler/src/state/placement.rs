//! Choosing workers for ready tasks.
//!
//! Every ready task is queued in its constraint group (see [`super::queue`]) and, at the end
//! of each event, queued tasks are handed out best priority first for as long as some group's
//! first task can be placed. Non-root tasks therefore go out within the event that made them
//! ready ("sent immediately"); root tasks wait for a free slot.
//!
//! * **Eligibility.** A worker must be running (not retiring), have the task's resources free
//!   (so a worker never has more of a resource committed than it declared), be among the
//!   task's `restrictions` if any (with `allow_other_workers`, any worker qualifies when no
//!   allowed one does), and, for an unconstrained root task under root-task queuing, process
//!   fewer than `max(ceil(nthreads * worker_saturation), 1)` tasks, or have less than
//!   `nthreads * root_task_horizon` of expected work (occupancy). The first rule is Dask's
//!   root-task queuing: on load → reduce graphs it stops workers from loading far more input
//!   partitions than they can reduce, which bounds memory. The second lets through root
//!   tasks measured to take microseconds, a few milliseconds' worth at a time, so that a
//!   stream of tiny tasks keeps workers busy instead of waiting one round trip per task.
//! * **Preference.** Among eligible workers: the one where the task is expected to start
//!   first (Dask's worker objective), that is the worker's load, `occupancy / nthreads` where
//!   occupancy is the expected time of the work already sent to it, plus the time to move the
//!   bytes of the task's dependencies it does not hold (at the configured bandwidth). Ties go
//!   to the worker holding the most bytes, then the lowest id. So a task follows its large
//!   inputs, but a few bytes held by a busy worker do not pull work away from an idle one. A
//!   task being retried after raising ranks the worker it failed on last.
//! * **Siblings.** A root task goes where its siblings went (the other inputs of its first
//!   dependent, among the first [`SIBLINGS`] of them, running or held there) when that
//!   worker has room and would start it at most `root_task_horizon` later than the worker
//!   chosen by load (so tasks of milliseconds and more still spread). While that worker is
//!   full the task waits for it, unless another worker has less than half a horizon of work
//!   left: it then takes the task, and the siblings after it. Root tasks come out of the
//!   queue in priority order, so the inputs of one reduction step land on one worker,
//!   instead of alternating between equally loaded workers and moving about half of them
//!   (measured: 44% of 100,000 chunk sums moved between two workers before).

use std::cmp::Ordering;

use super::config::SchedulerConfig;
use super::queue::Constraint;
use super::worker::{load, Worker};
use super::{Priority, SchedulerState, TaskId, TaskState, WorkerId};

/// A worker under consideration for one task.
struct Candidate {
    id: WorkerId,
    avoid: bool,
    /// Expected start of the task there, in microseconds: load plus transfers.
    start: u64,
    bytes: u64,
}

impl Candidate {
    /// Ordering where `Less` is preferred.
    fn cmp(&self, other: &Self) -> Ordering {
        self.avoid
            .cmp(&other.avoid)
            .then(self.start.cmp(&other.start))
            .then(other.bytes.cmp(&self.bytes))
            .then(self.id.cmp(&other.id))
    }
}

/// Siblings looked at for a root task (bounds the work per placement under a dependent with
/// thousands of inputs).
const SIBLINGS: usize = 32;

impl SchedulerState {
    /// Hands out queued tasks, best priority first, while any can be placed.
    pub(crate) fn fill(&mut self) {
        let mut heads: Vec<(Priority, TaskId)> = Vec::new();
        loop {
            heads.clear();
            heads.extend(self.queues.heads());
            heads.sort_unstable();
            let placed = heads
                .iter()
                .find_map(|&(_, t)| self.pick_worker(t).map(|w| (t, w)));
            match placed {
                Some((t, w)) => self.assign(t, w),
                None => return,
            }
        }
    }

    /// The best worker for `t` right now, if any can take it.
    pub(crate) fn pick_worker(&self, t: TaskId) -> Option<WorkerId> {
        let task = &self.tasks[t];
        let c = self.queues.constraint(task.group);
        let inputs = self.inputs(t);
        let best_of = |ids: &mut dyn Iterator<Item = (WorkerId, &Worker)>| {
            ids.filter(|(_, w)| self.has_room(w, c) && self.outlives(w, t))
                .map(|(id, worker)| {
                    let (moved, bytes) = inputs.moving_to(id, &self.config);
                    Candidate {
                        id,
                        avoid: task.last_failed_on == Some(id),
                        start: load(worker).saturating_add(moved),
                        bytes,
                    }
                })
                .min_by(Candidate::cmp)
                .map(|c| c.id)
        };
        match &c.restrictions {
            None if c.slot_limited => {
                let best = best_of(&mut self.workers.iter().map(|(&id, w)| (id, w)));
                self.root_worker(t, best)
            }
            None => best_of(&mut self.workers.iter().map(|(&id, w)| (id, w))),
            Some(allowed) => {
                let mut restricted = allowed
                    .iter()
                    .filter_map(|id| self.workers.get(id).map(|w| (*id, w)));
                best_of(&mut restricted).or_else(|| {
                    if c.allow_other {
                        best_of(&mut self.workers.iter().map(|(&id, w)| (id, w)))
                    } else {
                        None
                    }
                })
            }
        }
    }

    /// Where a root task goes, given `best`, the worker chosen by load (if any has room): the
    /// worker running or holding most of its siblings, when that one would start it at most
    /// `root_task_horizon` later. While that worker is full, the task waits for it (`None`),
    /// unless `best` has less than half a horizon of work left: `best` then takes it, and
    /// the siblings that follow.
    fn root_worker(&self, t: TaskId, best: Option<WorkerId>) -> Option<WorkerId> {
        let Some(s) = self.sibling_majority(t) else {
            return best;
        };
        let Some(sw) = self.workers.get(&s).filter(|w| w.is_running()) else {
            return best;
        };
        let horizon = self.config.root_task_horizon.as_micros();
        let best_load = best.map_or(0, |b| load(&self.workers[&b]));
        if load(sw) > best_load.saturating_add(horizon) {
            return best; // long tasks, or a backlog there: spread
        }
        if self.tasks[t].last_failed_on != Some(s) && self.can_run_on(t, s) {
            return Some(s);
        }
        best.filter(|_| best_load < horizon / 2)
    }

    /// The worker running or holding most of `t`'s siblings: the first [`SIBLINGS`] inputs
    /// of its first dependent (ties: the lowest id).
    fn sibling_majority(&self, t: TaskId) -> Option<WorkerId> {
        let &dependent = self.tasks[t].dependents.first()?;
        let mut counts: Vec<(WorkerId, u32)> = Vec::new();
        for &s in self.tasks[dependent].deps.iter().take(SIBLINGS) {
            let w = match &self.tasks[s].state {
                TaskState::Processing { worker } => *worker,
                TaskState::Memory { holders, .. } => holders[0],
                _ => continue,
            };
            match counts.iter_mut().find(|(id, _)| *id == w) {
                Some((_, n)) => *n += 1,
                None => counts.push((w, 1)),
            }
        }
        let (w, _) = counts
            .into_iter()
            .max_by_key(|&(id, n)| (n, std::cmp::Reverse(id)))?;
        Some(w)
    }

    /// Whether `worker` could take `t` right now (for stolen tasks).
    pub(crate) fn can_run_on(&self, t: TaskId, worker: WorkerId) -> bool {
        let Some(w) = self.workers.get(&worker) else {
            return false;
        };
        let c = self.queues.constraint(self.tasks[t].group);
        let allowed = match &c.restrictions {
            None => true,
            Some(r) => c.allow_other || r.binary_search(&worker).is_ok(),
        };
        allowed && self.has_room(w, c) && self.outlives(w, t)
    }

    /// Whether `w` lasts long enough to run `t` (always, unless it said when it ends).
    fn outlives(&self, w: &Worker, t: TaskId) -> bool {
        w.ends_at.is_none_or(|end| {
            let expected = self
                .durations
                .expected(self.tasks[t].func, self.config.unknown_task_duration);
            self.now.0.saturating_add(expected) <= end.0
        })
    }

    fn has_room(&self, w: &Worker, c: &Constraint) -> bool {
        w.is_running()
            && w.fits(&c.resources)
            && (!c.slot_limited
                || w.busy() < self.config.slots(w.nthreads)
                || w.occupancy < u64::from(w.nthreads) * self.config.root_task_horizon.as_micros())
    }

    /// Where `t`'s inputs in memory are, for the cost of moving them to a worker.
    pub(crate) fn inputs(&self, t: TaskId) -> Inputs {
        let mut inputs = Inputs::default();
        for &d in self.tasks[t].deps.iter() {
            if let TaskState::Memory { holders, nbytes } = &self.tasks[d].state {
                inputs.bytes = inputs.bytes.saturating_add(*nbytes);
                inputs.count += 1;
                for &h in holders {
                    match inputs.held.iter_mut().find(|(w, _, _)| *w == h) {
                        Some((_, b, n)) => {
                            *b += nbytes;
                            *n += 1;
                        }
                        None => inputs.held.push((h, *nbytes, 1)),
                    }
                }
            }
        }
        inputs
    }
}

/// A task's inputs in memory: their bytes and number, and how many of each each worker holds.
#[derive(Default)]
pub(crate) struct Inputs {
    bytes: u64,
    count: u64,
    held: Vec<(WorkerId, u64, u64)>,
}

impl Inputs {
    /// Microseconds to move to `worker` the inputs it lacks, and the bytes it already holds.
    pub(crate) fn moving_to(&self, worker: WorkerId, config: &SchedulerConfig) -> (u64, u64) {
        let (bytes, n) = self
            .held
            .iter()
            .find(|(w, _, _)| *w == worker)
            .map_or((0, 0), |&(_, b, n)| (b, n));
        let moved = config.transfer_time(
            self.bytes.saturating_sub(bytes),
            self.count.saturating_sub(n),
        );
        (moved, bytes)
    }
}
