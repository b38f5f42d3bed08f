//! Any peer (worker or client) -> a worker's data server.

use oxdask_graph::Key;
use serde::{Deserialize, Serialize};

use super::{BufIx, StoredValue};

/// Requests a worker's data server answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PeerRequest {
    /// Send these values ([`PeerReply::Data`]).
    GetData {
        /// Request id echoed in the reply.
        id: u64,
        /// The keys.
        keys: Vec<Key>,
    },
    /// Store these values (scatter); buffers are in the same frame.
    PutData {
        /// Request id echoed in the reply.
        id: u64,
        /// The values.
        values: Vec<StoredValue>,
        /// Whether the worker tells the scheduler it now holds them (`DataAdded`). A client
        /// that scatters reports the keys itself (`Scattered`, which also says who wants them)
        /// and leaves this false: a worker report racing ahead of the client's would name keys
        /// the scheduler does not know yet, which it frees.
        #[serde(default)]
        report: bool,
    },
    /// Hand over, and forget, the pieces this worker holds for output partition `partition`
    /// of the dataframe shuffle `shuffle` ([`PeerReply::Pieces`]).
    TakeShuffle {
        /// Request id echoed in the reply.
        id: u64,
        /// The shuffle's id (a token of its graph).
        shuffle: String,
        /// The output partition.
        partition: u32,
    },
    /// Forget every piece of the dataframe shuffle `shuffle` (its outputs are done, or no
    /// longer wanted). No reply.
    DropShuffle {
        /// The shuffle's id.
        shuffle: String,
    },
}

/// One shuffle piece: the input partition it was cut from and its serialized form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShufflePiece {
    /// The input partition.
    pub input: u32,
    /// The pickle stream.
    pub pickle: BufIx,
    /// Its out-of-band buffers.
    pub buffers: Vec<BufIx>,
}

/// Replies of a worker's data server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PeerReply {
    /// The values that were found; keys not held are listed in `missing`.
    Data {
        /// The request id.
        id: u64,
        /// Values found.
        values: Vec<StoredValue>,
        /// Keys this worker does not hold.
        missing: Vec<Key>,
    },
    /// Values stored, or why they could not be.
    Stored {
        /// The request id.
        id: u64,
        /// Set when the values could not be rebuilt or stored.
        #[serde(default)]
        error: Option<String>,
    },
    /// The pieces of a shuffle's output partition (none if the worker holds none), or why
    /// they could not be taken.
    Pieces {
        /// The request id.
        id: u64,
        /// The pieces, buffers in the same frame.
        pieces: Vec<ShufflePiece>,
        /// Set when taking or serializing the pieces failed.
        error: Option<String>,
    },
}
