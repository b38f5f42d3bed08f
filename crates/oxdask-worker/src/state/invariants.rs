//! Self-checks and explanations: [`WorkerState::check_invariants`] and [`WorkerState::why`].

use std::collections::BTreeMap;
use std::fmt::Write;

use oxdask_graph::Key;

use super::{TaskEntry, TaskState, WorkerState};

impl WorkerState {
    /// Cross-checks every index against the task table (see the module docs for the list).
    ///
    /// # Panics
    ///
    /// On the first violated invariant, naming the key and what was expected. Meant for
    /// tests and debug builds: it walks everything.
    pub fn check_invariants(&self) {
        for (key, entry) in &self.tasks {
            self.check_links(key, entry);
            self.check_state(key, entry);
            assert!(
                !entry.unneeded()
                    || matches!(entry.state, TaskState::Executing | TaskState::Flight { .. }),
                "{key} lingers in {} though nothing needs it",
                entry.state.status()
            );
        }
        self.check_queues();
        self.check_threads();
        self.check_fetches();
        assert!(
            self.paused || self.plan_fetches().is_empty(),
            "a fetch could start but was not sent"
        );
        let managed: u64 = self
            .tasks
            .values()
            .filter_map(|e| match e.state {
                TaskState::Memory { nbytes } => Some(nbytes),
                _ => None,
            })
            .sum();
        assert_eq!(self.managed_bytes, managed, "managed bytes drifted");
    }

    fn check_links(&self, key: &Key, entry: &TaskEntry) {
        for dep in &entry.deps {
            let d = self.tasks.get(dep).unwrap_or_else(|| {
                panic!("{key} depends on {dep}, which is not in the task table")
            });
            assert!(
                d.dependents.contains(key),
                "{dep} does not list {key} as a dependent"
            );
        }
        for dependent in &entry.dependents {
            let d = self.tasks.get(dependent).unwrap_or_else(|| {
                panic!("{key} lists dependent {dependent}, which is not in the task table")
            });
            assert!(
                d.deps.contains(key),
                "{dependent} does not list {key} as a dependency"
            );
        }
        let computing = matches!(
            entry.state,
            TaskState::Waiting { .. } | TaskState::Ready | TaskState::Executing
        );
        assert!(
            computing || entry.deps.is_empty(),
            "{key} in {} has dependencies",
            entry.state.status()
        );
    }

    fn check_state(&self, key: &Key, entry: &TaskEntry) {
        let status = entry.state.status();
        let in_memory = |d: &Key| self.tasks[d].state.is_memory();
        let item = (entry.priority, key.clone());
        match entry.state {
            TaskState::Waiting { missing } => {
                let actual = entry.deps.iter().filter(|d| !in_memory(d)).count();
                assert_eq!(missing as usize, actual, "{key}: wrong missing count");
                assert!(missing > 0, "{key} waits for nothing");
                assert!(entry.spec.is_some(), "{key} waits without a spec");
            }
            TaskState::Ready => {
                assert!(entry.deps.iter().all(in_memory), "{key} ready too early");
                assert!(entry.spec.is_some(), "{key} is ready without a spec");
                let queue = if entry.resources.is_empty() {
                    &self.ready
                } else {
                    &self.constrained
                };
                assert!(queue.contains(&item), "{key} is ready but not queued");
            }
            TaskState::Executing => {
                assert!(
                    entry.deps.iter().all(in_memory),
                    "{key} runs without its inputs"
                );
                assert!(
                    self.running
                        .iter()
                        .chain(&self.seceded)
                        .any(|(k, _)| k == key),
                    "{key} executes without a thread"
                );
            }
            TaskState::Memory { .. } => {}
            TaskState::Fetch => {
                assert!(
                    self.fetch_queue.contains(&item),
                    "{key} not in the fetch queue"
                );
                assert!(!entry.holders.is_empty(), "{key} to fetch from nobody");
            }
            TaskState::Flight { id } => {
                let request = self.fetches.get(&id);
                assert!(
                    request.is_some_and(|r| r.keys.contains(key)),
                    "{key} in flight outside its request {id}"
                );
            }
            TaskState::Missing => {
                assert!(entry.holders.is_empty(), "{key} missing but has holders");
                assert!(!entry.dependents.is_empty(), "{key} missing but not needed");
            }
        }
        if !matches!(entry.state, TaskState::Waiting { .. } | TaskState::Ready) {
            assert!(entry.spec.is_none(), "{key} in {status} keeps a spec");
        }
    }

    fn check_queues(&self) {
        for (queue, want) in [(&self.ready, "ready"), (&self.constrained, "ready")] {
            for (priority, key) in queue {
                let e = &self.tasks[key];
                assert_eq!(e.state.status().to_string(), want, "{key} queued as ready");
                assert_eq!(e.priority, *priority, "{key} queued with a stale priority");
            }
        }
        for (priority, key) in &self.fetch_queue {
            let e = &self.tasks[key];
            assert_eq!(e.state, TaskState::Fetch, "{key} queued for fetching");
            assert_eq!(e.priority, *priority, "{key} queued with a stale priority");
        }
    }

    fn check_threads(&self) {
        // Slots shrink when tasks turn long; executions already handed out finish.
        let most = (self.config.nthreads + self.config.prefetch) as usize;
        assert!(self.running.len() <= most, "more executions than slots");
        let nthreads = self.execution_slots();
        let mut declared: BTreeMap<&str, f64> = BTreeMap::new();
        for (name, amount) in &self.config.resources {
            *declared.entry(name).or_insert(0.0) += amount;
        }
        let mut held: BTreeMap<&str, f64> = BTreeMap::new();
        for (_, resources) in self.running.iter().chain(&self.seceded) {
            for (name, amount) in resources {
                *held.entry(name).or_insert(0.0) += amount;
            }
        }
        for (name, amount) in &held {
            let limit = declared.get(name).copied().unwrap_or(0.0);
            assert!(
                *amount <= limit + 1e-6,
                "{amount} of {name} in use, {limit} declared"
            );
        }
        for (name, free) in &self.available {
            let expect = declared.get(name.as_str()).copied().unwrap_or(0.0)
                - held.get(name.as_str()).copied().unwrap_or(0.0);
            assert!(
                (free - expect).abs() < 1e-6,
                "{name}: {free} free, expected {expect}"
            );
        }
        for key in &self.rejoining {
            assert!(
                self.seceded.iter().any(|(k, _)| k == key),
                "{key} rejoins without having seceded"
            );
        }
        if self.running.len() < nthreads && !self.paused && self.rejoining.is_empty() {
            assert!(
                self.ready.is_empty(),
                "a thread idles while tasks are ready"
            );
            if let Some((_, key)) = self.constrained.first() {
                let needs = &self.tasks[key].resources;
                let fits = needs
                    .iter()
                    .all(|(n, a)| self.available.get(n).copied().unwrap_or(0.0) + 1e-9 >= *a);
                assert!(!fits, "{key} could run but waits");
            }
        }
    }

    fn check_fetches(&self) {
        let mut per_peer: BTreeMap<&str, u32> = BTreeMap::new();
        let mut bytes = 0;
        for request in self.fetches.values() {
            *per_peer.entry(&request.from).or_insert(0) += 1;
            bytes += request.bytes;
        }
        let books: BTreeMap<&str, u32> = self
            .peer_fetches
            .iter()
            .map(|(p, n)| (p.as_str(), *n))
            .collect();
        assert_eq!(books, per_peer, "requests per peer drifted");
        assert_eq!(self.incoming_bytes, bytes, "bytes in flight drifted");
        for (peer, n) in per_peer {
            assert!(
                n <= self.config.max_fetches_per_peer,
                "{n} requests to {peer}"
            );
        }
    }

    /// Why `key` is where it is: its state and what it waits for, who needs it, and its last
    /// state changes with the stimuli that caused them.
    pub fn why(&self, key: &Key) -> String {
        let Some(entry) = self.tasks.get(key) else {
            return format!("{key} is not known here (never seen, or forgotten)");
        };
        let mut out = format!("{key} is {}", entry.state.status());
        // Writing to a String cannot fail.
        let _ = match &entry.state {
            TaskState::Waiting { missing } => {
                let deps: Vec<String> = entry
                    .deps
                    .iter()
                    .map(|d| format!("{d} ({})", self.status(d)))
                    .collect();
                write!(out, ", {missing} inputs missing of [{}]", deps.join(", "))
            }
            TaskState::Fetch => write!(out, ", holders {:?}", entry.holders),
            TaskState::Flight { id } => {
                let from = self.fetches.get(id).map_or("?", |r| r.from.as_str());
                write!(out, " from {from} ({id})")
            }
            TaskState::Missing => write!(out, ", no holder left; the scheduler was told"),
            TaskState::Memory { nbytes } => write!(out, ", {nbytes} bytes"),
            TaskState::Ready | TaskState::Executing => Ok(()),
        };
        let wanted = if entry.wanted { "wanted" } else { "not wanted" };
        let _ = write!(out, "; {wanted} by the scheduler");
        if !entry.dependents.is_empty() {
            let needed: Vec<String> = entry.dependents.iter().map(Key::to_string).collect();
            let _ = write!(out, "; needed by [{}]", needed.join(", "));
        }
        let story: Vec<String> = entry
            .story
            .iter()
            .map(|(stimulus, status)| format!("{status} ({stimulus})"))
            .collect();
        let _ = write!(out, "; history: {}", story.join(" -> "));
        out
    }
}
