//! The process-wide tokio runtime used by the client, scheduler and worker bindings.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

/// The runtime, started on first use with two IO threads (this is a 2-core target; network
/// work is light next to the Python that runs tasks).
pub(crate) fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("oxdask-io")
            .enable_all()
            .build()
            .expect("the tokio runtime starts (threads and an IO driver are available)")
    })
}
