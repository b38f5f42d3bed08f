//! What the embedding program provides: running tasks and (de)serializing their values.

use std::sync::Arc;

use bytes::Bytes;
use oxdask_protocol::messages::{ComputeTask, ErrorBlob};

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
    /// `malloc_trim`), so process memory reflects what is really held.
    fn release_memory(&self) {}

    /// Runs `f`, inside which the executor calls [`Host::execute`] for every task it finds
    /// queued. A host whose calls share an expensive context (Python: the GIL) acquires it
    /// here once for the whole burst.
    fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        f()
    }
}
