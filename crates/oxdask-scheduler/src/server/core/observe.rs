//! What the core records for the dashboard (the task stream, exceptions) and how it answers
//! the dashboard's queries.

use std::collections::HashMap;

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

    /// Records a finished or failed task in the stream (its start is its end minus the run
    /// time the worker measured).
    pub(super) fn observe(&mut self, worker: WorkerId, msg: &WorkerToScheduler) {
        let stop = self.seconds();
        let (key, start, ok) = match msg {
            WorkerToScheduler::TaskFinished {
                key, duration_us, ..
            } => (key, (stop - *duration_us as f64 / 1e6).max(0.0), true),
            WorkerToScheduler::TaskErred { key, error } => {
                self.stream.raised(Raised {
                    key: key.clone(),
                    prefix: key_prefix(key),
                    worker: self.address_of(worker),
                    time: stop,
                    text: error.text.clone(),
                });
                (key, stop, false)
            }
            WorkerToScheduler::Heartbeat { usage, .. } => {
                return self.observe_usage(worker, *usage);
            }
            WorkerToScheduler::Transferred {
                keys, duration_us, ..
            } => {
                let Some(key) = keys.first() else { return };
                self.stream.transfer(Ran {
                    key: key.clone(),
                    prefix: format!("transfer-{}", key_prefix(key)),
                    worker: self.address_of(worker),
                    start: (stop - *duration_us as f64 / 1e6).max(0.0),
                    stop,
                    ok: true,
                });
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
