//! RetireRequested: drain data, then close.

use super::*;

fn replicate(worker: u32, keys: &[(&str, &[u32])]) -> Command {
    Command::Replicate {
        worker: WorkerId(worker),
        keys: keys
            .iter()
            .map(|(key, ws)| (k(key), ws.iter().map(|&w| WorkerId(w)).collect()))
            .collect(),
    }
}

fn retired(worker: u32) -> Command {
    Command::CloseWorker {
        worker: WorkerId(worker),
        reason: "retired".into(),
    }
}

fn replica_added(env: &mut TestEnv, worker: u32, key: &str, nbytes: u64) -> Vec<Command> {
    env.handle(EventKind::DataAdded {
        worker: WorkerId(worker),
        keys: vec![(k(key), nbytes)],
        client: None,
    })
}

#[test]
fn retiring_copies_unique_data_away_then_closes() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.submit(1, vec![TaskBuilder::new("x")], &["x"]);
    env.finish(1, "x", 8);
    env.worker(2, 1);
    let out = env.handle(EventKind::RetireRequested {
        workers: vec![WorkerId(1)],
    });
    assert_eq!(out, vec![replicate(2, &[("x", &[1])])]);
    // Nothing new goes to a retiring worker.
    let out = env.submit(1, vec![TaskBuilder::new("y")], &["y"]);
    assert_eq!(out, vec![env.compute(2, "y", &[])]);
    assert_eq!(replica_added(&mut env, 2, "x", 8), vec![retired(1)]);
    assert_eq!(env.state("x"), Some(memory(&[2], 8)));
    assert_eq!(env.s.workers().len(), 1);
}

#[test]
fn a_retiring_worker_finishes_its_tasks_first() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.worker(2, 1);
    env.submit(1, vec![TaskBuilder::new("a")], &["a"]);
    assert_eq!(env.state("a"), Some(processing(1)));
    let out = env.handle(EventKind::RetireRequested {
        workers: vec![WorkerId(1)],
    });
    assert_eq!(out, vec![]);
    let out = env.finish(1, "a", 3);
    assert_eq!(
        out,
        vec![in_memory(1, "a", 3), replicate(2, &[("a", &[1])])]
    );
    assert_eq!(replica_added(&mut env, 2, "a", 3), vec![retired(1)]);
}

#[test]
fn retiring_the_last_worker_waits_for_another() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.submit(1, vec![TaskBuilder::new("x")], &["x"]);
    env.finish(1, "x", 8);
    let out = env.handle(EventKind::RetireRequested {
        workers: vec![WorkerId(1)],
    });
    assert_eq!(out, vec![]);
    assert_eq!(env.worker(2, 1), vec![replicate(2, &[("x", &[1])])]);
    // If the destination dies before confirming, the copy is asked of someone else.
    env.worker(3, 1);
    assert_eq!(
        env.leave(2, LeaveReason::Died),
        vec![replicate(3, &[("x", &[1])])]
    );
    assert_eq!(replica_added(&mut env, 3, "x", 8), vec![retired(1)]);
}

#[test]
fn a_worker_without_unique_data_closes_at_once() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    let out = env.handle(EventKind::RetireRequested {
        workers: vec![WorkerId(1)],
    });
    assert_eq!(out, vec![retired(1)]);
}
