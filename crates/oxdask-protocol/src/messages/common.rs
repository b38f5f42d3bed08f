//! Types shared by several connection kinds.

use bytes::Bytes;
use oxdask_graph::Key;
use serde::{Deserialize, Serialize};

/// Index of a raw buffer in the frame that carries the message.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufIx(pub u32);

impl BufIx {
    /// The buffer this index names among a frame's `buffers`, if the frame has it.
    #[must_use]
    pub fn get(self, buffers: &[Bytes]) -> Option<Bytes> {
        buffers.get(self.0 as usize).cloned()
    }

    /// [`Self::get`], or an error saying that `what` names a buffer the frame lacks.
    ///
    /// # Errors
    ///
    /// The index is past the frame's buffers.
    pub fn resolve(self, buffers: &[Bytes], what: impl std::fmt::Display) -> Result<Bytes, String> {
        self.get(buffers).ok_or_else(|| {
            let n = buffers.len();
            format!("{what} names buffer {} of a frame with {n}", self.0)
        })
    }
}

/// A task's exception as the worker caught it: pickled exception and traceback, plus text for
/// logs and for peers that cannot unpickle (the scheduler never does).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBlob {
    /// `pickle.dumps(exception)`, or empty if it could not be pickled.
    pub exception: Bytes,
    /// Pickled traceback frames (`tblib`-style), or empty.
    pub traceback: Bytes,
    /// `"ExceptionType: message"`, always present.
    pub text: String,
}

/// One stored value on the wire: a pickle protocol 5 stream and its out-of-band buffers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredValue {
    /// The value's key.
    pub key: Key,
    /// The pickle stream.
    pub pickle: BufIx,
    /// Out-of-band buffers, in the order the pickle stream expects them.
    pub buffers: Vec<BufIx>,
}

/// What a worker tells the scheduler about itself when it registers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Address other workers and clients use to fetch data (`tcp://host:port`).
    pub address: String,
    /// Name given on the command line, or the address.
    pub name: String,
    /// Threads running tasks.
    pub nthreads: u32,
    /// Memory limit in bytes (0: none).
    pub memory_limit: u64,
    /// Abstract resources, such as `("GPU", 2.0)`.
    pub resources: Vec<(String, f64)>,
    /// Process id, for diagnostics.
    pub pid: u32,
    /// Whether a nanny supervises the process (it reports why the process died).
    #[serde(default)]
    pub nanny: bool,
}
