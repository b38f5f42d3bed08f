use oxdask_graph::{passes, GraphBuilder, Key};
use proptest::prelude::*;

use super::*;

/// A graph where task `i` depends on `deps[i]` (ids below `i`).
fn dag(deps: &[Vec<usize>]) -> Graph<()> {
    let mut b = GraphBuilder::with_capacity(deps.len());
    for (i, d) in deps.iter().enumerate() {
        b.push(
            Key::Int(i as i64),
            (),
            d.iter().map(|&x| TaskId::from_index(x)),
        );
    }
    b.build()
}

/// Runs the state machine sequentially; each task's value is the sum of its inputs plus its id.
fn simulate(
    graph: &Graph<()>,
    outputs: &[TaskId],
    threads: usize,
    pick: &mut dyn FnMut(usize) -> usize,
) -> (Vec<Option<u64>>, RunStats) {
    let mut s: LocalState<u64> = LocalState::new(graph, passes::order(graph), outputs);
    let mut running: Vec<TaskId> = Vec::new();
    let mut released = Vec::new();
    let mut ran = vec![0; graph.len()];
    while !s.is_done() {
        // Start a ready task while threads are free (or at random), else finish a running one.
        let can_pop = s.ready_len() > 0 && running.len() < threads;
        if can_pop && (running.is_empty() || pick(2) == 0) {
            running.push(s.pop_ready().unwrap());
        } else {
            let t = running.swap_remove(pick(running.len()));
            let v = s
                .deps(t)
                .iter()
                .map(|d| *s.value(d.to_owned()).unwrap())
                .sum::<u64>()
                + t.0 as u64;
            ran[t.index()] += 1;
            s.finish(t, v, &mut released);
        }
        s.check_invariants();
    }
    assert!(ran.iter().all(|&r| r == 1), "every task runs exactly once");
    (s.take_outputs(outputs), s.stats())
}

fn reference(graph: &Graph<()>) -> Vec<u64> {
    let mut v = vec![0u64; graph.len()];
    for id in passes::toposort(graph).unwrap() {
        v[id.index()] = graph.deps(id).iter().map(|d| v[d.index()]).sum::<u64>() + id.0 as u64;
    }
    v
}

#[test]
fn releases_intermediates_and_keeps_outputs() {
    // 0 -> 1 -> 2 ; output 2
    let g = dag(&[vec![], vec![0], vec![1]]);
    let mut s: LocalState<u64> = LocalState::new(&g, passes::order(&g), &[TaskId(2)]);
    let mut released = Vec::new();
    let t = s.pop_ready().unwrap();
    assert_eq!(t, TaskId(0));
    assert_eq!(s.pop_ready(), None);
    s.finish(t, 10, &mut released);
    assert!(released.is_empty());
    let t = s.pop_ready().unwrap();
    s.finish(t, 11, &mut released);
    assert_eq!(released, vec![10]);
    let t = s.pop_ready().unwrap();
    s.finish(t, 12, &mut released);
    assert_eq!(released, vec![10, 11]);
    s.check_invariants();
    assert!(s.is_done());
    assert_eq!(s.take_outputs(&[TaskId(2)]), vec![Some(12)]);
}

#[test]
fn tree_reduction_holds_few_results() {
    // 1024 leaves, binary tree reduction.
    let mut deps: Vec<Vec<usize>> = (0..1024).map(|_| vec![]).collect();
    let mut level: Vec<usize> = (0..1024).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| {
                deps.push(pair.to_vec());
                deps.len() - 1
            })
            .collect();
    }
    let g = dag(&deps);
    let root = TaskId::from_index(level[0]);
    let mut always_first = |_n: usize| 0;
    let (out, stats) = simulate(&g, &[root], 2, &mut always_first);
    assert_eq!(out[0], Some(reference(&g)[root.index()]));
    assert!(
        stats.peak_held <= 12,
        "peak {} results held",
        stats.peak_held
    );
}

fn arb_dag() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (1usize..40).prop_flat_map(|n| {
        (0..n)
            .map(|i| {
                proptest::collection::btree_set(0..i.max(1), 0..=i.min(4))
                    .prop_map(move |s| s.into_iter().filter(|&d| d < i).collect::<Vec<_>>())
            })
            .collect::<Vec<_>>()
    })
}

proptest! {
    #[test]
    fn random_interleavings_match_sequential_reference(deps in arb_dag(), seed in any::<u64>()) {
        let g = dag(&deps);
        let outputs: Vec<TaskId> = g.ids().filter(|i| i.0 % 3 == 0).collect();
        let mut state = seed;
        let mut pick = |n: usize| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) as usize) % n.max(1)
        };
        let (out, _) = simulate(&g, &outputs, 1 + (seed % 4) as usize, &mut pick);
        let expect = reference(&g);
        for (o, v) in outputs.iter().zip(out) {
            prop_assert_eq!(v, Some(expect[o.index()]));
        }
    }

    #[test]
    fn order_is_a_topological_permutation(deps in arb_dag()) {
        let g = dag(&deps);
        let p = passes::order(&g);
        let mut sorted = p.clone();
        sorted.sort_unstable();
        prop_assert_eq!(sorted, (0..g.len() as u32).collect::<Vec<_>>());
        for id in g.ids() {
            for d in g.deps(id) {
                prop_assert!(p[d.index()] < p[id.index()]);
            }
        }
    }

    #[test]
    fn cull_keeps_exactly_the_ancestors(deps in arb_dag(), pick in any::<usize>()) {
        let g = dag(&deps);
        let out = TaskId::from_index(pick % g.len());
        let mut anc = vec![false; g.len()];
        anc[out.index()] = true;
        for i in (0..g.len()).rev() {
            if anc[i] {
                for d in g.deps(TaskId::from_index(i)) { anc[d.index()] = true; }
            }
        }
        let expect: Vec<Key> = g.ids().filter(|i| anc[i.index()]).map(|i| g.key(i).clone()).collect();
        let (culled, _) = passes::cull(g, &[out]);
        prop_assert_eq!(culled.keys().to_vec(), expect);
    }
}
