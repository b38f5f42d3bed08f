//! Releasing, cancelling, forgetting.

use super::*;

/// ```text
///     a
///    / \
///   b   c      client 1 wants d
///    \ /
///     d
/// ```
fn diamond() -> Vec<TaskBuilder> {
    vec![
        TaskBuilder::new("a"),
        TaskBuilder::new("b").deps(&["a"]),
        TaskBuilder::new("c").deps(&["a"]),
        TaskBuilder::new("d").deps(&["b", "c"]),
    ]
}

#[test]
fn results_are_freed_when_the_last_dependent_finishes() {
    let mut env = TestEnv::new();
    env.worker(1, 2);
    env.submit(1, diamond(), &["d"]);
    let out = env.finish(1, "a", 1);
    assert_eq!(
        out,
        vec![
            env.compute(1, "b", &[("a", &[1])]),
            env.compute(1, "c", &[("a", &[1])]),
        ]
    );
    assert_eq!(env.finish(1, "b", 1), vec![], "a is still needed by c");
    let out = env.finish(1, "c", 1);
    assert_eq!(
        out,
        vec![
            free(1, &["a"]),
            env.compute(1, "d", &[("b", &[1]), ("c", &[1])]),
        ]
    );
    let out = env.finish(1, "d", 1);
    assert_eq!(out, vec![in_memory(1, "d", 1), free(1, &["c", "b"])]);
}

#[test]
fn releasing_the_output_cascades_to_everything_upstream() {
    let mut env = TestEnv::new();
    env.worker(1, 2);
    env.submit(1, diamond(), &["d"]);
    for key in ["a", "b", "c", "d"] {
        env.finish(1, key, 1);
    }
    assert_eq!(env.s.task_count(), 4, "a, b, c kept as lineage of d");
    assert_eq!(env.release(1, &["d"]), vec![free(1, &["d"])]);
    assert_eq!(env.s.task_count(), 0);
    assert!(env.s.why(&k("a")).contains("not known to the scheduler"));
}

#[test]
fn an_intermediate_another_client_wants_is_kept() {
    let mut env = TestEnv::new();
    env.worker(1, 2);
    env.submit(1, diamond(), &["d"]);
    env.submit(2, vec![], &["b"]);
    env.finish(1, "a", 1);
    assert_eq!(env.finish(1, "b", 3), vec![in_memory(2, "b", 3)]);
    env.finish(1, "c", 1);
    let out = env.finish(1, "d", 1);
    assert_eq!(out, vec![in_memory(1, "d", 1), free(1, &["c"])]);
    assert_eq!(env.state("b"), Some(memory(&[1], 3)));
    assert_eq!(env.release(1, &["d"]), vec![free(1, &["d"])]);
    // b stays (client 2), and so does a: b's lineage.
    assert_eq!(env.s.task_count(), 2);
    assert_eq!(env.release(2, &["b"]), vec![free(1, &["b"])]);
    assert_eq!(env.s.task_count(), 0);
}

#[test]
fn releasing_a_processing_task_cancels_it_and_ignores_its_late_result() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.submit(1, vec![TaskBuilder::new("a")], &["a"]);
    assert_eq!(env.release(1, &["a"]), vec![free(1, &["a"])]);
    assert_eq!(env.s.task_count(), 0);
    assert_eq!(env.finish(1, "a", 5), vec![free(1, &["a"])]);
}

#[test]
fn cancel_reports_the_key_and_what_the_client_wanted_downstream() {
    let mut env = TestEnv::new();
    env.worker(1, 2);
    env.submit(1, diamond(), &["a", "d"]);
    env.submit(2, vec![], &["b"]);
    let out = env.handle(EventKind::KeysCancelled {
        client: ClientId(1),
        keys: vec![k("a")],
    });
    assert_eq!(
        out,
        vec![
            Command::ReportCancelled {
                client: ClientId(1),
                key: k("a"),
                reason: "cancelled by client".into(),
            },
            Command::ReportCancelled {
                client: ClientId(1),
                key: k("d"),
                reason: "dependency 'a' was cancelled".into(),
            },
        ]
    );
    // Client 2 still wants b, so a keeps running for it; c and d are gone.
    assert_eq!(env.state("a"), Some(processing(1)));
    assert_eq!(env.state("d"), None);
    assert_eq!(env.state("c"), None);
}

#[test]
fn a_disconnecting_client_releases_everything_it_wanted() {
    let mut env = TestEnv::new();
    env.worker(1, 2);
    env.submit(
        1,
        vec![TaskBuilder::new("x"), TaskBuilder::new("y")],
        &["x", "y"],
    );
    env.finish(1, "x", 1);
    let out = env.handle(EventKind::ClientDisconnected {
        client: ClientId(1),
    });
    assert_eq!(out, vec![free(1, &["y", "x"])]);
    assert_eq!(env.s.task_count(), 0);
}

#[test]
fn tasks_nobody_wants_are_dropped_at_submission() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    let out = env.submit(1, diamond(), &[]);
    assert_eq!(out, vec![]);
    assert_eq!(env.s.task_count(), 0);
}
