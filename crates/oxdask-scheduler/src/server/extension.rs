//! Calls a client runs in the scheduler's process: what the embedding program (Python) builds
//! on the scheduler — coordination primitives, published datasets, `run_on_scheduler`. The
//! core never waits for them: each runs on the blocking pool and answers its client itself.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

/// Runs clients' calls. Both methods may block (they run on the blocking pool).
pub trait SchedulerExtension: Send + Sync {
    /// Runs the pickled call of `client`; returns the pickled result (or exception, with
    /// `false`).
    fn call(&self, client: u32, call: Bytes) -> (Bytes, bool);
    /// `client` left (closed or lost its connection): what it held can be released.
    fn client_left(&self, client: u32);
    /// Answers the dashboard's `/json/ext/<name>?<params>` (JSON text), or `None` when it
    /// has no such route.
    fn http(&self, _name: &str, _params: &HashMap<String, String>) -> Option<String> {
        None
    }
    /// Whether it wants every task transition (a scheduler plugin watches them). Asked on
    /// each tick from the core: it must answer at once, without blocking.
    fn wants_transitions(&self) -> bool {
        false
    }
    /// The transitions since the previous batch, oldest first; batches come in order, from
    /// one thread of their own.
    fn transitions(&self, _batch: Vec<crate::Transition>) {}
}

/// A shared [`SchedulerExtension`], as [`super::ServerConfig`] holds it.
#[derive(Clone)]
pub struct Extension(pub Arc<dyn SchedulerExtension>);

impl fmt::Debug for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Extension(..)")
    }
}
