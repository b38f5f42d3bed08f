//! The threads that run tasks.
//!
//! `nthreads` OS threads share one FIFO queue of jobs. A thread that wakes up for a job
//! enters the host once ([`Host::enter`]: in Python, takes the GIL) and runs every job it
//! finds queued back to back before leaving, so a stream of trivial tasks pays one GIL
//! hand-off per burst instead of one per task. A result is stored by the thread that computed
//! it (the state owner drops it if the task was forgotten meanwhile) and, when results exceed
//! the memory target, the thread spills before its next task, so spilling keeps pace. Outcomes
//! go to the state owner as [`Internal::Executed`] events; a panic in the host becomes the
//! task's error.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use bytes::Bytes;
use oxdask_protocol::messages::{ComputeTask, ErrorBlob};
use parking_lot::{Condvar, Mutex};
use tokio::sync::mpsc;

use super::secession::{self, Pool, Secession};
use super::{Completed, Host, Internal, Store};
use crate::memory::{self, MemoryReading, MemoryThresholds};

/// A task and its function's bytes, or why they are missing. Its inputs are read from the
/// store on the task thread (spilled ones are loaded back there, not on the runtime).
pub(crate) struct Job {
    pub(crate) task: ComputeTask,
    pub(crate) function: Result<Option<Bytes>, ErrorBlob>,
}

/// A task thread without work for this long tells the host ([`Host::idle`]).
const IDLE: std::time::Duration = std::time::Duration::from_millis(200);

struct Queue {
    jobs: Mutex<(VecDeque<Job>, bool)>,
    wake: Condvar,
}

impl Queue {
    /// The next job, waiting for one; `None` once the executor is closed. Calls `idle` (once)
    /// when nothing came for [`IDLE`].
    fn wait(&self, idle: impl Fn()) -> Option<Job> {
        let mut guard = self.jobs.lock();
        let mut told = false;
        loop {
            if guard.1 {
                return None;
            }
            if let Some(job) = guard.0.pop_front() {
                return Some(job);
            }
            if told {
                self.wake.wait(&mut guard);
            } else if self.wake.wait_for(&mut guard, IDLE).timed_out() {
                told = true;
                parking_lot::MutexGuard::unlocked(&mut guard, &idle);
            }
        }
    }

    /// The next job if one is queued.
    fn try_pop(&self) -> Option<Job> {
        let mut guard = self.jobs.lock();
        if guard.1 {
            return None;
        }
        guard.0.pop_front()
    }
}

/// Runs jobs on `nthreads` threads (plus one in place of each task that seceded, until it
/// ends); closing it (on drop) lets the threads finish their current job and exit. Jobs
/// still queued then are dropped.
pub(crate) struct Executor {
    queue: Arc<Queue>,
}

/// What every task thread shares; also the [`Pool`] a seceding task reaches.
struct Threads<H: Host> {
    queue: Arc<Queue>,
    host: Arc<H>,
    store: Arc<Store<H::Value>>,
    limits: Option<(u64, MemoryThresholds)>,
    results: mpsc::UnboundedSender<Internal<H::Value>>,
    spawned: AtomicUsize,
    me: Weak<Threads<H>>,
}

impl<H: Host> Threads<H> {
    fn spawn(self: &Arc<Self>) -> std::io::Result<()> {
        let i = self.spawned.fetch_add(1, Ordering::Relaxed);
        let threads = self.clone();
        std::thread::Builder::new()
            .name(format!("oxdask-task-{i}"))
            .spawn(move || {
                secession::join(threads.clone());
                threads.host.task_thread(|| work(&threads));
            })
            .map(drop)
    }
}

impl<H: Host> Pool for Threads<H> {
    fn notify(&self, what: Secession) -> bool {
        let event = match what {
            Secession::Seceded(key) => Internal::Seceded { key },
            Secession::Rejoin(key, reply) => Internal::Rejoin { key, reply },
        };
        self.results.send(event).is_ok()
    }

    fn add_thread(&self) {
        if let Some(me) = self.me.upgrade() {
            if let Err(e) = me.spawn() {
                tracing::error!(error = %e, "could not start a task thread for a seceded task");
            }
        }
    }
}

impl Executor {
    pub(crate) fn start<H: Host>(
        nthreads: u32,
        host: Arc<H>,
        store: Arc<Store<H::Value>>,
        limits: Option<(u64, MemoryThresholds)>,
        results: mpsc::UnboundedSender<Internal<H::Value>>,
    ) -> std::io::Result<Self> {
        let queue = Arc::new(Queue {
            jobs: Mutex::new((VecDeque::new(), false)),
            wake: Condvar::new(),
        });
        let threads = Arc::new_cyclic(|me| Threads {
            queue: queue.clone(),
            host,
            store,
            limits,
            results,
            spawned: AtomicUsize::new(0),
            me: me.clone(),
        });
        for _ in 0..nthreads.max(1) {
            threads.spawn()?;
        }
        Ok(Self { queue })
    }

    pub(crate) fn submit(&self, job: Job) {
        self.queue.jobs.lock().0.push_back(job);
        self.queue.wake.notify_one();
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        let mut guard = self.queue.jobs.lock();
        guard.1 = true;
        guard.0.clear();
        drop(guard);
        self.queue.wake.notify_all();
    }
}

fn work<H: Host>(threads: &Threads<H>) {
    let (queue, host, store) = (&*threads.queue, &*threads.host, &*threads.store);
    let mut probe = Probe {
        at: Instant::now(),
        managed: 0,
    };
    while let Some(first) = queue.wait(|| host.idle()) {
        let leaves = host.enter(|| {
            let mut next = Some(first);
            while let Some(job) = next {
                let key = job.task.key.clone();
                let (outcome, leaves) = secession::running(key, || run(host, store, job));
                if threads.results.send(outcome).is_err() {
                    return true; // the worker stopped
                }
                if leaves {
                    return true; // its task seceded: the thread that replaced it stays
                }
                // Memory beyond the spill thresholds goes to disk before the next task starts:
                // a thread cannot produce faster than the disk takes.
                if let Some((limit, thresholds)) = &threads.limits {
                    spill_after_task(host, store, *limit, thresholds, &mut probe);
                }
                next = queue.try_pop();
            }
            false
        });
        if leaves {
            return;
        }
    }
}

/// When this thread last read the process's memory, and the managed bytes then.
struct Probe {
    at: Instant,
    managed: u64,
}

/// Spills what the memory policy asks for (results above the target, or process memory
/// above the spill threshold), on this thread. Process memory is read (a `/proc` read) only
/// when results grew by a mebibyte or 10 ms passed since the last read, so a stream of tiny
/// tasks pays one comparison each.
fn spill_after_task<H: Host>(
    host: &H,
    store: &Store<H::Value>,
    limit: u64,
    thresholds: &MemoryThresholds,
    probe: &mut Probe,
) {
    let managed = store.bytes().0;
    let stale = probe.at.elapsed() >= std::time::Duration::from_millis(10)
        || managed >= probe.managed.saturating_add(1 << 20);
    let process = if stale {
        probe.at = Instant::now();
        probe.managed = managed;
        memory::process_reading(host, limit, thresholds)
    } else {
        0 // the target check alone
    };
    let reading = MemoryReading { managed, process };
    let Some(target) = memory::assess(limit, thresholds, reading).spill_to else {
        return;
    };
    let ((n, bytes), evicted) = store.spill_to(target, host);
    drop(evicted);
    if n > 0 {
        host.release_memory();
        tracing::debug!(values = n, bytes, "spilled after a task");
    }
}

/// The task's inputs, in order, loading spilled ones back into memory.
fn inputs<H: Host>(
    host: &H,
    store: &Store<H::Value>,
    task: &ComputeTask,
) -> Result<Vec<Arc<H::Value>>, ErrorBlob> {
    task.deps
        .iter()
        .map(|(dep, _)| {
            store.load(dep, host).map_err(|why| ErrorBlob {
                text: format!("RuntimeError: input of task {}: {why}", task.key),
                ..ErrorBlob::default()
            })
        })
        .collect()
}

fn run<H: Host>(host: &H, store: &Store<H::Value>, job: Job) -> Internal<H::Value> {
    let Job { task, function } = job;
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let function = function?;
        let inputs = inputs(host, store, &task)?;
        host.execute(&task, function, inputs)
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(ErrorBlob {
            text: format!(
                "RuntimeError: panic while executing task {}: {what}",
                task.key
            ),
            ..ErrorBlob::default()
        })
    });
    let duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let result = result.map(|done| {
        store.insert_if_absent(task.key.clone(), done.value, done.nbytes);
        Completed {
            nbytes: done.nbytes,
            type_name: done.type_name,
            pickle: done.pickle,
        }
    });
    Internal::Executed {
        key: task.key,
        result,
        duration_us,
        stop_us: oxdask_protocol::messages::epoch_us(),
    }
}
