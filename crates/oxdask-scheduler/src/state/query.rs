//! Read-only views for the state endpoint, the dashboard, and tests.
//!
//! (`let _ = write!(s, ..)` below: writing to a `String` cannot fail.)

use std::fmt::Write as _;

use oxdask_graph::Key;

use super::{ClientId, Priority, SchedulerState, StateKind, TaskState, Time};
use super::{WorkerId, WorkerStatus};

/// A snapshot of one task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskStateView {
    /// The key.
    pub key: Key,
    /// Its state.
    pub state: TaskState,
    /// Its priority.
    pub priority: Priority,
    /// Clients wanting it, sorted.
    pub wanted_by: Vec<ClientId>,
    /// Keys of its dependencies, in argument order.
    pub deps: Vec<Key>,
    /// How many tasks depend on it.
    pub dependents: usize,
    /// How many of them are active and need its result.
    pub waiters: u32,
    /// Re-runs left after an error.
    pub retries_left: u32,
    /// Workers that died while running it.
    pub suspicious: u32,
}

/// A snapshot of one worker.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerView {
    /// Its id.
    pub id: WorkerId,
    /// Its address.
    pub address: String,
    /// Its threads.
    pub nthreads: u32,
    /// Its memory limit.
    pub memory_limit: u64,
    /// Running, paused or retiring.
    pub status: WorkerStatus,
    /// Why it is paused, while paused.
    pub pause_reason: Option<String>,
    /// Tasks sent to it and not finished.
    pub processing: usize,
    /// Expected work sent to it.
    pub occupancy: Time,
    /// Results it holds.
    pub keys_held: usize,
    /// Their total size.
    pub nbytes_held: u64,
    /// Process memory (RSS) from its last heartbeat.
    pub memory: u64,
    /// Managed memory (stored results) from its last heartbeat.
    pub managed: u64,
    /// Bytes of results spilled to disk, from its last heartbeat.
    pub spilled: u64,
    /// When it was last heard from.
    pub last_seen: Time,
    /// When it will end, if it said so.
    pub ends_at: Option<Time>,
}

/// How many tasks are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Released.
    pub released: usize,
    /// Waiting.
    pub waiting: usize,
    /// Queued.
    pub queued: usize,
    /// Processing.
    pub processing: usize,
    /// Memory.
    pub memory: usize,
    /// Erred.
    pub erred: usize,
}

impl StateCounts {
    /// Counts one more task in state `kind`.
    pub fn add(&mut self, kind: StateKind) {
        *match kind {
            StateKind::Released => &mut self.released,
            StateKind::Waiting => &mut self.waiting,
            StateKind::Queued => &mut self.queued,
            StateKind::Processing => &mut self.processing,
            StateKind::Memory => &mut self.memory,
            StateKind::Erred => &mut self.erred,
        } += 1;
    }

    /// All the tasks counted.
    #[must_use]
    pub fn total(&self) -> usize {
        self.iter().map(|(_, n)| n).sum()
    }

    /// `(state, count)` for every state.
    pub fn iter(&self) -> impl Iterator<Item = (StateKind, usize)> {
        [
            (StateKind::Released, self.released),
            (StateKind::Waiting, self.waiting),
            (StateKind::Queued, self.queued),
            (StateKind::Processing, self.processing),
            (StateKind::Memory, self.memory),
            (StateKind::Erred, self.erred),
        ]
        .into_iter()
    }
}

impl SchedulerState {
    /// A snapshot of the task for `key`, or `None` if the scheduler does not know it (never
    /// submitted, or forgotten).
    pub fn task_state(&self, key: &Key) -> Option<TaskStateView> {
        let task = &self.tasks[self.tasks.id(key)?];
        Some(TaskStateView {
            key: task.key.clone(),
            state: task.state.clone(),
            priority: task.priority,
            wanted_by: task.who_wants.clone(),
            deps: task
                .deps
                .iter()
                .map(|&d| self.tasks[d].key.clone())
                .collect(),
            dependents: task.dependents.len(),
            waiters: task.waiters,
            retries_left: task.retries_left,
            suspicious: task.suspicious,
        })
    }

    /// Snapshots of all workers, by id.
    pub fn workers(&self) -> Vec<WorkerView> {
        self.workers
            .iter()
            .map(|(&id, w)| WorkerView {
                id,
                address: w.address.clone(),
                nthreads: w.nthreads,
                memory_limit: w.memory_limit,
                status: w.status,
                pause_reason: w.pause_reason.clone(),
                processing: w.processing.len(),
                occupancy: Time(w.occupancy),
                keys_held: w.has_what.len(),
                nbytes_held: w.nbytes,
                memory: w.memory,
                managed: w.managed,
                spilled: w.spilled,
                last_seen: w.last_seen,
                ends_at: w.ends_at,
            })
            .collect()
    }

    /// Number of tasks per state (O(tasks): for the dashboard, not for hot paths).
    pub fn counts_by_state(&self) -> StateCounts {
        let mut c = StateCounts::default();
        for (_, t) in self.tasks.iter() {
            c.add(t.state.kind());
        }
        c
    }

    /// Number of tasks the scheduler knows.
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Workers holding `key`'s result (empty unless it is in memory).
    pub fn who_has(&self, key: &Key) -> Vec<WorkerId> {
        match self.tasks.id(key).map(|t| &self.tasks[t].state) {
            Some(TaskState::Memory { holders, .. }) => holders.clone(),
            _ => Vec::new(),
        }
    }

    /// The task whose own failure `key` inherited (`key` itself when it failed itself or is
    /// unknown): the chain of failed dependencies followed to its start.
    pub fn failure_origin(&self, key: &Key) -> Key {
        let mut origin = key.clone();
        // Bounded: a chain of failed dependencies visits each task at most once.
        for _ in 0..self.task_count() {
            match self.tasks.id(&origin).map(|t| &self.tasks[t].state) {
                Some(TaskState::Erred {
                    from: Some(from), ..
                }) => origin = from.clone(),
                _ => break,
            }
        }
        origin
    }

    /// Explains where the task for `key` is and why: its state and worker, what it waits
    /// for, who needs it, and its last transitions with the stimuli that caused them.
    pub fn why(&self, key: &Key) -> String {
        let Some(t) = self.tasks.id(key) else {
            return format!(
                "task {key} is not known to the scheduler: never submitted, or forgotten once \
                 no client wanted it and no task depended on it"
            );
        };
        let task = &self.tasks[t];
        let mut s = format!("task {key} is {}", self.describe(&task.state));
        let p = task.priority;
        let _ = write!(
            s,
            "\n  priority: user {}, graph {}, order {}",
            p.user, p.generation, p.order
        );
        if task.who_wants.is_empty() {
            s.push_str("\n  wanted by no client");
        } else {
            let clients: Vec<String> = task.who_wants.iter().map(|c| c.to_string()).collect();
            let _ = write!(s, "\n  wanted by {}", clients.join(", "));
        }
        let _ = write!(
            s,
            "\n  needed by {} active of {} dependents",
            task.waiters,
            task.dependents.len()
        );
        let pending: Vec<String> = self
            .deps_not_in_memory(t)
            .map(|d| {
                let dep = &self.tasks[d];
                format!("{} ({})", dep.key, self.describe(&dep.state))
            })
            .collect();
        if !pending.is_empty() {
            let _ = write!(s, "\n  waiting on: {}", pending.join(", "));
        }
        if task.state == TaskState::Queued {
            let c = self.queues.constraint(task.group);
            let _ = write!(s, "\n  queued because {}", self.queue_reason(c));
        }
        if task.payload.is_none() {
            s.push_str("\n  scattered data: no lineage, cannot be recomputed");
        }
        let name = self.durations.name(task.func);
        let (expected, how) = match self.durations.learned(task.func) {
            Some(d) => (d, "learned"),
            None => (self.config.unknown_task_duration, "never timed"),
        };
        let _ = write!(
            s,
            "\n  function {name:?}: expected to run {expected} ({how})"
        );
        let _ = write!(
            s,
            "\n  retries left: {}; workers died running it: {}",
            task.retries_left, task.suspicious
        );
        s.push_str("\n  recent transitions:");
        for e in task.log.iter() {
            let _ = write!(s, "\n    -> {} at {} by {}", e.to, e.at, e.stimulus);
        }
        s
    }

    fn describe(&self, state: &TaskState) -> String {
        let worker = |w: &WorkerId| match self.workers.get(w) {
            Some(wk) => format!("{w} ({})", wk.address),
            None => w.to_string(),
        };
        match state {
            TaskState::Released => "released".into(),
            TaskState::Waiting { missing } => format!("waiting for {missing} dependencies"),
            TaskState::Queued => "queued on the scheduler".into(),
            TaskState::Processing { worker: w } => format!("processing on {}", worker(w)),
            TaskState::Memory { holders, nbytes } => {
                let hs: Vec<String> = holders.iter().map(worker).collect();
                format!("in memory ({nbytes} bytes) on {}", hs.join(", "))
            }
            TaskState::Erred { error, from: None } => format!("erred: {error}"),
            TaskState::Erred {
                error,
                from: Some(k),
            } => format!("erred because dependency {k} failed: {error}"),
        }
    }

    fn queue_reason(&self, c: &super::queue::Constraint) -> String {
        let mut why = Vec::new();
        if self.workers.values().all(|w| !w.is_running()) {
            let paused = self
                .workers
                .values()
                .filter(|w| w.status == WorkerStatus::Paused)
                .count();
            why.push(if paused > 0 {
                format!("no worker is running ({paused} paused for memory)")
            } else {
                "no worker is running".to_owned()
            });
        }
        if c.slot_limited {
            why.push(format!(
                "root-task queuing: every worker processes its limit of \
                 ceil(nthreads x {}) tasks and {} of expected work per thread",
                self.config.worker_saturation, self.config.root_task_horizon
            ));
        }
        if let Some(r) = &c.restrictions {
            let ids: Vec<String> = r
                .iter()
                .map(|w| match self.workers.get(w) {
                    Some(wk) if wk.is_running() => format!("{} ({})", w.0, wk.address),
                    Some(wk) => format!("{} ({}, not running)", w.0, wk.address),
                    None => format!("{} (not connected)", w.0),
                })
                .collect();
            let loose = if c.allow_other {
                " (or any, loosely)"
            } else {
                ""
            };
            why.push(if ids.is_empty() {
                format!(
                    "it may only run on workers that are not connected{loose}: none of the \
                     addresses it names belongs to a worker of this scheduler"
                )
            } else {
                format!("it may only run on workers [{}]{loose}", ids.join(", "))
            });
        }
        if !c.resources.is_empty() {
            let rs: Vec<String> = c
                .resources
                .to_vec()
                .iter()
                .map(|(n, a)| format!("{n}={a}"))
                .collect();
            let declared = self
                .workers
                .values()
                .any(|w| w.is_running() && w.declares(&c.resources));
            let problem = if declared {
                "no allowed worker has them free"
            } else {
                "no running worker declares that much"
            };
            why.push(format!("it needs resources {}: {problem}", rs.join(", ")));
        }
        if why.is_empty() {
            why.push("it has not been placed yet".into());
        }
        why.join("; ")
    }
}
