//! The threads that run tasks.
//!
//! `nthreads` OS threads share one FIFO queue of jobs. A thread that wakes up for a job
//! enters the host once ([`Host::enter`]: in Python, takes the GIL) and runs every job it
//! finds queued back to back before leaving, so a stream of trivial tasks pays one GIL
//! hand-off per burst instead of one per task. Outcomes go to the state owner as
//! [`Internal::Executed`] events; a panic in the host becomes the task's error.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use oxdask_protocol::messages::{ComputeTask, ErrorBlob};
use parking_lot::{Condvar, Mutex};
use tokio::sync::mpsc;

use super::{Host, Internal};

/// A task and what it needs: its function's bytes and its inputs, or why they are missing.
pub(crate) struct Job<V> {
    pub(crate) task: ComputeTask,
    pub(crate) prepared: Result<(Option<Bytes>, Vec<Arc<V>>), ErrorBlob>,
}

struct Queue<V> {
    jobs: Mutex<(VecDeque<Job<V>>, bool)>,
    wake: Condvar,
}

impl<V> Queue<V> {
    /// The next job, waiting for one; `None` once the executor is closed.
    fn wait(&self) -> Option<Job<V>> {
        let mut guard = self.jobs.lock();
        loop {
            if guard.1 {
                return None;
            }
            if let Some(job) = guard.0.pop_front() {
                return Some(job);
            }
            self.wake.wait(&mut guard);
        }
    }

    /// The next job if one is queued.
    fn try_pop(&self) -> Option<Job<V>> {
        let mut guard = self.jobs.lock();
        if guard.1 {
            return None;
        }
        guard.0.pop_front()
    }
}

/// Runs jobs on `nthreads` threads; closing it (on drop) lets the threads finish their
/// current job and exit. Jobs still queued then are dropped.
pub(crate) struct Executor<V> {
    queue: Arc<Queue<V>>,
}

impl<V: Send + Sync + 'static> Executor<V> {
    pub(crate) fn start<H: Host<Value = V>>(
        nthreads: u32,
        host: Arc<H>,
        results: mpsc::UnboundedSender<Internal<V>>,
    ) -> std::io::Result<Self> {
        let queue = Arc::new(Queue {
            jobs: Mutex::new((VecDeque::new(), false)),
            wake: Condvar::new(),
        });
        for i in 0..nthreads.max(1) {
            let queue = queue.clone();
            let host = host.clone();
            let results = results.clone();
            std::thread::Builder::new()
                .name(format!("oxdask-task-{i}"))
                .spawn(move || work(&*queue, &*host, &results))?;
        }
        Ok(Self { queue })
    }

    pub(crate) fn submit(&self, job: Job<V>) {
        self.queue.jobs.lock().0.push_back(job);
        self.queue.wake.notify_one();
    }
}

impl<V> Drop for Executor<V> {
    fn drop(&mut self) {
        let mut guard = self.queue.jobs.lock();
        guard.1 = true;
        guard.0.clear();
        drop(guard);
        self.queue.wake.notify_all();
    }
}

fn work<H: Host>(
    queue: &Queue<H::Value>,
    host: &H,
    results: &mpsc::UnboundedSender<Internal<H::Value>>,
) {
    while let Some(first) = queue.wait() {
        host.enter(|| {
            let mut next = Some(first);
            while let Some(job) = next {
                let outcome = run(host, job);
                if results.send(outcome).is_err() {
                    return; // the worker stopped
                }
                next = queue.try_pop();
            }
        });
    }
}

fn run<H: Host>(host: &H, job: Job<H::Value>) -> Internal<H::Value> {
    let Job { task, prepared } = job;
    let started = Instant::now();
    let result = prepared.and_then(|(function, inputs)| {
        catch_unwind(AssertUnwindSafe(|| host.execute(&task, function, inputs))).unwrap_or_else(
            |panic| {
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
            },
        )
    });
    let duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    Internal::Executed {
        key: task.key,
        result,
        duration_us,
    }
}
