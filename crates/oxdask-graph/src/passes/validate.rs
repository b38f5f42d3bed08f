//! Checks that a graph is a DAG and gives a topological order.

use crate::{Graph, GraphError, Result, TaskId};

/// Checks that the graph has no cycle.
pub fn validate<P>(graph: &Graph<P>) -> Result<()> {
    toposort(graph).map(|_| ())
}

/// Returns the tasks in an order where every task comes after all of its dependencies
/// (Kahn's algorithm), or [`GraphError::Cycle`] naming the keys of one cycle.
pub fn toposort<P>(graph: &Graph<P>) -> Result<Vec<TaskId>> {
    let n = graph.len();
    let dependents = graph.dependents();
    let mut missing: Vec<u32> = graph
        .ids()
        .map(|id| u32::try_from(graph.deps(id).len()).expect("fewer than 2^32 deps"))
        .collect();
    let mut out: Vec<TaskId> = graph.ids().filter(|id| missing[id.index()] == 0).collect();
    out.reserve(n - out.len());
    let mut next = 0;
    while next < out.len() {
        let id = out[next];
        next += 1;
        for &d in dependents.get(id) {
            let m = &mut missing[d.index()];
            *m -= 1;
            if *m == 0 {
                out.push(d);
            }
        }
    }
    if out.len() == n {
        return Ok(out);
    }
    Err(GraphError::Cycle {
        cycle: find_cycle(graph, &missing),
    })
}

/// Walks unresolved dependencies from an unresolved task until a task repeats.
fn find_cycle<P>(graph: &Graph<P>, missing: &[u32]) -> Vec<crate::Key> {
    let start = graph
        .ids()
        .find(|id| missing[id.index()] > 0)
        .expect("an unresolved task exists when toposort is incomplete");
    let mut seen_at = vec![usize::MAX; graph.len()];
    let mut path = Vec::new();
    let mut current = start;
    while seen_at[current.index()] == usize::MAX {
        seen_at[current.index()] = path.len();
        path.push(current);
        current = *graph
            .deps(current)
            .iter()
            .find(|d| missing[d.index()] > 0)
            .expect("an unresolved task has an unresolved dependency");
    }
    let mut cycle: Vec<_> = path[seen_at[current.index()]..]
        .iter()
        .map(|&id| graph.key(id).clone())
        .collect();
    cycle.push(graph.key(current).clone());
    cycle
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::fixtures::graph;
    use crate::Key;

    #[test]
    fn orders_dependencies_first() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a", "b"])]);
        let ids = toposort(&g).unwrap();
        assert_eq!(ids, vec![TaskId(0), TaskId(1), TaskId(2)]);
    }

    /// ```text
    /// x -> a -> b -> c -> a
    /// ```
    #[test]
    fn names_the_cycle() {
        let g = graph(&[("x", &[]), ("a", &["x", "c"]), ("b", &["a"]), ("c", &["b"])]);
        let err = toposort(&g).unwrap_err();
        let GraphError::Cycle { cycle } = &err else {
            panic!("expected a cycle, got {err}")
        };
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4);
        for k in ["a", "b", "c"] {
            assert!(cycle.contains(&Key::str(k)));
        }
        assert!(err.to_string().starts_with("cycle detected: '"));
    }

    #[test]
    fn self_loop_is_a_cycle() {
        let g = graph(&[("a", &["a"])]);
        assert_eq!(
            toposort(&g).unwrap_err().to_string(),
            "cycle detected: 'a' -> 'a'"
        );
    }
}
