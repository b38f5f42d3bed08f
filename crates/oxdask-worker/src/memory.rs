//! The worker's memory policy: when to spill results to disk, pause, or give up and exit.
//!
//! A pure function of the limits and one reading of the worker's memory, so the runtime's
//! monitor (which samples the process every few tens of milliseconds) only carries out what
//! [`assess`] decides. The thresholds are fractions of the worker's memory limit, with Dask's
//! names and defaults (`distributed.worker.memory.*`):
//!
//! | threshold   | default | measured on                    | action                              |
//! |-------------|---------|--------------------------------|-------------------------------------|
//! | `target`    | 0.60    | managed memory (stored results)| spill least recently used results   |
//! | `spill`     | 0.70    | process memory (RSS)           | spill until RSS would be at target  |
//! | `pause`     | 0.80    | process memory                 | start no task, fetch nothing        |
//! | `terminate` | 0.95    | process memory                 | exit; the scheduler reruns the work |
//!
//! A threshold set to `None` is off; a limit of 0 turns the whole policy off.

use std::fmt;

/// The thresholds, as fractions of the memory limit.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct MemoryThresholds {
    /// Managed memory above which results are spilled.
    pub target: Option<f64>,
    /// Process memory above which results are spilled.
    pub spill: Option<f64>,
    /// Process memory above which the worker pauses.
    pub pause: Option<f64>,
    /// Process memory above which the worker exits.
    pub terminate: Option<f64>,
}

impl Default for MemoryThresholds {
    fn default() -> Self {
        Self {
            target: Some(0.6),
            spill: Some(0.7),
            pause: Some(0.8),
            terminate: Some(0.95),
        }
    }
}

/// One reading of the worker's memory.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryReading {
    /// Bytes of stored results held in memory.
    pub managed: u64,
    /// Resident memory of the process.
    pub process: u64,
}

/// What to do about a reading.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryAction {
    /// Spill least recently used results until managed memory is at most this many bytes.
    pub spill_to: Option<u64>,
    /// Whether the worker should be paused (whatever it is now).
    pub paused: bool,
    /// Exit, for this reason.
    pub terminate: Option<String>,
}

fn at(limit: u64, fraction: Option<f64>) -> Option<u64> {
    // Fractions are at most a few, limits at most exabytes: the float product is exact
    // enough, and `as` saturates.
    fraction.map(|f| (limit as f64 * f) as u64)
}

/// Decides what the worker must do about `now`, given its `limit` in bytes.
pub fn assess(limit: u64, thresholds: &MemoryThresholds, now: MemoryReading) -> MemoryAction {
    let mut action = MemoryAction::default();
    if limit == 0 {
        return action;
    }
    if let Some(terminate) = at(limit, thresholds.terminate) {
        if now.process > terminate {
            action.terminate = Some(format!(
                "its process memory ({}) exceeded {:.0}% of its memory limit ({})",
                Bytes(now.process),
                thresholds.terminate.unwrap_or(0.0) * 100.0,
                Bytes(limit)
            ));
        }
    }
    action.paused = at(limit, thresholds.pause).is_some_and(|pause| now.process > pause);
    let target = at(limit, thresholds.target);
    if let Some(t) = target {
        if now.managed > t {
            action.spill_to = Some(t);
        }
    }
    if let Some(spill) = at(limit, thresholds.spill) {
        if now.process > spill {
            // Free what brings the process back to the target (or to the spill threshold
            // when no target is set): results are the only memory the worker can give up.
            let goal = target.unwrap_or(spill);
            let excess = now.process - goal;
            let to = now.managed.saturating_sub(excess);
            action.spill_to = Some(action.spill_to.map_or(to, |t| t.min(to)));
        }
    }
    action
}

/// Why the worker is paused, for the scheduler.
pub fn pause_reason(limit: u64, thresholds: &MemoryThresholds, now: MemoryReading) -> String {
    format!(
        "process memory ({}) is above {:.0}% of the memory limit ({})",
        Bytes(now.process),
        thresholds.pause.unwrap_or(0.0) * 100.0,
        Bytes(limit)
    )
}

/// Process memory as the policy reads it: resident memory less the freed buffers kept for
/// reuse (the host's, [`crate::Host::pooled_bytes`], and large receive buffers,
/// [`oxdask_comm::recycled_bytes`]). These may then keep only what is left
/// below the spill threshold (or, without one, the pause threshold): kept buffers never push
/// the process over it, and are given back once the process is there.
pub(crate) fn process_reading<H: crate::Host>(
    host: &H,
    limit: u64,
    thresholds: &MemoryThresholds,
) -> u64 {
    let resident = process_memory();
    let recycled = oxdask_comm::recycled_bytes() as u64;
    let held = resident.saturating_sub(host.pooled_bytes() + recycled);
    if limit > 0 {
        if let Some(high) = at(limit, thresholds.spill.or(thresholds.pause)) {
            let headroom = high.saturating_sub(held);
            host.fit_pool(headroom);
            let left = headroom.saturating_sub(host.pooled_bytes());
            oxdask_comm::limit_recycled(usize::try_from(left).unwrap_or(usize::MAX));
        }
    }
    held
}

/// Resident memory of this process in bytes (Linux; 0 elsewhere).
pub fn process_memory() -> u64 {
    const PAGE: u64 = 4096;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * PAGE)
}

/// A byte count for people: `1.23 GiB`.
#[derive(Copy, Clone, Debug)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut x = self.0 as f64;
        let mut unit = 0;
        while x >= 1024.0 && unit + 1 < UNITS.len() {
            x /= 1024.0;
            unit += 1;
        }
        if unit == 0 {
            write!(f, "{} B", self.0)
        } else {
            write!(f, "{x:.2} {}", UNITS[unit])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn reading(managed: f64, process: f64) -> MemoryReading {
        MemoryReading {
            managed: (managed * GIB as f64) as u64,
            process: (process * GIB as f64) as u64,
        }
    }

    #[test]
    fn no_limit_means_no_action() {
        let a = assess(0, &MemoryThresholds::default(), reading(100.0, 100.0));
        assert_eq!(a, MemoryAction::default());
    }

    #[test]
    fn below_every_threshold_nothing_happens() {
        let a = assess(GIB, &MemoryThresholds::default(), reading(0.5, 0.65));
        assert_eq!(a, MemoryAction::default());
    }

    #[test]
    fn managed_memory_above_target_spills_down_to_target() {
        let a = assess(GIB, &MemoryThresholds::default(), reading(0.7, 0.69));
        assert_eq!(a.spill_to, Some((0.6 * GIB as f64) as u64));
        assert!(!a.paused && a.terminate.is_none());
    }

    #[test]
    fn process_memory_above_spill_frees_the_excess_over_target() {
        // 0.75 GiB resident, of which 0.5 GiB results: free 0.15 GiB of results.
        let a = assess(GIB, &MemoryThresholds::default(), reading(0.5, 0.75));
        let want = (0.5 * GIB as f64) as u64 - ((0.75 - 0.6) * GIB as f64) as u64;
        assert!(a.spill_to.unwrap().abs_diff(want) < 16, "{a:?}");
        // Unmanaged memory beyond what results can cover: spill everything.
        let a = assess(GIB, &MemoryThresholds::default(), reading(0.1, 0.75));
        assert_eq!(a.spill_to, Some(0));
    }

    #[test]
    fn pause_and_terminate_follow_process_memory() {
        let t = MemoryThresholds::default();
        let a = assess(GIB, &t, reading(0.0, 0.85));
        assert!(a.paused && a.terminate.is_none());
        let a = assess(GIB, &t, reading(0.0, 0.96));
        assert!(a.paused);
        let why = a.terminate.unwrap();
        assert_eq!(
            why,
            "its process memory (983.04 MiB) exceeded 95% of its memory limit (1.00 GiB)"
        );
        assert!(!assess(GIB, &t, reading(0.0, 0.79)).paused);
    }

    #[test]
    fn thresholds_can_be_turned_off() {
        let off = MemoryThresholds {
            target: None,
            spill: None,
            pause: None,
            terminate: None,
        };
        assert_eq!(
            assess(GIB, &off, reading(2.0, 2.0)),
            MemoryAction::default()
        );
        let spill_only = MemoryThresholds {
            target: None,
            ..off
        };
        let spill_only = MemoryThresholds {
            spill: Some(0.7),
            ..spill_only
        };
        // Without a target, spilling stops at the spill threshold.
        let a = assess(GIB, &spill_only, reading(0.5, 0.8));
        let want = (0.5 * GIB as f64) as u64 - ((0.8 - 0.7) * GIB as f64) as u64;
        assert!(a.spill_to.unwrap().abs_diff(want) < 16, "{a:?}");
    }

    #[test]
    fn bytes_display() {
        assert_eq!(Bytes(512).to_string(), "512 B");
        assert_eq!(Bytes(3 << 20).to_string(), "3.00 MiB");
    }
}
