//! Removes every task that no requested output needs.

use crate::{Graph, GraphBuilder, TaskId};

/// Keeps exactly the ancestors of `outputs` (and the outputs). Returns the new graph and the
/// new ids of `outputs`, in the same order. Surviving tasks keep their relative order.
pub fn cull<P>(graph: Graph<P>, outputs: &[TaskId]) -> (Graph<P>, Vec<TaskId>) {
    let n = graph.len();
    let mut keep = vec![false; n];
    let mut stack: Vec<TaskId> = outputs.to_vec();
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut keep[id.index()], true) {
            continue;
        }
        stack.extend(graph.deps(id).iter().filter(|d| !keep[d.index()]));
    }
    if keep.iter().all(|&k| k) {
        return (graph, outputs.to_vec());
    }
    let mut new_id = vec![u32::MAX; n];
    let mut next = 0u32;
    for (i, k) in keep.iter().enumerate() {
        if *k {
            new_id[i] = next;
            next += 1;
        }
    }
    let (keys, payloads, deps) = graph.into_parts();
    let mut b = GraphBuilder::with_capacity(next as usize);
    for (i, (key, payload)) in keys.into_iter().zip(payloads).enumerate() {
        if keep[i] {
            let d = deps.get(TaskId::from_index(i));
            b.push(key, payload, d.iter().map(|d| TaskId(new_id[d.index()])));
        }
    }
    let outputs = outputs.iter().map(|o| TaskId(new_id[o.index()])).collect();
    (b.build(), outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::fixtures::{graph, id_of};
    use crate::Key;

    /// ```text
    /// a   b   z
    ///  \ /    |
    ///   c     y
    /// ```
    #[test]
    fn keeps_only_ancestors() {
        let g = graph(&[
            ("z", &[]),
            ("a", &[]),
            ("y", &["z"]),
            ("b", &[]),
            ("c", &["a", "b"]),
        ]);
        let c = id_of(&g, "c");
        let (g, out) = cull(g, &[c]);
        let keys: Vec<_> = g.keys().to_vec();
        assert_eq!(keys, vec![Key::str("a"), Key::str("b"), Key::str("c")]);
        assert_eq!(g.key(out[0]), &Key::str("c"));
        assert_eq!(g.deps(out[0]), &[TaskId(0), TaskId(1)]);
        assert_eq!(g.payload(out[0]), "c");
    }
}
