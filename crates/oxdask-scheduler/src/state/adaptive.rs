//! Adaptive scaling, decided here and carried out by the cluster manager: how many workers
//! the load asks for ([`SchedulerState::adaptive_target`]), which to close
//! ([`SchedulerState::workers_to_close`]), and when to act ([`AdaptivePolicy`]: hysteresis
//! against flapping, a pause after launch failures). Pure: no clocks, no IO.

use std::collections::BTreeMap;

use super::{SchedulerState, Time, WorkerStatus};

/// Fraction of the cluster's memory limits past which one more worker is asked for.
const MEMORY_PRESSURE: f64 = 0.6;

/// How long before a worker's announced end (its batch job's walltime, its `--lifetime`),
/// beyond `target_duration`, its replacement is asked for: time for a job to wait in the
/// queue and start, and for the ending worker's results to move to it.
pub const WALLTIME_LEAD: Time = Time::from_secs(60);

impl SchedulerState {
    /// Workers the load asks for: the expected run time of the tasks processing and queued
    /// over `target_duration` (at most one per runnable task, at least one while any is), and
    /// one more than now while the workers' memory passes 60% of their limits.
    #[must_use]
    pub fn adaptive_target(&self, target_duration: Time) -> usize {
        let unknown = self.config.unknown_task_duration;
        let mut work: u64 = self.workers.values().map(|w| w.occupancy).sum();
        let mut runnable: usize = self.workers.values().map(|w| w.processing.len()).sum();
        for (_, _, t) in self.queues.entries() {
            work += self.durations.expected(self.tasks[t].func, unknown);
            runnable += 1;
        }
        let cpu = if runnable == 0 {
            0
        } else {
            let per = target_duration.0.max(1);
            (work.div_ceil(per) as usize).clamp(1, runnable)
        };
        let limit: u64 = self.workers.values().map(|w| w.memory_limit).sum();
        let used: u64 = self.workers.values().map(|w| w.memory).sum();
        let memory = if limit > 0 && used as f64 > MEMORY_PRESSURE * limit as f64 {
            self.workers.len() + 1
        } else {
            0
        };
        // A worker ending soon (its walltime) is replaced ahead of time.
        let ending = self.ending_workers(target_duration);
        let wanted = cpu.max(memory);
        if wanted > 0 {
            wanted + ending
        } else {
            0
        }
    }

    /// Workers whose announced end comes within `target_duration` plus [`WALLTIME_LEAD`]:
    /// those the target counts twice while there is work (the cluster manager also keeps a
    /// minimum of workers beyond them).
    #[must_use]
    pub fn ending_workers(&self, target_duration: Time) -> usize {
        let horizon = self
            .now
            .0
            .saturating_add(target_duration.0)
            .saturating_add(WALLTIME_LEAD.0);
        self.workers
            .values()
            .filter(|w| w.ends_at.is_some_and(|end| end.0 <= horizon))
            .count()
    }

    /// Addresses of the workers to close to get down to `target`: only running workers with
    /// no task in progress that joined at least `min_age` before `now`, holding the least
    /// data first (retiring moves it to others), whole groups at once (`group_of` names a
    /// worker's group, e.g. its job), at most `max_fraction` of the workers per step.
    #[must_use]
    pub fn workers_to_close(
        &self,
        target: usize,
        now: Time,
        min_age: Time,
        max_fraction: f64,
        group_of: &dyn Fn(&str) -> String,
    ) -> Vec<String> {
        let current = self.workers.len();
        if target >= current {
            return Vec::new();
        }
        let step_cap = ((max_fraction * current as f64).floor() as usize).max(1);
        let budget = (current - target).min(step_cap);
        // Groups: every member must be closable; the group's data is the sum of its members'.
        let mut groups: BTreeMap<String, (bool, u64, Vec<String>)> = BTreeMap::new();
        for w in self.workers.values() {
            let entry = groups
                .entry(group_of(&w.address))
                .or_insert((true, 0, Vec::new()));
            let closable = w.status == WorkerStatus::Running
                && w.processing.is_empty()
                && now.0.saturating_sub(w.joined.0) >= min_age.0;
            entry.0 &= closable;
            entry.1 += w.nbytes;
            entry.2.push(w.address.clone());
        }
        let mut candidates: Vec<(u64, String, Vec<String>)> = groups
            .into_iter()
            .filter(|(_, (closable, _, _))| *closable)
            .map(|(name, (_, nbytes, members))| (nbytes, name, members))
            .collect();
        candidates.sort();
        let mut out = Vec::new();
        for (_, _, mut members) in candidates {
            if out.len() + members.len() > budget {
                continue;
            }
            members.sort();
            out.extend(members);
        }
        out
    }
}

/// What the cluster manager should do now.
#[derive(Clone, Debug, PartialEq)]
pub enum Recommendation {
    /// Nothing.
    Hold,
    /// Ask for workers up to this many.
    Up(usize),
    /// Close workers down to this many.
    Down(usize),
    /// Scale-up is paused until `until` (seconds) after repeated launch failures.
    Paused {
        /// When scale-up resumes.
        until: f64,
        /// Why, for a warning.
        reason: String,
    },
}

/// When to act on the target: up at once (unless paused after launch failures); down only
/// after `wait_count` consecutive checks asked for fewer *and* the target stayed lower for
/// `window` seconds.
#[derive(Clone, Debug)]
pub struct AdaptivePolicy {
    /// Fewest workers.
    pub minimum: usize,
    /// Most workers.
    pub maximum: usize,
    /// Consecutive checks that must ask for fewer workers before closing any.
    pub wait_count: u32,
    /// Seconds the target must stay low before closing any.
    pub window: f64,
    /// Launch failures in a row that pause scale-up.
    pub max_failures: u32,
    /// The first pause, in seconds (doubling while failures go on, up to ten minutes).
    pub pause: f64,
    low_votes: u32,
    low_since: Option<f64>,
    failures: u32,
    paused_until: Option<f64>,
}

impl AdaptivePolicy {
    /// A policy between `minimum` and `maximum` workers.
    #[must_use]
    pub fn new(minimum: usize, maximum: usize, wait_count: u32, window: f64) -> Self {
        Self {
            minimum,
            maximum: maximum.max(minimum),
            wait_count: wait_count.max(1),
            window: window.max(0.0),
            max_failures: 3,
            pause: 30.0,
            low_votes: 0,
            low_since: None,
            failures: 0,
            paused_until: None,
        }
    }

    /// One check at `now` (seconds): the scheduler's `target` and the `current` workers.
    pub fn step(&mut self, now: f64, target: usize, current: usize) -> Recommendation {
        let target = target.clamp(self.minimum, self.maximum);
        if target >= current {
            self.low_votes = 0;
            self.low_since = None;
        }
        if target > current {
            if let Some(until) = self.paused_until.filter(|&u| now < u) {
                let reason = format!(
                    "{} worker launches failed in a row; asking for more workers again in {:.0} s",
                    self.failures,
                    until - now
                );
                return Recommendation::Paused { until, reason };
            }
            return Recommendation::Up(target);
        }
        if target == current {
            return Recommendation::Hold;
        }
        self.low_votes += 1;
        let since = *self.low_since.get_or_insert(now);
        if self.low_votes >= self.wait_count && now - since >= self.window {
            self.low_votes = 0;
            self.low_since = None;
            return Recommendation::Down(target);
        }
        Recommendation::Hold
    }

    /// A launch of workers failed at `now`.
    pub fn launch_failed(&mut self, now: f64) {
        self.failures += 1;
        if self.failures >= self.max_failures {
            let doublings = (self.failures - self.max_failures).min(5);
            let pause = (self.pause * f64::from(1u32 << doublings)).min(600.0);
            self.paused_until = Some(now + pause);
        }
    }

    /// Workers launched and joined: failures are forgotten.
    pub fn launched(&mut self) {
        self.failures = 0;
        self.paused_until = None;
    }
}
