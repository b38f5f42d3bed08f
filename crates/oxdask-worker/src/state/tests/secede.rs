//! Tasks leaving their thread (`secede()`) and asking for one again (`rejoin()`).

use super::*;

fn seceded(env: &mut TestEnv, key: &str) -> Vec<Command> {
    env.handle(EventKind::Seceded { key: k(key) })
}

fn rejoin(env: &mut TestEnv, key: &str) -> Vec<Command> {
    env.handle(EventKind::RejoinRequested { key: k(key) })
}

fn granted(key: &str) -> Command {
    Command::Rejoin { key: k(key) }
}

fn long_running(key: &str) -> Command {
    Command::Send(WorkerToScheduler::LongRunning { key: k(key) })
}

#[test]
fn a_seceded_task_gives_its_thread_to_the_next_one() {
    let mut env = TestEnv::new(1);
    let (a, b, c) = (
        TaskBuilder::new("a"),
        TaskBuilder::new("b"),
        TaskBuilder::new("c"),
    );
    assert_eq!(env.compute(&a), vec![exec(&a)]);
    assert_eq!(env.compute(&b), vec![]);
    env.compute(&c);
    assert_eq!(seceded(&mut env, "a"), vec![long_running("a"), exec(&b)]);
    assert_eq!(env.s.seceded_count(), 1);
    assert_eq!(
        seceded(&mut env, "a"),
        vec![],
        "seceding twice changes nothing"
    );
    // It finishes while seceded: its result is reported; no thread was its to give back.
    assert_eq!(env.complete("a", 4), vec![finished("a", 4)]);
    assert_eq!(env.s.seceded_count(), 0);
    assert_eq!(env.complete("b", 4), vec![finished("b", 4), exec(&c)]);
}

#[test]
fn rejoin_waits_for_a_free_thread_before_new_tasks_start() {
    let mut env = TestEnv::new(1);
    let (a, b, c) = (
        TaskBuilder::new("a"),
        TaskBuilder::new("b"),
        TaskBuilder::new("c"),
    );
    env.compute(&a);
    env.compute(&b);
    env.compute(&c);
    assert_eq!(seceded(&mut env, "a"), vec![long_running("a"), exec(&b)]);
    assert_eq!(rejoin(&mut env, "a"), vec![], "b holds the only thread");
    // b ends: the thread goes to a, not to the ready c.
    assert_eq!(env.complete("b", 1), vec![finished("b", 1), granted("a")]);
    assert_eq!(env.complete("a", 1), vec![finished("a", 1), exec(&c)]);
}

#[test]
fn rejoin_without_secede_returns_at_once() {
    let mut env = TestEnv::new(1);
    let a = TaskBuilder::new("a");
    env.compute(&a);
    assert_eq!(rejoin(&mut env, "a"), vec![granted("a")]);
    assert_eq!(rejoin(&mut env, "zzz"), vec![granted("zzz")]);
    assert_eq!(env.complete("a", 1), vec![finished("a", 1)]);
}

#[test]
fn a_seceded_task_keeps_its_resources() {
    let config = StateConfig {
        nthreads: 2,
        resources: vec![("GPU".into(), 1.0)],
        ..StateConfig::default()
    };
    let mut env = TestEnv::with_config(config);
    let a = TaskBuilder::new("a").resources(&[("GPU", 1.0)]);
    let b = TaskBuilder::new("b").resources(&[("GPU", 1.0)]);
    let c = TaskBuilder::new("c");
    env.compute(&a);
    env.compute(&b);
    assert_eq!(
        seceded(&mut env, "a"),
        vec![long_running("a")],
        "b needs the GPU a holds"
    );
    assert_eq!(env.compute(&c), vec![exec(&c)]);
    assert_eq!(env.complete("a", 1), vec![finished("a", 1), exec(&b)]);
}
