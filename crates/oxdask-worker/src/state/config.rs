//! Limits and capacities of the state machine.

/// What the worker may do at once.
#[derive(Clone, Debug, PartialEq)]
pub struct StateConfig {
    /// Tasks executing at once.
    pub nthreads: u32,
    /// Abstract resources the worker declared, such as `("GPU", 1.0)`. A task runs only
    /// while what it needs is free; a resource not declared counts as zero.
    pub resources: Vec<(String, f64)>,
    /// Outstanding fetch requests per peer.
    pub max_fetches_per_peer: u32,
    /// Bytes being fetched at once, over all peers (Dask's
    /// `transfer.incoming-bytes-throttle-threshold` in spirit). One request may exceed it
    /// when nothing else is in flight, so a single large value can always be fetched.
    pub max_incoming_bytes: u64,
    /// Bytes asked of one peer in one request (Dask's `transfer.message-bytes-limit`);
    /// a request always takes at least one key.
    pub max_request_bytes: u64,
    /// Size assumed for a value whose size the scheduler did not give (Dask's
    /// `scheduler.default-data-size`).
    pub default_nbytes: u64,
    /// Tasks handed to the executor beyond `nthreads` while tasks are short, so that a thread
    /// that finishes one finds the next without waiting for the state machine's turn.
    pub prefetch: u32,
    /// Tasks count as short while the moving average of their run times is below this.
    pub short_task_us: u64,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            nthreads: 1,
            resources: Vec::new(),
            max_fetches_per_peer: 2,
            max_incoming_bytes: 64 << 20,
            max_request_bytes: 32 << 20,
            default_nbytes: 1 << 10,
            prefetch: 16,
            short_task_us: 1_000,
        }
    }
}
