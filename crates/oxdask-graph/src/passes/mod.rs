//! Pure graph passes: each takes a graph (and the ids that must survive) and returns a result.

mod cull;
mod fuse;
mod order;
mod validate;

pub use cull::cull;
pub use fuse::{fuse, Fuse};
pub use order::order;
pub use validate::{toposort, validate};

#[cfg(test)]
pub(crate) mod fixtures;
