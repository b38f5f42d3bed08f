//! `secede()` and `rejoin()` for task code (Dask's names): the thread running a task leaves
//! the worker's thread count, typically to wait for tasks the task submitted, and a fresh
//! task thread takes its place; `rejoin()` waits until the worker has a thread free again.
//!
//! Each task thread knows the task it runs (a thread-local set around the execution). A
//! thread whose task seceded ends once that task does (its replacement stays), so the pool
//! goes back to `nthreads` threads.

use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

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

struct Current {
    key: Key,
    seceded: bool,
    /// The task seceded once: its thread ends with it.
    leaves: bool,
    pool: Arc<dyn Pool>,
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Runs `f` (one task's execution) as the current task of this thread; returns its result
/// and whether the thread must end afterwards (the task seceded: a replacement took over).
pub(crate) fn running<R>(key: &Key, pool: &Arc<dyn Pool>, f: impl FnOnce() -> R) -> (R, bool) {
    CURRENT.with_borrow_mut(|c| {
        *c = Some(Current {
            key: key.clone(),
            seceded: false,
            leaves: false,
            pool: pool.clone(),
        });
    });
    let out = f();
    let leaves = CURRENT.with_borrow_mut(|c| c.take().is_some_and(|c| c.leaves));
    (out, leaves)
}

/// The running task leaves its thread: another task thread starts, and the scheduler may
/// send the worker more work. Calling it again does nothing.
///
/// # Errors
///
/// When called outside a task running on a worker.
pub fn secede() -> Result<(), String> {
    CURRENT.with_borrow_mut(|c| {
        let Some(current) = c.as_mut() else {
            return Err("secede() must be called from a task running on a worker".to_owned());
        };
        if current.seceded {
            return Ok(());
        }
        current.seceded = true;
        if !current.leaves {
            current.leaves = true;
            current.pool.add_thread();
        }
        current.pool.notify(Secession::Seceded(current.key.clone()));
        Ok(())
    })
}

/// The seceded task asks for a thread again and waits (up to `timeout`, forever with
/// `None`) until the worker has one free. Does nothing if the task did not secede, or
/// outside a task.
///
/// # Errors
///
/// When `timeout` passes first (the task then still counts as seceded).
pub fn rejoin(timeout: Option<Duration>) -> Result<(), String> {
    let waiting = CURRENT.with_borrow_mut(|c| {
        let current = c.as_mut().filter(|c| c.seceded)?;
        let (tx, rx) = mpsc::channel();
        if !current
            .pool
            .notify(Secession::Rejoin(current.key.clone(), tx))
        {
            return None; // the worker stopped: nothing to wait for
        }
        Some((rx, current.key.clone()))
    });
    let Some((rx, key)) = waiting else {
        return Ok(());
    };
    let granted = match timeout {
        None => rx.recv().is_ok(),
        Some(t) => match rx.recv_timeout(t) {
            Ok(()) => true,
            Err(mpsc::RecvTimeoutError::Disconnected) => false,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "rejoin() of task {key}: no thread free within {t:?}"
                ));
            }
        },
    };
    if granted {
        CURRENT.with_borrow_mut(|c| {
            if let Some(current) = c.as_mut() {
                current.seceded = false;
            }
        });
    }
    Ok(())
}
