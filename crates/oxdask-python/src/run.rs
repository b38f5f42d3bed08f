//! Running a parsed graph on the local thread pool, holding the GIL only while Python runs.
//!
//! A thread that finds work attaches to the interpreter once and keeps running ready tasks until
//! none is left, so trivial tasks cost one GIL acquisition per burst rather than per task. Other
//! threads sleep until the burst leaves several tasks ready; while a task releases the GIL (NumPy
//! and pandas kernels do), a sleeping thread takes the GIL and runs the next ready task. While
//! tasks take microseconds, the other threads stay out (`oxdask_local::pace`): passing the GIL
//! back and forth would cost more than the tasks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use oxdask_graph::{Graph, Key, TaskId};
use oxdask_local::{Queue, Runner};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::key::key_to_py;
use crate::task::{Evaluator, PyTask, Submit};

/// Why a run stopped.
pub(crate) enum RunError {
    /// A task raised: re-raised as the original exception.
    Task { key: Key, error: PyErr },
    /// Ctrl-C, or an error raised by a callback.
    Interrupted(PyErr),
    /// A bug inside the engine.
    Panic(String),
}

impl RunError {
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            RunError::Task { key, error } => {
                // Name the failing task without changing the exception's type or traceback.
                let note = format!("while computing task {key}");
                let _ = error.value(py).call_method1("add_note", (note,));
                error
            }
            RunError::Interrupted(e) => e,
            RunError::Panic(msg) => {
                PyRuntimeError::new_err(format!("internal error in oxdask's executor: {msg}"))
            }
        }
    }
}

/// Counters shared with Python while a computation runs.
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct Progress {
    pub(crate) done: Arc<AtomicUsize>,
    pub(crate) total: AtomicUsize,
}

#[pymethods]
impl Progress {
    #[new]
    fn new() -> Self {
        Self {
            done: Arc::new(AtomicUsize::new(0)),
            total: AtomicUsize::new(0),
        }
    }

    #[getter]
    fn done(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }

    #[getter]
    fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }
}

/// Runs tasks of one graph.
pub(crate) struct PyRunner<'g> {
    pub(crate) graph: &'g Graph<PyTask>,
    pub(crate) submit: Submit,
    pub(crate) pretask: Option<Py<PyAny>>,
    pub(crate) posttask: Option<Py<PyAny>>,
}

/// How many tasks the calling thread runs between checks for Ctrl-C.
const SIGNAL_CHECK_EVERY: u32 = 128;

impl PyRunner<'_> {
    fn run_one(
        &self,
        py: Python<'_>,
        task: TaskId,
        inputs: &[Py<PyAny>],
    ) -> Result<Py<PyAny>, RunError> {
        let callback_err = RunError::Interrupted;
        if let Some(pre) = &self.pretask {
            let key = key_to_py(py, self.graph.key(task)).map_err(callback_err)?;
            pre.call1(py, (key,)).map_err(callback_err)?;
        }
        let eval = Evaluator {
            submit: &self.submit,
        };
        let value = eval
            .run(py, self.graph.payload(task), inputs)
            .map_err(|error| RunError::Task {
                key: self.graph.key(task).clone(),
                error,
            })?;
        if let Some(post) = &self.posttask {
            let key = key_to_py(py, self.graph.key(task)).map_err(callback_err)?;
            post.call1(py, (key, value.bind(py)))
                .map_err(callback_err)?;
        }
        Ok(value)
    }
}

impl Runner for PyRunner<'_> {
    type Value = Py<PyAny>;
    type Error = RunError;

    fn drain(&self, queue: &Queue<Py<PyAny>, RunError>, calling_thread: bool) {
        Python::attach(|py| {
            let mut released = Vec::new();
            let mut since_check = 0u32;
            while let Some((task, inputs)) = queue.pop_with(|task, inputs| {
                let values: Vec<Py<PyAny>> = (0..inputs.len())
                    .map(|i| inputs.get(i).clone_ref(py))
                    .collect();
                (task, values)
            }) {
                let started = Instant::now();
                match self.run_one(py, task, &inputs) {
                    Ok(value) => queue.finish(task, value, started.elapsed(), &mut released),
                    Err(e) => {
                        queue.fail(e);
                        return;
                    }
                }
                // Dropping results may run Python code (__del__): never under the queue's lock.
                drop(inputs);
                released.clear();
                if calling_thread {
                    since_check += 1;
                    if since_check == SIGNAL_CHECK_EVERY {
                        since_check = 0;
                        if let Err(e) = py.check_signals() {
                            queue.fail(RunError::Interrupted(e));
                            return;
                        }
                    }
                }
            }
        });
    }

    fn check_interrupt(&self) -> Result<(), RunError> {
        Python::attach(|py| py.check_signals()).map_err(RunError::Interrupted)
    }

    fn panicked(&self, message: String) -> RunError {
        RunError::Panic(message)
    }
}
