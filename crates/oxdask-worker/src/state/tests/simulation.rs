//! Random interleavings of everything a worker can be told, against a simulated runtime
//! that keeps a store as the real one does. After every event: the invariants hold, and the
//! store holds exactly the keys in memory. Throughout: no task executes twice, nor after it
//! was cancelled. At the end, once every fetch and execution is allowed to finish: every
//! task requested and not cancelled, stolen or overwritten by a put has executed once.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

const PEERS: [&str; 3] = [A, B, C];
const HERE: &str = "tcp://127.0.0.1:1";
const REMOTE: usize = 5;

#[derive(Clone, Debug)]
struct Spec {
    /// Remote inputs: index and a bit mask of the peers holding it.
    remote: Vec<(usize, u8)>,
    /// Inputs computed here, by task index (always earlier tasks).
    local: Vec<usize>,
    priority: i64,
    gpu: bool,
}

#[derive(Clone, Debug)]
enum Op {
    Submit,
    Complete(usize, bool),
    Reply(usize, u8),
    Free(usize),
    Steal(usize),
    Replicate(usize, u8),
    Resend(usize),
    Put(usize),
    /// A running task secedes (true) or asks to rejoin (false).
    Secede(usize, bool),
}

fn holders(mask: u8) -> Vec<String> {
    let chosen: Vec<String> = (0..3)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| PEERS[i].to_owned())
        .collect();
    if chosen.is_empty() {
        vec![PEERS[0].to_owned()]
    } else {
        chosen
    }
}

fn specs() -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(
        (
            prop::collection::vec((0..REMOTE, 1u8..8), 0..3),
            prop::collection::vec(0usize..100, 0..3),
            -3i64..3,
            prop::bool::weighted(0.2),
        ),
        1..10,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (remote, local, priority, gpu))| Spec {
                remote,
                local: if i == 0 {
                    vec![]
                } else {
                    local.into_iter().map(|l| l % i).collect()
                },
                priority,
                gpu,
            })
            .collect()
    })
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        3 => Just(Op::Submit),
        3 => (0usize..8, prop::bool::weighted(0.8)).prop_map(|(i, ok)| Op::Complete(i, ok)),
        3 => (0usize..8, 0u8..4).prop_map(|(i, m)| Op::Reply(i, m)),
        1 => (0usize..20).prop_map(Op::Free),
        1 => (0usize..10).prop_map(Op::Steal),
        1 => (0..REMOTE, 1u8..8).prop_map(|(r, m)| Op::Replicate(r, m)),
        1 => (0usize..10).prop_map(Op::Resend),
        1 => (0usize..20).prop_map(Op::Put),
        1 => (0usize..8, any::<bool>()).prop_map(|(i, s)| Op::Secede(i, s)),
    ];
    prop::collection::vec(op, 0..80)
}

fn task_key(i: usize) -> Key {
    Key::str(&format!("t{i}"))
}

fn remote_key(r: usize) -> Key {
    Key::str(&format!("r{r}"))
}

struct Sim {
    env: TestEnv,
    specs: Vec<Spec>,
    submitted: BTreeSet<usize>,
    /// Freed, stolen, put or failed: need not execute (again).
    excused: BTreeSet<usize>,
    executed: BTreeMap<Key, u32>,
    running: Vec<Key>,
    fetches: Vec<(u64, Vec<Key>)>,
    store: BTreeSet<Key>,
}

impl Sim {
    fn new(specs: Vec<Spec>) -> Self {
        let env = TestEnv::with_config(StateConfig {
            nthreads: 2,
            resources: vec![("GPU".into(), 1.0)],
            max_request_bytes: 2048,
            max_incoming_bytes: 4096,
            ..StateConfig::default()
        });
        Self {
            env,
            specs,
            submitted: BTreeSet::new(),
            excused: BTreeSet::new(),
            executed: BTreeMap::new(),
            running: Vec::new(),
            fetches: Vec::new(),
            store: BTreeSet::new(),
        }
    }

    fn universe(&self) -> Vec<Key> {
        let tasks = (0..self.specs.len()).map(task_key);
        tasks.chain((0..REMOTE).map(remote_key)).collect()
    }

    fn task(&self, i: usize, all_peers: bool) -> ComputeTask {
        let spec = &self.specs[i];
        let mut deps: Vec<(Key, Vec<String>)> = spec
            .remote
            .iter()
            .map(|&(r, mask)| (remote_key(r), holders(if all_peers { 7 } else { mask })))
            .collect();
        deps.extend(
            spec.local
                .iter()
                .map(|&l| (task_key(l), vec![HERE.to_owned()])),
        );
        ComputeTask {
            key: task_key(i),
            payload: Bytes::new(),
            function: None,
            nbytes: vec![1000; deps.len()],
            inline: false,
            deps,
            priority: spec.priority,
            resources: if spec.gpu {
                vec![("GPU".into(), 1.0)]
            } else {
                vec![]
            },
        }
    }

    fn store_if_absent(&mut self, key: &Key) {
        self.store.insert(key.clone());
    }

    fn handle(&mut self, kind: EventKind) {
        for cmd in self.env.handle(kind) {
            match cmd {
                Command::Execute(task) => {
                    let i: usize = task.key.to_string()[2..]
                        .trim_end_matches('\'')
                        .parse()
                        .expect("task keys are t<i>");
                    assert!(
                        !self.excused.contains(&i),
                        "{} ran after a cancel",
                        task.key
                    );
                    let n = self.executed.entry(task.key.clone()).or_insert(0);
                    *n += 1;
                    assert_eq!(*n, 1, "{} executed twice", task.key);
                    for (dep, _) in &task.deps {
                        assert!(self.store.contains(dep), "{} runs without {dep}", task.key);
                    }
                    self.running.push(task.key);
                }
                Command::Fetch { id, keys, .. } => self.fetches.push((id.0, keys)),
                Command::Rejoin { .. } => {}
                Command::Drop { keys } => {
                    for key in keys {
                        assert!(
                            self.store.remove(&key),
                            "dropped {key}, which is not stored"
                        );
                    }
                }
                Command::Send(WorkerToScheduler::StealResponse { key, stolen: true }) => {
                    let i = (0..self.specs.len()).find(|&i| task_key(i) == key);
                    self.excused.extend(i);
                }
                Command::Send(_) => {}
            }
        }
        for key in self.universe() {
            let in_memory = self.env.s.status(&key) == TaskStatus::Memory;
            assert_eq!(
                in_memory,
                self.store.contains(&key),
                "store and state disagree on {key}"
            );
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Submit => self.submit_next(),
            Op::Complete(i, ok) => self.complete(i, ok),
            Op::Reply(i, mode) => self.reply(i, mode),
            Op::Free(i) => {
                let key = self.universe()[i % self.universe().len()].clone();
                let task = (0..self.specs.len()).find(|&t| task_key(t) == key);
                self.excused
                    .extend(task.filter(|t| self.submitted.contains(t)));
                self.handle(EventKind::FreeRequested { keys: vec![key] });
            }
            Op::Steal(i) => {
                let key = task_key(i % self.specs.len());
                self.handle(EventKind::StealRequested { key });
            }
            Op::Replicate(r, mask) => {
                let keys = vec![(remote_key(r), holders(mask))];
                self.handle(EventKind::ReplicateRequested { keys });
            }
            Op::Resend(i) => {
                let i = i % self.specs.len();
                if self.submitted.contains(&i) && !self.excused.contains(&i) {
                    let task = self.task(i, true);
                    self.handle(EventKind::ComputeRequested(task));
                }
            }
            Op::Secede(i, secede) => {
                if self.running.is_empty() {
                    return;
                }
                let key = self.running[i % self.running.len()].clone();
                self.handle(if secede {
                    EventKind::Seceded { key }
                } else {
                    EventKind::RejoinRequested { key }
                });
            }
            Op::Put(i) => {
                let key = self.universe()[i % self.universe().len()].clone();
                let task = (0..self.specs.len()).find(|&t| task_key(t) == key);
                self.excused
                    .extend(task.filter(|t| self.submitted.contains(t)));
                self.store_if_absent(&key);
                self.handle(EventKind::DataPut {
                    keys: vec![(key, 100)],
                    report: false,
                });
            }
        }
    }

    /// Submits the first unsubmitted task whose local inputs are in memory, as the scheduler
    /// would.
    fn submit_next(&mut self) {
        let next = (0..self.specs.len()).find(|i| {
            !self.submitted.contains(i)
                && self.specs[*i]
                    .local
                    .iter()
                    .all(|&l| self.env.s.status(&task_key(l)) == TaskStatus::Memory)
        });
        if let Some(i) = next {
            self.submitted.insert(i);
            if self.env.s.status(&task_key(i)) == TaskStatus::Memory {
                self.excused.insert(i); // put by a client: answered without running
            }
            let task = self.task(i, false);
            self.handle(EventKind::ComputeRequested(task));
        }
    }

    fn complete(&mut self, i: usize, ok: bool) {
        if self.running.is_empty() {
            return;
        }
        let key = self.running.remove(i % self.running.len());
        if ok {
            self.store_if_absent(&key);
            self.handle(EventKind::TaskCompleted {
                key,
                nbytes: 100,
                duration_us: 1,
                stop_us: 0,
                type_name: "int".into(),
                value: None,
            });
        } else {
            // The scheduler would retry it; this one does not (it ran once).
            let i = (0..self.specs.len()).find(|&i| task_key(i) == key);
            self.excused.extend(i);
            self.handle(EventKind::TaskFailed {
                key,
                error: error(),
            });
        }
    }

    fn reply(&mut self, i: usize, mode: u8) {
        if self.fetches.is_empty() {
            return;
        }
        let (id, keys) = self.fetches.remove(i % self.fetches.len());
        let id = FetchId(id);
        let delivered: Vec<Key> = match mode {
            0 => keys,
            1 => keys[..keys.len() / 2].to_vec(),
            2 => vec![],
            _ => {
                let error = "unreachable".into();
                return self.handle(EventKind::FetchFailed { id, error });
            }
        };
        for key in &delivered {
            self.store_if_absent(key);
        }
        let values = delivered.into_iter().map(|key| (key, 1000)).collect();
        self.handle(EventKind::DataFetched { id, values });
    }

    /// Lets everything finish: executions succeed, fetches deliver, and tasks stuck on
    /// missing inputs are re-sent with every peer as a holder.
    fn drain(&mut self) {
        for _ in 0..500 {
            if !self.running.is_empty() {
                self.complete(0, true);
            } else if !self.fetches.is_empty() {
                self.reply(0, 0);
            } else {
                let stuck: Vec<usize> = self
                    .submitted
                    .iter()
                    .copied()
                    .filter(|i| !self.excused.contains(i))
                    .filter(|i| self.env.s.status(&task_key(*i)) == TaskStatus::Waiting)
                    .collect();
                if stuck.is_empty() {
                    return;
                }
                for i in stuck {
                    let task = self.task(i, true);
                    self.handle(EventKind::ComputeRequested(task));
                }
            }
        }
        panic!("the simulation did not settle");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_interleavings_keep_invariants_and_run_tasks_once(specs in specs(), ops in ops()) {
        let mut sim = Sim::new(specs);
        for op in &ops {
            sim.apply(op);
        }
        sim.drain();
        for &i in &sim.submitted {
            if !sim.excused.contains(&i) {
                let n = sim.executed.get(&task_key(i)).copied().unwrap_or(0);
                prop_assert_eq!(n, 1, "t{} executed {} times", i, n);
            }
        }
        for key in sim.universe() {
            let status = sim.env.s.status(&key);
            prop_assert!(
                !matches!(status, TaskStatus::Fetch | TaskStatus::Flight | TaskStatus::Missing),
                "{} still {} after draining", key, status
            );
        }
    }
}
