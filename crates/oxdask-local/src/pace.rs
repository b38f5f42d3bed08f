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
//! Pure: times are passed in, so the decisions are tested without clocks.

use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// Tasks whose moving-average duration is below this run on one thread at a time.
pub const SHORT_TASK: Duration = Duration::from_micros(100);

/// Moving-average task duration and the latest task start of each thread.
#[derive(Debug, Default)]
pub struct Pace {
    /// Exponential moving average (weight 1/4) of finished tasks' durations, in nanoseconds;
    /// `None` before the first finishes (every thread may join until tasks are known short).
    mean_ns: Option<u64>,
    /// When each thread that took a task last started one.
    starts: Vec<(ThreadId, Instant)>,
}

impl Pace {
    /// Records the duration of a finished task.
    pub fn finished(&mut self, elapsed: Duration) {
        let x = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.mean_ns = Some(match self.mean_ns {
            None => x,
            Some(m) => {
                if x >= m {
                    m + (x - m) / 4
                } else {
                    m - (m - x) / 4
                }
            }
        });
    }

    /// Records that `thread` started a task at `now`.
    pub fn started(&mut self, thread: ThreadId, now: Instant) {
        match self.starts.iter_mut().find(|(t, _)| *t == thread) {
            Some(entry) => entry.1 = now,
            None => self.starts.push((thread, now)),
        }
    }

    /// True when tasks are known to be short on average.
    pub fn short(&self) -> bool {
        self.mean_ns
            .is_some_and(|m| u128::from(m) < SHORT_TASK.as_nanos())
    }

    /// True when `thread` should not take tasks now: they are short, and another thread
    /// started one less than [`SHORT_TASK`] ago (so it is taking them one after another).
    pub fn crowded(&self, thread: ThreadId, now: Instant) -> bool {
        self.short()
            && self
                .starts
                .iter()
                .any(|&(t, at)| t != thread && now.saturating_duration_since(at) < SHORT_TASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        pace.started(a, t0);
        assert!(!pace.crowded(b, t0), "nothing measured yet");
        pace.finished(Duration::from_millis(5));
        assert!(!pace.crowded(b, t0));
    }

    #[test]
    fn short_tasks_keep_one_thread() {
        let (a, b) = two_threads();
        let t0 = Instant::now();
        let mut pace = Pace::default();
        for _ in 0..10 {
            pace.finished(Duration::from_micros(10));
        }
        pace.started(a, t0);
        assert!(pace.crowded(b, t0 + Duration::from_micros(20)));
        assert!(
            !pace.crowded(a, t0 + Duration::from_micros(20)),
            "a keeps going"
        );
        // a has been on its current task for longer than a short task: b may help
        assert!(!pace.crowded(b, t0 + SHORT_TASK));
    }

    #[test]
    fn the_average_follows_the_tasks() {
        let mut pace = Pace::default();
        pace.finished(Duration::from_micros(10));
        assert!(pace.short());
        for _ in 0..4 {
            pace.finished(Duration::from_millis(1));
        }
        assert!(!pace.short(), "a few long tasks lift the average");
        for _ in 0..20 {
            pace.finished(Duration::from_micros(10));
        }
        assert!(pace.short());
    }
}
