//! The tokio runtime around [`crate::WorkerState`].
//!
//! ```text
//!   scheduler ──frames──► reader task ──┐
//!   peers ──GetData/PutData──► data server tasks ──Put──┐   (read the store)
//!                                       ▼               ▼
//!                              state owner task: WorkerState::handle(event) -> commands
//!                                       │ Execute ──► task threads: Host::execute ─────┐
//!                                       │ Fetch ────► fetch task: peer pool, deserialize ┤
//!                                       │ Send ─────► scheduler connection (batched)    │
//!                                       │ Drop ─────► store                             │
//!                                       └◄──────────── results, as events ◄─────────────┘
//! ```
//!
//! One task owns the state machine, the function table and every write to the store; it
//! turns scheduler messages and the outcomes of executions, fetches and puts into events,
//! and carries out the commands that come back. Values are stored *before* their event is
//! handled (unless the key already has one) and dropped when the state machine says so, so
//! the store always matches the keys in memory. Tasks run on `nthreads` task threads that
//! drain a shared queue (see `executor`); the state machine hands them at most `nthreads`
//! tasks, plus a few more while tasks are short. The data server reads the store directly
//! and serializes on tokio's blocking pool.
//!
//! The worker stops when the scheduler sends `Close` or the `shutdown` future resolves
//! (returning [`WorkerExit`]), or when the scheduler connection is lost (returning
//! [`crate::WorkerError::SchedulerLost`]; there is no reconnection: whoever started the worker
//! decides whether to start another). It stops accepting peers at once; tasks still running
//! are abandoned (their threads finish, their results are discarded).

mod config;
mod disklog;
mod executor;
mod host;
mod scheduler;
mod secession;
mod server;
mod store;
mod worker;

use std::future::Future;
use std::sync::Arc;

use oxdask_comm::Listener;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub use config::{WorkerConfig, WorkerExit};
pub use host::{Executed, Host, PeerHandle, Pieces};
pub use secession::{rejoin, secede};

use oxdask_comm::PeerPool as Peers;
use oxdask_graph::Key;
use oxdask_protocol::messages::ErrorBlob;
use server::ServerContext;
use store::{SpillDir, Store};
use worker::Worker;

use crate::{FetchId, Result, WorkerError};

/// A task's result, already in the store.
pub(crate) struct Completed {
    pub(crate) nbytes: u64,
    pub(crate) type_name: String,
    pub(crate) pickle: Option<bytes::Bytes>,
}

/// Outcomes reported to the state owner by the tasks it started.
pub(crate) enum Internal<V> {
    Executed {
        key: Key,
        result: Result<Completed, ErrorBlob>,
        duration_us: u64,
        /// When it ended, microseconds since the UNIX epoch.
        stop_us: u64,
    },
    Fetched {
        id: FetchId,
        values: Vec<(Key, V, u64)>,
        /// The peer, and how long the transfer took (microseconds), for the task stream.
        from: String,
        duration_us: u64,
    },
    FetchFailed {
        id: FetchId,
        error: String,
    },
    Put {
        values: Vec<(Key, V, u64)>,
        report: bool,
        done: tokio::sync::oneshot::Sender<()>,
    },
    /// A running task left its thread (`secede()`).
    Seceded {
        key: Key,
    },
    /// A seceded task waits for a thread (`rejoin()`); `reply` is answered once it has one.
    Rejoin {
        key: Key,
        reply: std::sync::mpsc::Sender<()>,
    },
    /// A spill job ended, having moved `values` values (`bytes`) to disk.
    Spilled {
        values: usize,
        bytes: u64,
    },
}

/// Runs a worker until the scheduler closes it, the connection to the scheduler is lost, or
/// `shutdown` resolves. See the module docs.
///
/// # Errors
///
/// [`WorkerError`] if the data server cannot listen, the scheduler cannot be reached or
/// does not welcome the worker, or the scheduler connection is lost or corrupted later.
pub async fn run_worker<H: Host>(
    config: WorkerConfig,
    host: Arc<H>,
    shutdown: impl Future<Output = ()>,
) -> Result<WorkerExit> {
    let listen_error = |source| WorkerError::Listen {
        address: config.listen.clone(),
        source,
    };
    let tcp = TcpListener::bind(&config.listen)
        .await
        .map_err(listen_error)?;
    // Peers on this machine reach the data server through a Unix socket as well (plain TCP
    // addresses only: with TLS every connection stays encrypted).
    let listener = Listener::new(tcp, config.tls.clone())
        .map_err(listen_error)?
        .with_unix_socket();
    let address = listener.address().to_owned();
    let (reader, scheduler, first) = scheduler::register(&config, &address).await?;

    let (internal_tx, internal_rx) = mpsc::unbounded_channel();
    let (sched_tx, sched_rx) = mpsc::unbounded_channel();
    let spill = (config.memory_limit > 0).then(|| SpillDir::new(config.local_directory.clone()));
    let store = Arc::new(Store::new(spill));
    let context = Arc::new(ServerContext {
        host: host.clone(),
        store: store.clone(),
        hello: config.hello(),
        token: config.token.clone(),
        internal: internal_tx.clone(),
    });
    let server = tokio::spawn(server::serve(listener, context));
    let reading = tokio::spawn(scheduler::read_scheduler(reader, sched_tx));
    let peers = Arc::new(Peers::new(
        oxdask_protocol::Role::Worker,
        config.hello(),
        config.fetch_timeout,
        config.tls.clone(),
    ));
    let handle = PeerHandle::new(address.clone(), config.memory_limit, peers.clone());
    let starting = host.clone();
    tokio::task::spawn_blocking(move || starting.started(handle))
        .await
        .map_err(|e| WorkerError::Host(e.to_string()))?;
    let limits = (config.memory_limit > 0).then_some((config.memory_limit, config.memory));
    let executor = executor::Executor::start(
        config.nthreads,
        host.clone(),
        store.clone(),
        limits,
        internal_tx.clone(),
    )
    .map_err(WorkerError::Threads)?;
    let mut worker = Worker::new(
        &config,
        host,
        store.clone(),
        scheduler,
        peers,
        internal_tx,
        executor,
    );
    let outcome = match worker.on_frame(first) {
        Some(exit) => Ok(exit),
        None => worker.run(shutdown, sched_rx, internal_rx).await,
    };
    server.abort();
    reading.abort();
    store.remove_spill_dir();
    match &outcome {
        Ok(exit) => tracing::info!(%address, ?exit, "worker stopped"),
        Err(e) => tracing::error!(%address, error = %e, "worker failed"),
    }
    outcome
}
