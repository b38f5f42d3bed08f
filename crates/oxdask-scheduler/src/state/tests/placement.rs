//! Placement: bytes, occupancy, root-task queuing, resources, restrictions, durations.

use super::*;

/// ```text
/// a (100 B, on 1)   b (1000 B, on 2)
///          \         /
///              c          -> goes to 2, which holds more of its input
/// ```
#[test]
fn fan_in_goes_to_the_worker_holding_most_bytes() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    let tasks = vec![
        TaskBuilder::new("a"),
        TaskBuilder::new("b"),
        TaskBuilder::new("c").deps(&["a", "b"]),
    ];
    let out = env.submit(1, tasks, &["c"]);
    // Root tasks spread by load: a to the first idle worker, b to the other.
    assert_eq!(
        out,
        vec![env.compute(1, "a", &[]), env.compute(2, "b", &[])]
    );
    assert_eq!(env.finish(1, "a", 100), vec![]);
    let out = env.finish(2, "b", 1000);
    assert_eq!(out, vec![env.compute(2, "c", &[("a", &[1]), ("b", &[2])])]);
    let Command::Compute { task, .. } = &out[0] else {
        panic!("expected a Compute, got {out:?}");
    };
    assert_eq!(
        task.nbytes,
        vec![100, 1000],
        "dependency sizes, in argument order"
    );
}

/// `loc` (a few bytes) and `busy` run on worker 1; `c` reads `loc`. Moving a few bytes costs
/// microseconds and worker 1 has `busy`'s 0.5 s ahead, so `c` starts first on idle worker 2.
/// With a 1 GB input (10 s to move at 100 MB/s) it stays with the data and waits.
#[test]
fn a_task_follows_its_input_only_when_moving_it_costs_more_than_waiting() {
    for (nbytes, expected) in [(16, 2), (1_000_000_000, 1)] {
        let mut env = TestEnv::new();
        env.worker(1, 1);
        env.handle(EventKind::DataAdded {
            worker: WorkerId(1),
            keys: vec![(k("loc"), nbytes)],
            client: Some(ClientId(1)),
        });
        let out = env.submit(1, vec![TaskBuilder::new("busy")], &["busy"]);
        assert_eq!(out, vec![env.compute(1, "busy", &[])]);
        env.worker(2, 1);
        let out = env.submit(1, vec![TaskBuilder::new("c").deps(&["loc"])], &["c"]);
        assert_eq!(
            out,
            vec![env.compute(expected, "c", &[("loc", &[1])])],
            "{nbytes} bytes"
        );
    }
}

#[test]
fn equal_bytes_tie_goes_to_the_less_occupied_worker() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    for (w, key) in [(1, "b"), (2, "a")] {
        env.handle(EventKind::DataAdded {
            worker: WorkerId(w),
            keys: vec![(k(key), 50)],
            client: Some(ClientId(1)),
        });
    }
    let out = env.submit(1, vec![TaskBuilder::new("busy")], &["busy"]);
    assert_eq!(out, vec![env.compute(1, "busy", &[])]);
    let out = env.submit(1, vec![TaskBuilder::new("c").deps(&["a", "b"])], &["c"]);
    // 50 bytes on each side; worker 1 runs `busy`, so worker 2 is less occupied.
    assert_eq!(out, vec![env.compute(2, "c", &[("a", &[2]), ("b", &[1])])]);
}

/// Ten small inputs on worker 1, one on worker 2: moving ten values costs more than worker
/// 1's millisecond of queued work, so the task stays with its inputs (by bytes alone, a few
/// hundred bytes, it went to the idler worker 2 and moved ten values).
#[test]
fn many_small_inputs_outweigh_a_little_load() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    let mut keys: Vec<(u32, String)> = (0..10).map(|i| (1, format!("a{i}"))).collect();
    keys.push((2, "b".into()));
    for (w, key) in &keys {
        env.handle(EventKind::DataAdded {
            worker: WorkerId(*w),
            keys: vec![(k(key), 10)],
            client: Some(ClientId(1)),
        });
    }
    let out = env.submit(1, vec![TaskBuilder::new("warm").func("f")], &["warm"]);
    assert_eq!(out, vec![env.compute(1, "warm", &[])]);
    env.finish_in(1, "warm", 8, Time::from_millis(1));
    let out = env.submit(1, vec![TaskBuilder::new("busy").func("f")], &["busy"]);
    assert_eq!(out, vec![env.compute(1, "busy", &[])]);
    let deps: Vec<&str> = keys.iter().map(|(_, key)| key.as_str()).collect();
    let out = env.submit(1, vec![TaskBuilder::new("c").deps(&deps)], &["c"]);
    let Some(Command::Compute { worker, .. }) = out.first() else {
        panic!("expected a Compute, got {out:?}");
    };
    assert_eq!(*worker, WorkerId(1));
}

/// Siblings (inputs of one reduction step) of tasks measured to take microseconds go to one
/// worker while it has room, instead of alternating between two equally idle workers; tasks
/// of unknown (half a second) duration still spread.
#[test]
fn root_siblings_of_short_tasks_share_a_worker() {
    for (duration_us, expected) in [(None, [1, 2, 1, 2]), (Some(50), [1, 1, 2, 2])] {
        let mut env = TestEnv::new();
        env.worker(1, 1);
        env.worker(2, 1);
        if let Some(us) = duration_us {
            // teach the scheduler how long `r*` tasks take
            let warm = TaskBuilder::new("r-warm").func("r");
            let out = env.submit(1, vec![warm], &["r-warm"]);
            assert_eq!(out, vec![env.compute(1, "r-warm", &[])]);
            env.finish_in(1, "r-warm", 8, Time::from_micros(us));
        }
        let tasks = vec![
            TaskBuilder::new("r-0").func("r"),
            TaskBuilder::new("r-1").func("r"),
            TaskBuilder::new("r-2").func("r"),
            TaskBuilder::new("r-3").func("r"),
            TaskBuilder::new("s-0").deps(&["r-0", "r-1"]),
            TaskBuilder::new("s-1").deps(&["r-2", "r-3"]),
        ];
        let out = env.submit(1, tasks, &["s-0", "s-1"]);
        let workers: Vec<u32> = ["r-0", "r-1", "r-2", "r-3"]
            .iter()
            .map(|&key| {
                let placed = out.iter().find_map(|c| match c {
                    Command::Compute { worker, task } if task.key == k(key) => Some(worker.0),
                    _ => None,
                });
                placed.expect(key)
            })
            .collect();
        assert_eq!(workers, expected, "duration {duration_us:?}");
    }
}

#[test]
fn root_tasks_are_queued_beyond_the_saturation_limit() {
    let mut env = TestEnv::new();
    env.worker(1, 2);
    let tasks: Vec<TaskBuilder> = (0..10)
        .map(|i| TaskBuilder::new(&format!("r{i}")))
        .collect();
    let wanted: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let out = env.submit(1, tasks, &wanted);
    // ceil(2 threads x 1.1) = 3 slots.
    assert_eq!(
        out,
        vec![
            env.compute(1, "r0", &[]),
            env.compute(1, "r1", &[]),
            env.compute(1, "r2", &[]),
        ]
    );
    assert_eq!(env.s.counts_by_state().queued, 7);
    assert!(env
        .s
        .why(&k("r9"))
        .contains("queued because root-task queuing"));
    // Each finished task frees exactly one slot.
    let out = env.finish(1, "r1", 1);
    assert_eq!(out, vec![in_memory(1, "r1", 1), env.compute(1, "r3", &[])]);
}

#[test]
fn root_tasks_known_to_be_short_fill_the_horizon() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    let tasks: Vec<TaskBuilder> = (0..200)
        .map(|i| TaskBuilder::new(&format!("r{i}")).func("inc"))
        .collect();
    let wanted: Vec<String> = (0..200).map(|i| format!("r{i}")).collect();
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    // Never timed: ceil(1 x 1.1) = 2 slots.
    assert_eq!(env.submit(1, tasks, &wanted).len(), 2);
    // `inc` takes 100 us: 5 ms of work per thread is about 50 tasks; the two sent before
    // the timing count as 0.5 s until they finish.
    env.finish_in(1, "r0", 1, Time::from_micros(100));
    let out = env.finish_in(1, "r1", 1, Time::from_micros(100));
    let sent = out.len() - 1;
    assert!((45..=55).contains(&sent), "{sent} tasks sent");
    // A slow function: back to one task per slot.
    let slow: Vec<TaskBuilder> = (0..5)
        .map(|i| TaskBuilder::new(&format!("s{i}")).func("load"))
        .collect();
    env.submit(1, slow, &["s0", "s1", "s2", "s3", "s4"]);
    assert!(env.s.counts_by_state().queued > 100);
}

#[test]
fn infinite_saturation_sends_every_root_task_at_once() {
    let config = SchedulerConfig {
        worker_saturation: f64::INFINITY,
        ..SchedulerConfig::default()
    };
    let mut env = TestEnv::with_config(config);
    env.worker(1, 1);
    let tasks: Vec<TaskBuilder> = (0..5).map(|i| TaskBuilder::new(&format!("r{i}"))).collect();
    let out = env.submit(1, tasks, &["r0", "r1", "r2", "r3", "r4"]);
    assert_eq!(out.len(), 5);
}

#[test]
fn tasks_with_dependencies_are_sent_beyond_the_saturation_limit() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    let mut tasks = vec![TaskBuilder::new("x")];
    tasks.extend((0..4).map(|i| TaskBuilder::new(&format!("m{i}")).deps(&["x"])));
    env.submit(1, tasks, &["m0", "m1", "m2", "m3"]);
    let out = env.finish(1, "x", 1);
    let expect: Vec<Command> = (0..4)
        .map(|i| env.compute(1, &format!("m{i}"), &[("x", &[1])]))
        .collect();
    assert_eq!(
        out, expect,
        "all four go out although the worker has 2 slots"
    );
}

#[test]
fn resources_are_never_over_committed() {
    let mut env = TestEnv::new();
    env.worker_with(1, 4, &[("GPU", 1.0)]);
    env.worker(2, 4);
    let gpu = &[("GPU", 1.0)];
    let tasks = vec![
        TaskBuilder::new("g0").resources(gpu),
        TaskBuilder::new("g1").resources(gpu),
        TaskBuilder::new("g2").resources(gpu),
        TaskBuilder::new("huge").resources(&[("GPU", 2.0)]),
    ];
    let out = env.submit(1, tasks, &["g0", "g1", "g2", "huge"]);
    assert_eq!(out, vec![env.compute_with(1, "g0", &[], gpu)]);
    assert_eq!(env.state("g1"), Some(TaskState::Queued));
    let out = env.finish(1, "g0", 1);
    assert_eq!(
        out,
        vec![in_memory(1, "g0", 1), env.compute_with(1, "g1", &[], gpu)]
    );
    let why = env.s.why(&k("huge"));
    assert!(
        why.contains("needs resources GPU=2: no running worker declares that much"),
        "{why}"
    );
    env.finish(1, "g1", 1);
    assert_eq!(env.s.counts_by_state().queued, 1, "only `huge` is left");
    // A bigger GPU worker appears: only then does `huge` run.
    let out = env.worker_with(3, 1, &[("GPU", 2.0)]);
    assert_eq!(out, vec![env.compute_with(3, "huge", &[], &[("GPU", 2.0)])]);
}

#[test]
fn strict_restrictions_wait_for_an_allowed_worker() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    let tasks = vec![
        TaskBuilder::new("on2").restrict(&[2]),
        TaskBuilder::new("on3").restrict(&[3]),
        TaskBuilder::new("on3-or-any").restrict(&[3]).loose(),
    ];
    let out = env.submit(1, tasks, &["on2", "on3", "on3-or-any"]);
    assert_eq!(
        out,
        vec![
            env.compute(2, "on2", &[]),
            env.compute(1, "on3-or-any", &[])
        ]
    );
    assert!(env
        .s
        .why(&k("on3"))
        .contains("may only run on workers [3 (not connected)]"));
    assert_eq!(env.worker(3, 1), vec![env.compute(3, "on3", &[])]);
}

#[test]
fn tasks_submitted_before_any_worker_start_when_one_joins() {
    let mut env = TestEnv::new();
    let tasks = vec![TaskBuilder::new("a"), TaskBuilder::new("b").deps(&["a"])];
    assert_eq!(env.submit(1, tasks, &["b"]), vec![]);
    assert!(env.s.why(&k("a")).contains("no worker is running"));
    assert_eq!(env.worker(7, 1), vec![env.compute(7, "a", &[])]);
}

#[test]
fn learned_durations_drive_occupancy() {
    let config = SchedulerConfig {
        worker_saturation: f64::INFINITY,
        ..SchedulerConfig::default()
    };
    let mut env = TestEnv::with_config(config);
    env.worker(1, 1);
    env.worker(2, 1);
    // Teach: `slow` takes 4 s, `fast` takes 1 s.
    let warmup = vec![
        TaskBuilder::new("s0").func("slow"),
        TaskBuilder::new("f0").func("fast"),
    ];
    env.submit(1, warmup, &[]);
    env.submit(1, vec![TaskBuilder::new("s0").func("slow")], &["s0"]);
    env.finish_in(1, "s0", 1, Time::from_secs(4));
    env.submit(1, vec![TaskBuilder::new("f0").func("fast")], &["f0"]);
    env.finish_in(1, "f0", 1, Time::from_secs(1));

    let mut tasks = vec![TaskBuilder::new("s1").func("slow")];
    tasks.extend((1..=5).map(|i| TaskBuilder::new(&format!("f{i}")).func("fast")));
    let out = env.submit(1, tasks, &["s1", "f1", "f2", "f3", "f4", "f5"]);
    // s1 (4 s) on 1; then 1 s tasks fill 2 until it is as busy as 1; the tie goes to 1.
    let expect = vec![
        env.compute(1, "s1", &[]),
        env.compute(2, "f1", &[]),
        env.compute(2, "f2", &[]),
        env.compute(2, "f3", &[]),
        env.compute(2, "f4", &[]),
        env.compute(1, "f5", &[]),
    ];
    assert_eq!(out, expect);
    let occupancy: Vec<Time> = env.s.workers().iter().map(|w| w.occupancy).collect();
    assert_eq!(occupancy, vec![Time::from_secs(5), Time::from_secs(4)]);
    // The moving average weighs the newest sample by 1/2.
    env.finish_in(2, "f1", 1, Time::from_secs(3));
    let why = env.s.why(&k("f2"));
    assert!(
        why.contains("function \"fast\": expected to run 2s (learned)"),
        "{why}"
    );
    let why = env.s.why(&k("s1"));
    assert!(
        why.contains("function \"slow\": expected to run 4s"),
        "{why}"
    );
}

fn pause(env: &mut TestEnv, worker: u32, paused: bool) -> Vec<Command> {
    env.handle(EventKind::WorkerPaused {
        worker: WorkerId(worker),
        paused,
        reason: "process memory above 80% of the limit".into(),
    })
}

/// A paused worker gets no new tasks (queued root tasks wait for a running worker, others
/// go elsewhere); when it resumes, the queue fills it again.
#[test]
fn a_paused_worker_gets_no_tasks_until_it_resumes() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    assert_eq!(pause(&mut env, 1, true), vec![]);
    assert_eq!(env.s.workers()[0].status, WorkerStatus::Paused);
    let names: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    let tasks = names.iter().map(|n| TaskBuilder::new(n)).collect();
    let wanted: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = env.submit(1, tasks, &wanted);
    let sent_to = |out: &[Command]| -> Vec<u32> {
        out.iter()
            .filter_map(|c| match c {
                Command::Compute { worker, .. } => Some(worker.0),
                _ => None,
            })
            .collect()
    };
    assert!(
        !out.is_empty() && sent_to(&out).iter().all(|&w| w == 2),
        "{out:?}"
    );
    assert_eq!(env.s.workers()[0].processing, 0);
    assert_eq!(env.state("t19"), Some(TaskState::Queued));
    let out = pause(&mut env, 1, false);
    assert!(
        !out.is_empty() && sent_to(&out).iter().all(|&w| w == 1),
        "{out:?}"
    );
    assert_eq!(env.s.workers()[0].status, WorkerStatus::Running);
}

/// Retiring wins over pausing: a paused worker can be retired, and resuming does not make
/// a retiring worker take tasks.
#[test]
fn a_retiring_worker_stays_retiring_when_it_resumes() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    pause(&mut env, 1, true);
    env.handle(EventKind::RetireRequested {
        workers: vec![WorkerId(1)],
    });
    pause(&mut env, 1, false);
    let status = env.s.workers().first().map(|w| w.status);
    assert!(
        matches!(status, None | Some(WorkerStatus::Retiring)),
        "{status:?}"
    );
}

/// A task that seceded (a task waiting on tasks it submitted) frees its slot: queued root
/// tasks go to its worker, which would otherwise wait for it forever (a one-thread worker).
#[test]
fn a_seceded_task_frees_its_slot_for_queued_root_tasks() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    let tasks: Vec<TaskBuilder> = (0..4).map(|i| TaskBuilder::new(&format!("r{i}"))).collect();
    let out = env.submit(1, tasks, &["r0", "r1", "r2", "r3"]);
    assert_eq!(out.len(), 2, "two slots for one thread");
    assert_eq!(env.state("r2"), Some(TaskState::Queued));
    let out = env.handle(EventKind::TaskSeceded {
        worker: WorkerId(1),
        key: k("r0"),
    });
    assert_eq!(out, vec![env.compute(1, "r2", &[])], "r0's slot goes to r2");
    assert_eq!(env.state("r0"), Some(processing(1)), "r0 still runs there");
    // Seceding twice, or a task that is not processing there, changes nothing.
    assert!(env
        .handle(EventKind::TaskSeceded {
            worker: WorkerId(1),
            key: k("r0"),
        })
        .is_empty());
    // When r0 finishes, its worker's slots are as before: r3 waits for r1 or r2.
    env.finish(1, "r0", 8);
    assert_eq!(env.state("r3"), Some(TaskState::Queued));
    let out = env.finish(1, "r1", 8);
    assert_eq!(out.last(), Some(&env.compute(1, "r3", &[])));
}
