//! The dashboard's JSON, answered by the core from its state and the task stream (the routes
//! and pages are in `http.rs` and `pages.rs`). See `dashboard/page.html` for the pages.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::stream::Stream;
use crate::SchedulerState;

/// What a page asks the core.
#[derive(Debug, Clone)]
pub(crate) enum Query {
    TaskStream {
        since: u64,
    },
    Progress,
    Groups,
    Graph {
        limit: usize,
    },
    Exceptions,
    /// A key as its Python repr (`'inc-1a2b'`, `('x', 0)`).
    Task(String),
    Worker(String),
    Metrics,
    /// Workers the load asks for (`{"workers": n}`), with this target duration in seconds.
    AdaptiveTarget {
        target_duration: f64,
        /// Also count the workers ending soon (`ending`), for oxdask's `Adaptive`.
        ending: bool,
    },
    /// Whom to close to get down to `target` workers (`{"workers": [addresses]}`).
    WorkersToClose {
        target: usize,
        min_age: f64,
        max_fraction: f64,
        /// Close whole jobs: workers named `<job>-<i>` form group `<job>`.
        by_job: bool,
    },
    /// The workers (`{"workers": [{"name", "address"}]}`).
    Workers,
    /// Since when nothing runs or waits (`{"idle_since": epoch seconds or null}`).
    Idle,
}

impl Query {
    /// The query for a view path as clients name it: `"task-stream?since=10"`, `"progress"`,
    /// `"groups"`, `"graph?limit=100"`, `"exceptions"`, `"metrics"`, `"task/<repr>"`,
    /// `"worker/<address>"`.
    pub(crate) fn parse(path: &str) -> Option<Self> {
        let (view, params) = path.split_once('?').unwrap_or((path, ""));
        let raw = |name: &str| {
            params
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v)
        };
        let int = |name: &str| raw(name).and_then(|v| v.parse::<u64>().ok());
        let float = |name: &str| raw(name).and_then(|v| v.parse::<f64>().ok());
        Some(match view {
            "task-stream" => Self::TaskStream {
                since: int("since").unwrap_or(0),
            },
            "progress" => Self::Progress,
            "groups" => Self::Groups,
            "graph" => Self::Graph {
                limit: int("limit").map_or(2000, |n| n as usize),
            },
            "exceptions" => Self::Exceptions,
            "metrics" => Self::Metrics,
            "adaptive_target" => Self::AdaptiveTarget {
                target_duration: float("target_duration").unwrap_or(5.0),
                ending: int("ending") == Some(1),
            },
            "workers_to_close" => Self::WorkersToClose {
                target: int("target").map_or(0, |n| n as usize),
                min_age: float("min_age").unwrap_or(0.0),
                max_fraction: float("max_fraction").unwrap_or(1.0),
                by_job: int("by_job") == Some(1),
            },
            "get_workers" => Self::Workers,
            "check_idle" => Self::Idle,
            _ => match view.split_once('/') {
                Some(("task", key)) => Self::Task(key.to_owned()),
                Some(("worker", address)) => Self::Worker(address.to_owned()),
                _ => return None,
            },
        })
    }
}

/// What the core knows beyond the state machine: the stream, and per worker address its
/// name and pid.
pub(crate) struct Context<'a> {
    pub state: &'a SchedulerState,
    pub stream: &'a Stream,
    pub workers: &'a HashMap<String, super::translate::WorkerMeta>,
    pub address: &'a str,
    /// Seconds since the scheduler started.
    pub now: f64,
    /// Epoch seconds when the scheduler started.
    pub epoch: f64,
    pub clients: usize,
    /// The core's event-loop timing.
    pub loop_time: super::core::LoopTime,
}

/// The answer to `query`, as JSON text (Prometheus text for `Metrics`).
pub(crate) fn answer(query: &Query, cx: &Context<'_>) -> String {
    let value = match query {
        Query::TaskStream { since } => {
            let (ran, next) = cx.stream.since(*since);
            let tasks: Vec<Value> = ran
                .map(|r| {
                    json!({"key": r.key.to_string(), "prefix": r.prefix, "worker": r.worker,
                           "start": r.start, "stop": r.stop,
                           "status": if r.ok { "ok" } else { "erred" }})
                })
                .collect();
            json!({"next": next, "now": cx.now, "tasks": tasks})
        }
        Query::Progress => {
            let prefixes: Vec<Value> = cx.state.prefix_counts().iter().map(counts).collect();
            json!({ "prefixes": prefixes })
        }
        Query::Groups => {
            let groups: Vec<Value> = cx
                .state
                .groups()
                .iter()
                .map(|g| {
                    let mut v = counts(&g.counts);
                    v["dependencies"] = json!(g.dependencies);
                    v
                })
                .collect();
            json!({ "groups": groups })
        }
        Query::Graph { limit } => match cx.state.graph(*limit) {
            Some((nodes, edges)) => {
                let nodes: Vec<Value> = nodes
                    .iter()
                    .map(|(k, p, s)| json!({"key": k.to_string(), "prefix": p, "state": s.to_string()}))
                    .collect();
                json!({"too_large": false, "count": nodes.len(), "limit": limit,
                       "nodes": nodes, "edges": edges})
            }
            None => json!({"too_large": true, "count": cx.state.task_count(), "limit": limit,
                           "nodes": [], "edges": []}),
        },
        Query::Exceptions => {
            let list: Vec<Value> = cx
                .stream
                .exceptions()
                .map(|e| {
                    json!({"key": e.key.to_string(), "prefix": e.prefix, "worker": e.worker,
                           "time": e.time, "text": e.text})
                })
                .collect();
            json!({ "exceptions": list })
        }
        Query::Task(repr) => match cx.state.key_by_repr(repr) {
            Some(key) => {
                let state = cx
                    .state
                    .task_state(&key)
                    .map(|t| t.state.kind().to_string());
                json!({"key": repr, "state": state, "why": cx.state.why(&key)})
            }
            None => json!({"key": repr, "state": null,
                           "why": format!("the scheduler does not know the key {repr}")}),
        },
        Query::Worker(address) => {
            let Some((held, running)) = cx.state.worker_tasks(address, 1000) else {
                return json!({"error": format!("no worker at {address}")}).to_string();
            };
            let keys: Vec<Value> = held
                .iter()
                .map(|(k, n)| json!({"key": k.to_string(), "nbytes": n}))
                .collect();
            let running: Vec<String> = running.iter().map(ToString::to_string).collect();
            let mut v = worker_entry(cx, address).unwrap_or_else(|| json!({}));
            v["keys"] = json!(keys);
            v["processing_keys"] = json!(running);
            v
        }
        Query::Metrics => return metrics(cx),
        Query::AdaptiveTarget {
            target_duration,
            ending,
        } => {
            let per = crate::Time((target_duration.max(1e-3) * 1e6) as u64);
            let mut v = json!({ "workers": cx.state.adaptive_target(per) });
            if *ending {
                v["ending"] = json!(cx.state.ending_workers(per));
            }
            v
        }
        Query::WorkersToClose {
            target,
            min_age,
            max_fraction,
            by_job,
        } => {
            let job = |address: &str| -> String {
                let name = cx.workers.get(address).map_or(address, |m| m.name.as_str());
                match name.rsplit_once('-') {
                    Some((job, i)) if *by_job && i.chars().all(|c| c.is_ascii_digit()) => {
                        job.to_owned()
                    }
                    _ => address.to_owned(),
                }
            };
            let now = crate::Time((cx.now * 1e6) as u64);
            let age = crate::Time((min_age.max(0.0) * 1e6) as u64);
            let close = cx
                .state
                .workers_to_close(*target, now, age, *max_fraction, &job);
            json!({ "workers": close })
        }
        Query::Workers => {
            let list: Vec<Value> = cx
                .state
                .workers()
                .iter()
                .map(|w| {
                    let name = cx
                        .workers
                        .get(&w.address)
                        .map_or(w.address.as_str(), |m| m.name.as_str());
                    json!({"name": name, "address": w.address})
                })
                .collect();
            json!({ "workers": list })
        }
        Query::Idle => {
            let c = cx.state.counts_by_state();
            let busy = c.processing + c.queued + c.waiting > 0;
            let since = (!busy).then(|| cx.epoch + cx.stream.last_stop().unwrap_or(0.0));
            json!({ "idle_since": since })
        }
    };
    value.to_string()
}

fn counts(c: &crate::PrefixCounts) -> Value {
    let mut v = json!({"name": c.name, "total": c.states.total(), "no-worker": 0,
                       "done": c.done()});
    for (state, n) in c.states.iter() {
        v[state.to_string()] = json!(n);
    }
    v
}

fn worker_entry(cx: &Context<'_>, address: &str) -> Option<Value> {
    let workers = super::translate::snapshot_value(cx.state, cx.address, cx.workers, cx.now);
    workers["workers"]
        .as_array()?
        .iter()
        .find(|w| w["address"] == address)
        .cloned()
}

/// Prometheus text, with Dask's metric names where Dask has them.
fn metrics(cx: &Context<'_>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, kind: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let workers = cx.state.workers();
    gauge(
        "dask_scheduler_workers",
        "Number of workers connected.",
        "gauge",
        vec![(String::new(), workers.len() as f64)],
    );
    gauge(
        "dask_scheduler_clients",
        "Number of clients connected.",
        "gauge",
        vec![(String::new(), cx.clients as f64)],
    );
    let by_state = cx.state.counts_by_state().iter();
    gauge(
        "dask_scheduler_tasks",
        "Number of tasks known by the scheduler, by state.",
        "gauge",
        by_state
            .map(|(s, n)| (format!("{{state=\"{s}\"}}"), n as f64))
            .collect(),
    );
    let mut prefix_rows = Vec::new();
    for p in cx.state.prefix_counts() {
        let name = p.name.replace('\\', "\\\\").replace('"', "\\\"");
        for (s, n) in p.states.iter() {
            prefix_rows.push((
                format!("{{task_prefix_name=\"{name}\",state=\"{s}\"}}"),
                n as f64,
            ));
        }
    }
    gauge(
        "dask_scheduler_prefix_state",
        "Tasks per task prefix and state.",
        "gauge",
        prefix_rows,
    );
    gauge(
        "dask_scheduler_tasks_completed_total",
        "Tasks that finished, since the scheduler started.",
        "counter",
        vec![(String::new(), cx.stream.finished as f64)],
    );
    gauge(
        "dask_scheduler_tasks_erred_total",
        "Tasks that raised, since the scheduler started.",
        "counter",
        vec![(String::new(), cx.stream.erred as f64)],
    );
    let lt = cx.loop_time;
    gauge(
        "dask_scheduler_tick_count_total",
        "Inputs (messages, ticks, queries) the scheduler's core handled.",
        "counter",
        vec![(String::new(), lt.count as f64)],
    );
    gauge(
        "dask_scheduler_tick_duration_seconds_total",
        "Time the scheduler's core spent handling them.",
        "counter",
        vec![(String::new(), lt.total_s)],
    );
    gauge(
        "dask_scheduler_tick_duration_maximum_seconds",
        "The longest the scheduler's core took over one input.",
        "gauge",
        vec![(String::new(), lt.max_s)],
    );
    let mut memory = Vec::new();
    for w in &workers {
        let unmanaged = w.memory.saturating_sub(w.managed);
        for (kind, v) in [
            ("managed", w.managed),
            ("unmanaged", unmanaged),
            ("spilled", w.spilled),
        ] {
            memory.push((
                format!("{{worker=\"{}\",type=\"{kind}\"}}", w.address),
                v as f64,
            ));
        }
    }
    gauge(
        "dask_worker_memory_bytes",
        "Memory of each worker, by type.",
        "gauge",
        memory,
    );
    out
}
