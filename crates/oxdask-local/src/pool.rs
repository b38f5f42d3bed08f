//! Drives a [`LocalState`] from several threads.
//!
//! All threads share one [`Queue`]: a mutex around the state plus a condition variable for
//! sleeping threads. The mutex is held only for bookkeeping, never while a task runs, so a
//! runner must never call back into user code while holding it. A thread that takes a task keeps
//! taking the next ready one itself (see [`Runner::drain`]); sleeping threads are woken only
//! when more tasks are ready than the running threads can take, and stay out while tasks are
//! so short that one thread runs them faster than two (see [`crate::pace`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxdask_graph::TaskId;
use parking_lot::{Condvar, Mutex};

use crate::pace::Pace;
use crate::state::{LocalState, RunStats};

/// How often a thread kept out by short tasks looks again (see [`crate::pace`]).
const CROWDED_POLL: Duration = Duration::from_millis(1);

/// How one run of tasks is carried out by the embedding program.
pub trait Runner: Sync {
    /// A task's result.
    type Value: Send;
    /// Why a run stopped early.
    type Error: Send;

    /// Takes and runs ready tasks from `queue` until [`Queue::pop_with`] returns `None`,
    /// reporting each with [`Queue::finish`] and how long it ran.
    /// `calling_thread` is true on the thread that started the run, the one that may check
    /// for interrupts.
    fn drain(&self, queue: &Queue<Self::Value, Self::Error>, calling_thread: bool);

    /// Called on the calling thread about every `poll` interval while it waits; an error aborts
    /// the run (Ctrl-C).
    fn check_interrupt(&self) -> Result<(), Self::Error>;

    /// Converts a panic inside [`Runner::drain`] into an error.
    fn panicked(&self, message: String) -> Self::Error;
}

/// Result of waiting for work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// A task is ready.
    Work,
    /// Every task finished, or the run failed.
    Finished,
    /// The timeout passed with nothing to do.
    TimedOut,
}

struct Inner<V, E> {
    state: LocalState<V>,
    error: Option<E>,
    /// Threads waiting to be woken by [`Queue::finish`] (not those polling while crowded out).
    sleeping: usize,
    pace: Pace,
    /// Kind of each task for the pace (none: all of one kind).
    kinds: Vec<u8>,
}

impl<V, E> Inner<V, E> {
    fn kind(&self, task: Option<TaskId>) -> u8 {
        task.and_then(|t| self.kinds.get(t.index()).copied())
            .unwrap_or(0)
    }

    /// Whether `thread` should leave the next ready task to others now (see `crate::pace`).
    fn crowded(&self, thread: std::thread::ThreadId, now: Instant) -> bool {
        let next = self.kind(self.state.peek_ready());
        self.pace.crowded(thread, now, next)
    }
}

/// The state shared by the threads of one run.
pub struct Queue<V, E> {
    inner: Mutex<Inner<V, E>>,
    wake: Condvar,
    done: Arc<AtomicUsize>,
}

/// Read access to the inputs of the task being started.
pub struct Inputs<'a, V> {
    state: &'a LocalState<V>,
    task: TaskId,
}

impl<V> Inputs<'_, V> {
    /// Number of dependencies.
    pub fn len(&self) -> usize {
        self.state.deps(self.task).len()
    }

    /// True when the task has no dependency.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The result of the `i`-th dependency.
    pub fn get(&self, i: usize) -> &V {
        let dep = self.state.deps(self.task)[i];
        self.state
            .value(dep)
            .expect("a running task's dependencies are held until it finishes")
    }
}

impl<V, E> Queue<V, E> {
    /// Wraps a prepared state.
    pub fn new(state: LocalState<V>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                state,
                error: None,
                sleeping: 0,
                pace: Pace::default(),
                kinds: Vec::new(),
            }),
            wake: Condvar::new(),
            done: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Tells the pace which tasks are alike (see [`crate::pace::kinds`]).
    pub fn with_kinds(self, kinds: Vec<u8>) -> Self {
        self.inner.lock().kinds = kinds;
        self
    }

    /// Counts finished tasks into `counter`, which other threads may read while the run goes on.
    pub fn with_progress(mut self, counter: Arc<AtomicUsize>) -> Self {
        self.done = counter;
        self
    }

    /// Takes the most urgent ready task and lets `prepare` read its inputs under the lock.
    /// `prepare` must be quick and must not run user code. `None` when nothing is ready, the
    /// run failed, or tasks are short and another thread is taking them.
    pub fn pop_with<T>(&self, prepare: impl FnOnce(TaskId, Inputs<'_, V>) -> T) -> Option<T> {
        let me = std::thread::current().id();
        let now = Instant::now();
        let mut inner = self.inner.lock();
        if inner.error.is_some() || inner.crowded(me, now) {
            return None;
        }
        let task = inner.state.pop_ready()?;
        let kind = inner.kind(Some(task));
        inner.pace.started(me, now, kind);
        Some(prepare(
            task,
            Inputs {
                state: &inner.state,
                task,
            },
        ))
    }

    /// Records a task's result and how long it ran; released values are appended to
    /// `released` for the caller to drop after the call (outside the lock).
    pub fn finish(&self, task: TaskId, value: V, elapsed: Duration, released: &mut Vec<V>) {
        let mut inner = self.inner.lock();
        inner.state.finish(task, value, released);
        inner.pace.finished(std::thread::current().id(), elapsed);
        self.done.fetch_add(1, Ordering::Relaxed);
        if inner.state.is_done() {
            self.wake.notify_all();
        } else if inner.sleeping > 0 && inner.state.ready_len() > 1 {
            self.wake.notify_one();
        }
    }

    /// Stops the run: no new task starts; the first error is kept.
    pub fn fail(&self, error: E) {
        let mut inner = self.inner.lock();
        if inner.error.is_none() {
            inner.error = Some(error);
        }
        self.wake.notify_all();
    }

    /// True when the run has failed.
    pub fn failed(&self) -> bool {
        self.inner.lock().error.is_some()
    }

    /// Sleeps until a task is ready for this thread, the run ends, or `timeout` passes.
    pub fn wait(&self, timeout: Option<Duration>) -> Wait {
        let me = std::thread::current().id();
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut inner = self.inner.lock();
        loop {
            if inner.error.is_some() || inner.state.is_done() {
                return Wait::Finished;
            }
            let now = Instant::now();
            let crowded = inner.state.ready_len() > 0 && inner.crowded(me, now);
            if inner.state.ready_len() > 0 && !crowded {
                return Wait::Work;
            }
            if deadline.is_some_and(|d| now >= d) {
                return Wait::TimedOut;
            }
            if crowded {
                // Another thread is taking short tasks: look again soon (see `crate::pace`).
                let poll = now + CROWDED_POLL;
                let until = deadline.map_or(poll, |d| d.min(poll));
                self.wake.wait_until(&mut inner, until);
                continue;
            }
            inner.sleeping += 1;
            match deadline {
                Some(d) => {
                    self.wake.wait_until(&mut inner, d);
                }
                None => self.wake.wait(&mut inner),
            }
            inner.sleeping -= 1;
        }
    }

    /// Ends the run: the error if it failed, otherwise the output values in order and counters.
    pub fn into_outputs(self, outputs: &[TaskId]) -> Result<(Vec<Option<V>>, RunStats), E> {
        let mut inner = self.inner.into_inner();
        if let Some(e) = inner.error {
            return Err(e);
        }
        let stats = inner.state.stats();
        Ok((inner.state.take_outputs(outputs), stats))
    }
}

/// How often the calling thread checks for interrupts while it waits.
const POLL: Duration = Duration::from_millis(50);

/// Runs every task in `queue` on `threads` threads (the calling thread is one of them) and
/// returns when all have finished or the run failed.
pub fn run<R: Runner>(queue: &Queue<R::Value, R::Error>, runner: &R, threads: usize) {
    std::thread::scope(|scope| {
        for _ in 1..threads.max(1) {
            scope.spawn(|| worker_loop(queue, runner, false));
        }
        worker_loop(queue, runner, true);
    });
}

fn worker_loop<R: Runner>(queue: &Queue<R::Value, R::Error>, runner: &R, calling_thread: bool) {
    let timeout = calling_thread.then_some(POLL);
    loop {
        match queue.wait(timeout) {
            Wait::Finished => return,
            Wait::TimedOut => {
                if let Err(e) = runner.check_interrupt() {
                    queue.fail(e);
                }
            }
            Wait::Work => {
                let outcome =
                    catch_unwind(AssertUnwindSafe(|| runner.drain(queue, calling_thread)));
                if let Err(panic) = outcome {
                    queue.fail(runner.panicked(panic_message(&panic)));
                    return;
                }
            }
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxdask_graph::{passes, GraphBuilder, Key};

    /// Sums inputs plus one; fails on a chosen task; panics on another; reports each task
    /// as running for `task_time`.
    struct Adder {
        fail_on: Option<TaskId>,
        panic_on: Option<TaskId>,
        task_time: Duration,
    }

    impl Runner for Adder {
        type Value = u64;
        type Error = String;

        fn drain(&self, queue: &Queue<u64, String>, _calling_thread: bool) {
            let mut released = Vec::new();
            while let Some((task, sum)) = queue
                .pop_with(|t, inputs| (t, (0..inputs.len()).map(|i| *inputs.get(i)).sum::<u64>()))
            {
                if Some(task) == self.panic_on {
                    panic!("boom in {task}");
                }
                if Some(task) == self.fail_on {
                    queue.fail(format!("task {task} failed"));
                    return;
                }
                queue.finish(task, sum + 1, self.task_time, &mut released);
                released.clear();
            }
        }

        fn check_interrupt(&self) -> Result<(), String> {
            Ok(())
        }

        fn panicked(&self, message: String) -> String {
            format!("panic: {message}")
        }
    }

    /// `leaves` leaves all feeding one sum task.
    fn fan_in(leaves: usize) -> (oxdask_graph::Graph<()>, TaskId) {
        let mut b = GraphBuilder::with_capacity(leaves + 1);
        let ids: Vec<_> = (0..leaves)
            .map(|i| b.push(Key::Int(i as i64), (), []))
            .collect();
        let root = b.push(Key::str("sum"), (), ids);
        (b.build(), root)
    }

    fn go(runner: &Adder, threads: usize) -> Result<Vec<Option<u64>>, String> {
        let (g, root) = fan_in(1000);
        let q = Queue::new(LocalState::new(&g, passes::order(&g), &[root]));
        run(&q, runner, threads);
        q.into_outputs(&[root]).map(|(v, _)| v)
    }

    #[test]
    fn runs_on_several_threads() {
        let r = Adder {
            fail_on: None,
            panic_on: None,
            task_time: Duration::ZERO,
        };
        assert_eq!(go(&r, 4).unwrap(), vec![Some(1001)]);
        assert_eq!(go(&r, 1).unwrap(), vec![Some(1001)]);
    }

    #[test]
    fn failure_stops_the_run() {
        let r = Adder {
            fail_on: Some(TaskId(3)),
            panic_on: None,
            task_time: Duration::ZERO,
        };
        assert_eq!(go(&r, 3).unwrap_err(), "task #3 failed");
    }

    #[test]
    fn panic_becomes_an_error_not_a_hang() {
        let r = Adder {
            fail_on: None,
            panic_on: Some(TaskId(5)),
            task_time: Duration::from_millis(1),
        };
        assert_eq!(go(&r, 2).unwrap_err(), "panic: boom in #5");
    }
}
