//! Tasks computed here: accepting them, starting them in order within the thread and
//! resource limits, and their results.

use oxdask_graph::Key;
use oxdask_protocol::messages::{ComputeTask, ErrorBlob, WorkerToScheduler};

use super::{Command, Priority, TaskEntry, TaskState, WorkerState};

/// Slack when comparing resource amounts, which are sums and differences of floats.
const RESOURCE_EPSILON: f64 = 1e-9;

impl WorkerState {
    pub(super) fn on_compute_requested(&mut self, task: ComputeTask) {
        let key = task.key.clone();
        let Some(entry) = self.tasks.get_mut(&key) else {
            return self.add_compute(task);
        };
        entry.wanted = true;
        match entry.state {
            TaskState::Memory { nbytes } => {
                let type_name = entry.type_name.clone();
                self.out
                    .push(Command::Send(WorkerToScheduler::TaskFinished {
                        key,
                        nbytes,
                        duration_us: 0,
                        stop_us: 0,
                        type_name,
                        value: None,
                    }));
            }
            TaskState::Executing => {}
            TaskState::Waiting { .. } | TaskState::Ready => {
                let priority = entry.priority;
                for (dep, holders) in &task.deps {
                    if self.tasks.contains_key(dep) {
                        self.add_holders(dep, holders, priority);
                    }
                }
            }
            TaskState::Fetch | TaskState::Flight { .. } | TaskState::Missing => {
                // The scheduler has it computed here after all. A copy still in flight is
                // dropped when it arrives.
                if entry.state == TaskState::Fetch {
                    self.fetch_queue.remove(&(entry.priority, key));
                }
                self.add_compute(task);
            }
        }
    }

    /// Makes `task` a task to compute here, waiting for its dependencies or ready. The entry
    /// may exist already (a value that was to be fetched): its dependents are kept.
    fn add_compute(&mut self, task: ComputeTask) {
        let key = task.key.clone();
        let priority = self.next_priority(task.priority);
        let stimulus = self.stimulus;
        let entry = self.tasks.entry(key.clone()).or_insert_with(|| {
            TaskEntry::new(TaskState::Waiting { missing: 0 }, priority, stimulus)
        });
        entry.priority = priority;
        entry.wanted = true;
        entry.resources.clone_from(&task.resources);
        let mut deps: Vec<Key> = Vec::with_capacity(task.deps.len());
        let mut missing = 0u32;
        for (i, (dep, holders)) in task.deps.iter().enumerate() {
            if *dep == key {
                continue; // a task cannot wait for itself; the host reports the bad input
            }
            let hint = task.nbytes.get(i).copied();
            if self.link_dependency(dep, &key, holders, hint, priority) {
                deps.push(dep.clone());
                if !self.tasks[dep].state.is_memory() {
                    missing += 1;
                }
            }
        }
        let entry = self.entry_mut(&key);
        entry.deps = deps;
        entry.spec = Some(Box::new(task));
        if missing == 0 {
            self.set_state(&key, TaskState::Ready);
            self.push_ready(&key);
        } else {
            self.set_state(&key, TaskState::Waiting { missing });
        }
    }

    pub(super) fn push_ready(&mut self, key: &Key) {
        let e = &self.tasks[key];
        let item = (e.priority, key.clone());
        if e.resources.is_empty() {
            self.ready.insert(item);
        } else {
            self.constrained.insert(item);
        }
    }

    /// Removes a ready task from its queue (nothing if it is not ready).
    pub(super) fn dequeue_ready(&mut self, key: &Key) {
        let e = &self.tasks[key];
        if e.state == TaskState::Ready {
            let item = (e.priority, key.clone());
            self.ready.remove(&item);
            self.constrained.remove(&item);
        }
    }

    /// Starts ready tasks while execution slots are free: the best unconstrained task, or the
    /// best constrained one if its resources are free and it has the better priority.
    pub(super) fn ensure_computing(&mut self) {
        if self.grant_rejoins() || self.paused {
            return; // rejoining tasks get the next free threads
        }
        let slots = self.execution_slots();
        while self.running.len() < slots {
            let plain = self.ready.first().map(|(p, _)| *p);
            let constrained = self
                .constrained
                .first()
                .filter(|(_, k)| self.fits(&self.tasks[k].resources))
                .map(|(p, _)| *p);
            let item = match (plain, constrained) {
                (Some(r), Some(c)) if c < r => self.constrained.pop_first(),
                (Some(_), _) => self.ready.pop_first(),
                (None, Some(_)) => self.constrained.pop_first(),
                (None, None) => break,
            };
            let Some((_, key)) = item else { break };
            self.start(key);
        }
    }

    fn fits(&self, needs: &[(String, f64)]) -> bool {
        needs.iter().all(|(name, amount)| {
            self.available.get(name).copied().unwrap_or(0.0) + RESOURCE_EPSILON >= *amount
        })
    }

    fn start(&mut self, key: Key) {
        self.set_state(&key, TaskState::Executing);
        let entry = self.entry_mut(&key);
        let spec = entry
            .spec
            .take()
            .expect("invariant: a ready task has its spec");
        let resources = entry.resources.clone();
        for (name, amount) in &resources {
            *self.available.entry(name.clone()).or_insert(0.0) -= amount;
        }
        self.running.push((key, resources));
        self.out.push(Command::Execute(spec));
    }

    /// An execution of `key` ended: its thread and resources are free again.
    fn release_thread(&mut self, key: &Key) {
        let resources = if let Some(pos) = self.running.iter().position(|(k, _)| k == key) {
            self.running.swap_remove(pos).1
        } else if let Some(pos) = self.seceded.iter().position(|(k, _)| k == key) {
            self.rejoining.retain(|k| k != key); // (it cannot both end and wait to rejoin)
            self.seceded.swap_remove(pos).1
        } else {
            return;
        };
        for (name, amount) in resources {
            *self.available.entry(name).or_insert(0.0) += amount;
        }
    }

    pub(super) fn on_task_completed(
        &mut self,
        key: Key,
        nbytes: u64,
        (duration_us, stop_us): (u64, u64),
        type_name: String,
        value: Option<bytes::Bytes>,
    ) {
        self.release_thread(&key);
        self.typical_us = Some(match self.typical_us {
            None => duration_us,
            Some(old) => old - old / 4 + duration_us / 4,
        });
        let Some(entry) = self.tasks.get_mut(&key) else {
            return self.drops.push(key);
        };
        match entry.state {
            TaskState::Executing => {}
            TaskState::Memory { .. } => return, // put by a client meanwhile; that copy stays
            _ => return self.drops.push(key),
        }
        if entry.unneeded() {
            // Cancelled while running.
            let deps = self.unlink(&key);
            self.tasks.remove(&key);
            self.drops.push(key);
            return self.forget_all(deps);
        }
        entry.wanted = true;
        entry.type_name.clone_from(&type_name);
        let deps = self.unlink(&key);
        self.put_in_memory(&key, nbytes);
        self.out
            .push(Command::Send(WorkerToScheduler::TaskFinished {
                key,
                nbytes,
                duration_us,
                stop_us,
                type_name,
                value,
            }));
        self.forget_all(deps);
    }

    pub(super) fn on_task_failed(&mut self, key: Key, error: ErrorBlob) {
        self.release_thread(&key);
        let Some(entry) = self.tasks.get_mut(&key) else {
            return;
        };
        if entry.state != TaskState::Executing {
            return;
        }
        let report = !entry.unneeded();
        entry.wanted = false;
        let deps = self.unlink(&key);
        if report {
            self.out.push(Command::Send(WorkerToScheduler::TaskErred {
                key: key.clone(),
                error,
            }));
        }
        self.after_compute_stopped(&key);
        self.forget_all(deps);
    }

    /// A task to compute here stopped being one (stolen, failed): it is forgotten, unless a
    /// local task still needs its value, which must then be fetched.
    pub(super) fn after_compute_stopped(&mut self, key: &Key) {
        let entry = self.entry_mut(key);
        entry.spec = None;
        entry.resources.clear();
        if entry.dependents.is_empty() {
            self.tasks.remove(key);
        } else if entry.holders.is_empty() {
            self.set_state(key, TaskState::Missing);
        } else {
            self.set_state(key, TaskState::Fetch);
            let priority = self.tasks[key].priority;
            self.queue_fetch(priority, key.clone());
        }
    }

    /// Puts `key` in memory and readies the local tasks that were waiting only for it.
    pub(super) fn put_in_memory(&mut self, key: &Key, nbytes: u64) {
        self.set_state(key, TaskState::Memory { nbytes });
        self.managed_bytes += nbytes;
        let entry = self.entry_mut(key);
        entry.failed.clear();
        let dependents: Vec<Key> = entry.dependents.iter().cloned().collect();
        for d in dependents {
            let TaskState::Waiting { missing } = self.tasks[&d].state else {
                continue;
            };
            if missing > 1 {
                self.set_state(
                    &d,
                    TaskState::Waiting {
                        missing: missing - 1,
                    },
                );
            } else {
                self.set_state(&d, TaskState::Ready);
                self.push_ready(&d);
            }
        }
    }

    /// The priority a dependency is fetched with: that of its most urgent dependent.
    pub(super) fn raise_priority(&mut self, key: &Key, priority: Priority) {
        let entry = self.entry_mut(key);
        let fetched = matches!(
            entry.state,
            TaskState::Fetch | TaskState::Flight { .. } | TaskState::Missing
        );
        if !fetched || priority >= entry.priority {
            return;
        }
        let old = entry.priority;
        entry.priority = priority;
        if entry.state == TaskState::Fetch {
            self.fetch_queue.remove(&(old, key.clone()));
            self.queue_fetch(priority, key.clone());
        }
    }
}
