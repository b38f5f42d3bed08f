//! How a worker is configured, and how it ended.

use std::path::PathBuf;
use std::time::Duration;

use oxdask_comm::Tls;
use oxdask_protocol::Hello;

use crate::memory::MemoryThresholds;
use crate::StateConfig;

/// Everything a worker needs to start.
#[derive(Clone, PartialEq)]
pub struct WorkerConfig {
    /// The scheduler's address (`tcp://host:port` or `host:port`).
    pub scheduler: String,
    /// Where the data server listens; port 0 picks a free port. The address peers are
    /// given is the one actually bound, so listen on a specific interface (not `0.0.0.0`)
    /// when peers live on other hosts.
    pub listen: String,
    /// Tasks run at once.
    pub nthreads: u32,
    /// Memory limit in bytes (0: none): reported to the scheduler, and the base of the
    /// `memory` thresholds.
    pub memory_limit: u64,
    /// When to spill, pause and exit, as fractions of `memory_limit` (see [`crate::memory`]).
    pub memory: MemoryThresholds,
    /// How often process memory is sampled.
    pub memory_monitor_interval: Duration,
    /// Where the spill directory is created (the system's temporary directory when `None`).
    pub local_directory: Option<PathBuf>,
    /// Name shown by the scheduler (default: the worker's address).
    pub name: Option<String>,
    /// Abstract resources, such as `("GPU", 1.0)`.
    pub resources: Vec<(String, f64)>,
    /// Shared secret presented to the scheduler and peers, and required of peers.
    pub token: Option<String>,
    /// TLS settings for the scheduler connection, peer connections and the data server (whose
    /// address is then `tls://`); `None` for plain TCP.
    pub tls: Option<Tls>,
    /// Interval between heartbeats.
    pub heartbeat: Duration,
    /// How long to wait for the scheduler to accept the connection and welcome the worker.
    pub connect_timeout: Duration,
    /// How long to wait for a peer's answer to a fetch.
    pub fetch_timeout: Duration,
    /// Outstanding fetch requests per peer.
    pub max_fetches_per_peer: u32,
    /// Bytes fetched at once, over all peers.
    pub max_incoming_bytes: u64,
}

impl std::fmt::Debug for WorkerConfig {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("scheduler", &self.scheduler)
            .field("listen", &self.listen)
            .field("nthreads", &self.nthreads)
            .field("memory_limit", &self.memory_limit)
            .field("memory", &self.memory)
            .field("name", &self.name)
            .field("resources", &self.resources)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls.is_some())
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}

impl WorkerConfig {
    /// Defaults for a worker of `scheduler`: listen on `127.0.0.1:0`, one thread per CPU,
    /// heartbeat every second, two requests per peer, 64 MiB in flight.
    pub fn new(scheduler: impl Into<String>) -> Self {
        let state = StateConfig::default();
        Self {
            scheduler: scheduler.into(),
            listen: "127.0.0.1:0".to_owned(),
            nthreads: std::thread::available_parallelism()
                .map_or(1, |n| u32::try_from(n.get()).unwrap_or(1)),
            memory_limit: 0,
            memory: MemoryThresholds::default(),
            memory_monitor_interval: Duration::from_millis(50),
            local_directory: None,
            name: None,
            resources: Vec::new(),
            token: None,
            tls: None,
            heartbeat: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(300),
            max_fetches_per_peer: state.max_fetches_per_peer,
            max_incoming_bytes: state.max_incoming_bytes,
        }
    }

    /// The state machine's limits.
    pub(crate) fn state_config(&self) -> StateConfig {
        StateConfig {
            nthreads: self.nthreads.max(1),
            resources: self.resources.clone(),
            max_fetches_per_peer: self.max_fetches_per_peer.max(1),
            max_incoming_bytes: self.max_incoming_bytes,
            ..StateConfig::default()
        }
    }

    /// What this worker says about itself in handshakes.
    pub(crate) fn hello(&self) -> Hello {
        Hello {
            name: self.name.clone(),
            token: self.token.clone(),
            ..Hello::default()
        }
    }
}

/// How a worker ended without error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerExit {
    /// The scheduler sent `Close`.
    Closed {
        /// The scheduler's reason.
        reason: String,
    },
    /// The `shutdown` future given to [`crate::run_worker`] resolved.
    Shutdown,
    /// Process memory passed the terminate threshold: the worker told the scheduler why and
    /// stopped (whoever started it should start a fresh process).
    MemoryExceeded {
        /// What the memory was.
        reason: String,
    },
}
