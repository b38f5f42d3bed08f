//! The transition feed for scheduler plugins.

use super::*;

fn feed(env: &mut TestEnv) -> Vec<(String, &'static str, &'static str)> {
    env.s
        .take_transitions()
        .into_iter()
        .map(|t| {
            (
                t.key.to_string().trim_matches('\'').to_owned(),
                t.start,
                t.finish,
            )
        })
        .collect()
}

#[test]
fn transitions_are_recorded_only_while_watched() {
    let mut env = TestEnv::new();
    env.worker(1, 1);
    env.submit(1, vec![TaskBuilder::new("a")], &["a"]);
    assert!(env.s.take_transitions().is_empty(), "nobody watches");
    env.s.watch_transitions(true);
    env.submit(
        1,
        vec![TaskBuilder::new("x"), TaskBuilder::new("y").deps(&["x"])],
        &["y"],
    );
    env.finish(1, "x", 8);
    env.finish(1, "y", 8);
    env.release(1, &["y"]);
    let seen = feed(&mut env);
    let of = |key: &str| -> Vec<(&str, &str)> {
        seen.iter()
            .filter(|(k, _, _)| k == key)
            .map(|(_, s, f)| (*s, *f))
            .collect()
    };
    assert_eq!(
        of("y"),
        vec![
            ("released", "waiting"),
            ("waiting", "queued"),
            ("queued", "processing"),
            ("processing", "memory"),
            ("memory", "released"),
            ("released", "forgotten"),
        ]
    );
    assert_eq!(
        of("x").first(),
        Some(&("released", "queued")),
        "a root task"
    );
    assert_eq!(of("x").last(), Some(&("released", "forgotten")));
    assert!(env.s.take_transitions().is_empty(), "taken once");
    env.s.watch_transitions(false);
    env.finish(1, "a", 8);
    env.s.watch_transitions(true);
    assert!(
        env.s.take_transitions().is_empty(),
        "not recorded while unwatched"
    );
}
