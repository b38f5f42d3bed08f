//! Work stealing on Tick.

use super::*;

/// Worker 1 holds `x` (scattered, `x_bytes`) and gets all four tasks reading it, being the
/// only worker; then worker 2 joins, idle. Unknown tasks are expected to take 10 s.
fn piled_up(x_bytes: u64) -> TestEnv {
    piled_up_with(x_bytes, true)
}

fn piled_up_with(x_bytes: u64, work_stealing: bool) -> TestEnv {
    let config = SchedulerConfig {
        unknown_task_duration: Time::from_secs(10),
        work_stealing,
        ..SchedulerConfig::default()
    };
    let mut env = TestEnv::with_config(config);
    env.worker(1, 1);
    env.handle(EventKind::DataAdded {
        worker: WorkerId(1),
        keys: vec![(k("x"), x_bytes)],
        client: Some(ClientId(1)),
    });
    let tasks: Vec<TaskBuilder> = (0..4)
        .map(|i| TaskBuilder::new(&format!("t{i}")).deps(&["x"]))
        .collect();
    let out = env.submit(1, tasks, &["t0", "t1", "t2", "t3"]);
    assert!(
        out.iter().all(|c| c.worker() == Some(WorkerId(1))),
        "{out:?}"
    );
    assert_eq!(
        env.worker(2, 1),
        vec![],
        "running tasks stay where they are"
    );
    env
}

#[test]
fn an_idle_worker_steals_the_task_that_would_wait_longest() {
    let mut env = piled_up(1_000_000);
    // 1 MB moves in 10 ms; t3 would wait 30 s behind three 10 s tasks.
    assert_eq!(env.handle(EventKind::Tick), vec![steal(1, "t3")]);
    assert_eq!(env.handle(EventKind::Tick), vec![], "one steal in flight");
    let out = env.handle(EventKind::StealResponse {
        worker: WorkerId(1),
        key: k("t3"),
        stolen: true,
    });
    assert_eq!(out, vec![env.compute(2, "t3", &[("x", &[1])])]);
    assert_eq!(env.handle(EventKind::Tick), vec![], "nobody is idle");
    assert_eq!(env.s.workers()[0].processing, 3);
}

#[test]
fn a_refused_steal_leaves_the_task_where_it_is() {
    let mut env = piled_up(1_000_000);
    assert_eq!(env.handle(EventKind::Tick), vec![steal(1, "t3")]);
    let out = env.handle(EventKind::StealResponse {
        worker: WorkerId(1),
        key: k("t3"),
        stolen: false,
    });
    assert_eq!(out, vec![]);
    assert_eq!(env.state("t3"), Some(processing(1)));
}

#[test]
fn a_late_steal_answer_for_a_finished_task_changes_nothing() {
    let mut env = piled_up(1_000_000);
    env.handle(EventKind::Tick);
    assert_eq!(env.finish(1, "t3", 1), vec![in_memory(1, "t3", 1)]);
    let out = env.handle(EventKind::StealResponse {
        worker: WorkerId(1),
        key: k("t3"),
        stolen: true,
    });
    assert_eq!(out, vec![]);
}

#[test]
fn tasks_with_inputs_too_big_to_move_are_not_stolen() {
    // 10 GB takes 100 s to move, longer than any task would wait.
    let mut env = piled_up(10_000_000_000);
    assert_eq!(env.handle(EventKind::Tick), vec![]);
}

#[test]
fn stealing_can_be_turned_off() {
    let mut env = piled_up_with(1_000_000, false);
    assert_eq!(env.handle(EventKind::Tick), vec![]);
}
