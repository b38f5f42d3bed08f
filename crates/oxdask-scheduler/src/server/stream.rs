//! What the dashboard shows over time: the task stream (when and where each task ran) and the
//! latest exceptions, in bounded rings. Recorded by the core as workers report.

use std::collections::VecDeque;

use oxdask_graph::Key;

/// One finished (or failed) task.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ran {
    pub key: Key,
    pub prefix: String,
    pub worker: String,
    /// Seconds since the scheduler started.
    pub start: f64,
    pub stop: f64,
    pub ok: bool,
}

/// One task's exception.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Raised {
    pub key: Key,
    pub prefix: String,
    pub worker: String,
    pub time: f64,
    pub text: String,
}

/// The rings, with a sequence number per task-stream entry so pages fetch only what is new.
#[derive(Debug)]
pub(crate) struct Stream {
    ran: VecDeque<Ran>,
    /// Sequence number of the entry after the last (entries are `next - len .. next`).
    next: u64,
    raised: VecDeque<Raised>,
    capacity: usize,
    exceptions: usize,
    /// Counts since the start, per outcome (for `/metrics`).
    pub finished: u64,
    pub erred: u64,
}

impl Stream {
    pub(crate) fn new(capacity: usize, exceptions: usize) -> Self {
        Self {
            ran: VecDeque::new(),
            next: 0,
            raised: VecDeque::new(),
            capacity,
            exceptions,
            finished: 0,
            erred: 0,
        }
    }

    pub(crate) fn ran(&mut self, entry: Ran) {
        if entry.ok {
            self.finished += 1;
        } else {
            self.erred += 1;
        }
        self.push(entry);
    }

    /// Work that is not a task (a transfer between workers, spilling): in the stream, not
    /// counted as a task.
    pub(crate) fn not_a_task(&mut self, entry: Ran) {
        self.push(entry);
    }

    fn push(&mut self, entry: Ran) {
        if self.ran.len() == self.capacity {
            self.ran.pop_front();
        }
        self.ran.push_back(entry);
        self.next += 1;
    }

    pub(crate) fn raised(&mut self, entry: Raised) {
        if self.raised.len() == self.exceptions {
            self.raised.pop_front();
        }
        self.raised.push_back(entry);
    }

    /// Entries after sequence number `since`, and the next sequence number.
    pub(crate) fn since(&self, since: u64) -> (impl Iterator<Item = &Ran>, u64) {
        let first = self.next - self.ran.len() as u64;
        let skip = since.saturating_sub(first).min(self.ran.len() as u64) as usize;
        (self.ran.iter().skip(skip), self.next)
    }

    /// When the last recorded task ended.
    pub(crate) fn last_stop(&self) -> Option<f64> {
        self.ran.back().map(|r| r.stop)
    }

    pub(crate) fn exceptions(&self) -> impl Iterator<Item = &Raised> {
        self.raised.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(i: u32) -> Ran {
        Ran {
            key: Key::chunk("x", &[i]),
            prefix: "x".into(),
            worker: "w".into(),
            start: f64::from(i),
            stop: f64::from(i) + 0.5,
            ok: i % 2 == 0,
        }
    }

    #[test]
    fn the_ring_keeps_the_latest_and_serves_what_is_new() {
        let mut s = Stream::new(3, 2);
        for i in 0..5 {
            s.ran(ran(i));
        }
        let (all, next) = s.since(0);
        assert_eq!(next, 5);
        assert_eq!(all.map(|r| r.start).collect::<Vec<_>>(), [2.0, 3.0, 4.0]);
        let (new, _) = s.since(4);
        assert_eq!(new.count(), 1);
        assert_eq!(s.since(5).0.count(), 0);
        assert_eq!((s.finished, s.erred), (3, 2));
    }
}
