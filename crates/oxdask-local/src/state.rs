//! The local executor's pure state machine: readiness, priorities, and releasing results.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use oxdask_graph::{Adjacency, Graph, TaskId};

/// Counters describing one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Tasks executed.
    pub tasks: usize,
    /// Most task results held in memory at the same time.
    pub peak_held: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Waiting,
    Ready,
    Running,
    Done,
}

/// Execution state of one graph: what is ready, what is running, which results are held.
///
/// Invariants (see [`LocalState::check_invariants`]): a task is `Ready` exactly when all its
/// dependencies are `Done` and it has not been popped; a `Done` task's value is held while some
/// dependent is not `Done`, or forever if it is an output.
#[derive(Debug)]
pub struct LocalState<V> {
    deps: Adjacency,
    dependents: Adjacency,
    priority: Vec<u32>,
    phase: Vec<Phase>,
    missing: Vec<u32>,
    uses_left: Vec<u32>,
    output: Vec<bool>,
    values: Vec<Option<V>>,
    ready: BinaryHeap<Reverse<(u32, TaskId)>>,
    finished: usize,
    held: usize,
    stats: RunStats,
}

impl<V> LocalState<V> {
    /// Prepares a run of `graph` with the given priorities (lower first); results of `outputs`
    /// are kept until [`LocalState::take_outputs`].
    pub fn new<P>(graph: &Graph<P>, priority: Vec<u32>, outputs: &[TaskId]) -> Self {
        let n = graph.len();
        let deps = graph.dependencies().clone();
        let dependents = graph.dependents();
        let mut output = vec![false; n];
        for o in outputs {
            output[o.index()] = true;
        }
        let missing: Vec<u32> = graph.ids().map(|i| count(deps.get(i))).collect();
        let uses_left = graph.ids().map(|i| count(dependents.get(i))).collect();
        let mut phase = vec![Phase::Waiting; n];
        let mut ready = BinaryHeap::new();
        for id in graph.ids() {
            if missing[id.index()] == 0 {
                phase[id.index()] = Phase::Ready;
                ready.push(Reverse((priority[id.index()], id)));
            }
        }
        Self {
            deps,
            dependents,
            priority,
            phase,
            missing,
            uses_left,
            output,
            values: (0..n).map(|_| None).collect(),
            ready,
            finished: 0,
            held: 0,
            stats: RunStats::default(),
        }
    }

    /// Number of tasks in the run.
    pub fn len(&self) -> usize {
        self.phase.len()
    }

    /// True for a run of no tasks.
    pub fn is_empty(&self) -> bool {
        self.phase.is_empty()
    }

    /// Number of ready tasks not yet taken.
    pub fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// True once every task has finished.
    pub fn is_done(&self) -> bool {
        self.finished == self.len()
    }

    /// Counters so far.
    pub fn stats(&self) -> RunStats {
        self.stats
    }

    /// The ready task [`LocalState::pop_ready`] would take next.
    pub fn peek_ready(&self) -> Option<TaskId> {
        self.ready.peek().map(|Reverse((_, id))| *id)
    }

    /// Takes the ready task with the lowest priority and marks it running.
    pub fn pop_ready(&mut self) -> Option<TaskId> {
        let Reverse((_, id)) = self.ready.pop()?;
        debug_assert_eq!(self.phase[id.index()], Phase::Ready);
        self.phase[id.index()] = Phase::Running;
        Some(id)
    }

    /// Dependencies of `task`, in payload order.
    pub fn deps(&self, task: TaskId) -> &[TaskId] {
        self.deps.get(task)
    }

    /// The held result of `task`, if it has one.
    pub fn value(&self, task: TaskId) -> Option<&V> {
        self.values[task.index()].as_ref()
    }

    /// Records the result of a running task: readies its dependents and moves results that no
    /// remaining task needs into `released`, for the caller to drop (outside any lock).
    pub fn finish(&mut self, task: TaskId, value: V, released: &mut Vec<V>) {
        let i = task.index();
        assert_eq!(
            self.phase[i],
            Phase::Running,
            "finished task {task} was not running"
        );
        self.phase[i] = Phase::Done;
        self.finished += 1;
        self.stats.tasks += 1;
        if self.uses_left[i] > 0 || self.output[i] {
            self.values[i] = Some(value);
            self.held += 1;
            self.stats.peak_held = self.stats.peak_held.max(self.held);
        } else {
            released.push(value);
        }
        for k in 0..self.dependents.get(task).len() {
            let d = self.dependents.get(task)[k];
            let m = &mut self.missing[d.index()];
            *m -= 1;
            if *m == 0 {
                self.phase[d.index()] = Phase::Ready;
                self.ready.push(Reverse((self.priority[d.index()], d)));
            }
        }
        for k in 0..self.deps.get(task).len() {
            let d = self.deps.get(task)[k].index();
            self.uses_left[d] -= 1;
            if self.uses_left[d] == 0 && !self.output[d] {
                if let Some(v) = self.values[d].take() {
                    self.held -= 1;
                    released.push(v);
                }
            }
        }
    }

    /// Removes and returns the results of `outputs`, in order; `None` where a task did not run.
    /// A repeated output gets its value once, then `None`.
    pub fn take_outputs(&mut self, outputs: &[TaskId]) -> Vec<Option<V>> {
        outputs
            .iter()
            .map(|o| self.values[o.index()].take())
            .collect()
    }

    /// Cross-checks every index; panics naming the first broken invariant.
    pub fn check_invariants(&self) {
        let mut held = 0;
        for id in (0..self.len()).map(TaskId::from_index) {
            let i = id.index();
            let unfinished = self
                .deps
                .get(id)
                .iter()
                .filter(|d| self.phase[d.index()] != Phase::Done)
                .count();
            assert_eq!(
                self.missing[i] as usize, unfinished,
                "missing count of {id}"
            );
            match self.phase[i] {
                Phase::Waiting => assert!(unfinished > 0, "{id} waits on nothing"),
                Phase::Ready | Phase::Running => assert_eq!(unfinished, 0, "{id} ran early"),
                Phase::Done => {}
            }
            let needed = self
                .dependents
                .get(id)
                .iter()
                .any(|d| self.phase[d.index()] != Phase::Done);
            let should_hold = self.phase[i] == Phase::Done && (needed || self.output[i]);
            assert_eq!(self.values[i].is_some(), should_hold, "value held for {id}");
            held += usize::from(self.values[i].is_some());
        }
        assert_eq!(held, self.held, "held count");
        let queued = self.phase.iter().filter(|p| **p == Phase::Ready).count();
        assert_eq!(queued, self.ready.len(), "ready queue length");
    }
}

fn count(items: &[TaskId]) -> u32 {
    u32::try_from(items.len()).expect("fewer than 2^32 edges per task")
}

#[cfg(test)]
mod tests;
