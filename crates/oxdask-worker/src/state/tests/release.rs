//! Frees, steals and puts.

use super::*;

#[test]
fn a_task_that_has_not_started_can_be_stolen() {
    let mut env = TestEnv::new(1);
    let x = TaskBuilder::new("x");
    let y = TaskBuilder::new("y");
    let z = TaskBuilder::new("z").deps(&[("a", &[A])]);
    env.compute(&x);
    env.compute(&y);
    env.compute(&z);
    assert_eq!(env.steal("y"), vec![stolen("y", true)]);
    assert_eq!(env.status("y"), TaskStatus::Forgotten);
    // Stealing a task whose input is in flight leaves the fetch to finish, then drops it.
    assert_eq!(env.steal("z"), vec![stolen("z", true)]);
    assert_eq!(env.fetched(0, &[("a", 1)]), vec![dropped(&["a"])]);
    // Too late for x; unknown keys are not given back either.
    assert_eq!(env.steal("x"), vec![stolen("x", false)]);
    assert_eq!(env.steal("nope"), vec![stolen("nope", false)]);
    assert_eq!(env.complete("x", 1), vec![finished("x", 1)]);
}

#[test]
fn a_freed_value_stays_while_a_local_task_needs_it() {
    let mut env = TestEnv::new(1);
    let busy = TaskBuilder::new("busy");
    let y = TaskBuilder::new("y").deps(&[("a", &[A])]);
    env.put(&[("a", 3)], false);
    env.compute(&busy);
    assert_eq!(env.compute(&y), vec![]);
    assert_eq!(env.free(&["a"]), vec![]);
    assert_eq!(env.status("a"), TaskStatus::Memory);
    assert_eq!(env.complete("busy", 1), vec![finished("busy", 1), exec(&y)]);
    assert_eq!(
        env.complete("y", 1),
        vec![finished("y", 1), dropped(&["a"])]
    );
    assert_eq!(env.status("a"), TaskStatus::Forgotten);
}

#[test]
fn freeing_a_waiting_task_cancels_it_and_its_fetches() {
    let mut env = TestEnv::new(1);
    let y = TaskBuilder::new("y")
        .deps(&[("a", &[A]), ("b", &[B])])
        .nbytes(&[60 << 20, 60 << 20]);
    // The byte budget lets only `a` go.
    assert_eq!(env.compute(&y), vec![fetch(0, A, &["a"])]);
    assert_eq!(env.status("b"), TaskStatus::Fetch);
    assert_eq!(env.free(&["y"]), vec![]);
    assert_eq!(env.status("b"), TaskStatus::Forgotten);
    assert_eq!(env.fetch_failed(0), vec![]);
    assert!(env.s.is_empty());
}

#[test]
fn freeing_an_executing_task_discards_its_result() {
    let mut env = TestEnv::new(1);
    let x = TaskBuilder::new("x");
    env.compute(&x);
    assert_eq!(env.free(&["x"]), vec![]);
    assert_eq!(env.complete("x", 1), vec![dropped(&["x"])]);
    assert!(env.s.is_empty());
    // A failure of a cancelled task is not reported either.
    env.compute(&x);
    env.free(&["x"]);
    assert_eq!(env.fail("x"), vec![]);
}

#[test]
fn an_executing_task_requested_again_after_a_free_reports() {
    let mut env = TestEnv::new(1);
    let x = TaskBuilder::new("x");
    env.compute(&x);
    env.free(&["x"]);
    assert_eq!(env.compute(&x), vec![]);
    assert_eq!(env.complete("x", 1), vec![finished("x", 1)]);
}

#[test]
fn put_data_is_reported_only_when_asked() {
    let mut env = TestEnv::new(1);
    assert_eq!(env.put(&[("p", 3)], false), vec![]);
    assert_eq!(env.put(&[("q", 4)], true), vec![added(&[("q", 4)])]);
    assert_eq!(env.s.managed_bytes(), 7);
}

#[test]
fn put_data_satisfies_waiting_tasks() {
    let mut env = TestEnv::new(1);
    let y = TaskBuilder::new("y").deps(&[("a", &[A])]);
    env.compute(&y);
    // The client's copy overtakes the fetch; the fetched copy is not kept twice.
    assert_eq!(env.put(&[("a", 3)], false), vec![exec(&y)]);
    assert_eq!(env.fetched(0, &[("a", 3)]), vec![]);
    assert_eq!(env.status("a"), TaskStatus::Memory);
}

#[test]
fn put_data_overtaking_a_running_task_keeps_its_thread_busy() {
    let mut env = TestEnv::new(1);
    let x = TaskBuilder::new("x");
    let y = TaskBuilder::new("y");
    env.compute(&x);
    env.compute(&y);
    assert_eq!(env.put(&[("x", 3)], false), vec![]);
    assert_eq!(env.status("x"), TaskStatus::Memory);
    // The result of the execution is not kept (the put copy is), nor reported.
    assert_eq!(env.complete("x", 1), vec![exec(&y)]);
    assert_eq!(env.s.managed_bytes(), 3);
}
