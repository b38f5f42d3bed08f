//! `check_invariants`: recomputes every derived index from the task states and compares.

use std::collections::BTreeMap;

use super::worker::Amount;
use super::{SchedulerState, TaskId, TaskState, WorkerStatus};

impl SchedulerState {
    /// Cross-checks every index against the task states and panics with a message naming
    /// the first broken invariant. O(tasks + edges + workers): for tests and debugging.
    pub fn check_invariants(&self) {
        self.check_store();
        for (t, _) in self.tasks.iter() {
            self.check_edges(t);
            self.check_task_state(t);
        }
        self.check_workers();
        self.check_queues();
        self.check_clients();
        self.check_steals_and_replicas();
        self.check_no_idle_capacity();
    }

    fn check_store(&self) {
        let (keys, used, free) = self.tasks.census();
        assert_eq!(
            keys, used,
            "key index has {keys} entries for {used} live tasks"
        );
        assert_eq!(used + free, self.tasks.slot_count(), "task slots leak");
        for (t, task) in self.tasks.iter() {
            assert_eq!(
                self.tasks.id(&task.key),
                Some(t),
                "key index of {}",
                task.key
            );
        }
    }

    fn check_edges(&self, t: TaskId) {
        let task = &self.tasks[t];
        let key = &task.key;
        for &d in task.deps.iter() {
            let dep = self
                .tasks
                .get(d)
                .unwrap_or_else(|| panic!("{key}: dep {d} is dead"));
            assert!(
                dep.dependents.contains(&t),
                "{key} not among dependents of {}",
                dep.key
            );
        }
        let mut waiters = 0;
        for &d in task.dependents.iter() {
            let dep = self
                .tasks
                .get(d)
                .unwrap_or_else(|| panic!("{key}: dependent {d} is dead"));
            assert!(
                dep.deps.contains(&t),
                "{}: dependent without the dep edge {key}",
                dep.key
            );
            waiters += u32::from(dep.state.is_active());
        }
        assert_eq!(task.waiters, waiters, "{key}: waiters count");
        assert!(
            task.who_wants.windows(2).all(|w| w[0] < w[1]),
            "{key}: who_wants unsorted"
        );
        for c in &task.who_wants {
            let client = self
                .clients
                .get(c)
                .unwrap_or_else(|| panic!("{key}: unknown {c}"));
            assert!(client.wants.contains(&t), "{key}: {c} does not list it");
        }
    }

    fn check_task_state(&self, t: TaskId) {
        let task = &self.tasks[t];
        let key = &task.key;
        let state = &task.state;
        let missing_deps = self.deps_not_in_memory(t).count();
        let all_deps = missing_deps == 0;
        if state.is_active() || state.is_memory() {
            assert!(task.needed(), "{key} is {state:?} but nobody needs it");
        }
        if matches!(state, TaskState::Released | TaskState::Erred { .. }) {
            assert!(!task.forgettable(), "{key} should have been forgotten");
        }
        if task.payload.is_none() {
            assert!(
                matches!(
                    state,
                    TaskState::Memory { .. } | TaskState::Erred { .. } | TaskState::Released
                ),
                "{key}: scattered data in state {state:?}"
            );
        }
        match state {
            TaskState::Released => assert!(!task.needed(), "{key} is needed but released"),
            TaskState::Waiting { missing } => {
                let expect = missing_deps;
                assert_eq!(*missing as usize, expect, "{key}: missing count");
                assert!(*missing > 0, "{key} waits on nothing");
                for &d in task.deps.iter() {
                    let ds = &self.tasks[d].state;
                    assert!(
                        ds.is_active() || ds.is_memory(),
                        "{key} waits on {} which is {ds:?}",
                        self.tasks[d].key
                    );
                }
            }
            TaskState::Queued => {
                assert!(all_deps, "{key} queued before its deps are in memory");
                assert!(
                    self.queues.contains(task.group, task.priority, t),
                    "{key} queued but not in its queue group"
                );
            }
            TaskState::Processing { worker } => {
                assert!(all_deps, "{key} processing before its deps are in memory");
                let w = self
                    .workers
                    .get(worker)
                    .unwrap_or_else(|| panic!("{key} processing on dead {worker}"));
                assert!(
                    w.processing.contains_key(&t),
                    "{key}: {worker} does not list it"
                );
            }
            TaskState::Memory { holders, .. } => {
                assert!(!holders.is_empty(), "{key} in memory nowhere");
                assert!(
                    holders.windows(2).all(|w| w[0] < w[1]),
                    "{key}: holders unsorted"
                );
                for h in holders {
                    let w = self
                        .workers
                        .get(h)
                        .unwrap_or_else(|| panic!("{key} held by dead {h}"));
                    assert!(
                        w.has_what.contains(&t),
                        "{key}: holder {h} does not list it"
                    );
                }
            }
            TaskState::Erred { .. } => {}
        }
    }

    fn check_workers(&self) {
        let mut incoming: BTreeMap<_, u32> = BTreeMap::new();
        let mut outgoing: BTreeMap<_, u32> = BTreeMap::new();
        for s in self.steals.values() {
            *incoming.entry(s.thief).or_default() += 1;
            *outgoing.entry(s.victim).or_default() += 1;
        }
        for (id, w) in &self.workers {
            let mut occupancy = 0;
            let mut used: Vec<Amount> = vec![0; w.declared.0.len()];
            for (&t, &cost) in &w.processing {
                let task = self
                    .tasks
                    .get(t)
                    .unwrap_or_else(|| panic!("{id} processes dead {t}"));
                assert_eq!(
                    task.state,
                    TaskState::Processing { worker: *id },
                    "{id} lists {} as processing",
                    task.key
                );
                occupancy += cost;
                for (name, a) in self.queues.constraint(task.group).resources.0.iter() {
                    let i = w.declared.0.iter().position(|(n, _)| n == name);
                    let i = i.unwrap_or_else(|| panic!("{id} runs {} without {name}", task.key));
                    used[i] += a;
                }
            }
            assert_eq!(w.occupancy, occupancy, "{id}: occupancy");
            for t in &w.long_running {
                assert_eq!(
                    w.processing.get(t),
                    Some(&0),
                    "{id}: long-running {t} costs 0"
                );
            }
            assert_eq!(w.used, used, "{id}: committed resources");
            for (i, (name, declared)) in w.declared.0.iter().enumerate() {
                assert!(used[i] <= *declared, "{id}: {name} over-committed");
            }
            let mut nbytes = 0;
            for &t in &w.has_what {
                let task = self
                    .tasks
                    .get(t)
                    .unwrap_or_else(|| panic!("{id} holds dead {t}"));
                match &task.state {
                    TaskState::Memory { holders, nbytes: n } if holders.contains(id) => {
                        nbytes += n;
                    }
                    other => panic!("{id} holds {} which is {other:?}", task.key),
                }
            }
            assert_eq!(w.nbytes, nbytes, "{id}: bytes held");
            let retiring = w.status == WorkerStatus::Retiring;
            assert_eq!(retiring, self.retiring.contains(id), "{id}: retiring set");
            let inc = incoming.get(id).copied().unwrap_or(0);
            let out = outgoing.get(id).copied().unwrap_or(0);
            assert_eq!(w.incoming_steals, inc, "{id}: incoming steals");
            assert_eq!(w.outgoing_steals, out, "{id}: outgoing steals");
        }
    }

    fn check_queues(&self) {
        self.queues.check();
        for (g, p, t) in self.queues.entries() {
            let task = self
                .tasks
                .get(t)
                .unwrap_or_else(|| panic!("dead {t} queued"));
            assert_eq!(task.state, TaskState::Queued, "{} in a queue", task.key);
            assert_eq!(
                (task.group, task.priority),
                (g, p),
                "{} queue entry",
                task.key
            );
        }
        let queued = self
            .tasks
            .iter()
            .filter(|(_, t)| t.state == TaskState::Queued)
            .count();
        assert_eq!(queued, self.queues.len(), "queued tasks vs queue entries");
    }

    fn check_clients(&self) {
        for (c, client) in &self.clients {
            for &t in &client.wants {
                let task = self
                    .tasks
                    .get(t)
                    .unwrap_or_else(|| panic!("{c} wants dead {t}"));
                assert!(
                    task.who_wants.contains(c),
                    "{c} wants {}: not mirrored",
                    task.key
                );
            }
        }
    }

    fn check_steals_and_replicas(&self) {
        for (&t, s) in &self.steals {
            let task = &self.tasks[t];
            assert_eq!(
                task.state,
                TaskState::Processing { worker: s.victim },
                "steal of {} from {}",
                task.key,
                s.victim
            );
            assert!(
                self.workers.contains_key(&s.thief),
                "steal by dead {}",
                s.thief
            );
        }
        for (&t, r) in &self.replicating {
            let task = &self.tasks[t];
            match &task.state {
                TaskState::Memory { holders, .. } => {
                    assert!(holders.contains(&r.from), "{} replica source", task.key);
                }
                other => panic!("replicating {} which is {other:?}", task.key),
            }
            assert!(self.workers.contains_key(&r.to), "replica to dead {}", r.to);
        }
    }

    fn check_no_idle_capacity(&self) {
        for (_, t) in self.queues.heads() {
            if let Some(w) = self.pick_worker(t) {
                panic!("{} is queued although {w} could take it", self.tasks[t].key);
            }
        }
    }
}
