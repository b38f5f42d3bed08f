//! Scenario tests of the scheduler state machine, one file per event family, plus a
//! randomized simulation. Every scenario asserts the exact commands of each event and
//! checks invariants after every event (`TestEnv::handle` does).

mod adaptive;
mod chaos;
mod errors;
mod memory;
mod placement;
mod release;
mod resilience;
mod retire;
mod simulation;
mod stealing;
mod submit;
mod watch;

use std::sync::Arc;

use oxdask_graph::Key;

use super::*;

pub(super) fn k(s: &str) -> Key {
    Key::str(s)
}

fn ids(ws: &[u32]) -> Vec<WorkerId> {
    ws.iter().map(|&w| WorkerId(w)).collect()
}

/// A task for tests: payload is the key's bytes, function name is the key unless set.
#[derive(Clone, Debug)]
pub(super) struct TaskBuilder(NewTask);

impl TaskBuilder {
    pub(super) fn new(key: &str) -> Self {
        let mut t = NewTask::new(k(key), payload(key));
        t.func_name = key.to_owned();
        Self(t)
    }

    pub(super) fn deps(mut self, deps: &[&str]) -> Self {
        self.0.deps = deps.iter().map(|d| k(d)).collect();
        self
    }

    pub(super) fn func(mut self, name: &str) -> Self {
        self.0.func_name = name.to_owned();
        self
    }

    pub(super) fn priority(mut self, p: i32) -> Self {
        self.0.priority = p;
        self
    }

    pub(super) fn resources(mut self, r: &[(&str, f64)]) -> Self {
        self.0.resources = r.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect();
        self
    }

    pub(super) fn restrict(mut self, workers: &[u32]) -> Self {
        self.0.restrictions = Some(ids(workers));
        self
    }

    pub(super) fn loose(mut self) -> Self {
        self.0.allow_other_workers = true;
        self
    }

    pub(super) fn retries(mut self, n: u32) -> Self {
        self.0.retries = n;
        self
    }

    pub(super) fn build(self) -> NewTask {
        self.0
    }
}

pub(super) fn payload(key: &str) -> TaskPayload {
    TaskPayload::new(bytes::Bytes::copy_from_slice(key.as_bytes()))
}

/// A scheduler plus a stimulus counter and a clock.
pub(super) struct TestEnv {
    pub s: SchedulerState,
    stimulus: u64,
    pub now: Time,
}

impl TestEnv {
    pub(super) fn new() -> Self {
        Self::with_config(SchedulerConfig::default())
    }

    pub(super) fn with_config(config: SchedulerConfig) -> Self {
        Self {
            s: SchedulerState::new(config),
            stimulus: 0,
            now: Time::ZERO,
        }
    }

    /// Feeds one event, checks invariants, returns the commands.
    pub(super) fn handle(&mut self, kind: EventKind) -> Vec<Command> {
        self.stimulus += 1;
        let out = self
            .s
            .handle(Event::new(StimulusId(self.stimulus), kind), self.now);
        self.s.check_invariants();
        out
    }

    pub(super) fn worker(&mut self, id: u32, nthreads: u32) -> Vec<Command> {
        self.worker_with(id, nthreads, &[])
    }

    pub(super) fn worker_with(
        &mut self,
        id: u32,
        nthreads: u32,
        res: &[(&str, f64)],
    ) -> Vec<Command> {
        self.handle(EventKind::WorkerJoined {
            worker: WorkerId(id),
            address: addr(id),
            nthreads,
            memory_limit: 1 << 30,
            resources: res.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect(),
        })
    }

    pub(super) fn submit(
        &mut self,
        client: u32,
        tasks: Vec<TaskBuilder>,
        wanted: &[&str],
    ) -> Vec<Command> {
        self.handle(EventKind::GraphSubmitted {
            client: ClientId(client),
            tasks: tasks.into_iter().map(TaskBuilder::build).collect(),
            wanted: wanted.iter().map(|w| k(w)).collect(),
        })
    }

    pub(super) fn finish(&mut self, worker: u32, key: &str, nbytes: u64) -> Vec<Command> {
        self.finish_in(worker, key, nbytes, Time::from_millis(100))
    }

    pub(super) fn finish_in(
        &mut self,
        worker: u32,
        key: &str,
        nbytes: u64,
        d: Time,
    ) -> Vec<Command> {
        self.handle(EventKind::TaskFinished {
            worker: WorkerId(worker),
            key: k(key),
            nbytes,
            duration: d,
            type_name: "int".into(),
        })
    }

    pub(super) fn raise(&mut self, worker: u32, key: &str) -> Vec<Command> {
        self.handle(EventKind::TaskErred {
            worker: WorkerId(worker),
            key: k(key),
            error: blob(key),
        })
    }

    pub(super) fn leave(&mut self, worker: u32, reason: LeaveReason) -> Vec<Command> {
        self.handle(EventKind::WorkerLeft {
            worker: WorkerId(worker),
            reason,
        })
    }

    pub(super) fn release(&mut self, client: u32, keys: &[&str]) -> Vec<Command> {
        self.handle(EventKind::KeysReleased {
            client: ClientId(client),
            keys: keys.iter().map(|x| k(x)).collect(),
        })
    }

    /// Size of `key`'s result while in memory (what a `Compute` lists for it).
    fn nbytes(&self, key: &str) -> u64 {
        match self.state(key) {
            Some(TaskState::Memory { nbytes, .. }) => nbytes,
            _ => 0,
        }
    }

    pub(super) fn state(&self, key: &str) -> Option<TaskState> {
        self.s.task_state(&k(key)).map(|v| v.state)
    }

    /// The `Compute` the scheduler sends for `key`, given where each dependency is.
    pub(super) fn compute(&self, worker: u32, key: &str, deps: &[(&str, &[u32])]) -> Command {
        self.compute_with(worker, key, deps, &[])
    }

    pub(super) fn compute_with(
        &self,
        worker: u32,
        key: &str,
        deps: &[(&str, &[u32])],
        resources: &[(&str, f64)],
    ) -> Command {
        let view = self.s.task_state(&k(key)).expect("computed task is known");
        Command::Compute {
            worker: WorkerId(worker),
            task: ComputeSpec {
                key: k(key),
                payload: payload(key),
                priority: view.priority,
                deps: deps.iter().map(|(d, ws)| (k(d), ids(ws))).collect(),
                nbytes: deps.iter().map(|(d, _)| self.nbytes(d)).collect(),
                resources: resources
                    .iter()
                    .map(|(n, a)| ((*n).to_owned(), *a))
                    .collect(),
                wanted: !view.wanted_by.is_empty(),
            },
        }
    }
}

pub(super) fn addr(id: u32) -> String {
    format!("tcp://10.0.0.{id}:4000")
}

pub(super) fn blob(key: &str) -> TaskErrorBlob {
    TaskErrorBlob {
        exception: bytes::Bytes::from_static(b"pickled exception"),
        traceback: bytes::Bytes::from_static(b"pickled traceback"),
        text: format!("ZeroDivisionError in {key}"),
    }
}

pub(super) fn raised(key: &str) -> TaskError {
    TaskError::Raised(Arc::new(blob(key)))
}

pub(super) fn free(worker: u32, keys: &[&str]) -> Command {
    Command::FreeKeys {
        worker: WorkerId(worker),
        keys: keys.iter().map(|x| k(x)).collect(),
    }
}

pub(super) fn in_memory(client: u32, key: &str, nbytes: u64) -> Command {
    Command::ReportInMemory {
        client: ClientId(client),
        key: k(key),
        nbytes,
        type_name: "int".into(),
    }
}

pub(super) fn erred(client: u32, key: &str, error: TaskError) -> Command {
    Command::ReportErred {
        client: ClientId(client),
        key: k(key),
        error,
    }
}

pub(super) fn steal(worker: u32, key: &str) -> Command {
    Command::Steal {
        worker: WorkerId(worker),
        key: k(key),
    }
}

pub(super) fn memory(holders: &[u32], nbytes: u64) -> TaskState {
    TaskState::Memory {
        holders: ids(holders),
        nbytes,
    }
}

pub(super) fn processing(worker: u32) -> TaskState {
    TaskState::Processing {
        worker: WorkerId(worker),
    }
}
