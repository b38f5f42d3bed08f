//! Scenario tests of the worker state machine, one file per concern, plus a randomized
//! simulation. Each scenario asserts the exact commands of every event; `TestEnv::handle`
//! checks the invariants after each one.

mod compute;
mod fetch;
mod release;
mod secede;
mod simulation;

use bytes::Bytes;
use oxdask_graph::Key;
use oxdask_protocol::messages::{ComputeTask, ErrorBlob, WorkerToScheduler};

use super::*;

/// Run time reported by `complete`: long enough that the worker hands out no extra tasks.
pub(super) const TASK_US: u64 = 10_000;

pub(super) const A: &str = "tcp://10.0.0.1:4000";
pub(super) const B: &str = "tcp://10.0.0.2:4000";
pub(super) const C: &str = "tcp://10.0.0.3:4000";

pub(super) fn k(s: &str) -> Key {
    Key::str(s)
}

/// A task for tests: the payload is the key's bytes.
#[derive(Clone, Debug)]
pub(super) struct TaskBuilder(ComputeTask);

impl TaskBuilder {
    pub(super) fn new(key: &str) -> Self {
        Self(ComputeTask {
            key: k(key),
            payload: Bytes::copy_from_slice(key.as_bytes()),
            function: None,
            deps: Vec::new(),
            priority: 0,
            resources: Vec::new(),
            nbytes: Vec::new(),
            inline: false,
        })
    }

    /// Dependencies, each with its holders.
    pub(super) fn deps(mut self, deps: &[(&str, &[&str])]) -> Self {
        self.0.deps = deps
            .iter()
            .map(|(d, hs)| (k(d), hs.iter().map(|h| (*h).to_owned()).collect()))
            .collect();
        self
    }

    pub(super) fn nbytes(mut self, sizes: &[u64]) -> Self {
        self.0.nbytes = sizes.to_vec();
        self
    }

    pub(super) fn priority(mut self, p: i64) -> Self {
        self.0.priority = p;
        self
    }

    pub(super) fn resources(mut self, r: &[(&str, f64)]) -> Self {
        self.0.resources = r.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect();
        self
    }

    pub(super) fn build(self) -> ComputeTask {
        self.0
    }
}

/// A worker state plus a stimulus counter.
pub(super) struct TestEnv {
    pub s: WorkerState,
    stimulus: u64,
}

impl TestEnv {
    pub(super) fn new(nthreads: u32) -> Self {
        Self::with_config(StateConfig {
            nthreads,
            ..StateConfig::default()
        })
    }

    pub(super) fn with_config(config: StateConfig) -> Self {
        Self {
            s: WorkerState::new(config),
            stimulus: 0,
        }
    }

    /// Feeds one event, checks invariants, returns the commands.
    pub(super) fn handle(&mut self, kind: EventKind) -> Vec<Command> {
        self.stimulus += 1;
        let out = self.s.handle(Event::new(StimulusId(self.stimulus), kind));
        self.s.check_invariants();
        out
    }

    pub(super) fn compute(&mut self, task: &TaskBuilder) -> Vec<Command> {
        self.handle(EventKind::ComputeRequested(task.clone().build()))
    }

    pub(super) fn complete(&mut self, key: &str, nbytes: u64) -> Vec<Command> {
        self.complete_in(key, nbytes, TASK_US)
    }

    /// Completes `key`, reporting a run time of `duration_us`.
    pub(super) fn complete_in(&mut self, key: &str, nbytes: u64, duration_us: u64) -> Vec<Command> {
        self.handle(EventKind::TaskCompleted {
            key: k(key),
            nbytes,
            duration_us,
            stop_us: 0,
            type_name: "int".into(),
            value: None,
        })
    }

    pub(super) fn fail(&mut self, key: &str) -> Vec<Command> {
        self.handle(EventKind::TaskFailed {
            key: k(key),
            error: error(),
        })
    }

    pub(super) fn fetched(&mut self, id: u64, values: &[(&str, u64)]) -> Vec<Command> {
        self.handle(EventKind::DataFetched {
            id: FetchId(id),
            values: values.iter().map(|(key, n)| (k(key), *n)).collect(),
        })
    }

    pub(super) fn fetch_failed(&mut self, id: u64) -> Vec<Command> {
        self.handle(EventKind::FetchFailed {
            id: FetchId(id),
            error: "connection refused".into(),
        })
    }

    pub(super) fn free(&mut self, keys: &[&str]) -> Vec<Command> {
        self.handle(EventKind::FreeRequested {
            keys: keys.iter().map(|key| k(key)).collect(),
        })
    }

    pub(super) fn steal(&mut self, key: &str) -> Vec<Command> {
        self.handle(EventKind::StealRequested { key: k(key) })
    }

    pub(super) fn replicate(&mut self, keys: &[(&str, &[&str])]) -> Vec<Command> {
        let keys = keys
            .iter()
            .map(|(key, hs)| (k(key), hs.iter().map(|h| (*h).to_owned()).collect()))
            .collect();
        self.handle(EventKind::ReplicateRequested { keys })
    }

    pub(super) fn put(&mut self, keys: &[(&str, u64)], report: bool) -> Vec<Command> {
        self.handle(EventKind::DataPut {
            keys: keys.iter().map(|(key, n)| (k(key), *n)).collect(),
            report,
        })
    }

    pub(super) fn status(&self, key: &str) -> TaskStatus {
        self.s.status(&k(key))
    }
}

pub(super) fn error() -> ErrorBlob {
    ErrorBlob {
        text: "ZeroDivisionError: division by zero".into(),
        ..ErrorBlob::default()
    }
}

pub(super) fn exec(task: &TaskBuilder) -> Command {
    Command::Execute(Box::new(task.clone().build()))
}

pub(super) fn fetch(id: u64, from: &str, keys: &[&str]) -> Command {
    Command::Fetch {
        id: FetchId(id),
        from: from.to_owned(),
        keys: keys.iter().map(|key| k(key)).collect(),
    }
}

pub(super) fn finished(key: &str, nbytes: u64) -> Command {
    Command::Send(WorkerToScheduler::TaskFinished {
        key: k(key),
        nbytes,
        duration_us: TASK_US,
        stop_us: 0,
        type_name: "int".into(),
        value: None,
    })
}

pub(super) fn erred(key: &str) -> Command {
    Command::Send(WorkerToScheduler::TaskErred {
        key: k(key),
        error: error(),
    })
}

pub(super) fn added(keys: &[(&str, u64)]) -> Command {
    Command::Send(WorkerToScheduler::DataAdded {
        keys: keys.iter().map(|(key, n)| (k(key), *n)).collect(),
    })
}

pub(super) fn missing(key: &str, holder: &str) -> Command {
    Command::Send(WorkerToScheduler::DataMissing {
        key: k(key),
        holder: holder.to_owned(),
    })
}

pub(super) fn stolen(key: &str, stolen: bool) -> Command {
    Command::Send(WorkerToScheduler::StealResponse {
        key: k(key),
        stolen,
    })
}

pub(super) fn dropped(keys: &[&str]) -> Command {
    Command::Drop {
        keys: keys.iter().map(|key| k(key)).collect(),
    }
}
