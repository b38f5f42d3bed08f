//! Errors of graph construction and validation.

use crate::Key;

/// What can be wrong with a task graph.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GraphError {
    /// A task refers to a key that is not in the graph.
    #[error("task {task} depends on missing key {missing}")]
    MissingDependency {
        /// The task holding the reference.
        task: Key,
        /// The key that is not in the graph.
        missing: Key,
    },
    /// A requested output key is not in the graph.
    #[error("requested key {key} is not in the graph")]
    MissingOutput {
        /// The key that was asked for.
        key: Key,
    },
    /// The same key is defined twice.
    #[error("key {key} is defined more than once")]
    DuplicateKey {
        /// The repeated key.
        key: Key,
    },
    /// The graph has a cycle; `cycle` lists its keys in dependency order, first key repeated last.
    #[error("cycle detected: {}", display_cycle(.cycle))]
    Cycle {
        /// Keys on the cycle: each depends on the next; the last equals the first.
        cycle: Vec<Key>,
    },
    /// A compact layer description does not fit together.
    #[error("layer {layer:?}: {reason}")]
    BadLayer {
        /// The layer's output name.
        layer: String,
        /// What is inconsistent.
        reason: String,
    },
}

fn display_cycle(cycle: &[Key]) -> String {
    cycle
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Result type of this crate.
pub type Result<T, E = GraphError> = std::result::Result<T, E>;
