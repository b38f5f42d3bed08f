//! The state owner: one task that turns everything into events and carries out commands.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use oxdask_comm::Sender;
use oxdask_graph::Key;
use oxdask_protocol::messages::{
    BufIx, ComputeTask, ErrorBlob, SchedulerToWorker, WorkerToScheduler,
};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use super::executor::{Executor, Job};
use super::scheduler::{FromScheduler, Received};
use super::server::deserialize_all;
use super::{Host, Internal, Peers, Store, WorkerConfig, WorkerExit};
use crate::memory::{self, MemoryReading, MemoryThresholds};
use crate::{Command, Event, EventKind, FetchId, Result, StimulusId, WorkerError, WorkerState};

pub(crate) struct Worker<H: Host> {
    state: WorkerState,
    host: Arc<H>,
    store: Arc<Store<H::Value>>,
    /// Function id to the bytes the scheduler sent.
    functions: HashMap<u64, Bytes>,
    scheduler: Sender,
    scheduler_address: String,
    peers: Arc<Peers>,
    internal: mpsc::UnboundedSender<Internal<H::Value>>,
    executor: Executor,
    heartbeat: std::time::Duration,
    next_stimulus: u64,
    memory_limit: u64,
    thresholds: MemoryThresholds,
    monitor_interval: std::time::Duration,
    /// A spill job is running (at most one at a time).
    spilling: bool,
    /// Seceded tasks waiting in `rejoin()`, answered when the state gives them a thread.
    rejoins: HashMap<Key, std::sync::mpsc::Sender<()>>,
}

impl<H: Host> Worker<H> {
    pub(crate) fn new(
        config: &WorkerConfig,
        host: Arc<H>,
        store: Arc<Store<H::Value>>,
        scheduler: Sender,
        peers: Arc<Peers>,
        internal: mpsc::UnboundedSender<Internal<H::Value>>,
        executor: Executor,
    ) -> Self {
        Self {
            state: WorkerState::new(config.state_config()),
            host,
            store,
            functions: HashMap::new(),
            scheduler,
            scheduler_address: config.scheduler.clone(),
            peers,
            internal,
            executor,
            heartbeat: config.heartbeat,
            next_stimulus: 0,
            memory_limit: config.memory_limit,
            thresholds: config.memory,
            monitor_interval: config.memory_monitor_interval,
            spilling: false,
            rejoins: HashMap::new(),
        }
    }

    pub(crate) async fn run(
        &mut self,
        shutdown: impl Future<Output = ()>,
        mut from_scheduler: mpsc::UnboundedReceiver<FromScheduler>,
        mut internal: mpsc::UnboundedReceiver<Internal<H::Value>>,
    ) -> Result<WorkerExit> {
        let mut heartbeat = tokio::time::interval(self.heartbeat);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut monitor = tokio::time::interval(self.monitor_interval);
        monitor.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(WorkerExit::Shutdown),
                report = from_scheduler.recv() => match report {
                    Some(FromScheduler::Frame(received)) => {
                        if let Some(exit) = self.on_frame(received) {
                            return Ok(exit);
                        }
                    }
                    Some(FromScheduler::Invalid(source)) => {
                        let address = self.scheduler_address.clone();
                        return Err(WorkerError::Protocol { address, source });
                    }
                    Some(FromScheduler::Lost(reason)) => return Err(self.lost(reason)),
                    None => return Err(self.lost("the reader stopped".to_owned())),
                },
                Some(outcome) = internal.recv() => self.on_internal(outcome),
                _ = heartbeat.tick() => {
                    let (managed, spilled) = self.store.bytes();
                    let process = memory::process_reading(
                        &*self.host,
                        self.memory_limit,
                        &self.thresholds,
                    );
                    self.scheduler.send(WorkerToScheduler::Heartbeat {
                        managed,
                        process,
                        spilled,
                        usage: oxdask_protocol::ProcessUsage::sample(),
                    });
                    let spans = self.store.disk.take();
                    if !spans.is_empty() {
                        self.scheduler.send(WorkerToScheduler::Disk { spans });
                    }
                }
                _ = monitor.tick(), if self.memory_limit > 0 => {
                    if let Some(reason) = self.check_memory() {
                        return Ok(self.exit_for_memory(reason).await);
                    }
                }
            }
        }
    }

    fn lost(&self, reason: String) -> WorkerError {
        WorkerError::SchedulerLost {
            address: self.scheduler_address.clone(),
            reason,
        }
    }

    /// Handles one frame of scheduler messages; `Some` if the scheduler closed the worker.
    pub(crate) fn on_frame(&mut self, received: Received) -> Option<WorkerExit> {
        let buffers = received.buffers;
        for msg in received.messages {
            let event = match msg {
                SchedulerToWorker::Welcome { .. } => continue,
                SchedulerToWorker::Functions { items } => {
                    for (id, ix) in items {
                        match ix.get(&buffers) {
                            Some(bytes) => drop(self.functions.insert(id, bytes)),
                            None => tracing::error!(id, "function names a buffer not in its frame"),
                        }
                    }
                    continue;
                }
                SchedulerToWorker::Run { id, call } => {
                    self.run_call(id, call.get(&buffers));
                    continue;
                }
                SchedulerToWorker::Close { reason } => {
                    tracing::info!(%reason, "the scheduler closed this worker");
                    return Some(WorkerExit::Closed { reason });
                }
                SchedulerToWorker::Compute(task) => EventKind::ComputeRequested(task),
                SchedulerToWorker::Free { keys } => EventKind::FreeRequested { keys },
                SchedulerToWorker::Steal { key } => EventKind::StealRequested { key },
                SchedulerToWorker::Replicate { keys } => EventKind::ReplicateRequested { keys },
            };
            self.handle(event);
        }
        None
    }

    fn on_internal(&mut self, outcome: Internal<H::Value>) {
        let event = match outcome {
            Internal::Executed {
                key,
                result,
                duration_us,
                stop_us,
            } => match result {
                Ok(done) => EventKind::TaskCompleted {
                    key,
                    nbytes: done.nbytes,
                    duration_us,
                    stop_us,
                    type_name: done.type_name,
                    value: done.pickle,
                },
                Err(error) => EventKind::TaskFailed { key, error },
            },
            Internal::Fetched {
                id,
                values,
                from,
                duration_us,
            } => {
                if !values.is_empty() {
                    let keys = values.iter().map(|(k, _, _)| k.clone()).collect();
                    let nbytes = values.iter().map(|(_, _, n)| n).sum();
                    self.scheduler.send(WorkerToScheduler::Transferred {
                        keys,
                        from,
                        nbytes,
                        duration_us,
                        stop_us: oxdask_protocol::messages::epoch_us(),
                    });
                }
                EventKind::DataFetched {
                    id,
                    values: self.store_all(values),
                }
            }
            Internal::FetchFailed { id, error } => {
                tracing::warn!(%id, %error, "fetch failed");
                EventKind::FetchFailed { id, error }
            }
            Internal::Put {
                values,
                report,
                done,
            } => {
                let keys = self.store_all(values);
                self.handle(EventKind::DataPut { keys, report });
                let _ = done.send(());
                self.spill_if_over_target();
                return;
            }
            Internal::Seceded { key } => EventKind::Seceded { key },
            Internal::Rejoin { key, reply } => {
                self.rejoins.insert(key.clone(), reply);
                EventKind::RejoinRequested { key }
            }
            Internal::Spilled { values, bytes } => {
                self.spilling = false;
                let (memory, disk) = self.store.bytes();
                tracing::debug!(values, bytes, memory, disk, "spilled to disk");
                return;
            }
        };
        self.handle(event);
        self.spill_if_over_target();
    }

    /// Samples memory and acts on it (see [`crate::memory`]): spills, pauses or resumes;
    /// returns the reason to exit when process memory passed the terminate threshold.
    fn check_memory(&mut self) -> Option<String> {
        let reading = MemoryReading {
            managed: self.store.bytes().0,
            process: memory::process_reading(&*self.host, self.memory_limit, &self.thresholds),
        };
        let action = memory::assess(self.memory_limit, &self.thresholds, reading);
        tracing::trace!(?reading, ?action, "memory");
        if action.terminate.is_some() {
            return action.terminate;
        }
        if action.paused != self.state.is_paused() {
            let reason = if action.paused {
                memory::pause_reason(self.memory_limit, &self.thresholds, reading)
            } else {
                "process memory fell below the pause threshold".to_owned()
            };
            if action.paused {
                tracing::warn!(%reason, "pausing");
            } else {
                tracing::info!("resuming");
            }
            self.handle(EventKind::PauseChanged {
                paused: action.paused,
                reason,
            });
        }
        if let Some(target) = action.spill_to {
            self.spill(target);
        }
        None
    }

    /// Spills when managed memory is above its target (checked after values arrive, between
    /// the monitor's samples).
    fn spill_if_over_target(&mut self) {
        let Some(target) = self.thresholds.target else {
            return;
        };
        if self.memory_limit == 0 || self.spilling {
            return;
        }
        let target = (self.memory_limit as f64 * target) as u64;
        if self.store.bytes().0 > target {
            self.spill(target);
        }
    }

    /// Starts a spill job down to `target` bytes in memory unless one is running.
    fn spill(&mut self, target: u64) {
        if self.spilling {
            return;
        }
        self.spilling = true;
        let store = self.store.clone();
        let host = self.host.clone();
        let tx = self.internal.clone();
        tokio::task::spawn_blocking(move || {
            let ((values, bytes), evicted) = store.spill_to(target, &*host);
            if values > 0 {
                host.enter(|| drop(evicted));
                host.release_memory();
            }
            let _ = tx.send(Internal::Spilled { values, bytes });
        });
    }

    /// Tells the scheduler why this worker exits, gives the message a moment to leave, and
    /// returns the exit.
    async fn exit_for_memory(&mut self, reason: String) -> WorkerExit {
        tracing::error!(%reason, "exiting: memory");
        self.scheduler.send(WorkerToScheduler::Closing {
            reason: reason.clone(),
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        WorkerExit::MemoryExceeded { reason }
    }

    fn store_all(&self, values: Vec<(Key, H::Value, u64)>) -> Vec<(Key, u64)> {
        values
            .into_iter()
            .map(|(key, value, nbytes)| {
                self.store.insert_if_absent(key.clone(), value, nbytes);
                (key, nbytes)
            })
            .collect()
    }

    fn handle(&mut self, kind: EventKind) {
        self.next_stimulus += 1;
        let stimulus = StimulusId(self.next_stimulus);
        tracing::trace!(%stimulus, event = kind.name(), "event");
        for command in self.state.handle(Event::new(stimulus, kind)) {
            match command {
                Command::Execute(task) => self.execute(*task),
                Command::Fetch { id, from, keys } => self.fetch(id, from, keys),
                Command::Send(msg) => {
                    self.scheduler.send(msg);
                }
                Command::Drop { keys } => self.drop_values(&keys),
                Command::Rejoin { key } => {
                    if let Some(reply) = self.rejoins.remove(&key) {
                        let _ = reply.send(());
                    }
                }
            }
        }
    }

    /// Forgets values. Large ones are released on a blocking thread inside the host (Python:
    /// holding the GIL) so their memory goes at once; small ones go whenever the host next
    /// runs (Python: pyo3's deferred decrefs), which costs nothing here.
    fn drop_values(&self, keys: &[Key]) {
        const LARGE: u64 = 1 << 20;
        let (values, bytes) = self.store.remove(keys);
        if bytes >= LARGE {
            let host = self.host.clone();
            tokio::task::spawn_blocking(move || host.enter(|| drop(values)));
        }
    }

    /// Queues a task for the task threads; the outcome comes back as an event.
    fn execute(&self, task: ComputeTask) {
        let function = match task.function {
            None => Ok(None),
            Some(id) => self.functions.get(&id).cloned().map(Some).ok_or_else(|| {
                error_blob(format!(
                    "function {id} of task {} was never sent to this worker",
                    task.key
                ))
            }),
        };
        self.executor.submit(Job { task, function });
    }

    /// Asks a peer for values, deserializes them on the blocking pool, reports the outcome.
    fn fetch(&self, id: FetchId, from: String, keys: Vec<Key>) {
        let peers = self.peers.clone();
        let host = self.host.clone();
        let tx = self.internal.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let outcome = match peers.get_data(&from, keys, None).await {
                Ok(reply) => {
                    let decoded = tokio::task::spawn_blocking(move || {
                        deserialize_all(&*host, reply.values, &reply.buffers)
                    })
                    .await;
                    match decoded {
                        Ok(Ok(values)) => Internal::Fetched {
                            id,
                            values,
                            duration_us: u64::try_from(started.elapsed().as_micros())
                                .unwrap_or(u64::MAX),
                            from: from.clone(),
                        },
                        Ok(Err(error)) => Internal::FetchFailed {
                            id,
                            error: format!("from {from}: {error}"),
                        },
                        Err(e) => Internal::FetchFailed {
                            id,
                            error: format!("deserializing data from {from} panicked: {e}"),
                        },
                    }
                }
                Err(error) => Internal::FetchFailed {
                    id,
                    error: error.to_string(),
                },
            };
            let _ = tx.send(outcome);
        });
    }

    /// `Client.run`: runs the call on the blocking pool and answers the scheduler.
    fn run_call(&self, id: u64, call: Option<Bytes>) {
        let host = self.host.clone();
        let scheduler = self.scheduler.clone();
        tokio::spawn(async move {
            let Some(call) = call else {
                return tracing::error!(id, "Run names a buffer not in its frame");
            };
            let done = tokio::task::spawn_blocking(move || host.run(call)).await;
            let (result, ok) = done.unwrap_or_else(|e| {
                tracing::error!(id, error = %e, "Client.run call panicked");
                (Bytes::new(), false)
            });
            scheduler.send_buffers(vec![result], move |ix| WorkerToScheduler::RunResult {
                id,
                result: BufIx(ix),
                ok,
            });
        });
    }
}

/// An error raised by the worker itself, shown to users as a `RuntimeError`.
fn error_blob(text: String) -> ErrorBlob {
    ErrorBlob {
        text: format!("RuntimeError: {text}"),
        ..ErrorBlob::default()
    }
}
