//! The process-wide tokio runtime used by the client, scheduler and worker bindings.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

/// The runtime, started on first use with one IO thread (`OXDASK_IO_THREADS` sets another
/// number). Network work is light next to the Python that runs tasks, and on a machine of few
/// cores a second IO thread costs more than it gives: a message handed from one IO thread to
/// the other, or a sibling woken to look for work, is a thread switch on the path of every
/// round trip (one thread: about 0.2 ms for a `submit(...).result()` on 2 cores, 0.25-0.3 ms
/// with two), while one thread already carries several GB/s.
pub(crate) fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(io_threads())
            .thread_name("oxdask-io")
            .enable_all()
            .build()
            .expect("the tokio runtime starts (threads and an IO driver are available)")
    })
}

fn io_threads() -> usize {
    std::env::var("OXDASK_IO_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}
