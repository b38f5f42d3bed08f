//! State transitions: the single place where a task's state changes and every index that
//! mirrors it (queues, worker processing and holdings, dependency counters, waiters) is
//! updated, and where clients hear about terminal states.

use oxdask_graph::Key;

use super::task::LogEntry;
use super::{ClientId, Command, ComputeSpec, SchedulerState, TaskError, TaskId, TaskState};
use super::{Replication, WorkerId};

impl SchedulerState {
    /// Moves `t` to `new`, keeping every index consistent and queueing follow-up work:
    /// * leaving `Queued`, `Processing` or `Memory` undoes its bookkeeping;
    /// * becoming (in)active adjusts the dependencies' waiter counts, which may activate a
    ///   released dependency or release one nobody needs any more;
    /// * entering or leaving `Memory` adjusts the dependents' missing counts (and pulls back
    ///   queued or processing dependents when the data goes away);
    /// * entering `Memory` or `Erred` reports to every client wanting `t`.
    ///
    /// Entering `Processing` is completed by [`SchedulerState::assign`], which knows the cost.
    pub(crate) fn set_state(&mut self, t: TaskId, new: TaskState) {
        let entry = LogEntry {
            stimulus: self.stimulus,
            at: self.now,
            to: new.kind(),
        };
        let task = &mut self.tasks[t];
        task.log.push(entry);
        let old = std::mem::replace(&mut task.state, new);
        if self.watching() {
            let key = self.tasks[t].key.clone();
            self.record_transition(key, old.kind().name(), entry.to.name());
        }
        let (was_active, was_memory) = (old.is_active(), old.is_memory());
        self.leave(t, old);
        self.enter(t);
        let state = &self.tasks[t].state;
        let (is_active, is_memory) = (state.is_active(), state.is_memory());
        let reports = matches!(state, TaskState::Memory { .. } | TaskState::Erred { .. });
        if was_active != is_active {
            self.update_waiters(t, is_active);
        }
        if was_memory != is_memory {
            self.update_dependents(t, is_memory);
        }
        if reports {
            self.report(t);
        }
    }

    fn leave(&mut self, t: TaskId, old: TaskState) {
        match old {
            TaskState::Queued => {
                let task = &self.tasks[t];
                let removed = self.queues.remove(task.group, task.priority, t);
                debug_assert!(
                    removed,
                    "invariant: queued tasks are in their group's queue"
                );
            }
            TaskState::Processing { worker } => self.unassign(t, worker),
            TaskState::Memory { holders, nbytes } => {
                for h in holders {
                    let w = self
                        .workers
                        .get_mut(&h)
                        .expect("invariant: holders are live workers");
                    w.has_what.swap_remove(&t);
                    w.nbytes -= nbytes;
                }
                self.replicating.remove(&t);
            }
            TaskState::Released | TaskState::Waiting { .. } | TaskState::Erred { .. } => {}
        }
    }

    fn enter(&mut self, t: TaskId) {
        let task = &self.tasks[t];
        match &task.state {
            TaskState::Queued => {
                self.queues.push(task.group, task.priority, t);
                self.fill_needed = true;
            }
            TaskState::Memory { holders, nbytes } => {
                for h in holders {
                    let w = self
                        .workers
                        .get_mut(h)
                        .expect("invariant: holders are live workers");
                    w.has_what.insert(t);
                    w.nbytes += nbytes;
                }
            }
            _ => {}
        }
    }

    /// `key` left its thread on `worker` (`secede()`): it stays processing there, with no
    /// expected work and no thread, so the worker may be sent more.
    pub(crate) fn on_task_seceded(&mut self, worker: WorkerId, key: &Key) {
        if !self.touch(worker) {
            return;
        }
        let Some(t) = self.tasks.id(key) else { return };
        if self.tasks[t].state != (TaskState::Processing { worker }) {
            return;
        }
        let w = self
            .workers
            .get_mut(&worker)
            .expect("invariant: touched workers are live");
        if let Some(cost) = w.processing.get_mut(&t) {
            w.occupancy -= std::mem::take(cost);
            w.long_running.insert(t);
            self.fill_needed = true;
        }
    }

    /// Removes `t` from the worker it was processing on, returning its capacity.
    fn unassign(&mut self, t: TaskId, worker: WorkerId) {
        let group = self.tasks[t].group;
        let w = self
            .workers
            .get_mut(&worker)
            .expect("invariant: processing tasks are on live workers");
        let cost = w
            .processing
            .remove(&t)
            .expect("invariant: a processing task is in its worker's processing map");
        w.occupancy -= cost;
        w.long_running.remove(&t);
        w.give_back(&self.queues.constraint(group).resources);
        if let Some(steal) = self.steals.remove(&t) {
            self.end_steal(steal);
        }
        self.fill_needed = true;
    }

    fn update_waiters(&mut self, t: TaskId, now_active: bool) {
        for i in 0..self.tasks[t].deps.len() {
            let d = self.tasks[t].deps[i];
            let dep = &mut self.tasks[d];
            if now_active {
                dep.waiters += 1;
                if dep.state == TaskState::Released {
                    self.work.activate.push(d);
                }
            } else {
                dep.waiters -= 1;
                if dep.waiters == 0 {
                    self.work.release.push(d);
                }
            }
        }
    }

    fn update_dependents(&mut self, t: TaskId, now_memory: bool) {
        for i in 0..self.tasks[t].dependents.len() {
            let d = self.tasks[t].dependents[i];
            match &mut self.tasks[d].state {
                TaskState::Waiting { missing } => {
                    if now_memory {
                        *missing -= 1;
                        if *missing == 0 {
                            self.work.ready.push(d);
                        }
                    } else {
                        *missing += 1;
                    }
                }
                TaskState::Queued | TaskState::Processing { .. } if !now_memory => {
                    self.work.pull_back.push(d);
                }
                _ => {}
            }
        }
    }

    /// Tells every client wanting `t` about its (terminal) state.
    fn report(&mut self, t: TaskId) {
        for i in 0..self.tasks[t].who_wants.len() {
            let c = self.tasks[t].who_wants[i];
            self.report_to(t, c);
        }
    }

    /// Tells `client` about `t` if it is in memory or erred.
    pub(crate) fn report_to(&mut self, t: TaskId, client: ClientId) {
        let task = &self.tasks[t];
        let key = task.key.clone();
        let cmd = match &task.state {
            TaskState::Memory { nbytes, .. } => Command::ReportInMemory {
                client,
                key,
                nbytes: *nbytes,
                type_name: task.type_name.clone(),
            },
            TaskState::Erred {
                error: TaskError::Lost { .. },
                from: None,
            } => Command::ReportLost { client, key },
            TaskState::Erred { error, .. } => Command::ReportErred {
                client,
                key,
                error: error.clone(),
            },
            _ => return,
        };
        self.out.emit(cmd);
    }

    /// Queues `t` for placement (its dependencies are all in memory).
    pub(crate) fn make_ready(&mut self, t: TaskId) {
        self.set_state(t, TaskState::Queued);
    }

    /// Sends queued `t` to `worker`, which the caller checked can take it.
    pub(crate) fn assign(&mut self, t: TaskId, worker: WorkerId) {
        self.set_state(t, TaskState::Processing { worker });
        let task = &self.tasks[t];
        let cost = self
            .durations
            .expected(task.func, self.config.unknown_task_duration);
        let w = self
            .workers
            .get_mut(&worker)
            .expect("invariant: tasks are assigned to live workers");
        w.take(&self.queues.constraint(task.group).resources);
        w.processing.insert(t, cost);
        w.occupancy += cost;
        let task = self.compute_spec(t);
        self.out.emit(Command::Compute { worker, task });
    }

    /// What a worker needs to run `t`, with the current holders of each dependency.
    pub(crate) fn compute_spec(&self, t: TaskId) -> ComputeSpec {
        let task = &self.tasks[t];
        let mut deps = Vec::with_capacity(task.deps.len());
        let mut nbytes = Vec::with_capacity(task.deps.len());
        for &d in task.deps.iter() {
            let dep = &self.tasks[d];
            let (holders, size) = match &dep.state {
                TaskState::Memory { holders, nbytes } => (holders.clone(), *nbytes),
                _ => (Vec::new(), 0),
            };
            deps.push((dep.key.clone(), holders));
            nbytes.push(size);
        }
        ComputeSpec {
            key: task.key.clone(),
            payload: task
                .payload
                .clone()
                .expect("invariant: only tasks with lineage are computed"),
            priority: task.priority,
            deps,
            nbytes,
            resources: self.queues.constraint(task.group).resources.to_vec(),
            wanted: !task.who_wants.is_empty(),
        }
    }

    /// Fails `t` with `error` (inherited from `from` if given) and every active task that
    /// depends on it, transitively; processing dependents are cancelled on their workers.
    /// Clients wanting any of them get the original error.
    pub(crate) fn fail_with(&mut self, t: TaskId, error: TaskError, from: Option<Key>) {
        let origin = from.clone().unwrap_or_else(|| self.tasks[t].key.clone());
        self.set_state(
            t,
            TaskState::Erred {
                error: error.clone(),
                from,
            },
        );
        let mut stack = vec![t];
        while let Some(u) = stack.pop() {
            for i in 0..self.tasks[u].dependents.len() {
                let d = self.tasks[u].dependents[i];
                match self.tasks[d].state {
                    TaskState::Waiting { .. } | TaskState::Queued => {}
                    TaskState::Processing { worker } => {
                        let key = self.tasks[d].key.clone();
                        self.out.free(worker, key);
                    }
                    _ => continue,
                }
                let erred = TaskState::Erred {
                    error: error.clone(),
                    from: Some(origin.clone()),
                };
                self.set_state(d, erred);
                stack.push(d);
            }
        }
    }

    /// Computes a released task that became needed: it inherits a dependency's failure, or
    /// waits for its missing dependencies (activating released ones), or is ready now.
    pub(crate) fn activate(&mut self, t: TaskId) {
        let Some(task) = self.tasks.get(t) else {
            return;
        };
        if task.state != TaskState::Released || !task.needed() {
            return;
        }
        if task.payload.is_none() {
            // Scattered data freed earlier, now needed again (to recompute a lost dependent).
            let key = task.key.clone();
            self.fail_with(t, TaskError::Lost { key, worker: None }, None);
            return;
        }
        let erred_dep = task.deps.iter().find_map(|&d| match &self.tasks[d].state {
            TaskState::Erred { error, from } => Some((
                error.clone(),
                from.clone().unwrap_or_else(|| self.tasks[d].key.clone()),
            )),
            _ => None,
        });
        if let Some((error, origin)) = erred_dep {
            self.fail_with(t, error, Some(origin));
            return;
        }
        let missing = self.deps_not_in_memory(t).count();
        if missing == 0 {
            self.make_ready(t);
        } else {
            let missing = u32::try_from(missing).expect("fewer than 2^32 dependencies");
            self.set_state(t, TaskState::Waiting { missing });
        }
    }

    /// Records that `worker` also holds `t`, which is in memory.
    pub(crate) fn add_holder(&mut self, t: TaskId, worker: WorkerId) {
        let TaskState::Memory { holders, nbytes } = &mut self.tasks[t].state else {
            return;
        };
        let Err(pos) = holders.binary_search(&worker) else {
            return;
        };
        holders.insert(pos, worker);
        let nbytes = *nbytes;
        let w = self
            .workers
            .get_mut(&worker)
            .expect("invariant: holders are live workers");
        w.has_what.insert(t);
        w.nbytes += nbytes;
        if self.replicating.get(&t).is_some_and(|r| r.to == worker) {
            self.replicating.remove(&t);
        }
        self.moved(t, worker);
    }

    /// `worker` no longer holds `t` (it died or lost the data). When it was the last holder,
    /// the key is recomputed from its lineage if needed, or, without lineage (scattered),
    /// erred as lost.
    pub(crate) fn drop_replica(&mut self, t: TaskId, worker: WorkerId) {
        let TaskState::Memory { holders, nbytes } = &mut self.tasks[t].state else {
            return;
        };
        let Ok(pos) = holders.binary_search(&worker) else {
            return;
        };
        if holders.len() > 1 {
            holders.remove(pos);
            let nbytes = *nbytes;
            let w = self
                .workers
                .get_mut(&worker)
                .expect("invariant: holders are live workers");
            w.has_what.swap_remove(&t);
            w.nbytes -= nbytes;
            if let Some(&Replication { from, .. }) = self.replicating.get(&t) {
                if from == worker {
                    self.replicating.remove(&t);
                }
            }
            return;
        }
        if self.tasks[t].payload.is_some() {
            self.set_state(t, TaskState::Released);
            self.work.activate.push(t);
            self.work.forget.push(t);
        } else {
            let error = TaskError::Lost {
                key: self.tasks[t].key.clone(),
                worker: Some(self.workers[&worker].address.clone()),
            };
            self.fail_with(t, error, None);
            self.work.forget.push(t);
        }
    }
}
