//! The worker's pure task state machine.
//!
//! [`WorkerState`] knows every key the worker deals with: tasks the scheduler asked it to
//! compute, values it holds, and values it must fetch from peers for its tasks or because
//! the scheduler asked for a replica. The runtime feeds it [`Event`]s through
//! [`WorkerState::handle`], the only mutator, and carries out the returned [`Command`]s.
//! Nothing here performs IO, reads a clock or draws random numbers, so a sequence of events
//! always produces the same commands; the scenario tests and the simulation rely on it.
//!
//! # Task states
//!
//! ```text
//!  tasks to compute here                         values needed from peers
//!  ─────────────────────                         ────────────────────────
//!  ComputeRequested                               dependency of a local task, or Replicate
//!        │                                                  │
//!        ▼   last dep in memory                             ▼         a holder is free
//!  Waiting{missing} ──────────► Ready               ┌──► Fetch ─────────────────► Flight{id}
//!        ▲                        │ a thread and    │ another │                     │
//!        │                        │ the resources   │ holder  │                     │ DataFetched
//!        │                        ▼ are free        │ left    │                     ▼
//!        │                     Executing            └─────────┴──── FetchFailed ── Memory
//!        │                        │ TaskCompleted                   or missing
//!        │                        ▼                                     │ no holder left:
//!        │                     Memory ◄── DataPut (any state)           ▼ DataMissing sent
//!        │                                                          Missing
//!        └── a dependency is Missing: the task waits until a repeated ComputeRequested
//!            names new holders (Missing ─► Fetch)
//!
//!  Forgotten (removed): a key neither wanted by the scheduler (FreeRequested, or stolen)
//!  nor needed by a local task. Memory values are dropped then; waiting and ready tasks are
//!  cancelled; executing tasks and in-flight fetches finish first and their result is
//!  dropped. TaskFailed reports the error and forgets the task.
//! ```
//!
//! # Policies (after distributed's worker)
//!
//! * While paused (`PauseChanged`: the runtime's memory monitor found the process above its
//!   pause threshold) no task starts and no fetch is sent; the scheduler is told and sends no
//!   new tasks. Running tasks and fetches finish; values are still served to peers.
//! * Ready tasks start in priority order (lower scheduler priority first, then arrival),
//!   at most `nthreads` at once; while tasks are short (a moving average of run times below
//!   `short_task_us`) up to `prefetch` more are handed to the executor, which runs them as
//!   threads free up, so trivial tasks never wait for a round through the state machine. Tasks needing resources queue separately; the best one
//!   starts when its resources are free and it beats the best unconstrained task, so a
//!   `GPU=1` task waits while the GPU is busy but does not hold back other work.
//! * Missing values are fetched in priority order of the tasks that need them, in one
//!   request per holder for as many keys as `max_request_bytes` allows, with at most
//!   `max_fetches_per_peer` requests outstanding per peer and `max_incoming_bytes` in
//!   flight overall. A holder that fails is not asked for that key again; when no holder is
//!   left, the scheduler gets a `DataMissing` per failed holder and the key waits in
//!   `Missing` for the scheduler to name new holders (it re-sends the task's `Compute`).
//! * The scheduler owns the lifetime of data: values computed, fetched, replicated or put
//!   here are reported to it (`TaskFinished`, `DataAdded`) and kept until it frees them. A
//!   free that arrives while a local task still needs the value takes effect when no local
//!   task needs it any more.
//!
//! # Invariants (checked by [`WorkerState::check_invariants`])
//!
//! * `Waiting{missing}` counts exactly the distinct dependencies not in memory (never zero);
//!   ready and executing tasks have all theirs in memory. Dependencies and dependents are
//!   mirror images.
//! * Ready tasks are in exactly one of the ready queues; fetch-state keys in the fetch
//!   queue; in-flight keys in their request; the counts of requests per peer and of bytes
//!   in flight match the requests; executing tasks hold a thread and their resources, and
//!   never more than `nthreads` (plus `prefetch` while tasks are short) executions and the
//!   declared resources are in use.
//! * Nothing lingers: a key neither wanted nor needed is executing or in flight.
//! * Nothing idles: after each event no ready task could start, and no queued key could be
//!   fetched within the limits.

mod command;
mod compute;
mod config;
mod event;
mod fetch;
mod invariants;
mod release;
mod secede;
mod task;

use std::collections::{BTreeMap, BTreeSet};

use oxdask_graph::{Key, KeyMap};
use oxdask_protocol::messages::WorkerToScheduler;

pub use command::Command;
pub use config::StateConfig;
pub use event::{Event, EventKind, FetchId, StimulusId};
pub use task::TaskStatus;

use task::{Priority, TaskEntry, TaskState};

/// A fetch request in flight.
#[derive(Clone, Debug)]
struct FetchRequest {
    from: String,
    keys: Vec<Key>,
    bytes: u64,
}

/// The worker's task state: what to compute, fetch, hold and drop. See the module docs.
#[derive(Debug)]
pub struct WorkerState {
    config: StateConfig,
    /// Looked up by key only; every iteration that decides something goes through an
    /// ordered structure, so the hash order never shows.
    tasks: KeyMap<TaskEntry>,
    /// Ready tasks needing no resources, best first.
    ready: BTreeSet<(Priority, Key)>,
    /// Ready tasks needing resources, best first.
    constrained: BTreeSet<(Priority, Key)>,
    /// Keys in `Fetch`, best first.
    fetch_queue: BTreeSet<(Priority, Key)>,
    /// The fetch queue gained a key or a request ended: worth planning fetches again.
    fetch_dirty: bool,
    /// Executions in progress and the resources each holds. A key appears once per
    /// execution: a result put by a client can overtake a running task, which then still
    /// holds its thread until it ends.
    running: Vec<(Key, Vec<(String, f64)>)>,
    /// Executions that left their thread (`secede()`), with the resources they still hold.
    seceded: Vec<(Key, Vec<(String, f64)>)>,
    /// Seceded tasks waiting for a thread (`rejoin()`), first come first served.
    rejoining: std::collections::VecDeque<Key>,
    /// Declared resources not held by a running task.
    available: BTreeMap<String, f64>,
    /// Moving average of task run times (microseconds), `None` before the first.
    typical_us: Option<u64>,
    fetches: BTreeMap<FetchId, FetchRequest>,
    /// Requests outstanding per peer (peers with none are absent).
    peer_fetches: BTreeMap<String, u32>,
    /// Expected bytes of the requests in flight.
    incoming_bytes: u64,
    /// Bytes of the values in memory.
    managed_bytes: u64,
    /// Paused for memory: no task starts and no fetch is sent.
    paused: bool,
    next_seq: u64,
    next_fetch: u64,
    /// The event being handled.
    stimulus: StimulusId,
    out: Vec<Command>,
    /// Values to drop at the end of the event (one `Drop` command).
    drops: Vec<Key>,
}

impl WorkerState {
    /// A worker with nothing to do.
    pub fn new(config: StateConfig) -> Self {
        let mut available = BTreeMap::new();
        for (name, amount) in &config.resources {
            *available.entry(name.clone()).or_insert(0.0) += amount;
        }
        Self {
            config,
            tasks: KeyMap::default(),
            ready: BTreeSet::new(),
            constrained: BTreeSet::new(),
            fetch_queue: BTreeSet::new(),
            fetch_dirty: false,
            running: Vec::new(),
            seceded: Vec::new(),
            rejoining: std::collections::VecDeque::new(),
            available,
            typical_us: None,
            fetches: BTreeMap::new(),
            peer_fetches: BTreeMap::new(),
            incoming_bytes: 0,
            managed_bytes: 0,
            paused: false,
            next_seq: 0,
            next_fetch: 0,
            stimulus: StimulusId(0),
            out: Vec::new(),
            drops: Vec::new(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &StateConfig {
        &self.config
    }

    /// Applies one event and returns what to do about it (see [`Command`] for the order).
    /// Stale or unexpected events (results of tasks already forgotten, replies to unknown
    /// requests) are absorbed without panicking.
    pub fn handle(&mut self, event: Event) -> Vec<Command> {
        self.stimulus = event.stimulus;
        self.dispatch(event.kind);
        if !self.drops.is_empty() {
            let keys = std::mem::take(&mut self.drops);
            self.out.push(Command::Drop { keys });
        }
        self.ensure_fetching();
        self.ensure_computing();
        std::mem::take(&mut self.out)
    }

    fn dispatch(&mut self, kind: EventKind) {
        match kind {
            EventKind::ComputeRequested(task) => self.on_compute_requested(task),
            EventKind::FreeRequested { keys } => self.on_free_requested(keys),
            EventKind::StealRequested { key } => self.on_steal_requested(key),
            EventKind::ReplicateRequested { keys } => self.on_replicate_requested(keys),
            EventKind::DataFetched { id, values } => self.on_data_fetched(id, values),
            EventKind::FetchFailed { id, error } => self.on_fetch_failed(id, &error),
            EventKind::TaskCompleted {
                key,
                nbytes,
                duration_us,
                stop_us,
                type_name,
                value,
            } => self.on_task_completed(key, nbytes, (duration_us, stop_us), type_name, value),
            EventKind::TaskFailed { key, error } => self.on_task_failed(key, error),
            EventKind::DataPut { keys, report } => self.on_data_put(keys, report),
            EventKind::PauseChanged { paused, reason } => self.on_pause_changed(paused, reason),
            EventKind::Seceded { key } => self.on_seceded(key),
            EventKind::RejoinRequested { key } => self.on_rejoin_requested(key),
        }
    }

    /// Pauses (no task starts, no fetch is sent; running ones finish) or resumes, and tells
    /// the scheduler, which then sends no new tasks.
    fn on_pause_changed(&mut self, paused: bool, reason: String) {
        if self.paused == paused {
            return;
        }
        self.paused = paused;
        self.fetch_dirty = true;
        self.out
            .push(Command::Send(WorkerToScheduler::Paused { paused, reason }));
    }

    /// Whether the worker is paused for memory.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The state of `key`, or `Forgotten`.
    pub fn status(&self, key: &Key) -> TaskStatus {
        self.tasks
            .get(key)
            .map_or(TaskStatus::Forgotten, |t| t.state.status())
    }

    /// Bytes of the values held (for heartbeats).
    pub fn managed_bytes(&self) -> u64 {
        self.managed_bytes
    }

    /// Number of tasks executing (including those handed to the executor ahead of time).
    pub fn executing_count(&self) -> usize {
        self.running.len()
    }

    /// How many tasks may be executing: `nthreads`, plus `prefetch` while tasks are short.
    fn execution_slots(&self) -> usize {
        let threads = self.config.nthreads as usize;
        match self.typical_us {
            Some(us) if us < self.config.short_task_us => threads + self.config.prefetch as usize,
            _ => threads,
        }
    }

    /// Number of keys known.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no key is known.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    fn next_priority(&mut self, user: i64) -> Priority {
        self.next_seq += 1;
        Priority {
            user,
            seq: self.next_seq,
        }
    }

    /// The entry of a key the caller knows exists.
    fn entry_mut(&mut self, key: &Key) -> &mut TaskEntry {
        self.tasks
            .get_mut(key)
            .expect("invariant: keys referenced by the state are in the task table")
    }

    fn set_state(&mut self, key: &Key, state: TaskState) {
        let stimulus = self.stimulus;
        self.entry_mut(key).set(state, stimulus);
    }
}

#[cfg(test)]
mod tests;
