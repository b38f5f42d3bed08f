//! Tasks that leave their thread while they run (`secede()`, typically to wait for tasks
//! they submitted) and ask for one again (`rejoin()`).
//!
//! A seceded execution keeps its resources but not its thread: the worker starts other
//! tasks in its place and the scheduler, told with `LongRunning`, sends more. A rejoin is
//! granted once fewer than `nthreads` executions hold threads; until then no new task
//! starts, so a stream of short tasks cannot starve it.

use oxdask_graph::Key;
use oxdask_protocol::messages::WorkerToScheduler;

use super::{Command, WorkerState};

impl WorkerState {
    pub(super) fn on_seceded(&mut self, key: Key) {
        let Some(pos) = self.running.iter().position(|(k, _)| *k == key) else {
            return; // not running here (or seceded already)
        };
        let execution = self.running.swap_remove(pos);
        self.seceded.push(execution);
        self.out
            .push(Command::Send(WorkerToScheduler::LongRunning { key }));
    }

    pub(super) fn on_rejoin_requested(&mut self, key: Key) {
        if !self.seceded.iter().any(|(k, _)| *k == key) {
            return self.out.push(Command::Rejoin { key }); // nothing to wait for
        }
        if !self.rejoining.contains(&key) {
            self.rejoining.push_back(key);
        }
    }

    /// Gives threads back to rejoining tasks while fewer than `nthreads` are taken; true
    /// while some still wait.
    pub(super) fn grant_rejoins(&mut self) -> bool {
        while self.running.len() < self.config.nthreads as usize {
            let Some(key) = self.rejoining.pop_front() else {
                break;
            };
            if let Some(pos) = self.seceded.iter().position(|(k, _)| *k == key) {
                let execution = self.seceded.swap_remove(pos);
                self.running.push(execution);
            }
            self.out.push(Command::Rejoin { key });
        }
        !self.rejoining.is_empty()
    }

    /// Number of executions that left their threads.
    pub fn seceded_count(&self) -> usize {
        self.seceded.len()
    }
}
