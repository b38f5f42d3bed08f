//! A wider randomized simulation. On top of `simulation`'s completions, steals, deaths,
//! arrivals and silent data loss, two clients release, re-submit and cancel keys, tasks
//! raise (each may be retried once), workers retire (their replicas are carried out or fail),
//! and data is scattered. Outcomes are too varied to predict, so this checks what must hold
//! whatever happens: invariants after every event, every wanted key ends in memory or erred,
//! no unwanted result is held, and releasing everything forgets everything and frees all data.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::simulation::{arb_dag, key_of, Sim};
use super::*;

struct Chaos {
    sim: Sim,
    graph: Vec<TaskBuilder>,
    /// (client, key) pairs the clients hold futures for.
    wanted: BTreeSet<(u32, String)>,
    scattered: u32,
}

impl Chaos {
    fn feed(&mut self, kind: EventKind) {
        self.sim.feed(kind);
        for (client, key) in std::mem::take(&mut self.sim.cancelled) {
            let name = match &key {
                Key::Str(s) => s.to_string(),
                other => other.to_string(),
            };
            self.wanted.remove(&(client.0, name));
        }
    }

    fn want(&mut self, client: u32, key: String) {
        let out = self
            .sim
            .env
            .submit(client, self.graph.clone(), &[key.as_str()]);
        self.sim.apply(out);
        self.wanted.insert((client, key));
    }

    fn pick_wanted(&mut self) -> Option<(u32, String)> {
        let all: Vec<(u32, String)> = self.wanted.iter().cloned().collect();
        (!all.is_empty()).then(|| all[self.sim.pick(all.len())].clone())
    }

    fn raise(&mut self) {
        let jobs: Vec<(u32, Key)> = self
            .sim
            .workers
            .iter()
            .flat_map(|(&w, sw)| sw.assigned.keys().map(move |k| (w, k.clone())))
            .collect();
        if jobs.is_empty() {
            return;
        }
        let (w, key) = jobs[self.sim.pick(jobs.len())].clone();
        if let Some(sw) = self.sim.workers.get_mut(&w) {
            sw.assigned.remove(&key);
        }
        let error = blob("chaos");
        self.feed(EventKind::TaskErred {
            worker: WorkerId(w),
            key,
            error,
        });
    }

    fn retire(&mut self) {
        let ids: Vec<u32> = self.sim.workers.keys().copied().collect();
        if let Some(&w) = ids.get(self.sim.pick(ids.len().max(1))) {
            self.feed(EventKind::RetireRequested {
                workers: vec![WorkerId(w)],
            });
        }
    }

    /// A destination worker carries out one `Replicate` order.
    fn replicate(&mut self) {
        if self.sim.replications.is_empty() {
            return;
        }
        let i = self.sim.pick(self.sim.replications.len());
        let (dest, key, holders) = self.sim.replications.swap_remove(i);
        if !self.sim.workers.contains_key(&dest) {
            return;
        }
        let source = holders.iter().find(|h| {
            self.sim
                .workers
                .get(&h.0)
                .is_some_and(|sw| sw.data.contains(&key))
        });
        match source {
            Some(_) => {
                let sw = self.sim.workers.get_mut(&dest).expect("checked above");
                sw.data.insert(key.clone());
                self.feed(EventKind::DataAdded {
                    worker: WorkerId(dest),
                    keys: vec![(key, 1)],
                    client: None,
                });
            }
            None => self.feed(EventKind::DataMissing {
                worker: WorkerId(dest),
                holder: holders[0],
                key,
            }),
        }
    }

    fn scatter(&mut self) {
        let ids: Vec<u32> = self.sim.workers.keys().copied().collect();
        if ids.is_empty() {
            return;
        }
        let w = ids[self.sim.pick(ids.len())];
        self.scattered += 1;
        let key = format!("s{}", self.scattered);
        let sw = self
            .sim
            .workers
            .get_mut(&w)
            .expect("picked from live workers");
        sw.data.insert(k(&key));
        self.feed(EventKind::DataAdded {
            worker: WorkerId(w),
            keys: vec![(k(&key), 10)],
            client: Some(ClientId(1)),
        });
        self.wanted.insert((1, key.clone()));
        // Something computed from it, wanted by the other client: scattered data as an input
        // (possibly freed later, then needed again when this result is lost).
        let other = key_of(self.sim.pick(self.graph.len()));
        let user = TaskBuilder::new(&format!("u{}", self.scattered)).deps(&[&key, &other]);
        let mut graph = self.graph.clone();
        graph.push(user);
        let name = format!("u{}", self.scattered);
        let out = self.sim.env.submit(2, graph, &[name.as_str()]);
        self.sim.apply(out);
        self.wanted.insert((2, name));
    }

    fn step(&mut self) -> bool {
        if !self.sim.scripted() {
            if self.sim.step() {
                return true;
            }
            let pending = !self.sim.replications.is_empty();
            self.replicate();
            return pending;
        }
        match self.sim.pick(18) {
            0 => self.raise(),
            1 => {
                if let Some((c, key)) = self.pick_wanted() {
                    self.wanted.remove(&(c, key.clone()));
                    let out = self.sim.env.release(c, &[key.as_str()]);
                    self.sim.apply(out);
                }
            }
            2 => {
                let client = 1 + u32::try_from(self.sim.pick(2)).expect("0 or 1");
                let key = key_of(self.sim.pick(self.graph.len()));
                self.want(client, key);
            }
            3 => {
                if let Some((c, key)) = self.pick_wanted() {
                    self.feed(EventKind::KeysCancelled {
                        client: ClientId(c),
                        keys: vec![k(&key)],
                    });
                }
            }
            4 => self.retire(),
            5 | 6 => self.replicate(),
            7 => self.scatter(),
            8 => self.feed(EventKind::ReduceReplicasRequested),
            9 => self.feed(EventKind::RebalanceRequested {
                keys: None,
                workers: None,
            }),
            _ => return self.sim.step() || !self.sim.replications.is_empty(),
        }
        true
    }
}

fn chaos(
    deps: &[Vec<usize>],
    nworkers: u32,
    deaths: u32,
    choices: Vec<u32>,
) -> BTreeMap<&'static str, u32> {
    let graph: Vec<TaskBuilder> = deps
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let names: Vec<String> = d.iter().map(|&j| key_of(j)).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            TaskBuilder::new(&key_of(i)).deps(&names).retries(1)
        })
        .collect();
    let mut c = Chaos {
        sim: Sim::new(nworkers, deaths, choices),
        graph,
        wanted: BTreeSet::new(),
        scattered: 0,
    };
    c.want(1, key_of(deps.len() - 1));
    // Every scripted step consumes at least one choice, so this ends.
    while c.sim.scripted() {
        c.step();
    }
    let mut steps = 0;
    // Settle deterministically on a fresh worker (the others may all be retiring).
    c.sim.add_worker();
    while c.step() {
        steps += 1;
        assert!(steps < 20_000, "no progress after {steps} steps");
    }
    for (client, key) in &c.wanted {
        let state = c.sim.env.state(key).expect("wanted keys stay known");
        if matches!(state, TaskState::Erred { .. }) {
            *c.sim.stats.entry("wanted key erred").or_default() += 1;
        }
        assert!(
            matches!(state, TaskState::Memory { .. } | TaskState::Erred { .. }),
            "{key} wanted by {client} ended {state:?}\n{}",
            c.sim.env.s.why(&k(key))
        );
    }
    let wanted_keys: BTreeSet<&String> = c.wanted.iter().map(|(_, key)| key).collect();
    for i in 0..deps.len() {
        let key = key_of(i);
        if !wanted_keys.contains(&key) {
            assert_eq!(c.sim.env.s.who_has(&k(&key)), vec![], "{key} still held");
        }
    }
    c.sim.check_holdings();
    for client in [1, 2] {
        c.feed(EventKind::ClientDisconnected {
            client: ClientId(client),
        });
    }
    assert_eq!(c.sim.env.s.task_count(), 0, "everything is forgotten");
    let leftover: Vec<&Key> = c.sim.workers.values().flat_map(|w| &w.data).collect();
    assert!(leftover.is_empty(), "data left on workers: {leftover:?}");
    std::mem::take(&mut c.sim.stats)
}

/// Deterministic chaos over a fixed family of graphs, asserting that every kind of chaos
/// actually happened (so the property test above is not vacuous).
#[test]
fn deterministic_chaos_covers_every_path() {
    let mut total: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        u32::try_from(state >> 32).expect("shifted into range")
    };
    for round in 0..80u32 {
        let n = 4 + (round as usize % 12);
        let deps: Vec<Vec<usize>> = (0..n)
            .map(|i| {
                (0..i)
                    .filter(|j| (i * 7 + j * 3) % 4 == 0)
                    .take(3)
                    .collect()
            })
            .collect();
        let choices: Vec<u32> = (0..500).map(|_| next()).collect();
        for (kind, count) in chaos(&deps, 1 + round % 4, round % 7, choices) {
            *total.entry(kind).or_default() += count;
        }
    }
    let kinds = [
        "raised",
        "cancelled",
        "retire requested",
        "closed",
        "replica added",
        "data missing",
        "scattered",
        "death",
        "wanted key erred",
    ];
    // (Stealing needs piles of tasks; `simulation::deterministic_runs_cover_every_recovery_path`
    // covers it.)
    for kind in kinds {
        assert!(
            total.get(kind).copied().unwrap_or(0) > 0,
            "{kind} never happened: {total:?}"
        );
    }
}

proptest! {
    #[test]
    fn chaotic_runs_keep_invariants_and_release_everything(
        deps in arb_dag(),
        nworkers in 1u32..=4,
        deaths in 0u32..=6,
        choices in proptest::collection::vec(any::<u32>(), 0..600),
    ) {
        chaos(&deps, nworkers, deaths, choices);
    }
}
