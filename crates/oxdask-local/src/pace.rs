//! When a second thread helps: the pace of a run's tasks.
//!
//! Threads of the local pool share one interpreter lock. A task that runs for a few
//! microseconds, even one whose NumPy kernel releases the lock, gains nothing from a second
//! thread: each release hands the lock to the other thread and back, and those hand-offs cost
//! more than the tasks (a million 100 x 100 blocks ran 1.6x slower on two threads than on
//! one). [`Pace`] keeps a moving average of task durations and when each thread last started
//! a task; a thread stays out of the run while the tasks are short and another thread is
//! taking them ([`Pace::crowded`]). As soon as the thread taking tasks spends longer than
//! [`SHORT_TASK`] on one, or tasks get longer on average, the others join again.
//!
//! Longer tasks can lose to the lock as well: a task of many small NumPy calls releases it at
//! each call, and two threads running such tasks hand it back and forth all the time (sums of
//! 20,000-element blocks ran 1.7x slower on two threads than on one, and 2.7x for tasks
//! of 36 such blocks). So [`Pace`] also measures what sharing gives, per kind of task (a
//! layer, or a function: [`kinds`]): the duration of tasks that ran alone, and the duration of
//! tasks that overlapped others divided by how many ran at once. When sharing is clearly
//! slower per task, a thread stays out while another one runs a task ([`Pace::contended`]).
//! Both are measured again every [`REMEASURE`] tasks, as a run's tasks change; while all
//! tasks average longer than [`MEASURED_TASK`], threads always share.
//!
//! Pure: times are passed in, so the decisions are tested without clocks.

use std::collections::HashMap;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use oxdask_graph::{Graph, Key};

/// Tasks whose moving-average duration is below this run on one thread at a time.
pub const SHORT_TASK: Duration = Duration::from_micros(100);

/// Tasks of each kind (alone, overlapped) measured before deciding whether sharing helps.
pub const SAMPLES: u32 = 8;

/// Tasks after which whether sharing helps is measured again.
pub const REMEASURE: u32 = 512;

/// Tasks longer than this on average are shared without measuring: measuring runs some alone,
/// which costs a run of a few long tasks (partitions of a dataframe) more than it can gain.
pub const MEASURED_TASK: Duration = Duration::from_millis(5);

/// Exponential moving average (weight 1/4) in nanoseconds, and how many samples it has.
#[derive(Debug, Default, Clone, Copy)]
struct Average {
    ns: u64,
    n: u32,
}

impl Average {
    fn add(&mut self, x: u64) {
        self.ns = match self.n {
            0 => x,
            _ if x >= self.ns => self.ns + (x - self.ns) / 4,
            _ => self.ns - (self.ns - x) / 4,
        };
        self.n = self.n.saturating_add(1);
    }

    fn known(&self) -> bool {
        self.n >= SAMPLES
    }
}

/// A thread that took a task: when it last started one, and whether it is running it.
#[derive(Debug)]
struct Slot {
    thread: ThreadId,
    at: Instant,
    busy: bool,
    /// Kind of the current task (see [`kinds`]).
    kind: u8,
    /// Most tasks running at once (this one included) while the current task ran.
    crowd: u32,
}

/// What sharing gives tasks of one kind.
#[derive(Debug, Default, Clone, Copy)]
struct Sharing {
    /// Durations of tasks that ran with no other task running.
    alone: Average,
    /// Durations of tasks that overlapped others, divided by the most running at once.
    shared: Average,
    /// Tasks finished since both were known.
    since_known: u32,
}

impl Sharing {
    fn add(&mut self, x: u64, crowd: u32) {
        if crowd <= 1 {
            self.alone.add(x);
        } else {
            self.shared.add(x / u64::from(crowd));
        }
        if self.alone.known() && self.shared.known() {
            self.since_known += 1;
            if self.since_known >= REMEASURE {
                *self = Sharing::default();
            }
        }
    }

    fn contended(&self) -> bool {
        if !self.shared.known() {
            return false;
        }
        // measuring tasks alone after the overlapped ones; then: one thread finishes a quarter
        // more tasks than all of them together (a clear loss)
        !self.alone.known() || self.shared.ns.saturating_mul(4) >= self.alone.ns.saturating_mul(5)
    }
}

/// Moving-average task durations and the latest task start of each thread.
#[derive(Debug, Default)]
pub struct Pace {
    /// Average duration of all finished tasks; unknown before the first finishes (every
    /// thread may join until tasks are known short).
    mean: Option<Average>,
    /// What sharing gives, per kind of task: tasks of different functions cannot be compared.
    kinds: Vec<Sharing>,
    starts: Vec<Slot>,
}

impl Pace {
    /// Records that `thread` finished the task it started, after `elapsed`.
    pub fn finished(&mut self, thread: ThreadId, elapsed: Duration) {
        let x = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.mean.get_or_insert_with(Average::default).add(x);
        let (kind, crowd) = match self.starts.iter_mut().find(|s| s.thread == thread) {
            Some(slot) if slot.busy => {
                slot.busy = false;
                (usize::from(slot.kind), slot.crowd)
            }
            _ => return,
        };
        if self.kinds.len() <= kind {
            self.kinds.resize(kind + 1, Sharing::default());
        }
        self.kinds[kind].add(x, crowd);
    }

    /// Records that `thread` started a task of `kind` at `now`.
    pub fn started(&mut self, thread: ThreadId, now: Instant, kind: u8) {
        let running = 1 + self
            .starts
            .iter()
            .filter(|s| s.busy && s.thread != thread)
            .count();
        let running = u32::try_from(running).unwrap_or(u32::MAX);
        for slot in self.starts.iter_mut().filter(|s| s.busy) {
            slot.crowd = slot.crowd.max(running);
        }
        let slot = Slot {
            thread,
            at: now,
            busy: true,
            kind,
            crowd: running,
        };
        match self.starts.iter_mut().find(|s| s.thread == thread) {
            Some(entry) => *entry = slot,
            None => self.starts.push(slot),
        }
    }

    /// True when tasks are known to be short on average.
    pub fn short(&self) -> bool {
        self.mean
            .is_some_and(|m| u128::from(m.ns) < SHORT_TASK.as_nanos())
    }

    /// True when tasks of `kind` run together are known to take clearly longer each than
    /// alone (the threads only trade the interpreter lock), or while tasks of `kind` alone
    /// are being measured.
    pub fn contended(&self, kind: u8) -> bool {
        let long = self
            .mean
            .is_some_and(|m| u128::from(m.ns) > MEASURED_TASK.as_nanos());
        !long
            && self
                .kinds
                .get(usize::from(kind))
                .is_some_and(Sharing::contended)
    }

    /// True when `thread` should not take the next task (of `kind`) now: tasks are short, and
    /// another thread started one less than [`SHORT_TASK`] ago (so it is taking them one
    /// after another); or sharing does not pay ([`Pace::contended`]) and another thread is
    /// running one.
    pub fn crowded(&self, thread: ThreadId, now: Instant, kind: u8) -> bool {
        let others = || self.starts.iter().filter(move |s| s.thread != thread);
        (self.short() && others().any(|s| now.saturating_duration_since(s.at) < SHORT_TASK))
            || (self.contended(kind) && others().any(|s| s.busy))
    }
}

/// Kinds of tasks for [`Pace`]: tasks of one layer (tuple keys `(name, i, ...)` with the same
/// name) or of one function (string keys `"name-token"` with the same name) share a kind; the
/// 256th kind and later share the last.
pub fn kinds<P>(graph: &Graph<P>) -> Vec<u8> {
    let mut ids: HashMap<&str, u8> = HashMap::new();
    let mut last: Option<(&str, u8)> = None;
    graph
        .ids()
        .map(|id| {
            let name = match graph.key(id) {
                Key::Tuple(_) => graph.key(id).name().unwrap_or(""),
                Key::Str(s) => s.split('-').next().unwrap_or(""),
                _ => "",
            };
            if let Some((n, k)) = last {
                if n == name {
                    return k;
                }
            }
            let next = u8::try_from(ids.len()).unwrap_or(u8::MAX);
            let k = *ids.entry(name).or_insert(next);
            last = Some((name, k));
            k
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> ThreadId {
        std::thread::current().id()
    }

    fn two_threads() -> (ThreadId, ThreadId) {
        let other = std::thread::spawn(|| std::thread::current().id())
            .join()
            .unwrap();
        (std::thread::current().id(), other)
    }

    #[test]
    fn unknown_or_long_tasks_never_crowd() {
        let (a, b) = two_threads();
        let t0 = Instant::now();
        let mut pace = Pace::default();
        pace.started(a, t0, 0);
        assert!(!pace.crowded(b, t0, 0), "nothing measured yet");
        pace.finished(me(), Duration::from_millis(5));
        assert!(!pace.crowded(b, t0, 0));
    }

    #[test]
    fn short_tasks_keep_one_thread() {
        let (a, b) = two_threads();
        let t0 = Instant::now();
        let mut pace = Pace::default();
        for _ in 0..10 {
            pace.finished(me(), Duration::from_micros(10));
        }
        pace.started(a, t0, 0);
        assert!(pace.crowded(b, t0 + Duration::from_micros(20), 0));
        assert!(
            !pace.crowded(a, t0 + Duration::from_micros(20), 0),
            "a keeps going"
        );
        // a has been on its current task for longer than a short task: b may help
        assert!(!pace.crowded(b, t0 + SHORT_TASK, 0));
    }

    #[test]
    fn the_average_follows_the_tasks() {
        let mut pace = Pace::default();
        pace.finished(me(), Duration::from_micros(10));
        assert!(pace.short());
        for _ in 0..4 {
            pace.finished(me(), Duration::from_millis(1));
        }
        assert!(!pace.short(), "a few long tasks lift the average");
        for _ in 0..20 {
            pace.finished(me(), Duration::from_micros(10));
        }
        assert!(pace.short());
    }

    /// `SAMPLES` pairs of tasks run together: `a`'s taking `d_a`, `b`'s `d_b`.
    fn overlapped(pace: &mut Pace, (a, b): (ThreadId, ThreadId), d_a: Duration, d_b: Duration) {
        let t0 = Instant::now();
        for _ in 0..SAMPLES {
            pace.started(a, t0, 0);
            pace.started(b, t0, 0);
            pace.finished(b, d_b);
            pace.finished(a, d_a);
        }
    }

    /// A pace that measured tasks of `alone_us` alone and of `shared_us` run together.
    fn measured(alone_us: u64, shared_us: u64) -> (Pace, ThreadId, ThreadId) {
        let (a, b) = two_threads();
        let mut pace = Pace::default();
        let shared = Duration::from_micros(shared_us);
        overlapped(&mut pace, (a, b), shared, shared);
        let t0 = Instant::now();
        for _ in 0..SAMPLES {
            pace.started(a, t0, 0);
            pace.finished(a, Duration::from_micros(alone_us));
        }
        (pace, a, b)
    }

    #[test]
    fn tasks_trading_the_lock_keep_one_thread() {
        // alone 1 ms; together 3 ms each: two threads finish fewer tasks than one
        let (mut pace, a, b) = measured(1000, 3000);
        assert!(pace.contended(0));
        let t0 = Instant::now();
        assert!(!pace.crowded(b, t0, 0), "nobody is running a task");
        pace.started(a, t0, 0);
        assert!(
            pace.crowded(b, t0 + Duration::from_secs(1), 0),
            "a runs one"
        );
        assert!(!pace.crowded(a, t0, 0));
    }

    #[test]
    fn tasks_gaining_from_two_threads_share() {
        let (mut pace, a, b) = measured(1000, 2200);
        assert!(!pace.contended(0));
        let t0 = Instant::now();
        pace.started(a, t0, 0);
        assert!(!pace.crowded(b, t0, 0));
    }

    #[test]
    fn overlapped_tasks_are_measured_then_lone_ones() {
        let (a, b) = two_threads();
        let mut pace = Pace::default();
        let ms = Duration::from_millis(1);
        overlapped(&mut pace, (a, b), ms, ms);
        let t0 = Instant::now();
        pace.started(a, t0, 0);
        assert!(pace.crowded(b, t0, 0), "tasks alone are measured next");
        pace.finished(a, ms);
        assert!(!pace.crowded(b, t0, 0));
    }

    #[test]
    fn a_task_overlapped_by_a_later_one_counts_as_shared() {
        let (a, b) = two_threads();
        let mut pace = Pace::default();
        overlapped(
            &mut pace,
            (a, b),
            Duration::from_millis(4),
            Duration::from_millis(1),
        );
        assert_eq!(pace.kinds[0].alone.n, 0);
        assert_eq!(pace.kinds[0].shared.n, 2 * SAMPLES);
    }

    #[test]
    fn the_verdict_is_measured_again() {
        let (mut pace, a, _) = measured(1000, 3000);
        assert!(pace.contended(0));
        let t0 = Instant::now();
        for _ in 0..REMEASURE {
            pace.started(a, t0, 0);
            pace.finished(a, Duration::from_millis(1));
        }
        assert!(!pace.contended(0), "forgotten: threads may join again");
    }

    #[test]
    fn long_tasks_are_always_shared() {
        let (pace, _, _) = measured(20_000, 50_000);
        assert!(!pace.contended(0));
    }

    #[test]
    fn kinds_are_measured_apart() {
        let (mut pace, a, b) = measured(1000, 3000);
        assert!(pace.contended(0));
        assert!(!pace.contended(1), "nothing known of kind 1");
        let t0 = Instant::now();
        pace.started(a, t0, 0);
        assert!(!pace.crowded(b, t0, 1));
        // kind 1 alone 1 ms, together 1.1 ms: it gains from sharing
        for _ in 0..SAMPLES {
            pace.started(a, t0, 1);
            pace.started(b, t0, 1);
            pace.finished(a, Duration::from_micros(1100));
            pace.finished(b, Duration::from_micros(1100));
        }
        for _ in 0..SAMPLES {
            pace.started(a, t0, 1);
            pace.finished(a, Duration::from_millis(1));
        }
        assert!(!pace.contended(1) && pace.contended(0));
    }

    #[test]
    fn kinds_follow_layer_and_function_names() {
        use oxdask_graph::GraphBuilder;
        let mut g = GraphBuilder::<()>::with_capacity(5);
        for key in [
            Key::chunk("sum-chunk-ab", &[0]),
            Key::chunk("sum-chunk-ab", &[1]),
            Key::str("inc-1f2e"),
            Key::str("add-9a"),
            Key::str("inc-77"),
        ] {
            g.push(key, (), std::iter::empty());
        }
        assert_eq!(kinds(&g.build()), vec![0, 0, 1, 2, 1]);
    }
}
