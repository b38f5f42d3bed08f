//! Local execution of a task graph on a pool of threads.
//!
//! * [`state::LocalState`] is the pure decision logic: which tasks are ready, in what priority,
//!   and when a result can be dropped because no remaining task needs it. No threads, no clocks.
//! * [`pool`] shares that state between threads behind one mutex and drives it: threads sleep
//!   while nothing is ready and take ready tasks in priority order.
//! * [`pace`] decides when a second thread helps: not while tasks are so short that handing
//!   the interpreter lock between threads costs more than the tasks.
//!
//! What *running* a task means is the caller's business ([`pool::Runner`]): the Python bindings
//! run each task's callable while holding the GIL and keep the GIL across consecutive tasks, so a
//! run of trivial tasks pays for one GIL acquisition, not one per task.
//!
//! ```text
//!            pop (lowest priority)         finish(value)
//!  Waiting ──────► Ready ───────────────► Running ───────────► Done (value held)
//!  (missing deps)   ▲   all deps finished                         │ last dependent finished
//!                   └─────────────────────────────────────────────┘ and not an output:
//!                                                                   value released
//! ```
#![warn(missing_docs)]

pub mod pace;
pub mod pool;
pub mod state;

pub use pool::{run, Inputs, Queue, Runner, Wait};
pub use state::{LocalState, RunStats};
