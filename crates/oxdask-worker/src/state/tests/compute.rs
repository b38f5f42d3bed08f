//! Running tasks: readiness, thread and resource limits, priority order, results.

use super::*;

#[test]
fn task_without_deps_runs_and_reports() {
    let mut env = TestEnv::new(1);
    let x = TaskBuilder::new("x");
    assert_eq!(env.compute(&x), vec![exec(&x)]);
    assert_eq!(env.status("x"), TaskStatus::Executing);
    assert_eq!(env.complete("x", 8), vec![finished("x", 8)]);
    assert_eq!(env.status("x"), TaskStatus::Memory);
    assert_eq!(env.s.managed_bytes(), 8);
}

#[test]
fn task_with_local_deps_runs_at_once() {
    let mut env = TestEnv::new(1);
    let a = TaskBuilder::new("a");
    assert_eq!(env.compute(&a), vec![exec(&a)]);
    assert_eq!(env.complete("a", 8), vec![finished("a", 8)]);
    assert_eq!(env.put(&[("p", 3)], false), vec![]);
    // The scheduler names this worker as the holder: nothing to fetch.
    let b = TaskBuilder::new("b").deps(&[("a", &[A]), ("p", &[A]), ("a", &[A])]);
    assert_eq!(env.compute(&b), vec![exec(&b)]);
    assert_eq!(env.complete("b", 8), vec![finished("b", 8)]);
    // The inputs stay: the scheduler decides when they go.
    assert_eq!(env.status("a"), TaskStatus::Memory);
    assert_eq!(env.free(&["a", "p"]), vec![dropped(&["p", "a"])]);
}

#[test]
fn task_waits_for_a_local_task_it_depends_on() {
    let mut env = TestEnv::new(2);
    let a = TaskBuilder::new("a");
    let b = TaskBuilder::new("b").deps(&[("a", &[B])]);
    assert_eq!(env.compute(&a), vec![exec(&a)]);
    // `a` will be computed here, so it is not fetched from B.
    assert_eq!(env.compute(&b), vec![]);
    assert_eq!(env.status("b"), TaskStatus::Waiting);
    assert_eq!(env.complete("a", 8), vec![finished("a", 8), exec(&b)]);
}

#[test]
fn at_most_nthreads_tasks_execute() {
    let mut env = TestEnv::new(2);
    let ts: Vec<TaskBuilder> = ["t1", "t2", "t3"]
        .iter()
        .map(|t| TaskBuilder::new(t))
        .collect();
    assert_eq!(env.compute(&ts[0]), vec![exec(&ts[0])]);
    assert_eq!(env.compute(&ts[1]), vec![exec(&ts[1])]);
    assert_eq!(env.compute(&ts[2]), vec![]);
    assert_eq!(env.status("t3"), TaskStatus::Ready);
    assert_eq!(env.s.executing_count(), 2);
    assert_eq!(env.complete("t2", 1), vec![finished("t2", 1), exec(&ts[2])]);
}

#[test]
fn ready_tasks_run_by_priority_then_arrival() {
    let mut env = TestEnv::new(1);
    let busy = TaskBuilder::new("busy");
    let late = TaskBuilder::new("late").priority(5);
    let urgent = TaskBuilder::new("urgent").priority(-1);
    let later = TaskBuilder::new("later").priority(5);
    assert_eq!(env.compute(&busy), vec![exec(&busy)]);
    assert_eq!(env.compute(&late), vec![]);
    assert_eq!(env.compute(&urgent), vec![]);
    assert_eq!(env.compute(&later), vec![]);
    assert_eq!(
        env.complete("busy", 1),
        vec![finished("busy", 1), exec(&urgent)]
    );
    assert_eq!(
        env.complete("urgent", 1),
        vec![finished("urgent", 1), exec(&late)]
    );
    assert_eq!(
        env.complete("late", 1),
        vec![finished("late", 1), exec(&later)]
    );
}

#[test]
fn resources_are_never_oversubscribed() {
    let mut env = TestEnv::with_config(StateConfig {
        nthreads: 4,
        resources: vec![("GPU".into(), 1.0)],
        ..StateConfig::default()
    });
    let g1 = TaskBuilder::new("g1").resources(&[("GPU", 1.0)]);
    let g2 = TaskBuilder::new("g2").resources(&[("GPU", 1.0)]);
    let cpu = TaskBuilder::new("cpu");
    assert_eq!(env.compute(&g1), vec![exec(&g1)]);
    // The GPU is busy: g2 waits, but it does not hold back work that needs no GPU.
    assert_eq!(env.compute(&g2), vec![]);
    assert_eq!(env.compute(&cpu), vec![exec(&cpu)]);
    assert_eq!(env.complete("g1", 1), vec![finished("g1", 1), exec(&g2)]);
}

#[test]
fn a_constrained_task_with_better_priority_goes_first() {
    let mut env = TestEnv::with_config(StateConfig {
        nthreads: 1,
        resources: vec![("GPU".into(), 2.0)],
        ..StateConfig::default()
    });
    let busy = TaskBuilder::new("busy");
    let plain = TaskBuilder::new("plain").priority(1);
    let gpu = TaskBuilder::new("gpu")
        .priority(0)
        .resources(&[("GPU", 1.5)]);
    env.compute(&busy);
    assert_eq!(env.compute(&plain), vec![]);
    assert_eq!(env.compute(&gpu), vec![]);
    assert_eq!(
        env.complete("busy", 1),
        vec![finished("busy", 1), exec(&gpu)]
    );
    assert_eq!(
        env.complete("gpu", 1),
        vec![finished("gpu", 1), exec(&plain)]
    );
}

#[test]
fn a_failed_task_is_reported_and_forgotten() {
    let mut env = TestEnv::new(1);
    let x = TaskBuilder::new("x");
    let y = TaskBuilder::new("y");
    env.compute(&x);
    assert_eq!(env.compute(&y), vec![]);
    assert_eq!(env.fail("x"), vec![erred("x"), exec(&y)]);
    assert_eq!(env.status("x"), TaskStatus::Forgotten);
    // The scheduler may retry it here.
    assert_eq!(env.complete("y", 1), vec![finished("y", 1)]);
    assert_eq!(env.compute(&x), vec![exec(&x)]);
}

#[test]
fn a_repeated_request_for_a_held_result_is_answered_at_once() {
    let mut env = TestEnv::new(1);
    let x = TaskBuilder::new("x");
    env.compute(&x);
    env.complete("x", 8);
    let again = Command::Send(WorkerToScheduler::TaskFinished {
        key: k("x"),
        nbytes: 8,
        duration_us: 0,
        stop_us: 0,
        type_name: "int".into(),
        value: None,
    });
    assert_eq!(env.compute(&x), vec![again]);
    // While it runs, a repeated request changes nothing.
    let y = TaskBuilder::new("y");
    env.compute(&y);
    assert_eq!(env.compute(&y), vec![]);
}

#[test]
fn why_tells_the_story() {
    let mut env = TestEnv::new(1);
    let y = TaskBuilder::new("y").deps(&[("a", &[A])]);
    env.compute(&y);
    let why = env.s.why(&k("y"));
    assert!(
        why.starts_with("'y' is waiting, 1 inputs missing of ['a' (flight)]"),
        "{why}"
    );
    assert!(why.contains("waiting (stimulus 1)"), "{why}");
    let why = env.s.why(&k("a"));
    assert!(why.contains("from tcp://10.0.0.1:4000 (fetch 0)"), "{why}");
    assert!(why.contains("needed by ['y']"), "{why}");
    assert!(env.s.why(&k("zz")).contains("not known"));
}

#[test]
fn short_tasks_are_handed_out_ahead_of_free_threads() {
    let mut env = TestEnv::with_config(StateConfig {
        nthreads: 1,
        prefetch: 2,
        short_task_us: 1_000,
        ..StateConfig::default()
    });
    let ts: Vec<TaskBuilder> = (0..6).map(|i| TaskBuilder::new(&format!("t{i}"))).collect();
    assert_eq!(env.compute(&ts[0]), vec![exec(&ts[0])]);
    // Nothing is known of run times yet: one task per thread.
    for t in &ts[1..] {
        assert_eq!(env.compute(t), vec![]);
    }
    // A short task finished: up to `prefetch` more go to the executor at once.
    let out = env.complete_in("t0", 1, 50);
    assert_eq!(&out[1..], &[exec(&ts[1]), exec(&ts[2]), exec(&ts[3])]);
    assert_eq!(env.s.executing_count(), 3);
    // Tasks turn long: no new task until executions drop below one per thread.
    assert_eq!(env.complete_in("t1", 1, 100_000).len(), 1);
    assert_eq!(env.complete_in("t2", 1, 100_000).len(), 1);
    let out = env.complete_in("t3", 1, 100_000);
    assert_eq!(&out[1..], &[exec(&ts[4])]);
}

fn pause(env: &mut TestEnv, paused: bool) -> Vec<Command> {
    env.handle(EventKind::PauseChanged {
        paused,
        reason: "memory".into(),
    })
}

fn paused_msg(paused: bool) -> Command {
    Command::Send(WorkerToScheduler::Paused {
        paused,
        reason: "memory".into(),
    })
}

/// Paused, the worker tells the scheduler once, starts nothing and fetches nothing; running
/// tasks finish. Resuming starts what waited, fetches included.
#[test]
fn a_paused_worker_starts_and_fetches_nothing_until_resumed() {
    let mut env = TestEnv::new(1);
    let a = TaskBuilder::new("a");
    assert_eq!(env.compute(&a), vec![exec(&a)]);
    assert_eq!(pause(&mut env, true), vec![paused_msg(true)]);
    assert_eq!(pause(&mut env, true), vec![], "no repeated message");
    assert!(env.s.is_paused());
    let b = TaskBuilder::new("b");
    let c = TaskBuilder::new("c").deps(&[("x", &[B])]).nbytes(&[10]);
    assert_eq!(env.compute(&b), vec![]);
    assert_eq!(env.compute(&c), vec![]);
    assert_eq!(env.complete("a", 8), vec![finished("a", 8)]);
    assert_eq!(env.status("b"), TaskStatus::Ready);
    assert_eq!(env.status("x"), TaskStatus::Fetch);
    assert_eq!(
        pause(&mut env, false),
        vec![paused_msg(false), fetch(0, B, &["x"]), exec(&b)]
    );
}
