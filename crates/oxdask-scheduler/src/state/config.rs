//! Scheduler settings, with Dask's defaults.

use crate::{Result, SchedulerError, Time};

/// What moving one value between workers costs besides its bytes: a request and its reply,
/// pickling on one side and unpickling on the other, each taking the worker's GIL (measured:
/// hundreds of microseconds of CPU per small value). Without it a task with many small
/// inputs went to whichever worker was a little less busy, moving most of them.
pub(crate) const PER_VALUE_TRANSFER: Time = Time::from_micros(500);

/// Tunables of the scheduling policies. `Default` gives Dask's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConfig {
    /// Root-task queuing (Dask's `distributed.scheduler.worker-saturation`): a worker is sent
    /// root tasks only while it processes fewer than `max(ceil(nthreads * saturation), 1)`
    /// tasks. `f64::INFINITY` turns queuing off (root tasks go out immediately, as before Dask
    /// 2022.11). Default 1.1.
    pub worker_saturation: f64,
    /// Root tasks known to be short may go beyond the saturation limit while the expected
    /// work sent to a worker (its occupancy) stays below `nthreads` times this horizon, so
    /// streams of millisecond tasks are not paced by one scheduler round trip each. Tasks of
    /// functions never timed count as `unknown_task_duration`, far above it. Default 5 ms.
    pub root_task_horizon: Time,
    /// Expected duration of a task whose function was never timed (Dask's
    /// `default-task-durations` fallback). Default 0.5 s.
    pub unknown_task_duration: Time,
    /// Estimated worker-to-worker bandwidth in bytes per second, for the cost of moving a
    /// task's inputs when stealing. Default 100 MB/s, as Dask.
    pub bandwidth: u64,
    /// How many workers may die while running a task before it errs with `KilledWorker`
    /// (Dask's `allowed-failures`): the task errs on death number `allowed_failures + 1`.
    /// Default 3.
    pub allowed_failures: u32,
    /// A worker whose last message is older than this on a `Tick` is treated as dead
    /// (Dask's `worker-ttl`). Default 5 minutes.
    pub worker_ttl: Time,
    /// Whether `Tick` moves queued work from busy workers to idle ones. Default true.
    pub work_stealing: bool,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            worker_saturation: 1.1,
            root_task_horizon: Time::from_millis(5),
            unknown_task_duration: Time::from_millis(500),
            bandwidth: 100_000_000,
            allowed_failures: 3,
            worker_ttl: Time::from_secs(300),
            work_stealing: true,
        }
    }
}

impl SchedulerConfig {
    /// Checks every field; the IO layer calls this when it reads user configuration.
    /// [`crate::SchedulerState::new`] also accepts invalid values, clamping them: a
    /// non-positive saturation behaves as the minimum of one task per worker, NaN as infinity
    /// (no queuing), a zero bandwidth as one byte per second.
    pub fn validate(&self) -> Result<()> {
        let s = self.worker_saturation;
        if s.is_nan() || s <= 0.0 {
            return Err(SchedulerError::InvalidConfig {
                field: "worker_saturation",
                value: s.to_string(),
                expected: "a positive number or infinity",
            });
        }
        if self.bandwidth == 0 {
            return Err(SchedulerError::InvalidConfig {
                field: "bandwidth",
                value: "0".into(),
                expected: "a positive number of bytes per second",
            });
        }
        Ok(())
    }

    /// True when root tasks are held on the scheduler (saturation is finite).
    pub(crate) fn queues_root_tasks(&self) -> bool {
        self.worker_saturation.is_finite()
    }

    /// How many tasks a worker of `nthreads` threads may process before root tasks wait.
    pub(crate) fn slots(&self, nthreads: u32) -> usize {
        let s = self.worker_saturation;
        if !s.is_finite() {
            return usize::MAX;
        }
        let raw = (f64::from(nthreads) * s).ceil();
        // `as` saturates on out-of-range floats (and maps NaN to 0), which `max(1)` then fixes.
        (raw as usize).max(1)
    }

    /// Microseconds to move `keys` values of `bytes` in all between workers: the bytes at
    /// `bandwidth`, plus [`PER_VALUE_TRANSFER`] per value.
    pub(crate) fn transfer_time(&self, bytes: u64, keys: u64) -> u64 {
        let bw = u128::from(self.bandwidth.max(1));
        let us = u128::from(bytes) * 1_000_000 / bw
            + u128::from(keys) * u128::from(PER_VALUE_TRANSFER.as_micros());
        u64::try_from(us).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_dask() {
        let c = SchedulerConfig::default();
        assert_eq!(c.slots(1), 2);
        assert_eq!(c.slots(4), 5);
        assert_eq!(c.slots(10), 11);
        let one = SchedulerConfig {
            worker_saturation: 1.0,
            ..c.clone()
        };
        assert_eq!(one.slots(4), 4);
        let low = SchedulerConfig {
            worker_saturation: 0.01,
            ..c.clone()
        };
        assert_eq!(low.slots(4), 1);
        let off = SchedulerConfig {
            worker_saturation: f64::INFINITY,
            ..c
        };
        assert_eq!(off.slots(4), usize::MAX);
    }

    #[test]
    fn validate_names_the_field() {
        let bad = SchedulerConfig {
            worker_saturation: -1.0,
            ..SchedulerConfig::default()
        };
        let err = bad.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "config field worker_saturation is -1, expected a positive number or infinity"
        );
        assert!(SchedulerConfig::default().validate().is_ok());
    }
}
