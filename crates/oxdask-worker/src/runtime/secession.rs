//! `secede()` and `rejoin()` for task code (Dask's names): the thread running a task leaves
//! the worker's thread count, typically to wait for tasks the task submitted, and a fresh
//! task thread takes its place; `rejoin()` waits until the worker has a thread free again.
//!
//! Each task thread knows its pool (set once, when it starts) and the task it runs (set
//! around each execution). A thread whose task seceded ends once that task does (its
//! replacement stays), so the pool goes back to `nthreads` threads.

use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::Arc;

use oxdask_graph::Key;

/// What a task thread tells the state owner.
pub(crate) enum Secession {
    /// The task left its thread.
    Seceded(Key),
    /// The task wants a thread again; `Sender` is answered once it has one.
    Rejoin(Key, mpsc::Sender<()>),
}

/// Reaches the state owner, and starts one more task thread.
pub(crate) trait Pool: Send + Sync {
    /// Sends `what` to the state owner; false once the worker stopped.
    fn notify(&self, what: Secession) -> bool;
    /// Starts one more task thread.
    fn add_thread(&self);
}

/// The task a thread runs, and what it did with its thread.
struct Task {
    key: Key,
    seceded: bool,
    /// The task seceded once: its thread ends with it.
    leaves: bool,
}

#[derive(Default)]
struct TaskThread {
    pool: Option<Arc<dyn Pool>>,
    task: Option<Task>,
}

thread_local! {
    static THREAD: RefCell<TaskThread> = RefCell::default();
}

/// Makes this thread a task thread of `pool`.
pub(crate) fn join(pool: Arc<dyn Pool>) {
    THREAD.with_borrow_mut(|t| t.pool = Some(pool));
}

/// Runs `f` (the execution of task `key`) as this thread's task; returns its result and
/// whether the thread must end afterwards (the task seceded: a replacement took over).
pub(crate) fn running<R>(key: Key, f: impl FnOnce() -> R) -> (R, bool) {
    THREAD.with_borrow_mut(|t| {
        t.task = Some(Task {
            key,
            seceded: false,
            leaves: false,
        });
    });
    let out = f();
    let leaves = THREAD.with_borrow_mut(|t| t.task.take().is_some_and(|task| task.leaves));
    (out, leaves)
}

/// The running task leaves its thread: another task thread starts, and the scheduler may
/// send the worker more work. Calling it again does nothing.
///
/// # Errors
///
/// When called outside a task running on a worker.
pub fn secede() -> Result<(), String> {
    THREAD.with_borrow_mut(|t| {
        let (Some(pool), Some(task)) = (&t.pool, &mut t.task) else {
            return Err("secede() must be called from a task running on a worker".to_owned());
        };
        if task.seceded {
            return Ok(());
        }
        task.seceded = true;
        if !task.leaves {
            task.leaves = true;
            pool.add_thread();
        }
        pool.notify(Secession::Seceded(task.key.clone()));
        Ok(())
    })
}

/// The seceded task asks for a thread again and waits until the worker has one free (or
/// stops). Does nothing if the task did not secede, or outside a task.
pub fn rejoin() {
    let waiting = THREAD.with_borrow_mut(|t| {
        let (Some(pool), Some(task)) = (&t.pool, &t.task) else {
            return None;
        };
        if !task.seceded {
            return None;
        }
        let (tx, rx) = mpsc::channel();
        pool.notify(Secession::Rejoin(task.key.clone(), tx))
            .then_some(rx) // the worker stopped: nothing to wait for
    });
    // An error means the worker stopped (the reply's sender went with it).
    if waiting.is_some_and(|rx| rx.recv().is_ok()) {
        THREAD.with_borrow_mut(|t| {
            if let Some(task) = &mut t.task {
                task.seceded = false;
            }
        });
    }
}
