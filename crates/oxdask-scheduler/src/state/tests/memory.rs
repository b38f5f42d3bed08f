//! Dropping surplus replicas and rebalancing results between workers.

use super::*;

fn added(env: &mut TestEnv, worker: u32, key: &str, nbytes: u64) -> Vec<Command> {
    env.handle(EventKind::DataAdded {
        worker: WorkerId(worker),
        keys: vec![(k(key), nbytes)],
        client: None,
    })
}

fn holders(env: &TestEnv, key: &str) -> Vec<u32> {
    match env.state(key) {
        Some(TaskState::Memory { holders, .. }) => holders.iter().map(|w| w.0).collect(),
        other => panic!("{key} is {other:?}"),
    }
}

/// Results `x0..x{n}` of `nbytes` each, computed on worker 1.
fn results_on_one(env: &mut TestEnv, n: usize, nbytes: u64) {
    let keys: Vec<String> = (0..n).map(|i| format!("x{i}")).collect();
    let tasks = keys
        .iter()
        .map(|key| TaskBuilder::new(key).restrict(&[1]))
        .collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    env.submit(1, tasks, &wanted);
    for key in &keys {
        env.finish(1, key, nbytes);
    }
}

#[test]
fn surplus_replicas_go_from_the_fullest_workers() {
    let mut env = TestEnv::new();
    for w in 1..=3 {
        env.worker(w, 1);
    }
    results_on_one(&mut env, 2, 100);
    added(&mut env, 2, "x0", 100);
    added(&mut env, 3, "x0", 100);
    assert_eq!(holders(&env, "x0"), vec![1, 2, 3]);
    let out = env.handle(EventKind::ReduceReplicasRequested);
    // Worker 1 holds 200 bytes, the others 100: the replica on worker 3 is kept.
    assert_eq!(out, vec![free(1, &["x0"]), free(2, &["x0"])]);
    assert_eq!(holders(&env, "x0"), vec![3]);
    assert_eq!(holders(&env, "x1"), vec![1], "a unique result stays");
    assert!(env.handle(EventKind::ReduceReplicasRequested).is_empty());
}

#[test]
fn a_replica_a_task_there_needs_is_kept() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    results_on_one(&mut env, 1, 100);
    added(&mut env, 2, "x0", 100);
    env.submit(
        1,
        vec![TaskBuilder::new("y").deps(&["x0"]).restrict(&[2])],
        &["y"],
    );
    assert_eq!(env.state("y"), Some(processing(2)));
    assert_eq!(
        env.handle(EventKind::ReduceReplicasRequested),
        vec![free(1, &["x0"])]
    );
    assert_eq!(holders(&env, "x0"), vec![2]);
}

#[test]
fn rebalance_moves_results_until_the_bytes_are_even() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    results_on_one(&mut env, 4, 100);
    let out = env.handle(EventKind::RebalanceRequested {
        keys: None,
        workers: None,
    });
    let [Command::Replicate { worker, keys }] = out.as_slice() else {
        panic!("{out:?}");
    };
    assert_eq!(*worker, WorkerId(2));
    assert_eq!(keys.len(), 2, "two of four keys move: 200 bytes each");
    assert!(keys.iter().all(|(_, from)| from == &[WorkerId(1)]));
    assert_eq!(env.s.moves_pending(), 2);
    let moved: Vec<String> = keys.iter().map(|(key, _)| key.to_string()).collect();
    for key in &moved {
        let key = key.trim_matches('\'');
        let out = added(&mut env, 2, key, 100);
        assert_eq!(
            out,
            vec![free(1, &[key])],
            "the sender's copy goes once moved"
        );
        assert_eq!(holders(&env, key), vec![2]);
    }
    assert_eq!(env.s.moves_pending(), 0);
    let again = env.handle(EventKind::RebalanceRequested {
        keys: None,
        workers: None,
    });
    assert!(again.is_empty(), "balanced: {again:?}");
}

#[test]
fn rebalance_respects_the_keys_and_workers_given() {
    let mut env = TestEnv::new();
    for w in 1..=3 {
        env.worker(w, 1);
    }
    results_on_one(&mut env, 4, 100);
    let out = env.handle(EventKind::RebalanceRequested {
        keys: Some(vec![k("x3")]),
        workers: Some(vec![WorkerId(1), WorkerId(3)]),
    });
    assert_eq!(
        out,
        vec![Command::Replicate {
            worker: WorkerId(3),
            keys: vec![(k("x3"), vec![WorkerId(1)])],
        }]
    );
    // The recipient leaves before the copy arrives: the move is forgotten, nothing lost.
    env.leave(3, LeaveReason::Closed);
    assert_eq!(env.s.moves_pending(), 0);
    assert_eq!(holders(&env, "x3"), vec![1]);
}
