//! Views of the whole computation for the dashboard: tasks per prefix and state, the graph of
//! task groups, a small task graph, what one worker holds. O(tasks) each: for pages polled
//! about once a second, never for hot paths.

use std::collections::{BTreeMap, BTreeSet};

use oxdask_graph::Key;

use super::{SchedulerState, StateCounts, StateKind, TaskId, WorkerId};

/// How many tasks of one prefix are in each state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrefixCounts {
    /// The prefix (Dask's `key_split`: `"inc"` for `"inc-8f3a..."`, `"x"` for `("x-1a2b", 0)`).
    pub name: String,
    /// Tasks per state.
    pub states: StateCounts,
    /// Of the released, those computed before (their results freed once nothing needed
    /// them): done, for a progress bar.
    pub computed_released: usize,
}

impl PrefixCounts {
    /// Tasks finished: in memory, erred, or computed and since released.
    #[must_use]
    pub fn done(&self) -> usize {
        self.states.memory + self.states.erred + self.computed_released
    }
}

/// A task group: its counts and the groups it depends on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupView {
    /// Counts per state (`name` is the group's prefix).
    pub counts: PrefixCounts,
    /// Prefixes of the groups its tasks depend on.
    pub dependencies: BTreeSet<String>,
}

/// A small task graph: `(key, prefix, state)` per task and edges as index pairs
/// (dependency, dependent).
pub type GraphView = (Vec<(Key, String, StateKind)>, Vec<(usize, usize)>);

/// What a worker holds (`(key, nbytes)`) and runs.
pub type WorkerTasks = (Vec<(Key, u64)>, Vec<Key>);

/// Dask's `key_split`: the name of a key without its token and indices.
#[must_use]
pub fn key_prefix(key: &Key) -> String {
    let Some(name) = key.name() else {
        return key.to_string();
    };
    let mut words = name.split('-');
    let mut out = words.next().unwrap_or_default().to_owned();
    for word in words {
        let alphabetic = !word.is_empty() && word.chars().all(char::is_alphabetic);
        let looks_hex = word.len() == 8 && word.chars().all(|c| c.is_ascii_hexdigit());
        if !alphabetic || looks_hex {
            break;
        }
        out.push('-');
        out.push_str(word);
    }
    out
}

impl SchedulerState {
    /// Tasks per prefix and state, sorted by prefix.
    #[must_use]
    pub fn prefix_counts(&self) -> Vec<PrefixCounts> {
        self.groups().into_iter().map(|g| g.counts).collect()
    }

    /// Task groups (one per prefix) with their dependencies, sorted by prefix.
    #[must_use]
    pub fn groups(&self) -> Vec<GroupView> {
        let mut prefixes: BTreeMap<TaskId, String> = BTreeMap::new();
        let mut groups: BTreeMap<String, GroupView> = BTreeMap::new();
        for (id, task) in self.tasks.iter() {
            let prefix = key_prefix(&task.key);
            let group = groups.entry(prefix.clone()).or_default();
            group.counts.states.add(task.state.kind());
            if task.state.kind() == StateKind::Released && !task.type_name.is_empty() {
                group.counts.computed_released += 1;
            }
            prefixes.insert(id, prefix);
        }
        for (id, task) in self.tasks.iter() {
            let own = &prefixes[&id];
            for dep in task.deps.iter() {
                if let Some(p) = prefixes.get(dep).filter(|p| *p != own) {
                    if let Some(g) = groups.get_mut(own) {
                        g.dependencies.insert(p.clone());
                    }
                }
            }
        }
        groups
            .into_iter()
            .map(|(name, mut g)| {
                g.counts.name = name;
                g
            })
            .collect()
    }

    /// Every task and dependency edge, or `None` when there are more than `limit` tasks.
    #[must_use]
    pub fn graph(&self, limit: usize) -> Option<GraphView> {
        if self.tasks.len() > limit {
            return None;
        }
        let mut index: BTreeMap<TaskId, usize> = BTreeMap::new();
        let mut nodes = Vec::with_capacity(self.tasks.len());
        for (id, task) in self.tasks.iter() {
            index.insert(id, nodes.len());
            nodes.push((task.key.clone(), key_prefix(&task.key), task.state.kind()));
        }
        let mut edges = Vec::new();
        for (id, task) in self.tasks.iter() {
            for dep in task.deps.iter() {
                if let Some(&from) = index.get(dep) {
                    edges.push((from, index[&id]));
                }
            }
        }
        Some((nodes, edges))
    }

    /// What the worker at `address` holds (`(key, nbytes)`, up to `limit`) and runs.
    #[must_use]
    pub fn worker_tasks(&self, address: &str, limit: usize) -> Option<WorkerTasks> {
        let (_, w) = self.workers.iter().find(|(_, w)| w.address == address)?;
        let held = w
            .has_what
            .iter()
            .take(limit)
            .map(|&t| {
                let task = &self.tasks[t];
                let nbytes = match &task.state {
                    super::TaskState::Memory { nbytes, .. } => *nbytes,
                    _ => 0,
                };
                (task.key.clone(), nbytes)
            })
            .collect();
        let running = w
            .processing
            .keys()
            .map(|&t| self.tasks[t].key.clone())
            .collect();
        Some((held, running))
    }

    /// The key whose Python repr is `repr` (`'inc-1a2b'`, `('x', 0)`), if the scheduler knows it.
    #[must_use]
    pub fn key_by_repr(&self, repr: &str) -> Option<Key> {
        self.tasks
            .iter()
            .find(|(_, t)| t.key.to_string() == repr)
            .map(|(_, t)| t.key.clone())
    }

    /// The worker's id at `address`.
    #[must_use]
    pub fn worker_id(&self, address: &str) -> Option<WorkerId> {
        self.workers
            .iter()
            .find(|(_, w)| w.address == address)
            .map(|(&id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_drop_tokens_and_indices_as_dask_key_split() {
        let cases = [
            (Key::str("inc-8f3a91bc22"), "inc"),
            (
                Key::chunk("random_sample-1a2b3c4d", &[0, 1]),
                "random_sample",
            ),
            (Key::str("sum-aggregate-9f1e2d3c"), "sum-aggregate"),
            (Key::str("x-deadbeef"), "x"),
            (Key::str("plain"), "plain"),
            (Key::Int(7), "7"),
        ];
        for (key, want) in cases {
            assert_eq!(key_prefix(&key), want, "{key}");
        }
    }
}
