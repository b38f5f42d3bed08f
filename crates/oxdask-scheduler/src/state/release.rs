//! Reference counting: which results are kept, released, and forgotten.
//!
//! A result is kept while a client wants it or an active dependent needs it (Dask's
//! `who_wants` and `waiters`). When neither holds, the holders are told to free it
//! (`FreeKeys`) and the task becomes `Released`; a queued or processing task that nobody needs
//! any more is cancelled the same way. A released or erred task stays in the table while a
//! dependent refers to it (its payload is the lineage needed to recompute that dependent's
//! input), and is forgotten once nothing does. Forgetting a task drops its references to its
//! dependencies, so a client releasing its last key cascades through the graph.

use std::collections::HashSet;

use oxdask_graph::Key;

use super::{ClientId, Command, SchedulerState, TaskId, TaskState};

impl SchedulerState {
    /// Processes follow-up work until every list is empty.
    pub(crate) fn drain_work(&mut self) {
        loop {
            if let Some(t) = self.work.pull_back.pop() {
                self.pull_back(t);
            } else if let Some(t) = self.work.activate.pop() {
                self.activate(t);
            } else if let Some(t) = self.work.release.pop() {
                self.release_if_unneeded(t);
            } else if let Some(t) = self.work.forget.pop() {
                self.forget_if_unreferenced(t);
            } else if let Some(t) = self.work.ready.pop() {
                if self.tasks.get(t).map(|t| &t.state) == Some(&TaskState::Waiting { missing: 0 }) {
                    self.make_ready(t);
                }
            } else {
                return;
            }
        }
    }

    /// Frees or cancels `t` if nobody needs it.
    fn release_if_unneeded(&mut self, t: TaskId) {
        let Some(task) = self.tasks.get(t) else {
            return;
        };
        if task.needed() {
            return;
        }
        match &task.state {
            TaskState::Waiting { .. } | TaskState::Queued => {}
            TaskState::Processing { worker } => self.out.free(*worker, task.key.clone()),
            TaskState::Memory { holders, .. } => {
                for &h in holders {
                    self.out.free(h, task.key.clone());
                }
            }
            TaskState::Released | TaskState::Erred { .. } => {
                self.work.forget.push(t);
                return;
            }
        }
        self.set_state(t, TaskState::Released);
        self.work.forget.push(t);
    }

    fn forget_if_unreferenced(&mut self, t: TaskId) {
        if !self.tasks.get(t).is_some_and(|task| task.forgettable()) {
            return;
        }
        let task = self.tasks.remove(t);
        if self.watching() {
            self.record_transition(task.key.clone(), task.state.kind().name(), "forgotten");
        }
        for &d in task.deps.iter() {
            self.tasks[d].dependents.swap_remove(&t);
            self.work.forget.push(d);
        }
    }

    /// A dependency of queued or processing `t` left memory: cancel it and wait again.
    fn pull_back(&mut self, t: TaskId) {
        let Some(task) = self.tasks.get(t) else {
            return;
        };
        if !matches!(task.state, TaskState::Queued | TaskState::Processing { .. }) {
            return;
        }
        let missing = self.deps_not_in_memory(t).count();
        if missing == 0 {
            return;
        }
        if let TaskState::Processing { worker } = task.state {
            self.out.free(worker, task.key.clone());
        }
        let missing = u32::try_from(missing).expect("fewer than 2^32 dependencies");
        self.set_state(t, TaskState::Waiting { missing });
    }

    /// `client` wants `t`: report it at once if it is done, else compute it.
    pub(crate) fn add_want(&mut self, client: ClientId, t: TaskId) {
        let task = &mut self.tasks[t];
        let Err(pos) = task.who_wants.binary_search(&client) else {
            return;
        };
        task.who_wants.insert(pos, client);
        self.clients.entry(client).or_default().wants.insert(t);
        match self.tasks[t].state {
            TaskState::Released => self.work.activate.push(t),
            TaskState::Memory { .. } | TaskState::Erred { .. } => self.report_to(t, client),
            _ => {}
        }
    }

    /// `client` no longer wants `t`.
    pub(crate) fn remove_want(&mut self, client: ClientId, t: TaskId) {
        let task = &mut self.tasks[t];
        let Ok(pos) = task.who_wants.binary_search(&client) else {
            return;
        };
        task.who_wants.remove(pos);
        if let Some(c) = self.clients.get_mut(&client) {
            c.wants.swap_remove(&t);
        }
        self.work.release.push(t);
        self.work.forget.push(t);
    }

    /// Erred `keys` run again: they and every erred dependency behind them are released,
    /// then the wanted ones activate (their released dependencies with them).
    pub(crate) fn on_retry(&mut self, keys: &[Key]) {
        let roots: Vec<TaskId> = keys.iter().filter_map(|k| self.tasks.id(k)).collect();
        let mut stack = roots.clone();
        let mut erred = Vec::new();
        while let Some(t) = stack.pop() {
            if !matches!(self.tasks[t].state, TaskState::Erred { .. }) || erred.contains(&t) {
                continue;
            }
            erred.push(t);
            stack.extend(self.tasks[t].deps.iter().copied());
        }
        for &t in &erred {
            self.tasks[t].suspicious = 0;
            self.set_state(t, TaskState::Released);
        }
        for t in roots {
            if erred.contains(&t) {
                self.work.activate.push(t);
            }
        }
    }

    pub(crate) fn on_keys_released(&mut self, client: ClientId, keys: &[Key]) {
        for key in keys {
            if let Some(t) = self.tasks.id(key) {
                self.remove_want(client, t);
            }
        }
    }

    /// Cancels `client`'s futures for `keys` and for every key it wants downstream of them
    /// (as Dask's `cancel`); other clients keep theirs.
    pub(crate) fn on_keys_cancelled(&mut self, client: ClientId, keys: &[Key]) {
        for key in keys {
            let Some(root) = self.tasks.id(key) else {
                continue;
            };
            let mut seen: HashSet<TaskId> = HashSet::from([root]);
            let mut stack = vec![root];
            let mut cancelled = Vec::new();
            while let Some(t) = stack.pop() {
                let task = &self.tasks[t];
                if task.who_wants.binary_search(&client).is_ok() {
                    cancelled.push(t);
                }
                for &d in task.dependents.iter() {
                    if seen.insert(d) {
                        stack.push(d);
                    }
                }
            }
            // Report in priority order: deterministic and roughly the order they would run.
            cancelled.sort_by_key(|&t| (self.tasks[t].priority, t));
            for t in cancelled {
                let reason = if t == root {
                    "cancelled by client".to_owned()
                } else {
                    format!("dependency {key} was cancelled")
                };
                let key = self.tasks[t].key.clone();
                self.remove_want(client, t);
                self.out.emit(Command::ReportCancelled {
                    client,
                    key,
                    reason,
                });
            }
        }
    }

    pub(crate) fn on_client_disconnected(&mut self, client: ClientId) {
        let Some(c) = self.clients.remove(&client) else {
            return;
        };
        for t in c.wants {
            let task = &mut self.tasks[t];
            if let Ok(pos) = task.who_wants.binary_search(&client) {
                task.who_wants.remove(pos);
            }
            self.work.release.push(t);
            self.work.forget.push(t);
        }
    }

    /// Queues a free of `t`'s key on `worker`.
    pub(crate) fn free_on(&mut self, worker: crate::WorkerId, key: Key) {
        self.out.free(worker, key);
    }
}
