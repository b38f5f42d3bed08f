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
    executor: Executor<H::Value>,
    heartbeat: std::time::Duration,
    next_stimulus: u64,
}

impl<H: Host> Worker<H> {
    pub(crate) fn new(
        config: &WorkerConfig,
        host: Arc<H>,
        store: Arc<Store<H::Value>>,
        scheduler: Sender,
        peers: Arc<Peers>,
        internal: mpsc::UnboundedSender<Internal<H::Value>>,
        executor: Executor<H::Value>,
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
                    self.scheduler.send(WorkerToScheduler::Heartbeat {
                        managed: self.state.managed_bytes(),
                        process: process_memory(),
                    });
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
                        match buffers.get(ix.0 as usize) {
                            Some(bytes) => drop(self.functions.insert(id, bytes.clone())),
                            None => tracing::error!(id, "function names a buffer not in its frame"),
                        }
                    }
                    continue;
                }
                SchedulerToWorker::Run { id, call } => {
                    self.run_call(id, buffers.get(call.0 as usize).cloned());
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
            } => match result {
                Ok(done) => {
                    self.store.insert_if_absent(key.clone(), done.value);
                    EventKind::TaskCompleted {
                        key,
                        nbytes: done.nbytes,
                        duration_us,
                        type_name: done.type_name,
                        value: done.pickle,
                    }
                }
                Err(error) => EventKind::TaskFailed { key, error },
            },
            Internal::Fetched { id, values } => EventKind::DataFetched {
                id,
                values: self.store_all(values),
            },
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
                return;
            }
        };
        self.handle(event);
    }

    fn store_all(&self, values: Vec<(Key, H::Value, u64)>) -> Vec<(Key, u64)> {
        values
            .into_iter()
            .map(|(key, value, nbytes)| {
                self.store.insert_if_absent(key.clone(), value);
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
                Command::Drop { keys } => self.store.remove(&keys),
            }
        }
    }

    /// Queues a task for the task threads; the outcome comes back as an event.
    fn execute(&self, task: ComputeTask) {
        let prepared = self.inputs(&task).and_then(|inputs| {
            let function = match task.function {
                None => None,
                Some(id) => Some(self.functions.get(&id).cloned().ok_or_else(|| {
                    error_blob(format!(
                        "function {id} of task {} was never sent to this worker",
                        task.key
                    ))
                })?),
            };
            Ok((function, inputs))
        });
        self.executor.submit(Job { task, prepared });
    }

    fn inputs(&self, task: &ComputeTask) -> Result<Vec<Arc<H::Value>>, ErrorBlob> {
        task.deps
            .iter()
            .map(|(dep, _)| {
                self.store.get(dep).ok_or_else(|| {
                    error_blob(format!("input {dep} of task {} is not in memory", task.key))
                })
            })
            .collect()
    }

    /// Asks a peer for values, deserializes them on the blocking pool, reports the outcome.
    fn fetch(&self, id: FetchId, from: String, keys: Vec<Key>) {
        let peers = self.peers.clone();
        let host = self.host.clone();
        let tx = self.internal.clone();
        tokio::spawn(async move {
            let outcome = match peers.get_data(&from, keys).await {
                Ok(reply) => {
                    let decoded = tokio::task::spawn_blocking(move || {
                        deserialize_all(&*host, reply.values, &reply.buffers)
                    })
                    .await;
                    match decoded {
                        Ok(Ok(values)) => Internal::Fetched { id, values },
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
                Err(error) => Internal::FetchFailed { id, error },
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

/// Resident memory of this process in bytes (Linux; 0 elsewhere).
fn process_memory() -> u64 {
    const PAGE: u64 = 4096;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * PAGE)
}
