//! Merges linear chains `a -> b -> c` into one task, so the executor schedules once per chain.

use crate::{Graph, GraphBuilder, TaskId};

/// A payload that can stand for a chain of payloads run one after the other, each consuming the
/// previous one's result as its only dependency.
pub trait Fuse: Sized {
    /// Combines `chain` (in execution order, at least two members) into one payload.
    fn fuse(chain: Vec<Self>) -> Self;
}

/// Fuses every maximal linear chain: a task is merged into its dependent when it has exactly one
/// dependent, that dependent has exactly one dependency, and the task is not in `keep`.
/// A fused task takes the key of the chain's last member. Returns the new graph and the new ids
/// of `keep`, which all survive.
pub fn fuse<P: Fuse>(graph: Graph<P>, keep: &[TaskId]) -> (Graph<P>, Vec<TaskId>) {
    let n = graph.len();
    let dependents = graph.dependents();
    let mut kept = vec![false; n];
    for k in keep {
        kept[k.index()] = true;
    }
    // merges_down[i]: task i is absorbed into its single dependent.
    let merges_down: Vec<bool> = graph
        .ids()
        .map(|id| {
            let out = dependents.get(id);
            !kept[id.index()] && out.len() == 1 && graph.deps(out[0]).len() == 1
        })
        .collect();
    if !merges_down.iter().any(|&m| m) {
        return (graph, keep.to_vec());
    }
    // Number the surviving chain tails in storage order.
    let mut new_id = vec![u32::MAX; n];
    let mut next = 0u32;
    for (i, merges) in merges_down.iter().enumerate() {
        if !merges {
            new_id[i] = next;
            next += 1;
        }
    }
    let (keys, payloads, deps) = graph.into_parts();
    let mut slots: Vec<Option<P>> = payloads.into_iter().map(Some).collect();
    let mut b = GraphBuilder::with_capacity(next as usize);
    for (i, key) in keys.into_iter().enumerate() {
        if merges_down[i] {
            continue;
        }
        // Walk up the chain from its tail `i` to its head.
        let mut members = vec![TaskId::from_index(i)];
        let mut head = TaskId::from_index(i);
        while let [only] = deps.get(head) {
            if !merges_down[only.index()] {
                break;
            }
            head = *only;
            members.push(head);
        }
        members.reverse();
        let mut take = |id: TaskId| slots[id.index()].take().expect("each task is in one chain");
        let payload = if members.len() == 1 {
            take(members[0])
        } else {
            P::fuse(members.iter().map(|&m| take(m)).collect())
        };
        let head_deps = deps.get(head).iter().map(|d| TaskId(new_id[d.index()]));
        b.push(key, payload, head_deps);
    }
    let keep = keep.iter().map(|k| TaskId(new_id[k.index()])).collect();
    (b.build(), keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::fixtures::{graph, id_of};
    use crate::Key;

    impl Fuse for String {
        fn fuse(chain: Vec<Self>) -> Self {
            chain.join("+")
        }
    }

    /// ```text
    /// a -> b -> c -> d
    ///           x -> d
    /// ```
    /// `a -> b -> c` is linear; `d` has two dependencies so `c` stays apart.
    #[test]
    fn fuses_linear_chain() {
        let g = graph(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["b"]),
            ("x", &[]),
            ("d", &["c", "x"]),
        ]);
        let d = id_of(&g, "d");
        let (g, keep) = fuse(g, &[d]);
        assert_eq!(g.len(), 3);
        assert_eq!(g.key(TaskId(0)), &Key::str("c"));
        assert_eq!(g.payload(TaskId(0)), "a+b+c");
        assert_eq!(g.key(keep[0]), &Key::str("d"));
        assert_eq!(g.deps(keep[0]), &[TaskId(0), TaskId(1)]);
    }

    #[test]
    fn kept_keys_are_not_absorbed() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["b"])]);
        let (b, c) = (id_of(&g, "b"), id_of(&g, "c"));
        let (g, keep) = fuse(g, &[c, b]);
        assert_eq!(g.len(), 2);
        assert_eq!(g.payload(keep[1]), "a+b");
        assert_eq!(g.payload(keep[0]), "c");
    }

    #[test]
    fn shared_input_is_not_fused() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a"])]);
        let (b, c) = (id_of(&g, "b"), id_of(&g, "c"));
        let (g, _) = fuse(g, &[b, c]);
        assert_eq!(g.len(), 3);
    }
}
