//! Tasks: their states, their per-task stimulus log, and the dense table that holds them.

use std::fmt;
use std::sync::Arc;

use oxdask_graph::{Key, KeyMap};

use super::queue::GroupId;
use super::{durations::FuncId, WorkerId};
use super::{ClientId, Priority, StimulusId, TaskError, TaskId, TaskPayload, TaskSet, Time};

/// Where a task is in its life (see the diagram in [`crate::state`]).
#[derive(Clone, Debug, PartialEq)]
pub enum TaskState {
    /// Known but not needed now: not computed, or its result was freed (its inputs and
    /// payload are kept while a dependent may need it recomputed).
    Released,
    /// Needed; `missing` of its dependencies are not in memory yet (always at least one).
    Waiting {
        /// Dependencies not in memory.
        missing: u32,
    },
    /// Ready, held on the scheduler until a suitable worker has room: root tasks beyond the
    /// saturation limit, tasks whose resources are in use, or tasks no current worker may run.
    Queued,
    /// Sent to `worker`, running or in its local queue.
    Processing {
        /// The worker.
        worker: WorkerId,
    },
    /// Its result lives on `holders` (sorted, never empty).
    Memory {
        /// Workers holding the result.
        holders: Vec<WorkerId>,
        /// The result's size.
        nbytes: u64,
    },
    /// Failed: `from` is `None` when the task itself failed, else the key that failed first.
    Erred {
        /// The original failure.
        error: TaskError,
        /// The dependency that failed, when the failure was inherited.
        from: Option<Key>,
    },
}

impl TaskState {
    /// The state's name, without data.
    pub fn kind(&self) -> StateKind {
        match self {
            TaskState::Released => StateKind::Released,
            TaskState::Waiting { .. } => StateKind::Waiting,
            TaskState::Queued => StateKind::Queued,
            TaskState::Processing { .. } => StateKind::Processing,
            TaskState::Memory { .. } => StateKind::Memory,
            TaskState::Erred { .. } => StateKind::Erred,
        }
    }

    /// Waiting, queued or processing: the task is on its way to memory and its dependencies
    /// must stay available for it.
    pub(crate) fn is_active(&self) -> bool {
        matches!(
            self,
            TaskState::Waiting { .. } | TaskState::Queued | TaskState::Processing { .. }
        )
    }

    pub(crate) fn is_memory(&self) -> bool {
        matches!(self, TaskState::Memory { .. })
    }
}

/// The name of a [`TaskState`], for counts and logs.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateKind {
    /// [`TaskState::Released`].
    #[default]
    Released,
    /// [`TaskState::Waiting`].
    Waiting,
    /// [`TaskState::Queued`].
    Queued,
    /// [`TaskState::Processing`].
    Processing,
    /// [`TaskState::Memory`].
    Memory,
    /// [`TaskState::Erred`].
    Erred,
}

impl StateKind {
    /// Dask's name of the state.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            StateKind::Released => "released",
            StateKind::Waiting => "waiting",
            StateKind::Queued => "queued",
            StateKind::Processing => "processing",
            StateKind::Memory => "memory",
            StateKind::Erred => "erred",
        }
    }
}

impl fmt::Display for StateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many transitions each task remembers for [`crate::SchedulerState::why`].
pub(crate) const LOG_LEN: usize = 6;

/// One remembered transition.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LogEntry {
    pub stimulus: StimulusId,
    pub at: Time,
    pub to: StateKind,
}

/// A fixed ring of the last [`LOG_LEN`] transitions: no allocation per task.
#[derive(Clone, Debug, Default)]
pub(crate) struct TaskLog {
    entries: [LogEntry; LOG_LEN],
    /// Total transitions ever logged; the newest is at `(count - 1) % LOG_LEN`.
    count: u32,
}

impl TaskLog {
    pub(crate) fn push(&mut self, entry: LogEntry) {
        self.entries[self.count as usize % LOG_LEN] = entry;
        self.count = self.count.wrapping_add(1);
    }

    /// The remembered transitions, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &LogEntry> {
        let n = (self.count as usize).min(LOG_LEN);
        let start = self.count as usize - n;
        (start..self.count as usize).map(move |i| &self.entries[i % LOG_LEN])
    }
}

/// Everything the scheduler knows about one task.
#[derive(Debug)]
pub(crate) struct Task {
    pub key: Key,
    pub state: TaskState,
    /// `None` for scattered data: it cannot be recomputed.
    pub payload: Option<TaskPayload>,
    pub func: FuncId,
    pub priority: Priority,
    /// Queue group: its placement constraints (restrictions, resources, root queuing).
    pub group: GroupId,
    /// Unique dependencies, in argument order.
    pub deps: Box<[TaskId]>,
    /// Every task in the table that depends on this one.
    pub dependents: TaskSet,
    /// Dependents that are active (waiting, queued or processing): they need this result.
    pub waiters: u32,
    /// Clients holding a future for this key, sorted.
    pub who_wants: Vec<ClientId>,
    pub retries_left: u32,
    /// Workers that died while running it (Dask's `suspicious`).
    pub suspicious: u32,
    /// Where it last raised: retries prefer another worker.
    pub last_failed_on: Option<WorkerId>,
    /// Type name of the result once computed (empty when unknown, e.g. scattered data).
    pub type_name: Arc<str>,
    pub log: TaskLog,
}

impl Task {
    /// Whether the task must be computed or kept: a client wants it or an active dependent
    /// needs it.
    pub(crate) fn needed(&self) -> bool {
        !self.who_wants.is_empty() || self.waiters > 0
    }

    /// Whether it may be removed from the table (it pins nothing and nothing pins it).
    pub(crate) fn forgettable(&self) -> bool {
        self.who_wants.is_empty()
            && self.dependents.is_empty()
            && matches!(self.state, TaskState::Released | TaskState::Erred { .. })
    }
}

/// Dense storage of live tasks with a key index; slots of forgotten tasks are reused.
#[derive(Debug, Default)]
pub(crate) struct TaskStore {
    slots: Vec<Option<Task>>,
    free: Vec<TaskId>,
    by_key: KeyMap<TaskId>,
}

impl TaskStore {
    pub(crate) fn id(&self, key: &Key) -> Option<TaskId> {
        self.by_key.get(key).copied()
    }

    pub(crate) fn get(&self, id: TaskId) -> Option<&Task> {
        self.slots.get(id.index()).and_then(Option::as_ref)
    }

    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        let fresh = additional.saturating_sub(self.free.len());
        self.slots.reserve(fresh);
        self.by_key.reserve(additional);
    }

    /// Adds a task whose key is not in the table yet.
    pub(crate) fn insert(&mut self, task: Task) -> TaskId {
        let key = task.key.clone();
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id.index()] = Some(task);
                id
            }
            None => {
                let raw = u32::try_from(self.slots.len()).expect("fewer than 2^32 live tasks");
                self.slots.push(Some(task));
                TaskId(raw)
            }
        };
        let previous = self.by_key.insert(key, id);
        debug_assert!(previous.is_none(), "invariant: inserted keys are new");
        id
    }

    pub(crate) fn remove(&mut self, id: TaskId) -> Task {
        let task = self.slots[id.index()]
            .take()
            .expect("invariant: removed task ids are live");
        self.by_key.remove(&task.key);
        self.free.push(id);
        task
    }

    /// Live tasks in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (TaskId, &Task)> {
        self.slots.iter().enumerate().filter_map(|(i, t)| {
            let raw = u32::try_from(i).expect("fewer than 2^32 slots");
            t.as_ref().map(|t| (TaskId(raw), t))
        })
    }

    /// Number of key-index entries, slots in use, and free slots, for invariant checks.
    pub(crate) fn census(&self) -> (usize, usize, usize) {
        let used = self.slots.iter().filter(|s| s.is_some()).count();
        (self.by_key.len(), used, self.free.len())
    }

    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }
}

impl std::ops::Index<TaskId> for TaskStore {
    type Output = Task;

    fn index(&self, id: TaskId) -> &Task {
        self.slots[id.index()]
            .as_ref()
            .expect("invariant: task ids held by the scheduler are live")
    }
}

impl std::ops::IndexMut<TaskId> for TaskStore {
    fn index_mut(&mut self, id: TaskId) -> &mut Task {
        self.slots[id.index()]
            .as_mut()
            .expect("invariant: task ids held by the scheduler are live")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keeps_the_newest_entries_in_order() {
        let mut log = TaskLog::default();
        for i in 0..(LOG_LEN as u64 + 3) {
            log.push(LogEntry {
                stimulus: StimulusId(i),
                at: Time(i),
                to: StateKind::Waiting,
            });
        }
        let ids: Vec<u64> = log.iter().map(|e| e.stimulus.0).collect();
        assert_eq!(ids, (3..LOG_LEN as u64 + 3).collect::<Vec<_>>());
    }
}
