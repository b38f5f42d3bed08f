//! The core task: owns the [`SchedulerState`], turns inputs into events and carries out
//! commands.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use bytes::Bytes;
use oxdask_comm::{Peer, Sender};
use oxdask_graph::Key;
use oxdask_protocol::messages::{
    BufIx, ClientToScheduler, SchedulerToClient, SchedulerToWorker, WorkerToScheduler,
};
use oxdask_protocol::Role;
use tokio::sync::{mpsc, oneshot};

use super::dashboard::Query;
use super::stream::Stream;
use super::{translate, Extension};
use crate::{
    ClientId, Command, Event, EventKind, LeaveReason, SchedulerConfig, SchedulerState, StimulusId,
    Time, WorkerId,
};

mod lifecycle;
mod memory;
mod observe;

pub(crate) use observe::LoopTime;

/// What the core task receives.
pub(crate) enum Input {
    /// A peer completed its handshake; the core answers with its connection id.
    Connected {
        role: Role,
        peer: Peer,
        sender: Sender,
        id: oneshot::Sender<u32>,
    },
    /// Messages from a client connection.
    FromClient {
        conn: u32,
        msgs: Vec<ClientToScheduler>,
        buffers: Vec<Bytes>,
    },
    /// Messages from a worker connection.
    FromWorker {
        conn: u32,
        msgs: Vec<WorkerToScheduler>,
        buffers: Vec<Bytes>,
    },
    /// A connection ended.
    Disconnected { conn: u32, role: Role },
    /// Time passed.
    Tick,
    /// The HTTP endpoint wants the state as JSON.
    Snapshot(oneshot::Sender<String>),
    /// A dashboard page asks (answered as JSON, or Prometheus text for metrics).
    Query(Query, oneshot::Sender<String>),
    /// A cluster manager retires `workers` (addresses), or the `n` least loaded.
    Retire {
        workers: Vec<String>,
        n: Option<usize>,
        reply: oneshot::Sender<String>,
    },
}

struct WorkerConn {
    sender: Sender,
    address: String,
    /// Function ids already sent to this worker.
    functions: HashSet<u64>,
    /// Set once the scheduler asked it to close, so its disconnection is not a death.
    closing: Option<LeaveReason>,
    pid: u32,
    name: String,
    /// Its last reported CPU time and I/O, when, and the rates since the one before.
    usage: Option<(Instant, oxdask_protocol::ProcessUsage)>,
    rates: (f64, f64, f64, f64, f64),
    /// A nanny supervises it: when it dies, the nanny says why.
    nanny: bool,
    /// Why it is about to die, when it (or its nanny) said so.
    cause_known: bool,
}

/// How long a nanny's worker that died waits for its nanny to say why before it is
/// removed (its tasks rescheduled or failed).
const NANNY_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) struct Core {
    state: SchedulerState,
    started: Instant,
    /// `started` in seconds since the UNIX epoch (to place workers' timestamps).
    started_epoch: f64,
    next_stimulus: u64,
    next_conn: u32,
    address: String,
    clients: HashMap<ClientId, Sender>,
    /// Worker connections not yet registered, by connection id.
    unregistered: HashMap<u32, Sender>,
    workers: HashMap<WorkerId, WorkerConn>,
    by_address: HashMap<String, WorkerId>,
    functions: HashMap<u64, Bytes>,
    /// `Client.run` requests: id -> (client, workers still to answer, results so far).
    runs: HashMap<u64, RunRequest>,
    /// The small result that came with the `TaskFinished` being handled, for the clients'
    /// reports (kept for that one event only: the state machine never holds values).
    finished_value: Option<(Key, Bytes)>,
    extension: Option<Extension>,
    /// Nannies' workers that died, waiting for their nanny's report: pid -> (worker, since).
    dying: HashMap<u32, (WorkerId, Instant)>,
    /// Where and when tasks ran, and their exceptions, for the dashboard.
    stream: Stream,
    /// `http://host:port` of the dashboard, if served.
    dashboard: Option<String>,
    /// How long the core takes per input (its event loop), for `/metrics`.
    loop_time: LoopTime,
    /// The active memory manager, while it runs.
    amm: Option<memory::Amm>,
    /// To the thread that gives scheduler plugins their transitions (started on first use).
    transitions_tx: Option<std::sync::mpsc::Sender<Vec<crate::Transition>>>,
}

struct RunRequest {
    client: ClientId,
    waiting: HashSet<WorkerId>,
    results: Vec<(String, Bytes, bool)>,
}

impl Core {
    pub(crate) fn new(
        config: SchedulerConfig,
        address: String,
        dashboard: Option<String>,
        extension: Option<Extension>,
    ) -> Self {
        Self {
            state: SchedulerState::new(config),
            started: Instant::now(),
            started_epoch: oxdask_protocol::messages::epoch_us() as f64 / 1e6,
            next_stimulus: 1,
            next_conn: 1,
            address,
            clients: HashMap::new(),
            unregistered: HashMap::new(),
            workers: HashMap::new(),
            by_address: HashMap::new(),
            functions: HashMap::new(),
            runs: HashMap::new(),
            extension,
            dying: HashMap::new(),
            stream: Stream::new(100_000, 1000),
            dashboard,
            loop_time: LoopTime::default(),
            amm: None,
            transitions_tx: None,
            finished_value: None,
        }
    }

    pub(crate) async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Input>,
        mut stop: oneshot::Receiver<()>,
    ) {
        loop {
            tokio::select! {
                input = rx.recv() => match input {
                    Some(input) => {
                        let started = Instant::now();
                        self.input(input);
                        self.loop_time.record(started.elapsed());
                    }
                    None => break,
                },
                _ = &mut stop => break,
            }
        }
        for w in self.workers.values() {
            w.sender.send(SchedulerToWorker::Close {
                reason: "the scheduler is shutting down".into(),
            });
        }
    }

    fn now(&self) -> Time {
        Time(u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn event(&mut self, kind: EventKind) {
        if let Some(ext) = &self.extension {
            // (an atomic load: a plugin registered just now sees the very next transitions)
            self.state.watch_transitions(ext.0.wants_transitions());
        }
        let stimulus = StimulusId(self.next_stimulus);
        self.next_stimulus += 1;
        let now = self.now();
        let commands = self.state.handle(Event::new(stimulus, kind), now);
        for c in commands {
            self.command(c);
        }
        if self.state.transitions_pending() > 10_000 {
            self.feed_transitions(); // between ticks, a large graph's worth
        }
    }

    fn input(&mut self, input: Input) {
        match input {
            Input::Connected {
                role,
                peer,
                sender,
                id,
            } => {
                let conn = self.next_conn;
                self.next_conn += 1;
                if role == Role::Worker {
                    self.unregistered.insert(conn, sender);
                } else {
                    tracing::info!(client = conn, address = %peer.address, "client connected");
                    self.clients.insert(ClientId(conn), sender);
                    self.event(EventKind::ClientConnected {
                        client: ClientId(conn),
                    });
                }
                let _ = id.send(conn);
            }
            Input::FromClient {
                conn,
                msgs,
                buffers,
            } => {
                for m in msgs {
                    self.client_message(ClientId(conn), m, &buffers);
                }
            }
            Input::FromWorker {
                conn,
                msgs,
                buffers,
            } => {
                for m in msgs {
                    self.worker_message(conn, m, &buffers);
                }
            }
            Input::Disconnected { conn, role } => self.disconnected(conn, role),
            Input::Tick => {
                self.bury_dying(false);
                self.event(EventKind::Tick);
                self.amm_tick();
                self.feed_transitions();
            }
            Input::Snapshot(tx) => {
                let _ = tx.send(self.snapshot());
            }
            Input::Retire { workers, n, reply } => {
                let _ = reply.send(self.retire(workers, n));
            }
            Input::Query(query, tx) => {
                let _ = tx.send(self.answer(&query));
            }
        }
    }

    fn disconnected(&mut self, conn: u32, role: Role) {
        if role != Role::Worker {
            self.client_left(ClientId(conn));
            return;
        }
        self.unregistered.remove(&conn);
        let worker = WorkerId(conn);
        if let Some(w) = self.workers.remove(&worker) {
            self.by_address.remove(&w.address);
            let reason = w.closing.unwrap_or(LeaveReason::Died);
            tracing::warn!(address = %w.address, ?reason, "worker left");
            for run in self.runs.values_mut() {
                run.waiting.remove(&worker);
            }
            self.finish_runs();
            if reason == LeaveReason::Died && w.nanny && !w.cause_known {
                // Its nanny says why in a moment.
                self.dying.insert(w.pid, (worker, Instant::now()));
                return;
            }
            self.event(EventKind::WorkerLeft { worker, reason });
        }
    }

    fn client_message(&mut self, client: ClientId, msg: ClientToScheduler, buffers: &[Bytes]) {
        match msg {
            ClientToScheduler::Functions { items } => {
                for (id, ix) in items {
                    if let Some(b) = ix.get(buffers) {
                        self.functions.insert(id, b);
                    }
                }
            }
            ClientToScheduler::Submit { tasks, wanted } => {
                let tasks = tasks
                    .into_iter()
                    .map(|t| translate::new_task(t, &self.by_address))
                    .collect();
                self.event(EventKind::GraphSubmitted {
                    client,
                    tasks,
                    wanted,
                });
            }
            ClientToScheduler::Release { keys } => {
                self.event(EventKind::KeysReleased { client, keys })
            }
            ClientToScheduler::Retry { keys } => self.event(EventKind::RetryRequested { keys }),
            ClientToScheduler::Cancel { keys } => {
                self.event(EventKind::KeysCancelled { client, keys })
            }
            ClientToScheduler::WhoHas { id, keys } => {
                let holders = keys
                    .into_iter()
                    .map(|k| {
                        let addrs = self.addresses(&self.state.who_has(&k));
                        (k, addrs)
                    })
                    .collect();
                self.to_client(client, SchedulerToClient::WhoHas { id, holders });
            }
            ClientToScheduler::Scattered { worker, keys } => match self.by_address.get(&worker) {
                Some(&w) => self.event(EventKind::DataAdded {
                    worker: w,
                    keys,
                    client: Some(client),
                }),
                None => {
                    for (key, _) in keys {
                        let reason = format!("scattered to unknown worker {worker}");
                        self.to_client(client, SchedulerToClient::Cancelled { key, reason });
                    }
                }
            },
            ClientToScheduler::Info { id } => {
                let json = self.snapshot();
                self.to_client(client, SchedulerToClient::Info { id, json });
            }
            ClientToScheduler::Dashboard { id, path } => {
                let json = match Query::parse(&path) {
                    Some(query) => self.answer(&query),
                    None => serde_json::json!({ "error": format!("no view {path:?}") }).to_string(),
                };
                self.to_client(client, SchedulerToClient::Info { id, json });
            }
            ClientToScheduler::Why { id, key } => {
                let text = self.state.why(&key);
                self.to_client(client, SchedulerToClient::Why { id, text });
            }
            ClientToScheduler::RetireWorkers { id, workers } => {
                let ids = workers
                    .iter()
                    .filter_map(|a| self.by_address.get(a).copied())
                    .collect();
                self.event(EventKind::RetireRequested { workers: ids });
                self.to_client(client, SchedulerToClient::Done { id });
            }
            ClientToScheduler::RestartWorkers { id, workers } => {
                for address in &workers {
                    let Some(&worker) = self.by_address.get(address) else {
                        continue;
                    };
                    if let Some(w) = self.workers.get_mut(&worker) {
                        w.closing = Some(LeaveReason::Closed);
                    }
                    let reason = oxdask_protocol::messages::RESTART.to_owned();
                    self.to_worker(worker, SchedulerToWorker::Close { reason });
                }
                self.to_client(client, SchedulerToClient::Done { id });
            }
            ClientToScheduler::Run { id, call } => self.start_run(client, id, call.get(buffers)),
            ClientToScheduler::Call { id, call } => self.call(client, id, call.get(buffers)),
            ClientToScheduler::WorkerDied { pid, reason } => self.worker_died(pid, reason),
            ClientToScheduler::Memory { id, op } => self.memory(client, id, op),
            ClientToScheduler::WorkerEnds { address, in_ms } => {
                if let Some(&worker) = self.by_address.get(&address) {
                    let at = Time(self.now().0.saturating_add(in_ms.saturating_mul(1000)));
                    self.event(EventKind::WorkerEnds { worker, at });
                }
            }
            ClientToScheduler::Close => self.client_left(client),
        }
    }

    fn start_run(&mut self, client: ClientId, id: u64, call: Option<Bytes>) {
        let Some(call) = call else { return };
        let waiting: HashSet<WorkerId> = self.workers.keys().copied().collect();
        for w in &waiting {
            if let Some(conn) = self.workers.get(w) {
                let c = call.clone();
                conn.sender
                    .send_buffers(vec![c], move |ix| SchedulerToWorker::Run {
                        id,
                        call: BufIx(ix),
                    });
            }
        }
        self.runs.insert(
            id,
            RunRequest {
                client,
                waiting,
                results: Vec::new(),
            },
        );
        self.finish_runs();
    }

    fn finish_runs(&mut self) {
        let done: Vec<u64> = self
            .runs
            .iter()
            .filter(|(_, r)| r.waiting.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            let Some(run) = self.runs.remove(&id) else {
                continue;
            };
            let Some(sender) = self.clients.get(&run.client) else {
                continue;
            };
            let blobs: Vec<Bytes> = run.results.iter().map(|(_, b, _)| b.clone()).collect();
            let meta: Vec<(String, bool)> =
                run.results.into_iter().map(|(a, _, ok)| (a, ok)).collect();
            sender.send_buffers(blobs, move |first| SchedulerToClient::RunResults {
                id,
                results: meta
                    .into_iter()
                    .enumerate()
                    .map(|(i, (a, ok))| (a, BufIx(first + i as u32), ok))
                    .collect(),
            });
        }
    }

    fn worker_message(&mut self, conn: u32, msg: WorkerToScheduler, buffers: &[Bytes]) {
        let worker = WorkerId(conn);
        if let WorkerToScheduler::Register(info) = msg {
            let Some(sender) = self.unregistered.remove(&conn) else {
                return;
            };
            tracing::info!(address = %info.address, nthreads = info.nthreads, "worker joined");
            sender.send(SchedulerToWorker::Welcome { worker_id: conn });
            self.by_address.insert(info.address.clone(), worker);
            self.workers.insert(
                worker,
                WorkerConn {
                    sender,
                    address: info.address.clone(),
                    functions: HashSet::new(),
                    closing: None,
                    pid: info.pid,
                    name: info.name.clone(),
                    usage: None,
                    rates: (0.0, 0.0, 0.0, 0.0, 0.0),
                    nanny: info.nanny,
                    cause_known: false,
                },
            );
            self.event(EventKind::WorkerJoined {
                worker,
                address: info.address,
                nthreads: info.nthreads,
                memory_limit: info.memory_limit,
                resources: info.resources,
            });
            return;
        }
        if !self.workers.contains_key(&worker) {
            return; // not registered yet: ignore
        }
        if let WorkerToScheduler::RunResult { id, result, ok } = msg {
            let address = self
                .workers
                .get(&worker)
                .map(|w| w.address.clone())
                .unwrap_or_default();
            if let Some(run) = self.runs.get_mut(&id) {
                if run.waiting.remove(&worker) {
                    run.results
                        .push((address, result.get(buffers).unwrap_or_default(), ok));
                }
            }
            self.finish_runs();
            return;
        }
        let value = match &msg {
            WorkerToScheduler::TaskFinished {
                key,
                value: Some(v),
                ..
            } => Some((key.clone(), v.clone())),
            _ => None,
        };
        match &msg {
            WorkerToScheduler::Closing { reason } => {
                tracing::warn!(worker = %self.address_of(worker), %reason, "worker exiting");
                if let Some(w) = self.workers.get_mut(&worker) {
                    w.cause_known = true;
                }
            }
            WorkerToScheduler::Paused { paused, reason } => {
                tracing::info!(worker = %self.address_of(worker), paused, %reason, "worker pause");
            }
            _ => {}
        }
        self.observe(worker, &msg);
        if let Some(kind) = translate::worker_event(worker, msg, &self.by_address) {
            self.finished_value = value;
            self.event(kind);
            self.finished_value = None;
        }
    }

    fn address_of(&self, worker: WorkerId) -> String {
        self.workers
            .get(&worker)
            .map_or_else(|| format!("worker {}", worker.0), |c| c.address.clone())
    }

    fn addresses(&self, ids: &[WorkerId]) -> Vec<String> {
        ids.iter()
            .filter_map(|w| self.workers.get(w).map(|c| c.address.clone()))
            .collect()
    }

    fn to_client(&self, client: ClientId, msg: SchedulerToClient) {
        if let Some(s) = self.clients.get(&client) {
            s.send(msg);
        }
    }

    fn command(&mut self, command: Command) {
        if let Some(client) = command.client() {
            let value = match (&command, &self.finished_value) {
                (Command::ReportInMemory { key, .. }, Some((k, v))) if key == k => Some(v.clone()),
                _ => None,
            };
            if let Some(mut msg) = translate::client_report(command, value) {
                if let SchedulerToClient::Erred { key, from, .. } = &mut msg {
                    *from = self.state.failure_origin(key);
                }
                self.to_client(client, msg);
            }
            return;
        }
        match command {
            Command::Compute { worker, task } => {
                let function = task.payload.function;
                if let Some(fid) = function {
                    self.ensure_function(worker, fid);
                }
                let deps = task
                    .deps
                    .iter()
                    .map(|(k, ws)| (k.clone(), self.addresses(ws)))
                    .collect();
                let msg = SchedulerToWorker::Compute(translate::compute(task, deps));
                self.to_worker(worker, msg);
            }
            Command::FreeKeys { worker, keys } => {
                self.to_worker(worker, SchedulerToWorker::Free { keys })
            }
            Command::Steal { worker, key } => {
                self.to_worker(worker, SchedulerToWorker::Steal { key })
            }
            Command::Replicate { worker, keys } => {
                let keys = keys
                    .into_iter()
                    .map(|(k, ws)| (k, self.addresses(&ws)))
                    .collect();
                self.to_worker(worker, SchedulerToWorker::Replicate { keys });
            }
            Command::CloseWorker { worker, reason } => {
                if let Some(w) = self.workers.get_mut(&worker) {
                    w.closing = Some(if reason.contains("retire") {
                        LeaveReason::Retired
                    } else {
                        LeaveReason::Closed
                    });
                }
                self.to_worker(worker, SchedulerToWorker::Close { reason });
            }
            _ => {}
        }
    }

    fn ensure_function(&mut self, worker: WorkerId, fid: u64) {
        let Some(w) = self.workers.get_mut(&worker) else {
            return;
        };
        if w.functions.contains(&fid) {
            return;
        }
        let Some(blob) = self.functions.get(&fid).cloned() else {
            return;
        };
        w.functions.insert(fid);
        w.sender
            .send_buffers(vec![blob], move |ix| SchedulerToWorker::Functions {
                items: vec![(fid, BufIx(ix))],
            });
    }

    fn to_worker(&self, worker: WorkerId, msg: SchedulerToWorker) {
        if let Some(w) = self.workers.get(&worker) {
            w.sender.send(msg);
        }
    }
}
