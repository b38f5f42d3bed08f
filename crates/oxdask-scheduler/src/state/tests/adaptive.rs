//! Adaptive scaling: the target, whom to close, and the policy's hysteresis.

use super::*;
use crate::{AdaptivePolicy, Recommendation};

fn running_on(env: &TestEnv, key: &str) -> u32 {
    match env.state(key) {
        Some(TaskState::Processing { worker }) => worker.0,
        other => panic!("{key} is {other:?}"),
    }
}

fn own_group(address: &str) -> String {
    address.to_owned()
}

#[test]
fn the_target_follows_queued_work_over_the_target_duration() {
    let mut env = TestEnv::new();
    assert_eq!(env.s.adaptive_target(Time::from_millis(5000)), 0, "no work");
    env.worker(1, 1);
    let tasks: Vec<_> = (0..40)
        .map(|i| TaskBuilder::new(&format!("t-{i}")).func("slow"))
        .collect();
    let wanted: Vec<String> = (0..40).map(|i| format!("t-{i}")).collect();
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    env.submit(1, tasks, &wanted);
    // 40 tasks of unknown duration (0.5 s each): 20 s of work.
    let table = [(5000, 4), (1000, 20), (100, 40), (1, 40)];
    for (ms, want) in table {
        assert_eq!(
            env.s.adaptive_target(Time::from_millis(ms)),
            want,
            "{ms} ms"
        );
    }
}

#[test]
fn memory_pressure_asks_for_one_more_worker() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    for (w, used) in [(1u32, 700u64 << 20), (2, 700 << 20)] {
        env.handle(EventKind::Heartbeat {
            worker: WorkerId(w),
            memory: used,
            managed: used,
            spilled: 0,
        });
    }
    assert_eq!(env.s.adaptive_target(Time::from_millis(5000)), 3);
}

#[test]
fn only_idle_old_enough_workers_close_least_data_first_within_the_step() {
    let mut env = TestEnv::new();
    for w in 1..=4 {
        env.worker(w, 1);
    }
    env.submit(1, vec![TaskBuilder::new("busy")], &["busy"]); // runs on a worker
    env.submit(1, vec![TaskBuilder::new("kept")], &["kept"]);
    let busy_on = running_on(&env, "busy");
    let kept_on = running_on(&env, "kept");
    env.finish(kept_on, "kept", 1000);
    env.now = Time::from_secs(60);
    let min_age = Time::from_secs(10);
    let close = env.s.workers_to_close(0, env.now, min_age, 1.0, &own_group);
    assert!(
        !close.contains(&addr(busy_on)),
        "never a worker running a task"
    );
    assert_eq!(close.len(), 3);
    assert_eq!(
        close.last(),
        Some(&addr(kept_on)),
        "the holder of data last"
    );
    // At most half of the workers per step.
    assert_eq!(
        env.s
            .workers_to_close(0, env.now, min_age, 0.5, &own_group)
            .len(),
        2
    );
    // Young workers stay.
    let young = env
        .s
        .workers_to_close(0, env.now, Time::from_secs(120), 1.0, &own_group);
    assert!(young.is_empty());
    // Nothing to close at or above the target.
    assert!(env
        .s
        .workers_to_close(4, env.now, min_age, 1.0, &own_group)
        .is_empty());
}

#[test]
fn groups_close_whole_or_not_at_all() {
    let mut env = TestEnv::new();
    for w in 1..=4 {
        env.worker(w, 1);
    }
    env.submit(1, vec![TaskBuilder::new("busy")], &["busy"]);
    let busy_on = running_on(&env, "busy");
    env.now = Time::from_secs(60);
    // Two jobs of two workers: {1, 2} and {3, 4}.
    let job = |a: &str| {
        if a == addr(1) || a == addr(2) {
            "a".into()
        } else {
            "b".to_owned()
        }
    };
    let close = env.s.workers_to_close(0, env.now, Time::ZERO, 1.0, &job);
    let idle_job: Vec<String> = if busy_on <= 2 {
        vec![addr(3), addr(4)]
    } else {
        vec![addr(1), addr(2)]
    };
    assert_eq!(close, idle_job);
    // One worker fewer than now would split a job: nothing closes.
    assert!(env
        .s
        .workers_to_close(3, env.now, Time::ZERO, 1.0, &job)
        .is_empty());
}

#[test]
fn the_policy_scales_up_at_once_and_down_after_votes_and_a_window() {
    let mut p = AdaptivePolicy::new(1, 10, 3, 5.0);
    let table: [(f64, usize, usize, Recommendation); 9] = [
        (0.0, 4, 1, Recommendation::Up(4)),
        (1.0, 50, 4, Recommendation::Up(10)), // the maximum
        (2.0, 0, 10, Recommendation::Hold),   // first vote for fewer (minimum 1)
        (3.0, 0, 10, Recommendation::Hold),
        (4.0, 0, 10, Recommendation::Hold), // three votes, but only 2 s low
        (5.0, 10, 10, Recommendation::Hold), // the load came back: votes reset
        (6.0, 2, 10, Recommendation::Hold),
        (9.0, 2, 10, Recommendation::Hold),
        (12.0, 2, 10, Recommendation::Down(2)), // 3 votes over 6 s
    ];
    for (now, target, current, want) in table {
        assert_eq!(p.step(now, target, current), want, "at {now}");
    }
}

#[test]
fn repeated_launch_failures_pause_scale_up_with_a_reason() {
    let mut p = AdaptivePolicy::new(0, 10, 1, 0.0);
    for t in 0..3 {
        assert_eq!(p.step(f64::from(t), 5, 0), Recommendation::Up(5));
        p.launch_failed(f64::from(t));
    }
    let Recommendation::Paused { until, reason } = p.step(3.0, 5, 0) else {
        panic!("not paused");
    };
    assert!((until - 32.0).abs() < 1e-9);
    assert!(reason.contains("3 worker launches failed"), "{reason}");
    assert!(matches!(p.step(31.0, 5, 0), Recommendation::Paused { .. }));
    assert_eq!(p.step(33.0, 5, 0), Recommendation::Up(5));
    p.launch_failed(33.0); // the fourth in a row: a longer pause
    let Recommendation::Paused { until, .. } = p.step(34.0, 5, 0) else {
        panic!("not paused");
    };
    assert!((until - 93.0).abs() < 1e-9);
    p.launched();
    assert_eq!(p.step(35.0, 5, 0), Recommendation::Up(5));
}

/// Worker 1 ends in 2 s (its walltime). Tasks of `long` take 5 s: they go to worker 2 only
/// (or wait for it), while `short` ones (10 ms) still run on worker 1.
#[test]
fn a_worker_near_its_end_gets_only_tasks_that_finish_in_time() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    // Learn the durations: one `long` (5 s) and one `short` (10 ms) task.
    env.submit(1, vec![TaskBuilder::new("l0").func("long")], &["l0"]);
    env.finish_in(running_on(&env, "l0"), "l0", 8, Time::from_secs(5));
    env.submit(1, vec![TaskBuilder::new("s0").func("short")], &["s0"]);
    env.finish_in(running_on(&env, "s0"), "s0", 8, Time::from_millis(10));
    env.handle(EventKind::WorkerEnds {
        worker: WorkerId(1),
        at: Time(env.now.0 + Time::from_secs(2).0),
    });
    env.submit(1, vec![TaskBuilder::new("s1").func("short")], &["s1"]);
    assert_eq!(
        running_on(&env, "s1"),
        1,
        "a short task still fits on worker 1"
    );
    env.finish_in(1, "s1", 8, Time::from_millis(10));
    for i in 1..=3 {
        let key = format!("l{i}");
        env.submit(
            1,
            vec![TaskBuilder::new(&key).func("long")],
            &[key.as_str()],
        );
        let on_one =
            matches!(env.state(&key), Some(TaskState::Processing { worker }) if worker.0 == 1);
        assert!(!on_one, "{key} would outlast worker 1");
    }
    assert_eq!(
        env.state("l3"),
        Some(TaskState::Queued),
        "waits for worker 2"
    );
    // Adaptive scaling asks for worker 1's replacement while there is work.
    let target = Time::from_secs(5);
    let without_end = {
        let mut other = TestEnv::new();
        other.worker(1, 1);
        other.worker(2, 1);
        other.s.adaptive_target(target)
    };
    assert_eq!(without_end, 0, "no work, no workers");
    assert!(
        env.s.adaptive_target(target) >= 2,
        "the load plus a replacement"
    );
}

/// A worker's replacement is asked for a minute (plus `target_duration`) before its end, so a
/// batch job has time to start and take over its results; later ends do not count yet.
#[test]
fn workers_ending_within_the_lead_time_count_as_ending() {
    let mut env = TestEnv::new();
    for w in 1..=3 {
        env.worker(w, 1);
    }
    let target = Time::from_secs(5);
    assert_eq!(env.s.ending_workers(target), 0, "no end announced");
    let table = [(1, 30), (2, 64), (3, 66)];
    for (w, secs) in table {
        env.handle(EventKind::WorkerEnds {
            worker: WorkerId(w),
            at: Time(env.now.0 + Time::from_secs(secs).0),
        });
    }
    assert_eq!(
        env.s.ending_workers(target),
        2,
        "30 s and 64 s are within 65 s"
    );
    assert_eq!(env.s.ending_workers(Time::from_secs(10)), 3);
    env.submit(1, vec![TaskBuilder::new("t").func("slow")], &["t"]);
    assert_eq!(
        env.s.adaptive_target(target),
        3,
        "one for the load, two replacements"
    );
}
