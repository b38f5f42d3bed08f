//! What the core records for the dashboard (the task stream, exceptions) and how it answers
//! the dashboard's queries.

use std::collections::HashMap;

use oxdask_graph::Key;
use oxdask_protocol::messages::WorkerToScheduler;

use super::Core;
use crate::server::dashboard::{answer, Context, Query};
use crate::server::stream::{Raised, Ran};
use crate::server::translate::WorkerMeta;
use crate::{key_prefix, WorkerId};
use oxdask_protocol::ProcessUsage;

impl Core {
    /// Seconds since the scheduler started.
    pub(super) fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// When something a worker reports ended, in seconds since the scheduler started: the
    /// worker's own clock (`stop_us`, microseconds since the UNIX epoch) when it agrees with
    /// the report's arrival within `slack` seconds (so a worker whose clock is off does not
    /// scramble the stream), else the arrival.
    fn worker_time(&self, stop_us: u64, slack: f64) -> f64 {
        let arrival = self.seconds();
        if stop_us == 0 {
            return arrival;
        }
        let theirs = stop_us as f64 / 1e6 - self.started_epoch;
        if theirs <= arrival + 0.05 && arrival - theirs <= slack {
            theirs.min(arrival)
        } else {
            arrival
        }
    }

    /// Records a finished or failed task in the stream (from when the worker says it ended
    /// and how long it ran), a transfer, or spilling (`disk-write-*`, `disk-read-*`).
    pub(super) fn observe(&mut self, worker: WorkerId, msg: &WorkerToScheduler) {
        let (key, start, stop, ok) = match msg {
            WorkerToScheduler::TaskFinished {
                key,
                duration_us,
                stop_us,
                ..
            } => {
                let stop = self.worker_time(*stop_us, 2.0);
                (key, (stop - *duration_us as f64 / 1e6).max(0.0), stop, true)
            }
            WorkerToScheduler::TaskErred { key, error } => {
                let stop = self.seconds();
                self.stream.raised(Raised {
                    key: key.clone(),
                    prefix: key_prefix(key),
                    worker: self.address_of(worker),
                    time: stop,
                    text: error.text.clone(),
                });
                (key, stop, stop, false)
            }
            WorkerToScheduler::Heartbeat { usage, .. } => {
                return self.observe_usage(worker, *usage);
            }
            WorkerToScheduler::Transferred {
                keys,
                duration_us,
                stop_us,
                ..
            } => {
                let Some(key) = keys.first() else { return };
                let stop = self.worker_time(*stop_us, 2.0);
                let entry = self.span(worker, key, "transfer", *duration_us, stop);
                return self.stream.not_a_task(entry);
            }
            WorkerToScheduler::Disk { spans } => {
                // (sent with heartbeats: up to a few seconds after the fact)
                for s in spans {
                    let kind = if s.read { "disk-read" } else { "disk-write" };
                    let stop = self.worker_time(s.stop_us, 30.0);
                    let entry = self.span(worker, &s.key, kind, s.duration_us, stop);
                    self.stream.not_a_task(entry);
                }
                return;
            }
            _ => return,
        };
        self.stream.ran(Ran {
            key: key.clone(),
            prefix: key_prefix(key),
            worker: self.address_of(worker),
            start,
            stop,
            ok,
        });
    }

    /// A stream entry for work that is not a task (`kind-<prefix of key>`).
    fn span(&self, worker: WorkerId, key: &Key, kind: &str, duration_us: u64, stop: f64) -> Ran {
        Ran {
            key: key.clone(),
            prefix: format!("{kind}-{}", key_prefix(key)),
            worker: self.address_of(worker),
            start: (stop - duration_us as f64 / 1e6).max(0.0),
            stop,
            ok: true,
        }
    }

    /// Names and pids of the workers, by address.
    pub(super) fn worker_meta(&self) -> HashMap<String, WorkerMeta> {
        self.workers
            .values()
            .map(|w| {
                let meta = WorkerMeta {
                    name: w.name.clone(),
                    pid: w.pid,
                    rates: w.rates,
                };
                (w.address.clone(), meta)
            })
            .collect()
    }

    /// Rates from a worker's heartbeat and its previous one.
    pub(super) fn observe_usage(&mut self, worker: WorkerId, usage: ProcessUsage) {
        if let Some(w) = self.workers.get_mut(&worker) {
            let now = std::time::Instant::now();
            if let Some((then, earlier)) = w.usage {
                w.rates = usage.rates(&earlier, now.duration_since(then).as_secs_f64());
            }
            w.usage = Some((now, usage));
        }
    }

    /// The cluster as JSON (`/json/state`, `Client.scheduler_info`).
    pub(super) fn snapshot(&self) -> String {
        let meta = self.worker_meta();
        let mut v =
            super::translate::snapshot_value(&self.state, &self.address, &meta, self.seconds());
        v["dashboard"] = serde_json::json!(self.dashboard.as_ref().map(|d| format!("{d}/status")));
        v.to_string()
    }

    /// Retires `workers` (or the `n` least loaded, no task in progress); the addresses as JSON.
    pub(super) fn retire(&mut self, mut workers: Vec<String>, n: Option<usize>) -> String {
        if let Some(n) = n {
            let target = self.workers.len().saturating_sub(n);
            let now = crate::Time((self.seconds() * 1e6) as u64);
            let own = |a: &str| a.to_owned();
            workers = self
                .state
                .workers_to_close(target, now, crate::Time::ZERO, 1.0, &own);
        }
        let ids: Vec<WorkerId> = workers
            .iter()
            .filter_map(|a| self.by_address.get(a).copied())
            .collect();
        workers.retain(|a| self.by_address.contains_key(a));
        if !ids.is_empty() {
            self.event(crate::EventKind::RetireRequested { workers: ids });
        }
        serde_json::json!({ "workers": workers }).to_string()
    }

    /// The answer to a dashboard query.
    pub(super) fn answer(&self, query: &Query) -> String {
        let meta = self.worker_meta();
        let cx = Context {
            state: &self.state,
            stream: &self.stream,
            workers: &meta,
            address: &self.address,
            now: self.seconds(),
            epoch: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
                - self.seconds(),
            clients: self.clients.len(),
            loop_time: self.loop_time,
        };
        answer(query, &cx)
    }
}

/// The core's event-loop timing: inputs handled, total and longest handling time.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LoopTime {
    pub count: u64,
    pub total_s: f64,
    pub max_s: f64,
}

impl LoopTime {
    pub(super) fn record(&mut self, took: std::time::Duration) {
        let s = took.as_secs_f64();
        self.count += 1;
        self.total_s += s;
        self.max_s = self.max_s.max(s);
    }
}
