//! Conversions between wire messages and the state machine's events and commands.

use std::collections::HashMap;

use bytes::Bytes;

use oxdask_graph::Key;
use oxdask_protocol::messages::{
    ComputeTask, ErrorBlob, Failure, SchedulerToClient, WireTask, WorkerToScheduler,
};
use serde_json::json;

use crate::{
    Command, ComputeSpec, EventKind, NewTask, Priority, SchedulerState, TaskError, TaskErrorBlob,
    TaskPayload, Time, WorkerId, WorkerStatus,
};

/// A submitted task; worker restrictions name addresses (unknown ones are dropped).
pub(crate) fn new_task(t: WireTask, by_address: &HashMap<String, WorkerId>) -> NewTask {
    let restrictions = t.workers.map(|ws| {
        ws.iter()
            .filter_map(|a| by_address.get(a).copied())
            .collect()
    });
    NewTask {
        key: t.key,
        deps: t.deps,
        payload: TaskPayload {
            data: t.payload,
            function: t.function,
        },
        func_name: t.func_name,
        priority: t.priority,
        restrictions,
        allow_other_workers: t.allow_other_workers,
        resources: t.resources,
        retries: t.retries,
    }
}

/// The event a worker's report stands for (`None` for reports handled by the IO layer).
pub(crate) fn worker_event(
    worker: WorkerId,
    msg: WorkerToScheduler,
    by_address: &HashMap<String, WorkerId>,
) -> Option<EventKind> {
    Some(match msg {
        WorkerToScheduler::Heartbeat {
            managed,
            process,
            spilled,
            ..
        } => EventKind::Heartbeat {
            worker,
            memory: process,
            managed,
            spilled,
        },
        WorkerToScheduler::Paused { paused, reason } => EventKind::WorkerPaused {
            worker,
            paused,
            reason,
        },
        WorkerToScheduler::Closing { reason } => EventKind::WorkerClosing { worker, reason },
        WorkerToScheduler::TaskFinished {
            key,
            nbytes,
            duration_us,
            type_name,
            value: _,
            stop_us: _,
        } => EventKind::TaskFinished {
            worker,
            key,
            nbytes,
            duration: Time(duration_us),
            type_name,
        },
        WorkerToScheduler::LongRunning { key } => EventKind::TaskSeceded { worker, key },
        WorkerToScheduler::TaskErred { key, error } => EventKind::TaskErred {
            worker,
            key,
            error: TaskErrorBlob {
                exception: error.exception,
                traceback: error.traceback,
                text: error.text,
            },
        },
        WorkerToScheduler::DataMissing { key, holder } => EventKind::DataMissing {
            worker,
            holder: *by_address.get(&holder)?,
            key,
        },
        WorkerToScheduler::DataAdded { keys } => EventKind::DataAdded {
            worker,
            keys,
            client: None,
        },
        WorkerToScheduler::StealResponse { key, stolen } => EventKind::StealResponse {
            worker,
            key,
            stolen,
        },
        WorkerToScheduler::Register(_)
        | WorkerToScheduler::RunResult { .. }
        | WorkerToScheduler::Transferred { .. }
        | WorkerToScheduler::Disk { .. } => return None,
    })
}

/// Lower values run first on the worker: higher user priority, then earlier graphs, then the
/// graph's static order.
fn wire_priority(p: Priority) -> i64 {
    let user = -i64::from(p.user) << 48;
    let generation = i64::try_from(p.generation & 0xFFFF).unwrap_or(0) << 32;
    user + generation + i64::from(p.order)
}

/// The message asking a worker to run a task.
pub(crate) fn compute(task: ComputeSpec, deps: Vec<(Key, Vec<String>)>) -> ComputeTask {
    ComputeTask {
        key: task.key,
        payload: task.payload.data,
        function: task.payload.function,
        deps,
        priority: wire_priority(task.priority),
        resources: task.resources,
        nbytes: task.nbytes,
        inline: task.wanted,
    }
}

/// A task's failure as a client receives it.
fn failure(error: &TaskError) -> Failure {
    match error {
        TaskError::Raised(blob) => Failure::Raised(ErrorBlob {
            exception: blob.exception.clone(),
            traceback: blob.traceback.clone(),
            text: blob.text.clone(),
        }),
        TaskError::KilledWorker {
            key,
            deaths,
            last_worker,
            last_reason,
        } => Failure::KilledWorker {
            key: key.clone(),
            deaths: *deaths,
            last_worker: last_worker.clone(),
            last_reason: last_reason.clone(),
        },
        TaskError::Lost { key, worker } => Failure::Lost {
            key: key.clone(),
            worker: worker.clone(),
        },
        other => Failure::Invalid {
            text: other.to_string(),
        },
    }
}

/// The message a report to a client becomes.
pub(crate) fn client_report(command: Command, value: Option<Bytes>) -> Option<SchedulerToClient> {
    Some(match command {
        Command::ReportInMemory {
            key,
            nbytes,
            type_name,
            ..
        } => SchedulerToClient::InMemory {
            key,
            nbytes,
            type_name: type_name.to_string(),
            value,
        },
        Command::ReportErred { key, error, .. } => SchedulerToClient::Erred {
            from: key.clone(),
            key,
            error: failure(&error),
        },
        Command::ReportCancelled { key, reason, .. } => {
            SchedulerToClient::Cancelled { key, reason }
        }
        Command::ReportLost { key, .. } => SchedulerToClient::Lost { key },
        _ => return None,
    })
}

/// What the IO layer knows of a worker beyond the state machine.
#[derive(Clone, Debug, Default)]
pub(crate) struct WorkerMeta {
    pub name: String,
    pub pid: u32,
    /// From its last two heartbeats: CPU percent of one core, bytes/s read and written
    /// (any descriptor), bytes/s read and written to storage.
    pub rates: (f64, f64, f64, f64, f64),
}

/// The scheduler's state as JSON: workers (with their names and pids from `meta`, by
/// address), task counts; `now` in seconds since the scheduler started.
pub(crate) fn snapshot_value(
    state: &SchedulerState,
    address: &str,
    meta: &HashMap<String, WorkerMeta>,
    now: f64,
) -> serde_json::Value {
    let workers: Vec<_> = state
        .workers()
        .into_iter()
        .map(|w| {
            let m = meta.get(&w.address).cloned().unwrap_or_default();
            let (name, pid) = (m.name, m.pid);
            let (cpu, read, write, disk_read, disk_write) = m.rates;
            json!({
                "id": w.id.0,
                "address": w.address,
                "name": if name.is_empty() { w.address.clone() } else { name },
                "pid": pid,
                "nthreads": w.nthreads,
                "memory_limit": w.memory_limit,
                "status": match w.status {
                    WorkerStatus::Running => "running",
                    WorkerStatus::Paused => "paused",
                    WorkerStatus::Retiring => "retiring",
                },
                "processing": w.processing,
                "occupancy_s": w.occupancy.0 as f64 / 1e6,
                "keys_held": w.keys_held,
                "nbytes_held": w.nbytes_held,
                "memory": w.memory,
                "managed": w.managed,
                "spilled": w.spilled,
                "pause_reason": w.pause_reason,
                "last_seen_s": (now - w.last_seen.0 as f64 / 1e6).max(0.0),
                "cpu": cpu,
                "read_bytes": read,
                "write_bytes": write,
                "disk_read": disk_read,
                "disk_write": disk_write,
                "ends_in_s": w.ends_at.map(|end| (end.0 as f64 / 1e6 - now).max(0.0)),
            })
        })
        .collect();
    let c = state.counts_by_state();
    json!({
        "type": "Scheduler",
        "address": address,
        "now": now,
        "workers": workers,
        "tasks": {
            "total": state.task_count(),
            "released": c.released,
            "waiting": c.waiting,
            "queued": c.queued,
            "processing": c.processing,
            "memory": c.memory,
            "erred": c.erred,
        },
        // Dask's defaults (distributed.worker.memory.*): each worker applies its own.
        "thresholds": {"target": 0.6, "spill": 0.7, "pause": 0.8, "terminate": 0.95},
    })
}
