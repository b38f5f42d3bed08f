//! What the nanny does when its worker process ends: pure decisions, no processes or clocks.

use std::collections::VecDeque;
use std::time::Duration;

/// Exit code with which a worker under a nanny asks for a fresh process (`Client.restart`,
/// its memory past the terminate threshold).
pub const RESTART_CODE: i32 = 75;

/// How a worker process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// The nanny killed it: its memory (`rss` bytes) passed the terminate threshold.
    Memory {
        /// Resident memory when it was killed.
        rss: u64,
        /// The worker's memory limit.
        limit: u64,
        /// The terminate threshold, in percent of the limit.
        percent: u32,
    },
}

impl Exit {
    /// Why the process ended, as the end of "the worker exited because ...".
    #[must_use]
    pub fn cause(&self) -> String {
        match self {
            Self::Code(code) => format!("its process exited with code {code}"),
            Self::Signal(sig) => format!(
                "its process was killed by signal {sig}{}",
                match *sig {
                    9 => " (SIGKILL: kill -9 or the out-of-memory killer)",
                    15 => " (SIGTERM)",
                    11 => " (SIGSEGV: a crash)",
                    6 => " (SIGABRT: a crash)",
                    _ => "",
                }
            ),
            Self::Memory {
                rss,
                limit,
                percent,
            } => format!(
                "its process memory ({} MiB) exceeded {percent}% of its memory limit ({} MiB); \
                 the nanny killed it",
                rss >> 20,
                limit >> 20
            ),
        }
    }
}

/// What to do after the worker process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Start a fresh process after `delay`; `unexpected` deaths are reported to the scheduler.
    Restart {
        /// Wait before starting it (backing off when the process keeps dying).
        delay: Duration,
        /// Whether the death was unexpected (not a requested restart).
        unexpected: bool,
    },
    /// Stop supervising; the nanny exits with `code`.
    Stop {
        /// The nanny's exit code.
        code: i32,
    },
}

/// Restart decisions with a back-off against crash loops: the first [`Policy::free`] deaths
/// within [`Policy::window`] restart at once, later ones wait twice as long each time, up to
/// [`Policy::max_delay`].
#[derive(Clone, Debug)]
pub struct Policy {
    /// Deaths in the window that restart without delay.
    pub free: usize,
    /// How far back deaths count.
    pub window: Duration,
    /// The first back-off delay.
    pub base_delay: Duration,
    /// The longest back-off delay.
    pub max_delay: Duration,
    /// Exits with an error code of processes that never settled, in a row, before stopping.
    pub max_failed_starts: usize,
    deaths: VecDeque<Duration>,
    started_once: bool,
    /// Whether the current process settled (lived long enough to count as started).
    settled: bool,
    failed_starts: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            free: 3,
            window: Duration::from_secs(60),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            max_failed_starts: 3,
            deaths: VecDeque::new(),
            started_once: false,
            settled: false,
            failed_starts: 0,
        }
    }
}

impl Policy {
    /// The current worker process started: it registered with the scheduler (or, without
    /// that signal, lived long enough).
    pub fn registered(&mut self) {
        self.started_once = true;
        self.settled = true;
        self.failed_starts = 0;
    }

    /// The process ended with `exit` at `now` (time since the nanny started); `stopping`
    /// when the nanny itself was asked to stop.
    pub fn on_exit(&mut self, now: Duration, exit: &Exit, stopping: bool) -> Decision {
        let settled = std::mem::take(&mut self.settled);
        match exit {
            _ if stopping => Decision::Stop { code: 0 },
            // Closed normally: retired, or the scheduler went away.
            Exit::Code(0) => Decision::Stop { code: 0 },
            Exit::Code(RESTART_CODE) => Decision::Restart {
                delay: Duration::ZERO,
                unexpected: false,
            },
            // A worker that never started (bad arguments, unreachable scheduler) would only
            // fail again.
            Exit::Code(code) if !self.started_once => Decision::Stop { code: *code },
            // Nor would one whose fresh processes keep failing at start (the scheduler is
            // gone for good).
            Exit::Code(code)
                if !settled && {
                    self.failed_starts += 1;
                    self.failed_starts >= self.max_failed_starts
                } =>
            {
                Decision::Stop { code: *code }
            }
            _ => {
                while self
                    .deaths
                    .front()
                    .is_some_and(|&t| now.saturating_sub(t) > self.window)
                {
                    self.deaths.pop_front();
                }
                self.deaths.push_back(now);
                let extra = self.deaths.len().saturating_sub(self.free);
                let delay = if extra == 0 {
                    Duration::ZERO
                } else {
                    let factor = 1u32 << (extra - 1).min(16);
                    (self.base_delay * factor).min(self.max_delay)
                };
                Decision::Restart {
                    delay,
                    unexpected: true,
                }
            }
        }
    }
}

/// Whether a process using `rss` bytes must be killed under `limit` (0: none) and the
/// `terminate` fraction.
#[must_use]
pub fn over_memory(rss: u64, limit: u64, terminate: Option<f64>) -> bool {
    match terminate {
        Some(fraction) if limit > 0 => rss as f64 > fraction * limit as f64,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn restart(ms: u64) -> Decision {
        Decision::Restart {
            delay: Duration::from_millis(ms),
            unexpected: true,
        }
    }

    #[test]
    fn each_ending_has_its_decision() {
        let mut p = Policy::default();
        let table = [
            (Exit::Code(1), false, Decision::Stop { code: 1 }), // never started
            (Exit::Code(0), false, Decision::Stop { code: 0 }),
            (Exit::Signal(9), true, Decision::Stop { code: 0 }), // the nanny stops
            (
                Exit::Code(RESTART_CODE),
                false,
                Decision::Restart {
                    delay: Duration::ZERO,
                    unexpected: false,
                },
            ),
        ];
        for (exit, stopping, want) in table {
            assert_eq!(p.on_exit(S, &exit, stopping), want, "{exit:?}");
        }
        p.registered();
        assert_eq!(p.on_exit(S, &Exit::Code(1), false), restart(0));
    }

    #[test]
    fn fresh_processes_that_keep_failing_at_start_stop_the_nanny() {
        let mut p = Policy::default();
        p.registered();
        let fail = Exit::Code(1);
        // The first process had settled; its two successors fail at start.
        for i in 1..=3 {
            assert_eq!(p.on_exit(S * i, &fail, false), restart(0));
        }
        p.registered(); // one settles: the count starts again, the back-off goes on
        assert_eq!(p.on_exit(S * 4, &fail, false), restart(500));
        assert_eq!(p.on_exit(S * 5, &fail, false), restart(1000));
        assert_eq!(p.on_exit(S * 6, &fail, false), restart(2000));
        assert_eq!(p.on_exit(S * 7, &fail, false), Decision::Stop { code: 1 });
        // Signals always restart: a task that kills its worker is the scheduler's to judge.
        let mut p = Policy::default();
        p.registered();
        for i in 0..5 {
            assert!(matches!(
                p.on_exit(S * i, &Exit::Signal(9), false),
                Decision::Restart { .. }
            ));
        }
    }

    #[test]
    fn a_crash_loop_backs_off_and_the_window_forgives() {
        let mut p = Policy::default();
        p.registered();
        let kill = Exit::Signal(9);
        let delays: Vec<Decision> = (0..7).map(|i| p.on_exit(S * i, &kill, false)).collect();
        let want = [0, 0, 0, 500, 1000, 2000, 4000].map(restart);
        assert_eq!(delays, want);
        for i in 7..12 {
            p.on_exit(S * i, &kill, false);
        }
        assert_eq!(p.on_exit(S * 13, &kill, false), restart(10_000)); // capped
                                                                      // Much later, old deaths no longer count.
        assert_eq!(p.on_exit(S * 200, &kill, false), restart(0));
    }

    #[test]
    fn memory_is_judged_against_the_terminate_fraction() {
        assert!(over_memory(96, 100, Some(0.95)));
        assert!(!over_memory(95, 100, Some(0.95)));
        assert!(!over_memory(1 << 40, 0, Some(0.95)));
        assert!(!over_memory(200, 100, None));
    }

    #[test]
    fn causes_name_the_signal_code_or_memory() {
        assert!(Exit::Signal(9).cause().contains("signal 9 (SIGKILL"));
        assert_eq!(Exit::Code(3).cause(), "its process exited with code 3");
        let m = Exit::Memory {
            rss: 300 << 20,
            limit: 200 << 20,
            percent: 95,
        };
        assert!(m
            .cause()
            .contains("exceeded 95% of its memory limit (200 MiB)"));
    }
}
