//! `_core.run_nanny`: `oxdask worker`'s supervisor (see the `oxdask-nanny` crate).

use std::time::Duration;

use oxdask_nanny::{supervise, NannyConfig};
use pyo3::prelude::*;

use crate::runtime::runtime;
use crate::security::{load_tls, TlsArg};

/// Runs `command` (the worker's) under a nanny until the worker closes normally or a signal
/// reaches this process (raised here, as `KeyboardInterrupt` for Ctrl-C); returns the exit
/// code. The GIL is free meanwhile.
#[pyfunction]
#[pyo3(signature = (command, scheduler, token=None, tls=None, memory_limit=0, terminate=None))]
pub(crate) fn run_nanny(
    py: Python<'_>,
    command: Vec<String>,
    scheduler: String,
    token: Option<String>,
    tls: TlsArg,
    memory_limit: u64,
    terminate: Option<f64>,
) -> PyResult<i32> {
    // The worker says it registered by creating this file (removed with the directory).
    let dir = tempfile::tempdir()
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("nanny: {e}")))?;
    let config = NannyConfig {
        command,
        scheduler,
        token,
        tls: load_tls(tls)?,
        memory_limit,
        terminate,
        poll: Duration::from_millis(50),
        settle: Duration::from_secs(3),
        ready: Some(dir.path().join("registered")),
    };
    let mut interrupted: Option<PyErr> = None;
    let code = py.detach(|| {
        supervise(&config, runtime().handle(), || {
            Python::attach(|py| match py.check_signals() {
                Ok(()) => false,
                Err(e) => {
                    interrupted = Some(e);
                    true
                }
            })
        })
    });
    match interrupted {
        Some(e) => Err(e),
        None => Ok(code),
    }
}
