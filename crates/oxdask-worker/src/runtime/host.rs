//! What the embedding program provides: running tasks and (de)serializing their values.

use std::sync::Arc;

use bytes::Bytes;
use oxdask_protocol::messages::{ComputeTask, ErrorBlob, PeerRequest};
use tokio::runtime::Handle;

use oxdask_comm::PeerPool as Peers;
pub use oxdask_comm::Pieces;

/// What a host's tasks may ask of other workers (see [`Host::started`]).
#[derive(Clone, Debug)]
pub struct PeerHandle {
    address: String,
    memory_limit: u64,
    peers: Arc<Peers>,
    runtime: Handle,
}

impl PeerHandle {
    pub(crate) fn new(address: String, memory_limit: u64, peers: Arc<Peers>) -> Self {
        Self {
            address,
            memory_limit,
            peers,
            runtime: Handle::current(),
        }
    }

    /// This worker's address, as peers reach it.
    #[must_use]
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The worker's memory limit in bytes (0: none).
    #[must_use]
    pub fn memory_limit(&self) -> u64 {
        self.memory_limit
    }

    /// Takes output `partition` of shuffle `shuffle` from every worker in `addresses` at
    /// once, blocking until all answered; one result per address, in order. Call from a
    /// task thread, never from the async runtime.
    ///
    /// # Errors
    ///
    /// When called on the runtime; per address, what failed, naming the peer.
    pub fn take_shuffle(
        &self,
        addresses: &[String],
        shuffle: &str,
        partition: u32,
    ) -> Result<Vec<Result<Pieces, String>>, String> {
        if Handle::try_current().is_ok() {
            return Err("take_shuffle blocks: call it from a task thread".to_owned());
        }
        let requests: Vec<_> = addresses
            .iter()
            .map(|address| {
                let peers = self.peers.clone();
                let (address, shuffle) = (address.clone(), shuffle.to_owned());
                self.runtime.spawn(async move {
                    let taken = peers.take_shuffle(&address, shuffle, partition).await;
                    taken.map_err(|e| e.to_string())
                })
            })
            .collect();
        Ok(self.runtime.block_on(async move {
            let mut out = Vec::with_capacity(requests.len());
            for request in requests {
                out.push(request.await.unwrap_or_else(|e| Err(e.to_string())));
            }
            out
        }))
    }

    /// Tells every worker in `addresses` to forget shuffle `shuffle`, without waiting (safe
    /// to call from any thread, the runtime's included).
    pub fn drop_shuffle(&self, addresses: Vec<String>, shuffle: &str) {
        let peers = self.peers.clone();
        let shuffle = shuffle.to_owned();
        self.runtime.spawn(async move {
            for address in addresses {
                let request = PeerRequest::DropShuffle {
                    shuffle: shuffle.clone(),
                };
                if let Err(e) = peers.send(&address, request).await {
                    tracing::debug!(peer = %address, error = %e, "could not drop a shuffle");
                }
            }
        });
    }
}

/// What [`Host::execute`] returns for a task that succeeded.
#[derive(Debug)]
pub struct Executed<V> {
    /// The result, kept in the worker's store.
    pub value: V,
    /// Its size in bytes.
    pub nbytes: u64,
    /// Its type name, for clients.
    pub type_name: String,
    /// The result serialized, when the task is `inline` and the result small enough to
    /// travel to the client with the task's completion (a fetch saved).
    pub pickle: Option<Bytes>,
}

/// Execution and storage of values, which belong to the embedding program (in oxdask's
/// Python binding, `Py<PyAny>` objects run and pickled under the GIL).
///
/// Every method is called on a blocking thread, never on the async runtime, so it may
/// block (take the GIL, run for minutes). Up to `nthreads` `execute` calls run at once, on
/// the worker's task threads; (de)serialization for peers runs alongside them.
pub trait Host: Send + Sync + 'static {
    /// A stored result (Python: `Py<PyAny>`).
    type Value: Send + Sync + 'static;

    /// Runs a task. `function` holds the bytes the scheduler sent for `task.function` (a
    /// host may cache what it decodes from them by id: each function is then decoded once
    /// per worker); `inputs` are the values of `task.deps`, in that order. Returns the
    /// result with its size and type name (and, if `task.inline` and the result is small,
    /// its serialized form for the client), or the task's exception.
    fn execute(
        &self,
        task: &ComputeTask,
        function: Option<Bytes>,
        inputs: Vec<Arc<Self::Value>>,
    ) -> Result<Executed<Self::Value>, ErrorBlob>;

    /// Serializes a value for a peer: a pickle stream and its out-of-band buffers (which
    /// should share memory with the value where possible: they are written to the socket
    /// as they are).
    fn serialize(&self, value: &Self::Value) -> Result<(Bytes, Vec<Bytes>), ErrorBlob>;

    /// Rebuilds a value from a peer's pickle stream and buffers; returns it with its size.
    fn deserialize(
        &self,
        pickle: Bytes,
        buffers: Vec<Bytes>,
    ) -> Result<(Self::Value, u64), ErrorBlob>;

    /// Runs a pickled `(function, args, kwargs)` (`Client.run`); returns the pickled result,
    /// or the pickled exception and `false`.
    fn run(&self, call: Bytes) -> (Bytes, bool);

    /// Gives freed memory back to the operating system after values were spilled (Python:
    /// `malloc_trim`, and the freed buffers kept for reuse), so process memory reflects what
    /// is really held.
    fn release_memory(&self) {}

    /// Bytes of freed memory the host keeps for reuse (resident, but not held by anything):
    /// memory readings leave them out, and [`Host::release_memory`] gives them back.
    fn pooled_bytes(&self) -> u64 {
        0
    }

    /// Keep at most `headroom` bytes of freed memory for reuse from now on (what is left
    /// below the spill threshold at the latest reading), giving back the excess now.
    fn fit_pool(&self, _headroom: u64) {}

    /// Called on a task thread that found no task for a while.
    fn idle(&self) {}

    /// Runs a task thread's whole life, `body`. A host may set up per-thread state here
    /// (Python: the thread's interpreter state, kept from one burst of tasks to the next).
    fn task_thread(&self, body: impl FnOnce() + Send) {
        body();
    }

    /// Called once, before any task runs, with the worker's address and a handle for asking
    /// other workers for shuffle pieces from inside tasks.
    fn started(&self, _peers: PeerHandle) {}

    /// Takes (and forgets) the pieces this worker holds for output `partition` of the
    /// dataframe shuffle `shuffle`, serialized: `(input partition, pickle, buffers)` each.
    /// A host without shuffles holds none.
    fn take_shuffle(&self, _shuffle: &str, _partition: u32) -> Result<Pieces, ErrorBlob> {
        Ok(Vec::new())
    }

    /// Forgets every piece of the dataframe shuffle `shuffle`.
    fn drop_shuffle(&self, _shuffle: &str) {}

    /// Runs `f`, inside which the executor calls [`Host::execute`] for every task it finds
    /// queued. A host whose calls share an expensive context (Python: the GIL) acquires it
    /// here once for the whole burst.
    fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        f()
    }
}
