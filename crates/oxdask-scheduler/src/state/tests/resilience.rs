//! Losing workers and data: rescheduling, lineage, KilledWorker, heartbeats.

use super::*;

#[test]
fn a_dead_workers_tasks_are_rescheduled() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    env.submit(1, vec![TaskBuilder::new("a")], &["a"]);
    assert_eq!(env.state("a"), Some(processing(1)));
    assert_eq!(
        env.leave(1, LeaveReason::Died),
        vec![env.compute(2, "a", &[])]
    );
    assert_eq!(env.s.task_state(&k("a")).map(|v| v.suspicious), Some(1));
}

#[test]
fn a_closed_worker_does_not_make_its_tasks_suspicious() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    env.submit(1, vec![TaskBuilder::new("a")], &["a"]);
    assert_eq!(
        env.leave(1, LeaveReason::Closed),
        vec![env.compute(2, "a", &[])]
    );
    assert_eq!(env.s.task_state(&k("a")).map(|v| v.suspicious), Some(0));
}

/// ```text
/// a -> b -> c    c is in memory on worker 1 (a, b released), then worker 1 dies:
///                c is recomputed from its lineage, a first.
/// ```
#[test]
fn lost_results_are_recomputed_from_lineage() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    let tasks = vec![
        TaskBuilder::new("a"),
        TaskBuilder::new("b").deps(&["a"]),
        TaskBuilder::new("c").deps(&["b"]),
    ];
    env.submit(1, tasks, &["c"]);
    for key in ["a", "b", "c"] {
        env.finish(1, key, 1);
    }
    env.worker(2, 1);
    // No ReportLost: c can be recomputed.
    assert_eq!(
        env.leave(1, LeaveReason::Died),
        vec![env.compute(2, "a", &[])]
    );
    assert_eq!(env.state("c"), Some(TaskState::Waiting { missing: 1 }));
    assert_eq!(
        env.finish(2, "a", 1),
        vec![env.compute(2, "b", &[("a", &[2])])]
    );
    let out = env.finish(2, "b", 1);
    assert_eq!(
        out,
        vec![free(2, &["a"]), env.compute(2, "c", &[("b", &[2])])]
    );
    assert_eq!(
        env.finish(2, "c", 1),
        vec![in_memory(1, "c", 1), free(2, &["b"])]
    );
}

#[test]
fn a_task_whose_input_is_lost_mid_flight_waits_for_its_recomputation() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    let tasks = vec![TaskBuilder::new("x"), TaskBuilder::new("y").deps(&["x"])];
    env.submit(1, tasks, &["y"]);
    env.finish(1, "x", 1);
    assert_eq!(env.state("y"), Some(processing(1)));
    // Worker 2 steals nothing; instead worker 1 dies with x and y.
    let out = env.leave(1, LeaveReason::Died);
    assert_eq!(out, vec![env.compute(2, "x", &[])]);
    assert_eq!(env.state("y"), Some(TaskState::Waiting { missing: 1 }));
}

#[test]
fn killed_worker_after_too_many_deaths() {
    let config = SchedulerConfig {
        allowed_failures: 2,
        ..SchedulerConfig::default()
    };
    let mut env = TestEnv::with_config(config);
    let tasks = vec![
        TaskBuilder::new("bomb"),
        TaskBuilder::new("after").deps(&["bomb"]),
    ];
    env.submit(1, tasks, &["after"]);
    for w in 1..=2 {
        assert_eq!(env.worker(w, 1), vec![env.compute(w, "bomb", &[])]);
        assert_eq!(env.leave(w, LeaveReason::Died), vec![]);
    }
    env.worker(3, 1);
    let out = env.leave(3, LeaveReason::Died);
    let error = TaskError::KilledWorker {
        key: k("bomb"),
        deaths: 3,
        last_worker: addr(3),
        last_reason: None,
    };
    assert_eq!(
        error.to_string(),
        "KilledWorker: task 'bomb' was running on 3 workers that died (last: tcp://10.0.0.3:4000)"
    );
    assert_eq!(out, vec![erred(1, "after", error)]);
}

#[test]
fn default_allows_three_deaths_and_errs_on_the_fourth() {
    let mut env = TestEnv::new();
    env.submit(1, vec![TaskBuilder::new("bomb")], &["bomb"]);
    for w in 1..=3 {
        env.worker(w, 1);
        assert_eq!(env.leave(w, LeaveReason::Died), vec![]);
    }
    env.worker(4, 1);
    let out = env.leave(4, LeaveReason::Died);
    let error = TaskError::KilledWorker {
        key: k("bomb"),
        deaths: 4,
        last_worker: addr(4),
        last_reason: None,
    };
    assert_eq!(out, vec![erred(1, "bomb", error)]);
}

#[test]
fn silent_workers_expire_on_tick() {
    let config = SchedulerConfig {
        worker_ttl: Time::from_secs(10),
        ..SchedulerConfig::default()
    };
    let mut env = TestEnv::with_config(config);
    env.worker(1, 1);
    env.worker(2, 1);
    env.submit(
        1,
        vec![TaskBuilder::new("a"), TaskBuilder::new("b")],
        &["a", "b"],
    );
    assert_eq!(env.state("b"), Some(processing(2)));
    env.now = Time::from_secs(8);
    env.handle(EventKind::Heartbeat {
        worker: WorkerId(1),
        memory: 1 << 20,
        managed: 1 << 10,
        spilled: 0,
    });
    assert_eq!(env.s.workers()[0].managed, 1 << 10);
    env.now = Time::from_secs(12);
    let out = env.handle(EventKind::Tick);
    assert_eq!(
        out,
        vec![
            Command::CloseWorker {
                worker: WorkerId(2),
                reason: "no heartbeat for 12s (worker_ttl is 10s)".into(),
            },
            env.compute(1, "b", &[]),
        ]
    );
    assert_eq!(env.s.workers().len(), 1);
}

#[test]
fn lost_scattered_data_is_reported_and_fails_its_dependents() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    let out = env.handle(EventKind::DataAdded {
        worker: WorkerId(1),
        keys: vec![(k("s"), 64)],
        client: Some(ClientId(1)),
    });
    assert_eq!(
        out,
        vec![Command::ReportInMemory {
            client: ClientId(1),
            key: k("s"),
            nbytes: 64,
            type_name: "".into(),
        }]
    );
    env.submit(2, vec![TaskBuilder::new("t").deps(&["s"])], &["t"]);
    assert_eq!(env.state("t"), Some(processing(1)));
    let out = env.leave(1, LeaveReason::Died);
    let lost = TaskError::Lost {
        key: k("s"),
        worker: Some(addr(1)),
    };
    assert_eq!(
        lost.to_string(),
        "key 's' was lost with tcp://10.0.0.1:4000 and cannot be recomputed: it was scattered"
    );
    assert_eq!(
        out,
        vec![
            Command::ReportLost {
                client: ClientId(1),
                key: k("s")
            },
            erred(2, "t", lost),
        ]
    );
}

#[test]
fn missing_data_with_another_holder_redirects_the_fetch() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    env.worker(3, 1);
    let tasks = vec![
        TaskBuilder::new("x"),
        TaskBuilder::new("y").deps(&["x"]).restrict(&[2]),
    ];
    env.submit(1, tasks, &["y"]);
    env.finish(1, "x", 1);
    assert_eq!(env.state("y"), Some(processing(2)));
    // A replica of x appears on worker 3 (e.g. a duplicate result).
    assert_eq!(env.finish(3, "x", 1), vec![]);
    let out = env.handle(EventKind::DataMissing {
        worker: WorkerId(2),
        holder: WorkerId(1),
        key: k("x"),
    });
    assert_eq!(out, vec![env.compute(2, "y", &[("x", &[3])])]);
    assert_eq!(env.state("x"), Some(memory(&[3], 1)));
}

#[test]
fn missing_data_without_another_holder_is_recomputed() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    let tasks = vec![
        TaskBuilder::new("x"),
        TaskBuilder::new("y").deps(&["x"]).restrict(&[2]),
    ];
    env.submit(1, tasks, &["y"]);
    env.finish(1, "x", 1);
    let out = env.handle(EventKind::DataMissing {
        worker: WorkerId(2),
        holder: WorkerId(1),
        key: k("x"),
    });
    assert_eq!(out, vec![env.compute(1, "x", &[]), free(2, &["y"])]);
    assert_eq!(env.state("y"), Some(TaskState::Waiting { missing: 1 }));
}

#[test]
fn stale_and_unknown_worker_events_are_absorbed() {
    let mut env = TestEnv::new();
    assert_eq!(env.leave(9, LeaveReason::Died), vec![]);
    assert_eq!(env.finish(9, "nothing", 1), vec![]);
    let out = env.handle(EventKind::StealResponse {
        worker: WorkerId(9),
        key: k("nothing"),
        stolen: true,
    });
    assert_eq!(out, vec![]);
}

#[test]
fn scattering_to_an_unknown_worker_reports_the_data_lost() {
    let mut env = TestEnv::new();
    let out = env.handle(EventKind::DataAdded {
        worker: WorkerId(5),
        keys: vec![(k("s"), 1)],
        client: Some(ClientId(1)),
    });
    let lost = Command::ReportLost {
        client: ClientId(1),
        key: k("s"),
    };
    assert_eq!(out, vec![lost]);
    assert_eq!(env.s.task_count(), 0);
}

/// ```text
/// s (scattered) -> t     t is in memory on worker 2, s was freed once nobody wanted it;
///                        worker 2 dies: t cannot be recomputed without s.
/// ```
#[test]
fn a_freed_scattered_input_cannot_be_recomputed_for_a_lost_dependent() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    env.handle(EventKind::DataAdded {
        worker: WorkerId(1),
        keys: vec![(k("s"), 64)],
        client: Some(ClientId(1)),
    });
    env.submit(1, vec![TaskBuilder::new("t").deps(&["s"])], &["t"]);
    assert_eq!(env.release(1, &["s"]), vec![], "t still needs s");
    let out = env.finish(1, "t", 8);
    assert_eq!(out, vec![in_memory(1, "t", 8), free(1, &["s"])]);
    assert_eq!(env.state("s"), Some(TaskState::Released));
    let out = env.leave(1, LeaveReason::Died);
    let lost = TaskError::Lost {
        key: k("s"),
        worker: None,
    };
    assert_eq!(
        lost.to_string(),
        "key 's' was freed when no client wanted it any more and cannot be recomputed: it was \
         scattered"
    );
    assert_eq!(out, vec![erred(1, "t", lost)]);
    env.release(1, &["t"]);
    assert_eq!(env.s.task_count(), 0);
}

#[test]
fn killed_worker_says_why_the_last_worker_exited() {
    let config = SchedulerConfig {
        allowed_failures: 0,
        ..SchedulerConfig::default()
    };
    let mut env = TestEnv::with_config(config);
    env.submit(1, vec![TaskBuilder::new("hog")], &["hog"]);
    env.worker(1, 1);
    let why = "process memory 1.9 GB exceeded 95% of its 2.0 GB limit".to_owned();
    env.handle(EventKind::WorkerClosing {
        worker: WorkerId(1),
        reason: why.clone(),
    });
    let out = env.leave(1, LeaveReason::Died);
    let error = TaskError::KilledWorker {
        key: k("hog"),
        deaths: 1,
        last_worker: addr(1),
        last_reason: Some(why),
    };
    assert_eq!(
        error.to_string(),
        "KilledWorker: task 'hog' was running on 1 workers that died (last: tcp://10.0.0.1:4000, \
         which exited because process memory 1.9 GB exceeded 95% of its 2.0 GB limit)"
    );
    assert_eq!(out, vec![erred(1, "hog", error)]);
}
