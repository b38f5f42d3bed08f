//! `SchedulerState::handle` micro-benchmarks: submitting a 100,000-task graph, and running a
//! 10,000-task map-reduce to completion one `TaskFinished` at a time.
//!
//! Run briefly with `cargo bench -p oxdask-scheduler --bench handle -- --quick`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use oxdask_graph::Key;
use oxdask_scheduler::{
    ClientId, Command, Event, EventKind, NewTask, SchedulerConfig, SchedulerState, StimulusId,
    TaskPayload, Time, WorkerId,
};

struct Driver {
    s: SchedulerState,
    stimulus: u64,
}

impl Driver {
    fn new(workers: u32) -> Self {
        let mut d = Driver {
            s: SchedulerState::new(SchedulerConfig::default()),
            stimulus: 0,
        };
        for w in 0..workers {
            d.handle(EventKind::WorkerJoined {
                worker: WorkerId(w),
                address: format!("tcp://10.0.0.{w}:4000"),
                nthreads: 4,
                memory_limit: 1 << 34,
                resources: vec![],
            });
        }
        d
    }

    fn handle(&mut self, kind: EventKind) -> Vec<Command> {
        self.stimulus += 1;
        self.s
            .handle(Event::new(StimulusId(self.stimulus), kind), Time::ZERO)
    }
}

fn task(key: Key, deps: Vec<Key>, func: &str) -> NewTask {
    let mut t = NewTask::new(key, TaskPayload::new(Bytes::from_static(b"payload")));
    t.deps = deps;
    t.func_name = func.to_owned();
    t
}

/// A binary tree reduction over `leaves` leaves; returns the tasks and the root key.
fn tree(leaves: u32) -> (Vec<NewTask>, Key) {
    let mut tasks: Vec<NewTask> = Vec::with_capacity(2 * leaves as usize);
    let mut level: Vec<Key> = (0..leaves).map(|i| Key::chunk("load", &[i])).collect();
    tasks.extend(level.iter().map(|k| task(k.clone(), vec![], "load")));
    let mut depth = 0;
    while level.len() > 1 {
        depth += 1;
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for (i, pair) in level.chunks(2).enumerate() {
            let index = u32::try_from(i).expect("fits");
            let key = Key::chunk(&format!("sum-{depth}"), &[index]);
            tasks.push(task(key.clone(), pair.to_vec(), "sum"));
            next.push(key);
        }
        level = next;
    }
    (tasks, level.remove(0))
}

fn submit(tasks: Vec<NewTask>, root: Key) -> EventKind {
    EventKind::GraphSubmitted {
        client: ClientId(1),
        tasks,
        wanted: vec![root],
    }
}

fn bench_submit(c: &mut Criterion) {
    let (tasks, root) = tree(50_000);
    let mut g = c.benchmark_group("handle");
    g.throughput(Throughput::Elements(tasks.len() as u64));
    g.sample_size(10);
    g.bench_function("submit 100k-task tree reduction", |b| {
        b.iter_batched(
            || (Driver::new(8), submit(tasks.clone(), root.clone())),
            // Return the state so that dropping it is not timed.
            |(mut d, ev)| {
                let out = d.handle(ev);
                black_box((d, out))
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

/// Runs a whole graph: every `Compute` is answered by a `TaskFinished` from its worker.
fn run_to_completion(mut d: Driver, ev: EventKind) -> usize {
    let mut pending: Vec<(WorkerId, Key)> = Vec::new();
    let mut handled = 0;
    let collect = |out: Vec<Command>, pending: &mut Vec<(WorkerId, Key)>| {
        for cmd in out {
            if let Command::Compute { worker, task } = cmd {
                pending.push((worker, task.key));
            }
        }
    };
    let out = d.handle(ev);
    collect(out, &mut pending);
    while let Some((worker, key)) = pending.pop() {
        let out = d.handle(EventKind::TaskFinished {
            worker,
            key,
            nbytes: 1_000,
            duration: Time::from_millis(5),
            type_name: "ndarray".into(),
        });
        handled += 1;
        collect(out, &mut pending);
    }
    handled
}

fn bench_run(c: &mut Criterion) {
    let (tasks, root) = tree(5_000);
    let n = tasks.len();
    let mut g = c.benchmark_group("handle");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.bench_function(
        "run 10k-task tree reduction, one TaskFinished per task",
        |b| {
            b.iter_batched(
                || (Driver::new(8), submit(tasks.clone(), root.clone())),
                |(d, ev)| {
                    let handled = run_to_completion(d, ev);
                    assert_eq!(handled, n);
                },
                BatchSize::LargeInput,
            );
        },
    );
    g.finish();
}

criterion_group!(benches, bench_submit, bench_run);
criterion_main!(benches);
