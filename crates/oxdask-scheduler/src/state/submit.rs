//! Adding things: graphs from clients, scattered data, workers.
//!
//! A submitted task whose key is already known keeps the existing task (keys name
//! computations, as in Dask), so a graph may depend on results of an earlier one that are
//! still in memory, or still being computed. A dependency that exists nowhere errs that task
//! (and everything downstream of it) with a message naming the key, and the client hears
//! about it through the keys it wants; a cycle errs every new task of the submission.

use std::collections::HashSet;

use oxdask_graph::{passes, GraphBuilder, GraphError, Key};

use super::queue::{Constraint, FREE, ROOT};
use super::task::{LogEntry, Task, TaskLog};
use super::worker::{Resources, Worker};
use super::{ClientId, Command, NewTask, Priority, SchedulerState, TaskError, TaskId};
use super::{LeaveReason, TaskSet, TaskState, WorkerId};

/// A task created by this submission, before its dependencies are wired.
struct Fresh {
    id: TaskId,
    deps: Vec<Key>,
    constraint: Constraint,
}

impl SchedulerState {
    pub(crate) fn on_graph_submitted(
        &mut self,
        client: ClientId,
        tasks: Vec<NewTask>,
        wanted: Vec<Key>,
    ) {
        self.clients.entry(client).or_default();
        let generation = self.generation;
        self.generation += 1;
        self.tasks.reserve(tasks.len());
        let mut fresh = Vec::with_capacity(tasks.len());
        for nt in tasks {
            if self.tasks.id(&nt.key).is_none() {
                let order = u32::try_from(fresh.len()).expect("fewer than 2^32 tasks per graph");
                fresh.push(self.create_task(nt, generation, order));
            }
        }
        let missing = self.wire_dependencies(&fresh);
        match self.static_order(&fresh, generation) {
            Ok(order) => {
                for (f, o) in fresh.iter().zip(order) {
                    self.tasks[f.id].priority.order = o;
                }
            }
            Err(reason) => self.reject_graph(&fresh, &reason),
        }
        for (t, dep) in missing {
            if self.tasks[t].state == TaskState::Released {
                let key = self.tasks[t].key.clone();
                let error = TaskError::MissingDependency { key, missing: dep };
                self.fail_with(t, error, None);
            }
        }
        for key in wanted {
            match self.tasks.id(&key) {
                Some(t) => self.add_want(client, t),
                None => self.out.emit(Command::ReportErred {
                    client,
                    key: key.clone(),
                    error: TaskError::UnknownKey { key },
                }),
            }
        }
        // New tasks that nothing needs or refers to are dropped at once.
        self.work.forget.extend(fresh.iter().rev().map(|f| f.id));
    }

    fn create_task(&mut self, nt: NewTask, generation: u64, order: u32) -> Fresh {
        let restrictions = nt.restrictions.map(|mut r| {
            r.sort_unstable();
            r.dedup();
            r.into_boxed_slice()
        });
        let constraint = Constraint {
            restrictions,
            allow_other: nt.allow_other_workers,
            resources: Resources::new(&nt.resources),
            slot_limited: false,
        };
        let mut log = TaskLog::default();
        log.push(LogEntry {
            stimulus: self.stimulus,
            at: self.now,
            to: super::StateKind::Released,
        });
        let task = Task {
            key: nt.key,
            state: TaskState::Released,
            payload: Some(nt.payload),
            func: self.durations.intern(&nt.func_name),
            // `order` holds the index within this submission until the static order is known.
            priority: Priority {
                user: nt.priority,
                generation,
                order,
            },
            group: FREE,
            deps: Box::new([]),
            dependents: TaskSet::default(),
            waiters: 0,
            who_wants: Vec::new(),
            retries_left: nt.retries,
            suspicious: 0,
            last_failed_on: None,
            type_name: self.unknown_type.clone(),
            log,
        };
        Fresh {
            id: self.tasks.insert(task),
            deps: nt.deps,
            constraint,
        }
    }

    /// Resolves dependency keys, sets each new task's queue group, and records dependents.
    /// Returns the tasks with a dependency that exists nowhere (they get no dependencies).
    fn wire_dependencies(&mut self, fresh: &[Fresh]) -> Vec<(TaskId, Key)> {
        let mut missing = Vec::new();
        for f in fresh {
            let mut deps = Vec::with_capacity(f.deps.len());
            let mut seen: HashSet<TaskId> = HashSet::new();
            let mut absent = None;
            for k in &f.deps {
                let Some(d) = self.tasks.id(k) else {
                    absent.get_or_insert_with(|| k.clone());
                    continue;
                };
                // Linear search for the usual few dependencies, a set for wide fan-ins.
                let unseen = if deps.len() < 16 {
                    !deps.contains(&d)
                } else {
                    if seen.is_empty() {
                        seen.extend(deps.iter().copied());
                    }
                    seen.insert(d)
                };
                if unseen {
                    deps.push(d);
                }
            }
            if let Some(k) = absent {
                missing.push((f.id, k));
                deps.clear();
            }
            let c = &f.constraint;
            let group = if !c.is_unconstrained() {
                self.queues.intern(c.clone())
            } else if deps.is_empty() && self.config.queues_root_tasks() {
                ROOT
            } else {
                FREE
            };
            for &d in &deps {
                self.tasks[d].dependents.insert(f.id);
            }
            let task = &mut self.tasks[f.id];
            task.group = group;
            task.deps = deps.into_boxed_slice();
        }
        missing
    }

    /// The static order of the new tasks among themselves, or why the graph cannot run.
    fn static_order(&self, fresh: &[Fresh], generation: u64) -> Result<Vec<u32>, String> {
        let mut b = GraphBuilder::with_capacity(fresh.len());
        for (i, f) in fresh.iter().enumerate() {
            let local = self.tasks[f.id].deps.iter().filter_map(|&d| {
                // Generations are unique per submission, and `order` still holds the index.
                let p = self.tasks[d].priority;
                (p.generation == generation).then_some(oxdask_graph::TaskId(p.order))
            });
            let index = i64::try_from(i).expect("fewer than 2^63 tasks");
            b.push(Key::Int(index), (), local);
        }
        let g = b.build();
        match passes::validate(&g) {
            Ok(()) => Ok(passes::order(&g)),
            Err(GraphError::Cycle { cycle }) => {
                let names: Vec<String> = cycle
                    .iter()
                    .map(|k| match k {
                        Key::Int(i) => self.tasks[fresh[*i as usize].id].key.to_string(),
                        other => other.to_string(),
                    })
                    .collect();
                Err(format!("cycle detected: {}", names.join(" -> ")))
            }
            Err(other) => Err(other.to_string()),
        }
    }

    /// Errs every new task of a submission that cannot run, unwiring them first so that a
    /// cycle does not keep them alive forever.
    fn reject_graph(&mut self, fresh: &[Fresh], reason: &str) {
        for f in fresh {
            let deps = std::mem::take(&mut self.tasks[f.id].deps);
            for d in deps.iter() {
                self.tasks[*d].dependents.swap_remove(&f.id);
            }
        }
        for f in fresh {
            let key = self.tasks[f.id].key.clone();
            let error = TaskError::InvalidGraph {
                key,
                reason: reason.to_owned(),
            };
            self.fail_with(f.id, error, None);
        }
    }

    /// Data put on `worker` from outside: scattered by `client`, or a replica it fetched.
    pub(crate) fn on_data_added(
        &mut self,
        worker: WorkerId,
        keys: Vec<(Key, u64)>,
        client: Option<ClientId>,
    ) {
        if !self.touch(worker) {
            // The data went with a worker the scheduler no longer knows: a scatterer must not
            // wait for it forever.
            if let Some(client) = client {
                for (key, _) in keys {
                    self.out.emit(Command::ReportLost { client, key });
                }
            }
            return;
        }
        for (key, nbytes) in keys {
            let known = self.tasks.id(&key);
            match (client, known) {
                (Some(c), _) => {
                    let t = known.unwrap_or_else(|| self.create_scattered(key));
                    self.store_data(t, worker, nbytes);
                    self.add_want(c, t);
                }
                (None, Some(t)) if self.tasks[t].state.is_memory() => self.add_holder(t, worker),
                (None, _) => self.free_on(worker, key),
            }
        }
    }

    fn create_scattered(&mut self, key: Key) -> TaskId {
        let func = self.durations.intern(key.name().unwrap_or_default());
        let mut log = TaskLog::default();
        log.push(LogEntry {
            stimulus: self.stimulus,
            at: self.now,
            to: super::StateKind::Released,
        });
        let generation = self.generation;
        self.generation += 1;
        self.tasks.insert(Task {
            key,
            state: TaskState::Released,
            payload: None,
            func,
            priority: Priority {
                user: 0,
                generation,
                order: 0,
            },
            group: FREE,
            deps: Box::new([]),
            dependents: TaskSet::default(),
            waiters: 0,
            who_wants: Vec::new(),
            retries_left: 0,
            suspicious: 0,
            last_failed_on: None,
            type_name: self.unknown_type.clone(),
            log,
        })
    }

    /// `worker` holds data for `t` that it did not compute for the scheduler: whatever `t`
    /// was doing, it is now in memory there.
    fn store_data(&mut self, t: TaskId, worker: WorkerId, nbytes: u64) {
        match self.tasks[t].state {
            TaskState::Memory { .. } => return self.add_holder(t, worker),
            TaskState::Processing { worker: other } => {
                let key = self.tasks[t].key.clone();
                self.free_on(other, key);
            }
            _ => {}
        }
        let holders = vec![worker];
        self.set_state(t, TaskState::Memory { holders, nbytes });
    }

    pub(crate) fn on_worker_joined(
        &mut self,
        worker: WorkerId,
        address: String,
        nthreads: u32,
        memory_limit: u64,
        resources: &[(String, f64)],
    ) {
        if self.workers.contains_key(&worker) {
            self.remove_worker(worker, LeaveReason::Closed);
        }
        let declared = Resources::new(resources);
        let w = Worker::new(address, nthreads, memory_limit, declared, self.now);
        self.workers.insert(worker, w);
        self.fill_needed = true;
    }
}
