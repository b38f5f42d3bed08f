//! Dense graph storage: keys, payloads, and dependencies in compressed-sparse-row form.

use crate::{Key, TaskId};

/// Adjacency lists for all tasks, stored as one flat vector plus offsets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adjacency {
    offsets: Vec<u32>,
    targets: Vec<TaskId>,
}

impl Adjacency {
    fn with_capacity(tasks: usize) -> Self {
        let mut offsets = Vec::with_capacity(tasks + 1);
        offsets.push(0);
        Self {
            offsets,
            targets: Vec::with_capacity(tasks),
        }
    }

    fn push(&mut self, targets: impl IntoIterator<Item = TaskId>) {
        self.targets.extend(targets);
        let end = u32::try_from(self.targets.len()).expect("fewer than 2^32 edges");
        self.offsets.push(end);
    }

    /// Number of tasks described.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when no task is described.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Neighbours of `id`.
    #[inline]
    pub fn get(&self, id: TaskId) -> &[TaskId] {
        let i = id.index();
        &self.targets[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Total number of edges.
    pub fn edges(&self) -> usize {
        self.targets.len()
    }

    /// The reverse adjacency (dependents from dependencies and vice versa).
    pub fn reversed(&self) -> Adjacency {
        let n = self.len();
        let mut counts = vec![0u32; n + 1];
        for t in &self.targets {
            counts[t.index() + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut targets = vec![TaskId(0); self.targets.len()];
        for src in 0..n {
            for &t in self.get(TaskId::from_index(src)) {
                let slot = &mut fill[t.index()];
                targets[*slot as usize] = TaskId::from_index(src);
                *slot += 1;
            }
        }
        Adjacency {
            offsets: counts,
            targets,
        }
    }
}

/// An immutable task graph. Task `i` has key `keys[i]`, payload `payloads[i]`, and depends on
/// `deps.get(i)`; the order of a task's dependencies is meaningful to its payload.
#[derive(Clone, Debug)]
pub struct Graph<P> {
    keys: Vec<Key>,
    payloads: Vec<P>,
    deps: Adjacency,
}

impl<P> Graph<P> {
    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True for the empty graph.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// All task ids, in storage order.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = TaskId> {
        (0..self.len()).map(TaskId::from_index)
    }

    /// Key of a task.
    pub fn key(&self, id: TaskId) -> &Key {
        &self.keys[id.index()]
    }

    /// Payload of a task.
    pub fn payload(&self, id: TaskId) -> &P {
        &self.payloads[id.index()]
    }

    /// Dependencies of a task, in the order its payload refers to them.
    #[inline]
    pub fn deps(&self, id: TaskId) -> &[TaskId] {
        self.deps.get(id)
    }

    /// The dependency adjacency of the whole graph.
    pub fn dependencies(&self) -> &Adjacency {
        &self.deps
    }

    /// Computes who depends on each task.
    pub fn dependents(&self) -> Adjacency {
        self.deps.reversed()
    }

    /// All keys, indexed by task id.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Takes the graph apart into keys, payloads and dependencies.
    pub fn into_parts(self) -> (Vec<Key>, Vec<P>, Adjacency) {
        (self.keys, self.payloads, self.deps)
    }

    /// Replaces every payload, keeping keys and edges.
    pub fn map_payloads<Q>(self, f: impl FnMut(P) -> Q) -> Graph<Q> {
        Graph {
            keys: self.keys,
            payloads: self.payloads.into_iter().map(f).collect(),
            deps: self.deps,
        }
    }
}

/// Builds a [`Graph`] one task at a time. Ids are given in push order, so a task may refer
/// to a dependency that is pushed later; [`crate::passes::validate`] checks the result.
#[derive(Debug)]
pub struct GraphBuilder<P> {
    keys: Vec<Key>,
    payloads: Vec<P>,
    deps: Adjacency,
}

impl<P> Default for GraphBuilder<P> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<P> GraphBuilder<P> {
    /// A builder with room for `tasks` tasks.
    pub fn with_capacity(tasks: usize) -> Self {
        Self {
            keys: Vec::with_capacity(tasks),
            payloads: Vec::with_capacity(tasks),
            deps: Adjacency::with_capacity(tasks),
        }
    }

    /// Number of tasks pushed so far; also the id the next task will get.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when nothing was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds a task. `deps` must not repeat an id: the payload refers to dependencies by position.
    pub fn push(&mut self, key: Key, payload: P, deps: impl IntoIterator<Item = TaskId>) -> TaskId {
        let id = TaskId::from_index(self.keys.len());
        self.keys.push(key);
        self.payloads.push(payload);
        self.deps.push(deps);
        id
    }

    /// Finishes the graph without checking it (see [`crate::passes::validate`]).
    pub fn build(self) -> Graph<P> {
        Graph {
            keys: self.keys,
            payloads: self.payloads,
            deps: self.deps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reverses() {
        let mut b = GraphBuilder::with_capacity(3);
        let a = b.push(Key::str("a"), (), []);
        let c = b.push(Key::str("c"), (), [a]);
        let d = b.push(Key::str("d"), (), [a, c]);
        let g = b.build();
        assert_eq!(g.deps(d), &[a, c]);
        let rev = g.dependents();
        assert_eq!(rev.get(a), &[c, d]);
        assert_eq!(rev.get(c), &[d]);
        assert!(rev.get(d).is_empty());
        assert_eq!(rev.edges(), 3);
    }
}
