//! Active memory management: dropping surplus replicas (Dask's Active Memory Manager with
//! its `ReduceReplicas` policy) and rebalancing results between workers (`Client.rebalance`).
//!
//! * **A replica is dropped** from a worker only while another running worker still holds
//!   the key, no task processing on that worker needs it, and no copy of it is being made.
//! * **Rebalance** moves results from the worker holding the most bytes to the one holding
//!   the fewest while that narrows the gap: each move copies the key to the recipient
//!   ([`Command::Replicate`]) and drops it from the sender once the recipient holds it. Only
//!   keys held by the sender alone move; each worker takes part in one move per key.

use std::collections::{BTreeMap, BTreeSet};

use oxdask_graph::Key;

use super::{Command, Replication, SchedulerState, TaskId, TaskState, WorkerId};

impl SchedulerState {
    /// Drops `t`'s replica on `worker` if that loses nothing (see the module docs); true if
    /// it did.
    pub(crate) fn release_replica(&mut self, t: TaskId, worker: WorkerId) -> bool {
        let TaskState::Memory { holders, .. } = &self.tasks[t].state else {
            return false;
        };
        let others_running = holders
            .iter()
            .any(|&h| h != worker && self.workers.get(&h).is_some_and(|w| w.is_running()));
        if !holders.contains(&worker) || !others_running {
            return false;
        }
        let needed_there = self.tasks[t].dependents.iter().any(
            |&d| matches!(self.tasks[d].state, TaskState::Processing { worker: w } if w == worker),
        );
        if needed_there || self.replicating.contains_key(&t) || self.moving.contains_key(&t) {
            return false;
        }
        self.drop_replica(t, worker);
        let key = self.tasks[t].key.clone();
        self.free_on(worker, key);
        true
    }

    /// One pass of the `ReduceReplicas` policy: every key held by several workers keeps one
    /// replica, plus those that tasks processing there need. Replicas go from the workers
    /// holding the most bytes first. Returns how many were dropped.
    pub(crate) fn reduce_replicas(&mut self) -> usize {
        let replicated: Vec<(TaskId, Vec<WorkerId>)> = self
            .workers
            .values()
            .flat_map(|w| w.has_what.iter().copied())
            .collect::<BTreeSet<TaskId>>()
            .into_iter()
            .filter_map(|t| match &self.tasks[t].state {
                TaskState::Memory { holders, .. } if holders.len() > 1 => {
                    Some((t, holders.clone()))
                }
                _ => None,
            })
            .collect();
        let mut dropped = 0;
        for (t, mut holders) in replicated {
            // Fullest first; the replica on the emptiest worker is the one kept.
            holders.sort_by_key(|h| std::cmp::Reverse(self.workers[h].nbytes));
            for h in holders {
                dropped += usize::from(self.release_replica(t, h));
            }
        }
        dropped
    }

    /// Plans the moves of `Client.rebalance` among `workers` (all running workers when
    /// `None`), moving only `keys` when given; returns how many moves were started.
    pub(crate) fn rebalance(
        &mut self,
        keys: Option<&[Key]>,
        workers: Option<&[WorkerId]>,
    ) -> usize {
        let allowed: Option<BTreeSet<TaskId>> =
            keys.map(|ks| ks.iter().filter_map(|k| self.tasks.id(k)).collect());
        let mut load: BTreeMap<WorkerId, u64> = self
            .workers
            .iter()
            .filter(|(id, w)| w.is_running() && workers.is_none_or(|ws| ws.contains(id)))
            .map(|(&id, w)| (id, w.nbytes))
            .collect();
        let mut started = 0;
        let mut batches: BTreeMap<WorkerId, Vec<(Key, Vec<WorkerId>)>> = BTreeMap::new();
        // Per sender, the keys it alone holds that may move, by size (built on first use).
        let mut movable: BTreeMap<WorkerId, BTreeSet<(u64, TaskId)>> = BTreeMap::new();
        while let Some((&from, &most)) = load
            .iter()
            .max_by_key(|&(id, b)| (*b, std::cmp::Reverse(*id)))
        {
            let Some((&to, &least)) = load.iter().min_by_key(|&(id, b)| (*b, *id)) else {
                break;
            };
            let gap = most.saturating_sub(least);
            let candidates = movable
                .entry(from)
                .or_insert_with(|| self.movable_from(from, allowed.as_ref()));
            // The largest key that narrows the gap: at most half of it.
            let Some(&(nbytes, t)) = candidates.range(..=(gap / 2, TaskId(u32::MAX))).next_back()
            else {
                break;
            };
            candidates.remove(&(nbytes, t));
            *load.get_mut(&from).expect("chosen from the map") -= nbytes;
            *load.get_mut(&to).expect("chosen from the map") += nbytes;
            self.moving.insert(t, Replication { from, to });
            let key = self.tasks[t].key.clone();
            batches.entry(to).or_default().push((key, vec![from]));
            started += 1;
        }
        for (worker, keys) in batches {
            self.out.emit(Command::Replicate { worker, keys });
        }
        started
    }

    /// The results only `worker` holds that a rebalance may move (in `allowed` if given, not
    /// being copied already, not empty), by size.
    fn movable_from(
        &self,
        worker: WorkerId,
        allowed: Option<&BTreeSet<TaskId>>,
    ) -> BTreeSet<(u64, TaskId)> {
        self.workers[&worker]
            .has_what
            .iter()
            .copied()
            .filter(|t| allowed.is_none_or(|a| a.contains(t)))
            .filter(|t| !self.moving.contains_key(t) && !self.replicating.contains_key(t))
            .filter_map(|t| match &self.tasks[t].state {
                TaskState::Memory { holders, nbytes } if holders.as_slice() == [worker] => {
                    Some((*nbytes, t))
                }
                _ => None,
            })
            .filter(|&(nbytes, _)| nbytes > 0)
            .collect()
    }

    /// A copy made for a rebalance arrived at `worker`: the sender's replica goes.
    pub(crate) fn moved(&mut self, t: TaskId, worker: WorkerId) {
        if let Some(&Replication { from, to }) = self.moving.get(&t) {
            if to == worker {
                self.moving.remove(&t);
                self.release_replica(t, from);
            }
        }
    }

    /// Rebalance moves not finished yet.
    #[must_use]
    pub fn moves_pending(&self) -> usize {
        self.moving.len()
    }

    /// Forgets the moves that can no longer finish (`t` left memory, or a worker left).
    pub(crate) fn forget_moves(&mut self, gone: Option<WorkerId>) {
        let tasks = &self.tasks;
        self.moving.retain(|&t, r| {
            tasks
                .get(t)
                .is_some_and(|task| matches!(task.state, TaskState::Memory { .. }))
                && gone.is_none_or(|w| r.from != w && r.to != w)
        });
    }
}
