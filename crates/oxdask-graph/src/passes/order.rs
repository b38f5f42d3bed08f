//! A static, memory-aware execution priority.
//!
//! The order is a depth-first post-order from the graph's outputs: a task is placed right after
//! the last of its dependencies, and the dependencies of a task are finished one branch at a
//! time. Run greedily (ready task with the lowest priority first), this finishes a branch and
//! frees its inputs before starting the next, so a tree reduction over `n` leaves holds
//! `O(depth x fan-in)` results instead of `O(n)`.
//!
//! Among the dependencies of one task, the heaviest branch (most ancestors) goes first, as in
//! Sethi-Ullman register allocation: a light side input, often a load of fresh data, is computed
//! last, right before the task that consumes it, instead of being held while a large branch runs.

use crate::{Graph, TaskId};

/// Returns `priority[task]`: a permutation of `0..n`, dependencies always before dependents.
/// Lower values should run first.
pub fn order<P>(graph: &Graph<P>) -> Vec<u32> {
    Order::new(graph).run()
}

struct Order<'g, P> {
    graph: &'g Graph<P>,
    priority: Vec<u32>,
    next: u32,
    /// Number of distinct-path ancestors, capped; a cheap estimate of a branch's size.
    weight: Vec<u32>,
}

const UNSET: u32 = u32::MAX;

impl<'g, P> Order<'g, P> {
    fn new(graph: &'g Graph<P>) -> Self {
        Self {
            graph,
            priority: vec![UNSET; graph.len()],
            next: 0,
            weight: Vec::new(),
        }
    }

    fn run(mut self) -> Vec<u32> {
        self.weight = self.branch_weights();
        let dependents = self.graph.dependents();
        // Sinks first (outputs, in storage order), then anything left (unreachable from a sink
        // only if the graph has a cycle, which validation rejects before ordering).
        let sinks: Vec<TaskId> = self
            .graph
            .ids()
            .filter(|&id| dependents.get(id).is_empty())
            .collect();
        for sink in sinks {
            self.visit(sink);
        }
        for id in self.graph.ids() {
            self.visit(id);
        }
        self.priority
    }

    /// Sum of dependency weights plus one, saturating: tasks deep in a reduction weigh more.
    fn branch_weights(&self) -> Vec<u32> {
        let mut weight = vec![0u32; self.graph.len()];
        let Ok(topo) = crate::passes::toposort(self.graph) else {
            return weight;
        };
        for id in topo {
            let w = self
                .graph
                .deps(id)
                .iter()
                .fold(1u32, |acc, d| acc.saturating_add(weight[d.index()]));
            weight[id.index()] = w;
        }
        weight
    }

    /// Iterative post-order from `root`, visiting lighter dependencies first.
    fn visit(&mut self, root: TaskId) {
        if self.priority[root.index()] != UNSET {
            return;
        }
        let mut stack: Vec<(TaskId, Vec<TaskId>)> = vec![(root, self.sorted_deps(root))];
        while let Some((id, pending)) = stack.last_mut() {
            let id = *id;
            match pending.pop() {
                Some(dep) if self.priority[dep.index()] == UNSET => {
                    let deps = self.sorted_deps(dep);
                    stack.push((dep, deps));
                }
                Some(_) => {}
                None => {
                    stack.pop();
                    if self.priority[id.index()] == UNSET {
                        self.priority[id.index()] = self.next;
                        self.next += 1;
                    }
                }
            }
        }
    }

    /// Dependencies arranged so that `pop()` yields the heaviest first (ties: argument order).
    fn sorted_deps(&self, id: TaskId) -> Vec<TaskId> {
        let mut deps: Vec<TaskId> = self
            .graph
            .deps(id)
            .iter()
            .rev()
            .copied()
            .filter(|d| self.priority[d.index()] == UNSET)
            .collect();
        deps.sort_by_key(|d| self.weight[d.index()]);
        deps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::fixtures::{graph, id_of};

    /// ```text
    /// a   b   c   d
    ///  \ /     \ /
    ///  ab      cd
    ///    \    /
    ///     abcd
    /// ```
    #[test]
    fn finishes_one_branch_before_the_next() {
        let g = graph(&[
            ("a", &[]),
            ("b", &[]),
            ("c", &[]),
            ("d", &[]),
            ("ab", &["a", "b"]),
            ("cd", &["c", "d"]),
            ("abcd", &["ab", "cd"]),
        ]);
        let p = order(&g);
        let at = |k| p[id_of(&g, k).index()];
        assert!(
            at("ab") < at("c"),
            "ab must run before the second branch starts"
        );
        assert_eq!(at("abcd"), 6);
        assert!(at("a") < at("b") && at("c") < at("d"));
    }

    /// A light side input is computed after the heavy branch, right before it is consumed.
    /// ```text
    /// x1 -> x2 -> x3
    ///              \
    ///          s -> out
    /// ```
    #[test]
    fn heavy_branch_first() {
        let g = graph(&[
            ("x1", &[]),
            ("x2", &["x1"]),
            ("x3", &["x2"]),
            ("s", &[]),
            ("out", &["x3", "s"]),
        ]);
        let p = order(&g);
        assert_eq!(p[id_of(&g, "x1").index()], 0);
        assert_eq!(p[id_of(&g, "s").index()], 3);
    }
}
