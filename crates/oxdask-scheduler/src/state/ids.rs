//! Typed ids, time, and task priority.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

macro_rules! typed_id {
    ($(#[$doc:meta])* $vis:vis $name:ident($inner:ty), $fmt:literal) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, $fmt, self.0)
            }
        }
    };
}

typed_id!(
    /// A worker, numbered by the IO layer when it registers (never reused while it lives).
    pub WorkerId(u32), "worker {}"
);
typed_id!(
    /// A client connection, numbered by the IO layer.
    pub ClientId(u32), "client {}"
);
typed_id!(
    /// The origin of an event (distributed's `stimulus_id`): every state change is logged with
    /// the stimulus that caused it, so "why is task X here?" has an answer.
    pub StimulusId(u64), "stimulus {}"
);
typed_id!(
    /// Dense index of a live task inside the scheduler. Ids of forgotten tasks are reused, so
    /// they never leave the state machine: the outside world speaks in [`oxdask_graph::Key`]s.
    pub(crate) TaskId(u32), "task #{}"
);

impl TaskId {
    /// The id as a vector index.
    #[inline]
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// A point in time or a duration, in microseconds. The scheduler never reads a clock: the IO
/// layer passes `now` to every [`crate::SchedulerState::handle`] call.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

impl Time {
    /// Time zero (also the zero duration).
    pub const ZERO: Time = Time(0);

    /// `us` microseconds.
    pub const fn from_micros(us: u64) -> Self {
        Time(us)
    }

    /// `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Time(ms * 1_000)
    }

    /// `s` seconds.
    pub const fn from_secs(s: u64) -> Self {
        Time(s * 1_000_000)
    }

    /// The value in microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub const fn saturating_sub(self, earlier: Time) -> Time {
        Time(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, us) = (self.0 / 1_000_000, self.0 % 1_000_000);
        if us == 0 {
            write!(f, "{s}s")
        } else {
            write!(f, "{s}.{:03}s", us / 1_000)
        }
    }
}

/// The order in which ready tasks run: *smaller runs first*, as in Dask.
///
/// Compared by, in turn: the user's priority (higher first, `dask.annotate(priority=...)`),
/// the submission generation (earlier graphs first: first come, first served between clients),
/// and the static graph order computed by [`oxdask_graph::passes::order`] (depth first, so a
/// branch finishes and frees its inputs before the next starts).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Priority {
    /// The user's priority; higher runs first.
    pub user: i32,
    /// Which `GraphSubmitted` created the task, counting from 0.
    pub generation: u64,
    /// Position in the static order of its own graph.
    pub order: u32,
}

impl Ord for Priority {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .user
            .cmp(&self.user)
            .then(self.generation.cmp(&other.generation))
            .then(self.order.cmp(&other.order))
    }
}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A small multiplicative hasher for dense ids: std's SipHash is needlessly slow for `u32`s,
/// and the sets it backs are [`indexmap`] sets whose iteration order ignores the hasher.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(SEED);
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(SEED);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// An insertion-ordered set of task ids with O(1) insert and remove.
pub(crate) type TaskSet = indexmap::IndexSet<TaskId, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_user_priority_runs_first_then_generation_then_order() {
        let p = |user, generation, order| Priority {
            user,
            generation,
            order,
        };
        assert!(p(5, 9, 9) < p(0, 0, 0));
        assert!(p(0, 1, 9) < p(0, 2, 0));
        assert!(p(0, 1, 3) < p(0, 1, 4));
    }

    #[test]
    fn time_displays_in_seconds() {
        assert_eq!(Time::from_secs(3).to_string(), "3s");
        assert_eq!(Time::from_millis(1_500).to_string(), "1.500s");
    }
}
