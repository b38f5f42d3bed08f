//! The process-wide tokio runtime used by the client, scheduler and worker bindings.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::{ffi, Python};
use tokio::runtime::Runtime;

/// An idle blocking-pool thread exits after this long (tokio's default is 10 s). Each one
/// keeps a Python thread state while it lives (see [`attach`]), so they are not churned.
const BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(600);

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
            .thread_keep_alive(BLOCKING_KEEP_ALIVE)
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

thread_local! {
    /// Whether this thread was given a Python thread state of its own by [`attach`].
    static KEPT: Cell<bool> = const { Cell::new(false) };
}

/// `Python::attach` for the runtime's threads (values (de)serialized for peers, shuffle
/// pieces): a thread without a Python thread state first gets one that lives as long as the
/// thread, detached. Otherwise CPython creates and deletes a thread state, with a fresh
/// frame stack mapped in, on every call: a tenth of a worker's CPU time when small values
/// move between workers. (The state of a thread that ends is not freed: the runtime's idle
/// threads live [`BLOCKING_KEEP_ALIVE`], and freeing needs the GIL, which a thread ending
/// while the interpreter finalizes must not take.)
#[allow(unsafe_code)] // the two calls into CPython below
pub(crate) fn attach<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    if !KEPT.get() {
        KEPT.set(true);
        // SAFETY: a thread without a thread state cannot hold the GIL; `PyGILState_Ensure`
        // makes its state and takes the GIL, `PyEval_SaveThread` releases the GIL and keeps
        // the state (its use count stays at one), so later attaches only take the GIL.
        unsafe {
            if ffi::PyGILState_GetThisThreadState().is_null() {
                ffi::PyGILState_Ensure();
                ffi::PyEval_SaveThread();
            }
        }
    }
    Python::attach(f)
}
