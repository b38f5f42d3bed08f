//! One key known to the worker: a task to compute here, a value held, or a value to fetch.

use std::fmt;

use indexmap::IndexSet;
use oxdask_graph::{Key, KeyHasher};
use oxdask_protocol::messages::ComputeTask;

use super::{FetchId, StimulusId};

/// Entries of a task's story kept for [`crate::WorkerState::why`].
const STORY_LEN: usize = 16;

/// Order of execution and of fetching: lower `user` first (the scheduler's priority), then
/// arrival order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Priority {
    pub(crate) user: i64,
    pub(crate) seq: u64,
}

/// The state of a key, with the data that state needs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TaskState {
    /// A task to compute here, some of whose dependencies are not in memory yet.
    Waiting { missing: u32 },
    /// A task whose dependencies are all in memory, queued for a thread (and resources).
    Ready,
    /// Running on a thread.
    Executing,
    /// The value is in the store.
    Memory { nbytes: u64 },
    /// A value to fetch, queued until a holder can be asked.
    Fetch,
    /// Being fetched by request `id`.
    Flight { id: FetchId },
    /// A value needed here that no known holder has; the scheduler was told.
    Missing,
}

/// The public name of a [`TaskState`], for queries and stories.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Waiting for dependencies.
    Waiting,
    /// Queued for a thread or for resources.
    Ready,
    /// Running.
    Executing,
    /// Stored.
    Memory,
    /// Queued for fetching.
    Fetch,
    /// Being fetched.
    Flight,
    /// No holder left; waiting for the scheduler to say where it is.
    Missing,
    /// No longer known.
    Forgotten,
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskStatus::Waiting => "waiting",
            TaskStatus::Ready => "ready",
            TaskStatus::Executing => "executing",
            TaskStatus::Memory => "memory",
            TaskStatus::Fetch => "fetch",
            TaskStatus::Flight => "flight",
            TaskStatus::Missing => "missing",
            TaskStatus::Forgotten => "forgotten",
        })
    }
}

impl TaskState {
    pub(crate) fn status(&self) -> TaskStatus {
        match self {
            TaskState::Waiting { .. } => TaskStatus::Waiting,
            TaskState::Ready => TaskStatus::Ready,
            TaskState::Executing => TaskStatus::Executing,
            TaskState::Memory { .. } => TaskStatus::Memory,
            TaskState::Fetch => TaskStatus::Fetch,
            TaskState::Flight { .. } => TaskStatus::Flight,
            TaskState::Missing => TaskStatus::Missing,
        }
    }

    /// A task to compute here that has not started.
    pub(crate) fn is_queued_compute(&self) -> bool {
        matches!(self, TaskState::Waiting { .. } | TaskState::Ready)
    }

    pub(crate) fn is_memory(&self) -> bool {
        matches!(self, TaskState::Memory { .. })
    }
}

/// Everything the worker knows about one key.
#[derive(Clone, Debug)]
pub(crate) struct TaskEntry {
    pub(crate) state: TaskState,
    pub(crate) priority: Priority,
    /// The task to run, while waiting or ready.
    pub(crate) spec: Option<Box<ComputeTask>>,
    /// Distinct dependencies of a task to compute here (waiting, ready or executing); each
    /// lists this key among its `dependents`. Empty otherwise.
    pub(crate) deps: Vec<Key>,
    /// Resources held while executing.
    pub(crate) resources: Vec<(String, f64)>,
    /// Local tasks (waiting, ready or executing) that need this value.
    pub(crate) dependents: IndexSet<Key, KeyHasher>,
    /// Peers believed to hold the value, in the order to try them.
    pub(crate) holders: IndexSet<String>,
    /// Holders that failed to deliver since the value was last missing.
    pub(crate) failed: Vec<String>,
    /// Expected size, for fetch throttling.
    pub(crate) nbytes_hint: Option<u64>,
    /// The scheduler wants this key here: asked to compute or replicate it, or was told the
    /// value is here, and has not freed it since. A key neither wanted nor needed by a local
    /// task is forgotten (once it stops executing or being fetched).
    pub(crate) wanted: bool,
    /// Type name of a computed result.
    pub(crate) type_name: String,
    /// The last state changes and their stimuli.
    pub(crate) story: Vec<(StimulusId, TaskStatus)>,
}

impl TaskEntry {
    pub(crate) fn new(state: TaskState, priority: Priority, stimulus: StimulusId) -> Self {
        let status = state.status();
        Self {
            state,
            priority,
            spec: None,
            deps: Vec::new(),
            resources: Vec::new(),
            dependents: IndexSet::default(),
            holders: IndexSet::new(),
            failed: Vec::new(),
            nbytes_hint: None,
            wanted: false,
            type_name: String::new(),
            story: vec![(stimulus, status)],
        }
    }

    /// Moves to `state`, recording the change.
    pub(crate) fn set(&mut self, state: TaskState, stimulus: StimulusId) {
        if self.story.len() == STORY_LEN {
            self.story.remove(0);
        }
        self.story.push((stimulus, state.status()));
        self.state = state;
    }

    /// Neither the scheduler nor a local task needs this key.
    pub(crate) fn unneeded(&self) -> bool {
        !self.wanted && self.dependents.is_empty()
    }
}
