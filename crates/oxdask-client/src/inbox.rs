//! Key reports waiting for the embedding program, and the wake-up protocol of the threads
//! waiting for them.
//!
//! Threads waiting for a future (between [`Inbox::waiting`]`(true)` and `(false)`) are woken
//! by reports and take them themselves, without a hand-off; the event thread (listening with
//! [`Inbox::listen`]) is woken only while no such thread waits. A thread waiting for many
//! results lets [`BATCH`] reports gather (or waits [`LINGER`] after the first) before taking
//! them: fewer, larger bursts to apply.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use oxdask_graph::Key;
use oxdask_protocol::messages::Failure;
use parking_lot::{Condvar, Mutex};

/// A report about a key (or the connection).
#[derive(Debug, Clone, PartialEq)]
pub enum KeyEvent {
    /// The key's result is in memory on a worker.
    Memory {
        /// The key.
        key: Key,
        /// Its size in bytes.
        nbytes: u64,
        /// Type name of the result.
        type_name: String,
        /// The pickled result, when small enough to come with the report.
        value: Option<Bytes>,
    },
    /// The key failed, itself or through the dependency `from`.
    Erred {
        /// The key.
        key: Key,
        /// The failing task.
        from: Key,
        /// What went wrong.
        failure: Failure,
    },
    /// The key will not be computed.
    Cancelled {
        /// The key.
        key: Key,
        /// Why.
        reason: String,
    },
    /// The key's scattered data was lost with the worker holding it.
    Lost {
        /// The key.
        key: Key,
    },
    /// The connection to the scheduler ended; every pending key is lost.
    Closed {
        /// Why.
        reason: String,
    },
}

/// Reports a thread waiting for many results lets gather before it takes them.
pub const BATCH: usize = 64;
/// How long such a thread lingers for more after the first report.
const LINGER: Duration = Duration::from_millis(1);

#[derive(Default)]
struct Queue {
    events: VecDeque<KeyEvent>,
    /// Threads between `waiting(true)` and `waiting(false)`.
    waiters: usize,
    /// Of those, threads in `wait` for few results (woken by every report).
    eager: usize,
}

/// Key reports and the threads waiting for them.
#[derive(Default)]
pub struct Inbox {
    queue: Mutex<Queue>,
    /// Threads waiting for a future.
    ready: Condvar,
    /// The event thread, woken only while no thread waits for a future.
    listener: Condvar,
}

impl Inbox {
    /// Queues a report and wakes whoever should take it.
    pub fn push(&self, event: KeyEvent) {
        let mut q = self.queue.lock();
        q.events.push_back(event);
        if q.waiters > 0 {
            let n = q.events.len();
            if q.eager > 0 || n == 1 || n == BATCH {
                self.ready.notify_all();
            }
        } else {
            self.listener.notify_one();
        }
    }

    /// Waits up to `timeout` until reports are queued (without taking them); returns whether
    /// some are. A thread waiting for more than [`BATCH`] results (`pending`) returns once
    /// [`BATCH`] reports are queued or [`LINGER`] after the first.
    pub fn wait(&self, timeout: Duration, pending: usize) -> bool {
        let batch = pending > BATCH;
        let deadline = Instant::now() + timeout;
        let mut q = self.queue.lock();
        q.eager += usize::from(!batch);
        loop {
            let n = q.events.len();
            if n > 0 && (!batch || n >= BATCH) {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let until = if n > 0 {
                (now + LINGER).min(deadline)
            } else {
                deadline
            };
            let timed_out = self.ready.wait_until(&mut q, until).timed_out();
            if timed_out && n > 0 {
                break; // lingered: take what there is
            }
        }
        q.eager -= usize::from(!batch);
        !q.events.is_empty()
    }

    /// The event thread's [`Self::wait`]: reports wake it only while no thread waits for a
    /// future. Returns whether reports are queued for it to take.
    pub fn listen(&self, timeout: Duration) -> bool {
        let mut q = self.queue.lock();
        if q.events.is_empty() || q.waiters > 0 {
            self.listener.wait_for(&mut q, timeout);
        }
        !q.events.is_empty() && q.waiters == 0
    }

    /// A thread starts (`true`) or stops waiting for futures. The last to stop hands reports
    /// still queued to the event thread.
    pub fn waiting(&self, start: bool) {
        let mut q = self.queue.lock();
        if start {
            q.waiters += 1;
        } else {
            q.waiters = q.waiters.saturating_sub(1);
            if q.waiters == 0 && !q.events.is_empty() {
                self.listener.notify_one();
            }
        }
    }

    /// Takes every queued report, waiting up to `timeout` for one if there is none.
    pub fn take(&self, timeout: Duration) -> Vec<KeyEvent> {
        let mut q = self.queue.lock();
        if q.events.is_empty() {
            self.ready.wait_for(&mut q, timeout);
        }
        q.events.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(i: u32) -> KeyEvent {
        KeyEvent::Memory {
            key: Key::str(&format!("k-{i}")),
            nbytes: 8,
            type_name: "int".into(),
            value: None,
        }
    }

    #[test]
    fn a_waiter_for_one_result_wakes_at_the_first_report() {
        let inbox = std::sync::Arc::new(Inbox::default());
        inbox.waiting(true);
        let pushing = inbox.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            pushing.push(memory(0));
        });
        let start = Instant::now();
        assert!(inbox.wait(Duration::from_secs(5), 1));
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(inbox.take(Duration::ZERO), vec![memory(0)]);
        inbox.waiting(false);
        t.join().expect("pusher");
    }

    #[test]
    fn a_waiter_for_many_results_lingers_then_takes_what_there_is() {
        let inbox = Inbox::default();
        inbox.waiting(true);
        for i in 0..3 {
            inbox.push(memory(i));
        }
        assert!(inbox.wait(Duration::from_secs(5), 1000));
        assert_eq!(inbox.take(Duration::ZERO).len(), 3);
        assert!(!inbox.wait(Duration::from_millis(5), 1000));
        inbox.waiting(false);
    }

    #[test]
    fn the_event_thread_takes_reports_only_while_nobody_waits() {
        let inbox = Inbox::default();
        inbox.waiting(true);
        inbox.push(memory(0));
        assert!(!inbox.listen(Duration::from_millis(5)));
        inbox.waiting(false);
        assert!(inbox.listen(Duration::from_millis(5)));
        assert_eq!(inbox.take(Duration::ZERO).len(), 1);
    }
}
