//! Small literal graphs for tests.

use std::collections::HashMap;

use crate::{Graph, GraphBuilder, Key, TaskId};

/// Builds a graph from `(key, deps)` pairs; the payload is the key's name.
pub(crate) fn graph(tasks: &[(&str, &[&str])]) -> Graph<String> {
    let ids: HashMap<&str, TaskId> = tasks
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (*k, TaskId::from_index(i)))
        .collect();
    let mut b = GraphBuilder::with_capacity(tasks.len());
    for (k, deps) in tasks {
        b.push(Key::str(k), (*k).to_string(), deps.iter().map(|d| ids[d]));
    }
    b.build()
}

/// The id of the task with string key `k`.
pub(crate) fn id_of<P>(g: &Graph<P>, k: &str) -> TaskId {
    g.ids()
        .find(|&i| g.key(i) == &Key::str(k))
        .expect("key exists in fixture")
}
