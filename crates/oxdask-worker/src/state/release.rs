//! Letting go: frees and steals from the scheduler, forgetting what nobody needs, and data
//! put here by clients.

use oxdask_graph::Key;
use oxdask_protocol::messages::WorkerToScheduler;

use super::{Command, TaskEntry, TaskState, WorkerState};

impl WorkerState {
    pub(super) fn on_free_requested(&mut self, keys: Vec<Key>) {
        for key in &keys {
            if let Some(entry) = self.tasks.get_mut(key) {
                entry.wanted = false;
            }
        }
        self.forget_all(keys);
    }

    pub(super) fn on_steal_requested(&mut self, key: Key) {
        let stolen = self
            .tasks
            .get(&key)
            .is_some_and(|e| e.state.is_queued_compute());
        if stolen {
            self.dequeue_ready(&key);
            self.entry_mut(&key).wanted = false;
            let deps = self.unlink(&key);
            self.after_compute_stopped(&key);
            self.forget_all(deps);
        }
        self.out
            .push(Command::Send(WorkerToScheduler::StealResponse {
                key,
                stolen,
            }));
    }

    pub(super) fn on_data_put(&mut self, keys: Vec<(Key, u64)>, report: bool) {
        for (key, nbytes) in &keys {
            self.put_one(key, *nbytes);
        }
        if report {
            self.out
                .push(Command::Send(WorkerToScheduler::DataAdded { keys }));
        }
    }

    /// A client's value for `key` is stored: whatever the key was doing, it is in memory now
    /// (a task still executing keeps its thread until it ends; its result is discarded).
    fn put_one(&mut self, key: &Key, nbytes: u64) {
        let Some(entry) = self.tasks.get_mut(key) else {
            let priority = self.next_priority(0);
            let mut entry = TaskEntry::new(TaskState::Memory { nbytes }, priority, self.stimulus);
            entry.wanted = true;
            self.tasks.insert(key.clone(), entry);
            self.managed_bytes += nbytes;
            return;
        };
        entry.wanted = true;
        match entry.state {
            TaskState::Memory { .. } => return, // the runtime kept the stored copy
            TaskState::Fetch => {
                let item = (entry.priority, key.clone());
                self.fetch_queue.remove(&item);
            }
            TaskState::Waiting { .. } | TaskState::Ready | TaskState::Executing => {
                self.dequeue_ready(key);
                let entry = self.entry_mut(key);
                entry.spec = None;
                entry.resources.clear();
            }
            TaskState::Flight { .. } | TaskState::Missing => {}
        }
        let deps = self.unlink(key);
        self.put_in_memory(key, nbytes);
        self.forget_all(deps);
    }

    /// Detaches a task from its dependencies; returns them, to be forgotten if unneeded.
    pub(super) fn unlink(&mut self, key: &Key) -> Vec<Key> {
        let deps = std::mem::take(&mut self.entry_mut(key).deps);
        for dep in &deps {
            if let Some(d) = self.tasks.get_mut(dep) {
                d.dependents.swap_remove(key);
            }
        }
        deps
    }

    /// Forgets each key (and, transitively, the dependencies of cancelled tasks) that is
    /// neither wanted by the scheduler nor needed by a local task. Executing tasks and
    /// in-flight values are kept until they end; their results are dropped then.
    pub(super) fn forget_all(&mut self, mut work: Vec<Key>) {
        while let Some(key) = work.pop() {
            let Some(entry) = self.tasks.get(&key) else {
                continue;
            };
            if !entry.unneeded() {
                continue;
            }
            match entry.state {
                TaskState::Executing | TaskState::Flight { .. } => continue,
                TaskState::Memory { nbytes } => {
                    self.managed_bytes -= nbytes;
                    self.drops.push(key.clone());
                }
                TaskState::Waiting { .. } | TaskState::Ready => {
                    self.dequeue_ready(&key);
                    work.extend(self.unlink(&key));
                }
                TaskState::Fetch => {
                    let item = (entry.priority, key.clone());
                    self.fetch_queue.remove(&item);
                }
                TaskState::Missing => {}
            }
            self.tasks.remove(&key);
        }
    }
}
