//! Workers reporting on tasks: finished, or raised.

use std::sync::Arc;

use oxdask_graph::Key;

use super::{SchedulerState, TaskError, TaskErrorBlob, TaskState, Time, WorkerId};

impl SchedulerState {
    /// A result arrived. The normal case moves the task to memory, readies dependents whose
    /// last input this was, releases inputs nobody needs any more, and reports to clients.
    ///
    /// Unusual cases, as the network may reorder: a result from a worker the task is no
    /// longer assigned to is accepted if the task is still wanted (the assigned worker is told
    /// to drop its copy); a result for a task already in memory adds a replica; a result for
    /// a task nobody needs is freed on that worker at once.
    pub(crate) fn on_task_finished(
        &mut self,
        worker: WorkerId,
        key: &Key,
        nbytes: u64,
        duration: Time,
        type_name: &str,
    ) {
        if !self.touch(worker) {
            return;
        }
        let Some(t) = self.tasks.id(key) else {
            return self.free_on(worker, key.clone());
        };
        let func = self.tasks[t].func;
        self.durations.record(func, duration);
        match self.tasks[t].state {
            TaskState::Processing { worker: assigned } => {
                if assigned != worker {
                    self.free_on(assigned, key.clone());
                }
                self.tasks[t].type_name = self.durations.type_name(type_name);
                let holders = vec![worker];
                self.set_state(t, TaskState::Memory { holders, nbytes });
            }
            TaskState::Memory { .. } => self.add_holder(t, worker),
            _ => self.free_on(worker, key.clone()),
        }
    }

    /// A task raised on `worker`. With retries left it runs again, preferably elsewhere;
    /// otherwise it errs and so does everything waiting on it. Reports about tasks the
    /// worker is not (or no longer) running are stale and ignored.
    pub(crate) fn on_task_erred(&mut self, worker: WorkerId, key: &Key, error: TaskErrorBlob) {
        if !self.touch(worker) {
            return;
        }
        let Some(t) = self.tasks.id(key) else {
            return;
        };
        if self.tasks[t].state != (TaskState::Processing { worker }) {
            return;
        }
        let task = &mut self.tasks[t];
        if task.retries_left > 0 {
            task.retries_left -= 1;
            task.last_failed_on = Some(worker);
            self.make_ready(t);
        } else {
            self.fail_with(t, TaskError::Raised(Arc::new(error)), None);
        }
    }
}
