//! TaskErred: retries, propagation to dependents and clients.

use super::*;

#[test]
fn a_retried_task_runs_elsewhere_then_succeeds() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    env.submit(1, vec![TaskBuilder::new("a").retries(1)], &["a"]);
    assert_eq!(env.state("a"), Some(processing(1)));
    assert_eq!(env.raise(1, "a"), vec![env.compute(2, "a", &[])]);
    assert_eq!(env.finish(2, "a", 4), vec![in_memory(1, "a", 4)]);
}

#[test]
fn retries_run_on_the_same_worker_when_it_is_the_only_one() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.submit(1, vec![TaskBuilder::new("a").retries(2)], &["a"]);
    assert_eq!(env.raise(1, "a"), vec![env.compute(1, "a", &[])]);
    assert_eq!(env.raise(1, "a"), vec![env.compute(1, "a", &[])]);
    assert_eq!(env.raise(1, "a"), vec![erred(1, "a", raised("a"))]);
}

/// ```text
///     a          a raises: b, c and d err with a's exception
///    / \
///   b   d        client 1 wants c, client 2 wants d
///   |
///   c
/// ```
#[test]
fn an_error_reaches_every_dependent_and_every_client_waiting_on_one() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    let tasks = vec![
        TaskBuilder::new("a"),
        TaskBuilder::new("b").deps(&["a"]),
        TaskBuilder::new("c").deps(&["b"]),
    ];
    env.submit(1, tasks, &["c"]);
    // Client 2's graph depends on a, still running for client 1's graph.
    env.submit(2, vec![TaskBuilder::new("d").deps(&["a"])], &["d"]);
    let out = env.raise(1, "a");
    assert_eq!(
        out,
        vec![erred(2, "d", raised("a")), erred(1, "c", raised("a"))]
    );
    assert_eq!(
        env.state("c"),
        Some(TaskState::Erred {
            error: raised("a"),
            from: Some(k("a"))
        })
    );
    let why = env.s.why(&k("c"));
    assert!(
        why.contains("erred because dependency 'a' failed: ZeroDivisionError in a"),
        "{why}"
    );
    // A later graph depending on the failed key fails at once.
    let out = env.submit(3, vec![TaskBuilder::new("e").deps(&["c"])], &["e"]);
    assert_eq!(out, vec![erred(3, "e", raised("a"))]);
}

#[test]
fn a_stale_error_report_is_ignored() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    env.submit(1, vec![TaskBuilder::new("a")], &["a"]);
    assert_eq!(env.raise(2, "a"), vec![], "a runs on worker 1, not 2");
    assert_eq!(env.raise(1, "unknown"), vec![]);
    assert_eq!(env.state("a"), Some(processing(1)));
}

/// `bad` raises and `after` inherits its failure; retrying `after` runs both again, and they
/// succeed this time.
#[test]
fn a_retry_runs_the_erred_key_and_the_failure_behind_it_again() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    let tasks = vec![
        TaskBuilder::new("bad"),
        TaskBuilder::new("after").deps(&["bad"]),
    ];
    env.submit(1, tasks, &["after"]);
    env.raise(1, "bad");
    assert!(matches!(env.state("after"), Some(TaskState::Erred { .. })));
    let out = env.handle(EventKind::RetryRequested {
        keys: vec![k("after")],
    });
    assert_eq!(out, vec![env.compute(1, "bad", &[])]);
    assert_eq!(env.state("after"), Some(TaskState::Waiting { missing: 1 }));
    env.finish(1, "bad", 8);
    let out = env.finish(1, "after", 8);
    assert_eq!(out, vec![in_memory(1, "after", 8), free(1, &["bad"])]);
    // Retrying a key that did not err changes nothing.
    let out = env.handle(EventKind::RetryRequested {
        keys: vec![k("after"), k("unknown")],
    });
    assert_eq!(out, vec![]);
}
