//! Fetching inputs from peers: batching, limits, failures, replicas.

use super::*;

#[test]
fn deps_are_fetched_in_one_request_per_holder() {
    let mut env = TestEnv::new(1);
    let y = TaskBuilder::new("y").deps(&[("a", &[A]), ("b", &[A]), ("c", &[B])]);
    assert_eq!(
        env.compute(&y),
        vec![fetch(0, A, &["a", "b"]), fetch(1, B, &["c"])]
    );
    assert_eq!(env.status("y"), TaskStatus::Waiting);
    assert_eq!(
        env.fetched(0, &[("a", 10), ("b", 20)]),
        vec![added(&[("a", 10), ("b", 20)])]
    );
    assert_eq!(
        env.fetched(1, &[("c", 30)]),
        vec![added(&[("c", 30)]), exec(&y)]
    );
    assert_eq!(env.complete("y", 8), vec![finished("y", 8)]);
    // Fetched inputs were reported, so they stay until the scheduler frees them.
    assert_eq!(env.s.managed_bytes(), 68);
    assert_eq!(env.free(&["a"]), vec![dropped(&["a"])]);
}

#[test]
fn a_dependency_shared_by_two_tasks_is_fetched_once() {
    let mut env = TestEnv::new(2);
    let y = TaskBuilder::new("y").deps(&[("a", &[A])]);
    let z = TaskBuilder::new("z").deps(&[("a", &[A, B])]);
    assert_eq!(env.compute(&y), vec![fetch(0, A, &["a"])]);
    assert_eq!(env.compute(&z), vec![]);
    assert_eq!(
        env.fetched(0, &[("a", 1)]),
        vec![added(&[("a", 1)]), exec(&y), exec(&z)]
    );
}

#[test]
fn requests_per_peer_and_bytes_per_request_are_bounded() {
    let mut env = TestEnv::with_config(StateConfig {
        max_fetches_per_peer: 1,
        max_request_bytes: 100,
        ..StateConfig::default()
    });
    let y = TaskBuilder::new("y")
        .deps(&[("a", &[A]), ("b", &[A]), ("c", &[A])])
        .nbytes(&[60, 30, 30]);
    // a and b fill one request; c would overflow it, and A may have only one request.
    assert_eq!(env.compute(&y), vec![fetch(0, A, &["a", "b"])]);
    assert_eq!(
        env.fetched(0, &[("a", 60), ("b", 30)]),
        vec![added(&[("a", 60), ("b", 30)]), fetch(1, A, &["c"])]
    );
}

#[test]
fn two_requests_to_one_peer_when_one_is_full() {
    let mut env = TestEnv::with_config(StateConfig {
        max_request_bytes: 100,
        ..StateConfig::default()
    });
    let y = TaskBuilder::new("y")
        .deps(&[("a", &[A]), ("b", &[A]), ("c", &[A])])
        .nbytes(&[80, 80, 80]);
    // Two requests per peer by default; the third key waits for one of them.
    assert_eq!(
        env.compute(&y),
        vec![fetch(0, A, &["a"]), fetch(1, A, &["b"])]
    );
    assert_eq!(
        env.fetched(1, &[("b", 80)]),
        vec![added(&[("b", 80)]), fetch(2, A, &["c"])]
    );
}

#[test]
fn bytes_in_flight_are_bounded_but_a_big_value_still_comes() {
    let mut env = TestEnv::with_config(StateConfig {
        max_incoming_bytes: 100,
        ..StateConfig::default()
    });
    let y = TaskBuilder::new("y")
        .deps(&[("big", &[A]), ("small", &[B])])
        .nbytes(&[500, 10]);
    // Over the budget on its own, but nothing else is in flight.
    assert_eq!(env.compute(&y), vec![fetch(0, A, &["big"])]);
    assert_eq!(
        env.fetched(0, &[("big", 500)]),
        vec![added(&[("big", 500)]), fetch(1, B, &["small"])]
    );
}

#[test]
fn inputs_of_urgent_tasks_are_fetched_first() {
    let mut env = TestEnv::with_config(StateConfig {
        max_incoming_bytes: 10,
        ..StateConfig::default()
    });
    let busy = TaskBuilder::new("busy").deps(&[("x", &[C])]).nbytes(&[10]);
    let later = TaskBuilder::new("later")
        .priority(3)
        .deps(&[("l", &[A])])
        .nbytes(&[10]);
    let soon = TaskBuilder::new("soon")
        .priority(1)
        .deps(&[("s", &[B])])
        .nbytes(&[10]);
    assert_eq!(env.compute(&busy), vec![fetch(0, C, &["x"])]);
    assert_eq!(env.compute(&later), vec![]);
    assert_eq!(env.compute(&soon), vec![]);
    assert_eq!(
        env.fetched(0, &[("x", 10)]),
        vec![added(&[("x", 10)]), fetch(1, B, &["s"]), exec(&busy)]
    );
}

#[test]
fn a_failed_holder_is_replaced_then_the_scheduler_is_told() {
    let mut env = TestEnv::new(1);
    let y = TaskBuilder::new("y").deps(&[("a", &[A, B])]);
    assert_eq!(env.compute(&y), vec![fetch(0, A, &["a"])]);
    // A is unreachable: try B.
    assert_eq!(env.fetch_failed(0), vec![fetch(1, B, &["a"])]);
    // B answers without it: no holder left.
    assert_eq!(env.fetched(1, &[]), vec![missing("a", A), missing("a", B)]);
    assert_eq!(env.status("a"), TaskStatus::Missing);
    assert_eq!(env.status("y"), TaskStatus::Waiting);
    // The scheduler re-sends the task with a holder it trusts.
    let y2 = TaskBuilder::new("y").deps(&[("a", &[C])]);
    assert_eq!(env.compute(&y2), vec![fetch(2, C, &["a"])]);
    assert_eq!(
        env.fetched(2, &[("a", 4)]),
        vec![added(&[("a", 4)]), exec(&y)]
    );
}

#[test]
fn a_partial_reply_keeps_what_came() {
    let mut env = TestEnv::new(1);
    let y = TaskBuilder::new("y").deps(&[("a", &[A]), ("b", &[A, B])]);
    assert_eq!(env.compute(&y), vec![fetch(0, A, &["a", "b"])]);
    assert_eq!(
        env.fetched(0, &[("a", 1)]),
        vec![added(&[("a", 1)]), fetch(1, B, &["b"])]
    );
}

#[test]
fn a_value_fetched_for_a_cancelled_task_is_dropped() {
    let mut env = TestEnv::new(1);
    let y = TaskBuilder::new("y")
        .deps(&[("a", &[A]), ("b", &[A])])
        .nbytes(&[1, 1]);
    env.compute(&y);
    assert_eq!(env.free(&["y"]), vec![]);
    assert_eq!(env.status("y"), TaskStatus::Forgotten);
    assert_eq!(env.status("a"), TaskStatus::Flight);
    assert_eq!(
        env.fetched(0, &[("a", 1), ("b", 1)]),
        vec![dropped(&["a", "b"])]
    );
    assert!(env.s.is_empty());
}

#[test]
fn replicas_are_fetched_and_reported() {
    let mut env = TestEnv::new(1);
    env.put(&[("held", 5)], false);
    assert_eq!(
        env.replicate(&[("held", &[A]), ("r", &[A, B])]),
        vec![added(&[("held", 5)]), fetch(0, A, &["r"])]
    );
    assert_eq!(env.fetched(0, &[("r", 7)]), vec![added(&[("r", 7)])]);
    assert_eq!(env.status("r"), TaskStatus::Memory);
}

#[test]
fn a_replica_nobody_has_is_reported_missing_and_forgotten() {
    let mut env = TestEnv::new(1);
    assert_eq!(env.replicate(&[("r", &[A])]), vec![fetch(0, A, &["r"])]);
    assert_eq!(env.fetched(0, &[]), vec![missing("r", A)]);
    assert_eq!(env.status("r"), TaskStatus::Forgotten);
}

#[test]
fn a_late_reply_to_an_unknown_request_is_dropped() {
    let mut env = TestEnv::new(1);
    assert_eq!(env.fetched(9, &[("ghost", 1)]), vec![dropped(&["ghost"])]);
    assert_eq!(env.fetch_failed(9), vec![]);
}

#[test]
fn computing_a_key_that_was_being_fetched_discards_the_copy() {
    let mut env = TestEnv::new(1);
    let y = TaskBuilder::new("y").deps(&[("a", &[A])]);
    let a = TaskBuilder::new("a");
    env.compute(&y);
    // The scheduler lost every copy of `a` and recomputes it here.
    assert_eq!(env.compute(&a), vec![exec(&a)]);
    assert_eq!(env.fetched(0, &[("a", 1)]), vec![dropped(&["a"])]);
    assert_eq!(env.complete("a", 1), vec![finished("a", 1), exec(&y)]);
}
