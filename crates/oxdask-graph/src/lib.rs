//! The task-graph core of oxdask.
//!
//! A [`Graph`] is a dense, immutable DAG: tasks are numbered `0..n` ([`TaskId`]), each carries a
//! [`Key`] (Dask's key: a string or a tuple such as `("x", 0, 1)`), an opaque payload `P` (in
//! Python a compiled task, on the wire bytes) and the ids of the tasks it depends on, stored in
//! compressed-sparse-row form so that a million tasks cost a few allocations.
//!
//! Graph passes are pure functions, one file each in [`passes`]:
//! * [`passes::validate`] — every dependency exists and there is no cycle;
//! * [`passes::cull`] — keep only the ancestors of the requested outputs;
//! * [`passes::fuse`] — merge linear chains into single tasks;
//! * [`passes::order`] — a static, memory-aware priority for every task.
//!
//! [`layer`], [`tree`] and [`gather`] expand compact descriptions of many tasks (Dask's
//! blockwise, tree reductions, and gathers of block pieces such as rechunking) without
//! materializing one object per task on the caller's side.
//!
//! This crate knows nothing of Python, threads or sockets.
#![warn(missing_docs)]

mod error;
pub mod gather;
mod graph;
mod id;
mod key;
pub mod layer;
pub mod passes;
pub mod tree;

pub use error::{GraphError, Result};
pub use graph::{Adjacency, Graph, GraphBuilder};
pub use id::TaskId;
pub use key::{Key, KeyHasher, KeyMap};
