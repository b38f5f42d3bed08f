//! Workers as the scheduler sees them: capacity, what they process, what they hold.
//!
//! Resources are kept in fixed point (millionths) so that committing and returning them is
//! exact: `used` returns to zero when the last task using it leaves, with no float drift, and
//! "never more committed than declared" is checked with integer comparisons.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{TaskId, TaskSet, Time};

/// Fixed-point resource amount: millionths of a unit.
pub(crate) type Amount = u64;

/// Converts a user-facing amount; negatives and NaN count as zero.
pub(crate) fn amount(x: f64) -> Amount {
    let scaled = (x * 1e6).round();
    // `as` saturates, which is the right clamp for absurdly large requests.
    if scaled.is_nan() || scaled <= 0.0 {
        0
    } else {
        scaled as u64
    }
}

/// Back to the user-facing unit.
pub(crate) fn amount_f64(a: Amount) -> f64 {
    a as f64 / 1e6
}

/// Named amounts, sorted by name, names unique.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Resources(pub Box<[(Arc<str>, Amount)]>);

impl Resources {
    /// Sums repeated names and drops zero amounts.
    pub(crate) fn new(items: &[(String, f64)]) -> Self {
        let mut map: BTreeMap<&str, Amount> = BTreeMap::new();
        for (name, x) in items {
            *map.entry(name.as_str()).or_default() += amount(*x);
        }
        Resources(
            map.into_iter()
                .filter(|&(_, a)| a > 0)
                .map(|(n, a)| (Arc::from(n), a))
                .collect(),
        )
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn get(&self, name: &str) -> Amount {
        self.0
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .map_or(0, |i| self.0[i].1)
    }

    pub(crate) fn to_vec(&self) -> Vec<(String, f64)> {
        self.0
            .iter()
            .map(|(n, a)| (n.to_string(), amount_f64(*a)))
            .collect()
    }
}

/// Whether a worker takes new work.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WorkerStatus {
    /// Accepts tasks and replicas.
    Running,
    /// Its process memory passed its pause threshold: it holds and serves data but gets no
    /// new tasks or replicas until it resumes.
    Paused,
    /// Being retired: finishes what it has, gets nothing new, closes once its unique data
    /// has been copied elsewhere.
    Retiring,
}

#[derive(Debug)]
pub(crate) struct Worker {
    pub address: String,
    pub nthreads: u32,
    pub memory_limit: u64,
    pub declared: Resources,
    /// Committed amounts, parallel to `declared`.
    pub used: Vec<Amount>,
    /// Tasks sent to it and not finished, with the duration expected when they were sent.
    pub processing: BTreeMap<TaskId, u64>,
    /// Sum of `processing` estimates, microseconds.
    pub occupancy: u64,
    /// Tasks of `processing` that left their thread (`secede()`): their estimate is zero
    /// and they do not count against the threads.
    pub long_running: std::collections::BTreeSet<TaskId>,
    /// Keys whose results it holds.
    pub has_what: TaskSet,
    /// Sum of their sizes.
    pub nbytes: u64,
    pub last_seen: Time,
    /// When it joined.
    pub joined: Time,
    /// When it will end, if it said so.
    pub ends_at: Option<Time>,
    /// Process memory and managed (stored results) memory from its last heartbeat.
    pub memory: u64,
    pub managed: u64,
    /// Bytes of results it spilled to disk.
    pub spilled: u64,
    /// Why it paused, while paused.
    pub pause_reason: Option<String>,
    /// Why it said it was exiting (`Closing`), told to users whose tasks it was running.
    pub closing_reason: Option<String>,
    pub status: WorkerStatus,
    /// Steal requests in flight towards this worker (as thief) and away from it (as victim).
    pub incoming_steals: u32,
    pub outgoing_steals: u32,
}

impl Worker {
    pub(crate) fn new(
        address: String,
        nthreads: u32,
        memory_limit: u64,
        declared: Resources,
        now: Time,
    ) -> Self {
        let used = vec![0; declared.0.len()];
        Self {
            address,
            // A worker without threads could never run anything; treat it as one thread so
            // the load arithmetic stays defined.
            nthreads: nthreads.max(1),
            memory_limit,
            declared,
            used,
            processing: BTreeMap::new(),
            occupancy: 0,
            long_running: std::collections::BTreeSet::new(),
            has_what: TaskSet::default(),
            nbytes: 0,
            last_seen: now,
            joined: now,
            ends_at: None,
            memory: 0,
            managed: 0,
            spilled: 0,
            pause_reason: None,
            closing_reason: None,
            status: WorkerStatus::Running,
            incoming_steals: 0,
            outgoing_steals: 0,
        }
    }

    /// It declares at least `needs` of every resource (it could ever run such a task).
    pub(crate) fn declares(&self, needs: &Resources) -> bool {
        needs.0.iter().all(|(n, a)| self.declared.get(n) >= *a)
    }

    /// It has `needs` free right now.
    pub(crate) fn fits(&self, needs: &Resources) -> bool {
        needs.0.iter().all(
            |(n, a)| match self.declared.0.binary_search_by(|(d, _)| d.cmp(n)) {
                Ok(i) => self.declared.0[i].1 - self.used[i] >= *a,
                Err(_) => false,
            },
        )
    }

    /// Commits `needs`; the caller checked [`Worker::fits`].
    pub(crate) fn take(&mut self, needs: &Resources) {
        for (n, a) in needs.0.iter() {
            let i = self
                .declared
                .0
                .binary_search_by(|(d, _)| d.cmp(n))
                .expect("invariant: resources are committed only on workers declaring them");
            self.used[i] += a;
        }
    }

    /// Returns `needs` committed by [`Worker::take`].
    pub(crate) fn give_back(&mut self, needs: &Resources) {
        for (n, a) in needs.0.iter() {
            let i = self
                .declared
                .0
                .binary_search_by(|(d, _)| d.cmp(n))
                .expect("invariant: returned resources were committed on this worker");
            self.used[i] -= a;
        }
    }

    /// Tasks processing on its threads: those that left theirs (`secede()`) do not count.
    pub(crate) fn busy(&self) -> usize {
        self.processing.len() - self.long_running.len()
    }

    /// It takes new tasks and replicas (neither paused nor retiring).
    pub(crate) fn is_running(&self) -> bool {
        self.status == WorkerStatus::Running
    }

    /// Pauses or resumes it; a retiring worker stays retiring.
    pub(crate) fn set_paused(&mut self, paused: bool, reason: String) {
        match (self.status, paused) {
            (WorkerStatus::Running, true) | (WorkerStatus::Paused, true) => {
                self.status = WorkerStatus::Paused;
                self.pause_reason = Some(reason);
            }
            (WorkerStatus::Paused, false) => {
                self.status = WorkerStatus::Running;
                self.pause_reason = None;
            }
            _ => {}
        }
    }
}

/// A worker's load: microseconds of expected work per thread, `occupancy / nthreads`.
pub(crate) fn load(w: &Worker) -> u64 {
    w.occupancy / u64::from(w.nthreads.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_exact_and_bounded() {
        let declared = Resources::new(&[("GPU".into(), 1.0), ("MEM".into(), 0.3)]);
        let mut w = Worker::new("w".into(), 1, 0, declared, Time::ZERO);
        let tenth = Resources::new(&[("MEM".into(), 0.1)]);
        for _ in 0..3 {
            assert!(w.fits(&tenth));
            w.take(&tenth);
        }
        assert!(!w.fits(&tenth), "0.1 + 0.1 + 0.1 uses all of 0.3");
        for _ in 0..3 {
            w.give_back(&tenth);
        }
        assert_eq!(w.used, vec![0, 0]);
        assert!(!w.declares(&Resources::new(&[("GPU".into(), 2.0)])));
        assert!(!w.fits(&Resources::new(&[("TPU".into(), 1.0)])));
    }

    #[test]
    fn resources_merge_and_sort() {
        let r = Resources::new(&[("b".into(), 1.0), ("a".into(), 1.0), ("b".into(), 0.5)]);
        assert_eq!(r.to_vec(), vec![("a".into(), 1.0), ("b".into(), 1.5)]);
    }
}
