//! GraphSubmitted: chains, dependencies across graphs, bad graphs, priorities, scale.

use super::*;

/// ```text
/// a -> b -> c   (client 1 wants c)
/// ```
#[test]
fn linear_chain_runs_in_order_and_frees_intermediates() {
    let mut env = TestEnv::new();
    assert_eq!(env.worker(1, 1), vec![]);
    let tasks = vec![
        TaskBuilder::new("a"),
        TaskBuilder::new("b").deps(&["a"]),
        TaskBuilder::new("c").deps(&["b"]),
    ];
    let out = env.submit(1, tasks, &["c"]);
    assert_eq!(out, vec![env.compute(1, "a", &[])]);
    assert_eq!(env.state("b"), Some(TaskState::Waiting { missing: 1 }));

    let out = env.finish(1, "a", 10);
    assert_eq!(out, vec![env.compute(1, "b", &[("a", &[1])])]);

    let out = env.finish(1, "b", 20);
    assert_eq!(
        out,
        vec![free(1, &["a"]), env.compute(1, "c", &[("b", &[1])])]
    );

    let out = env.finish(1, "c", 30);
    assert_eq!(out, vec![in_memory(1, "c", 30), free(1, &["b"])]);
    // Inputs are kept as lineage (released, no data) while c may need recomputing.
    assert_eq!(env.state("a"), Some(TaskState::Released));
    assert_eq!(env.state("b"), Some(TaskState::Released));

    assert_eq!(env.release(1, &["c"]), vec![free(1, &["c"])]);
    assert_eq!(env.s.task_count(), 0, "the whole chain is forgotten");
}

#[test]
fn depends_on_keys_in_memory_from_an_earlier_graph() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.submit(1, vec![TaskBuilder::new("x")], &["x"]);
    assert_eq!(env.finish(1, "x", 8), vec![in_memory(1, "x", 8)]);

    let out = env.submit(2, vec![TaskBuilder::new("y").deps(&["x"])], &["y", "x"]);
    assert_eq!(
        out,
        vec![in_memory(2, "x", 8), env.compute(1, "y", &[("x", &[1])])]
    );
    assert_eq!(env.finish(1, "y", 4), vec![in_memory(2, "y", 4)]);
    // Both clients still want x: nothing is freed until both release it.
    assert_eq!(env.release(2, &["x", "y"]), vec![free(1, &["y"])]);
    assert_eq!(env.state("x"), Some(memory(&[1], 8)));
    assert_eq!(env.release(1, &["x"]), vec![free(1, &["x"])]);
    assert_eq!(env.s.task_count(), 0);
}

#[test]
fn dependency_that_exists_nowhere_errs_that_key_for_its_client() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    let tasks = vec![
        TaskBuilder::new("y").deps(&["nope"]),
        TaskBuilder::new("z").deps(&["y"]),
        TaskBuilder::new("ok"),
    ];
    let out = env.submit(1, tasks, &["y", "z", "ok"]);
    let missing = TaskError::MissingDependency {
        key: k("y"),
        missing: k("nope"),
    };
    assert_eq!(
        missing.to_string(),
        "task 'y' depends on missing key 'nope'"
    );
    assert_eq!(
        out,
        vec![
            erred(1, "y", missing.clone()),
            erred(1, "z", missing.clone()),
            env.compute(1, "ok", &[]),
        ]
    );
    assert_eq!(
        env.state("z"),
        Some(TaskState::Erred {
            error: missing,
            from: Some(k("y"))
        })
    );
    env.release(1, &["y", "z"]);
    assert_eq!(env.s.task_count(), 1, "only 'ok' is left");
}

#[test]
fn wanting_an_unknown_key_is_reported_not_a_panic() {
    let mut env = TestEnv::new();
    let out = env.submit(1, vec![], &["ghost"]);
    let error = TaskError::UnknownKey { key: k("ghost") };
    assert_eq!(out, vec![erred(1, "ghost", error)]);
    assert_eq!(env.s.task_count(), 0);
}

#[test]
fn a_cycle_errs_the_whole_submission_and_leaks_nothing() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    let tasks = vec![
        TaskBuilder::new("a").deps(&["b"]),
        TaskBuilder::new("b").deps(&["a"]),
        TaskBuilder::new("c"),
    ];
    let out = env.submit(1, tasks, &["a"]);
    let error = TaskError::InvalidGraph {
        key: k("a"),
        reason: "cycle detected: 'a' -> 'b' -> 'a'".into(),
    };
    assert_eq!(out, vec![erred(1, "a", error)]);
    env.release(1, &["a"]);
    assert_eq!(env.s.task_count(), 0);
}

#[test]
fn resubmitting_a_known_key_shares_the_running_task() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.submit(1, vec![TaskBuilder::new("x")], &["x"]);
    assert_eq!(env.submit(2, vec![TaskBuilder::new("x")], &["x"]), vec![]);
    assert_eq!(
        env.finish(1, "x", 1),
        vec![in_memory(1, "x", 1), in_memory(2, "x", 1)]
    );
}

#[test]
fn user_priority_first_then_graph_order() {
    let config = SchedulerConfig {
        worker_saturation: 1.0,
        ..SchedulerConfig::default()
    };
    let mut env = TestEnv::with_config(config);
    let tasks = vec![
        TaskBuilder::new("a"),
        TaskBuilder::new("b").priority(10),
        TaskBuilder::new("c"),
    ];
    env.submit(1, tasks, &["a", "b", "c"]);
    // No worker yet: everything is queued. One slot: the best task goes first.
    assert_eq!(env.s.counts_by_state().queued, 3);
    assert_eq!(env.worker(1, 1), vec![env.compute(1, "b", &[])]);
    let out = env.finish(1, "b", 1);
    assert_eq!(out, vec![in_memory(1, "b", 1), env.compute(1, "a", &[])]);
    let out = env.finish(1, "a", 1);
    assert_eq!(out, vec![in_memory(1, "a", 1), env.compute(1, "c", &[])]);
    // An earlier graph goes before a later one at equal user priority.
    env.submit(2, vec![TaskBuilder::new("late")], &["late"]);
    env.submit(1, vec![TaskBuilder::new("later")], &["later"]);
    let out = env.finish(1, "c", 1);
    assert_eq!(out, vec![in_memory(1, "c", 1), env.compute(1, "late", &[])]);
}

#[test]
fn hundred_thousand_tasks_are_handled_in_one_event() {
    // A tree reduction over 50,000 leaves: ~100,000 tasks. Timing lives in benches/handle.rs;
    // this only proves the submission completes and leaves a consistent state.
    let mut env = TestEnv::new();
    env.worker(1, 4);
    env.worker(2, 4);
    let mut tasks = Vec::new();
    let mut level: Vec<String> = (0..50_000).map(|i| format!("leaf-{i}")).collect();
    tasks.extend(level.iter().map(|k| TaskBuilder::new(k).func("leaf")));
    let mut depth = 0;
    while level.len() > 1 {
        depth += 1;
        let next: Vec<String> = (0..level.len().div_ceil(2))
            .map(|i| format!("sum-{depth}-{i}"))
            .collect();
        for (i, pair) in level.chunks(2).enumerate() {
            let deps: Vec<&str> = pair.iter().map(String::as_str).collect();
            tasks.push(TaskBuilder::new(&next[i]).deps(&deps).func("sum"));
        }
        level = next;
    }
    let root = level[0].clone();
    let n = tasks.len();
    assert!(n > 99_999);
    let out = env.submit(1, tasks, &[root.as_str()]);
    // 5 slots on each 4-thread worker: ceil(4 x 1.1).
    assert_eq!(out.len(), 10);
    let counts = env.s.counts_by_state();
    assert_eq!(counts.processing, 10);
    assert_eq!(counts.queued, 50_000 - 10);
    assert_eq!(env.s.task_count(), n);
    assert_eq!(env.release(1, &[root.as_str()]).len(), 2);
    assert_eq!(env.s.task_count(), 0);
}
