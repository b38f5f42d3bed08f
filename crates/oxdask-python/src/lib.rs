//! Python bindings of oxdask: the `oxdask._core` extension module.
//!
//! The surface is deliberately small (see `python/oxdask/_core.pyi`): one call parses, checks,
//! optimizes, orders and runs a whole graph, so Python objects cross into Rust once per graph.
//! This is the only crate that depends on pyo3; engine crates are generic over the payload.
#![warn(missing_docs)]

mod buffer;
mod client;
mod errors;
mod gather;
mod key;
mod layer;
mod logging;
mod materialize;
mod nanny;
mod numpy_alloc;
mod parse;
mod peers;
mod pool;
mod random;
mod run;
mod runtime;
mod scheduler;
mod security;
mod shuffle;
mod task;
mod tree;
mod wire;
mod worker;

use std::collections::HashMap;

use oxdask_graph::passes;
use oxdask_local::{LocalState, Queue};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PySet};

use crate::errors::graph_err;
use crate::key::key_to_py;
use crate::layer::{Blockwise, Layer};
use crate::parse::{parse, Parsed};
use crate::run::{Progress, PyRunner};

/// Counters of one run, returned to Python as a dict.
type Stats = HashMap<&'static str, usize>;

/// Bytes this process has copied straight from other processes' memory (lent buffers).
#[pyfunction]
fn borrowed_bytes() -> u64 {
    oxdask_comm::borrowed_bytes()
}

/// Builds, validates, culls, fuses, orders and runs a graph; see `_core.pyi`.
#[pyfunction]
#[pyo3(signature = (
    dsk, keys, *, layers=None, num_workers=1, optimize=true, fuse=true,
    pretask=None, posttask=None, progress=None, submit=None
))]
#[allow(clippy::too_many_arguments)] // mirrors the keyword-only Python signature
fn get(
    py: Python<'_>,
    dsk: &Bound<'_, PyAny>,
    keys: &Bound<'_, PyAny>,
    layers: Option<Vec<Bound<'_, PyAny>>>,
    num_workers: usize,
    optimize: bool,
    fuse: bool,
    pretask: Option<Py<PyAny>>,
    posttask: Option<Py<PyAny>>,
    progress: Option<PyRef<'_, Progress>>,
    submit: Option<Py<PyAny>>,
) -> PyResult<(Vec<Py<PyAny>>, Stats)> {
    let layers = Layer::extract_all(layers)?;
    let Parsed { graph, outputs } = parse(dsk, &layers, Some(keys))?;
    let graph_tasks = graph.len();
    let (graph, outputs) = if optimize {
        passes::cull(graph, &outputs)
    } else {
        (graph, outputs)
    };
    passes::validate(&graph).map_err(graph_err)?;
    let (graph, outputs) = if fuse {
        passes::fuse(graph, &outputs)
    } else {
        (graph, outputs)
    };
    let priority = passes::order(&graph);
    let mut queue = Queue::new(LocalState::new(&graph, priority, &outputs))
        .with_kinds(oxdask_local::pace::kinds(&graph));
    if let Some(p) = &progress {
        p.total
            .store(graph.len(), std::sync::atomic::Ordering::Relaxed);
        p.done.store(0, std::sync::atomic::Ordering::Relaxed);
        queue = queue.with_progress(p.done.clone());
    }
    let runner = PyRunner {
        graph: &graph,
        submit,
        pretask,
        posttask,
    };
    py.detach(|| oxdask_local::run(&queue, &runner, num_workers.max(1)));
    let (values, run_stats) = queue.into_outputs(&outputs).map_err(|e| e.into_pyerr(py))?;
    let results = fill_repeats(py, &outputs, values)?;
    let stats = HashMap::from([
        ("tasks", run_stats.tasks),
        ("graph_tasks", graph_tasks),
        ("peak_held", run_stats.peak_held),
    ]);
    Ok((results, stats))
}

/// A key requested twice gets its value once from the state; copy the reference to the repeats.
fn fill_repeats(
    py: Python<'_>,
    outputs: &[oxdask_graph::TaskId],
    values: Vec<Option<Py<PyAny>>>,
) -> PyResult<Vec<Py<PyAny>>> {
    let mut first: HashMap<oxdask_graph::TaskId, usize> = HashMap::new();
    let mut results: Vec<Py<PyAny>> = Vec::with_capacity(values.len());
    for (i, (id, v)) in outputs.iter().zip(values).enumerate() {
        match v {
            Some(v) => {
                first.insert(*id, i);
                results.push(v);
            }
            None => {
                let j = *first.get(id).ok_or_else(|| {
                    pyo3::exceptions::PyRuntimeError::new_err("internal error: output not computed")
                })?;
                let v = results[j].clone_ref(py);
                results.push(v);
            }
        }
    }
    Ok(results)
}

/// Static execution priority of every task (lower runs first).
#[pyfunction]
#[pyo3(signature = (dsk, keys=None))]
fn order<'py>(
    py: Python<'py>,
    dsk: &Bound<'py, PyAny>,
    keys: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let Parsed { graph, outputs } = parse(dsk, &[], keys)?;
    let (graph, _) = passes::cull(graph, &outputs);
    passes::validate(&graph).map_err(graph_err)?;
    let priority = passes::order(&graph);
    let out = PyDict::new(py);
    for id in graph.ids() {
        out.set_item(key_to_py(py, graph.key(id))?, priority[id.index()])?;
    }
    Ok(out)
}

/// The keys each task depends on.
#[pyfunction]
fn get_dependencies<'py>(py: Python<'py>, dsk: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let Parsed { graph, .. } = parse(dsk, &[], None)?;
    let out = PyDict::new(py);
    for id in graph.ids() {
        let deps = PySet::empty(py)?;
        for d in graph.deps(id) {
            deps.add(key_to_py(py, graph.key(*d))?)?;
        }
        out.set_item(key_to_py(py, graph.key(id))?, deps)?;
    }
    Ok(out)
}

/// The sub-graph needed for `keys`, with the original task objects.
#[pyfunction]
fn cull<'py>(
    py: Python<'py>,
    dsk: &Bound<'py, PyAny>,
    keys: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let Parsed { graph, outputs } = parse(dsk, &[], Some(keys))?;
    let (graph, _) = passes::cull(graph, &outputs);
    let out = PyDict::new(py);
    for id in graph.ids() {
        let k = key_to_py(py, graph.key(id))?;
        let v = dsk.get_item(&k)?;
        out.set_item(k, v)?;
    }
    Ok(out)
}

/// Raises on a cycle, a missing dependency, a bad key, or a missing requested key.
#[pyfunction]
#[pyo3(signature = (dsk, keys=None))]
fn validate(dsk: &Bound<'_, PyAny>, keys: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    let Parsed { graph, .. } = parse(dsk, &[], keys)?;
    passes::validate(&graph).map_err(graph_err)
}

/// The `oxdask._core` module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::init();
    m.add_function(wrap_pyfunction!(get, m)?)?;
    m.add_function(wrap_pyfunction!(wire::encode_tasks, m)?)?;
    m.add_function(wrap_pyfunction!(wire::loads_plain, m)?)?;
    m.add_function(wrap_pyfunction!(wire::dumps_plain, m)?)?;
    m.add_class::<wire::WireTasks>()?;
    m.add_function(wrap_pyfunction!(order, m)?)?;
    m.add_function(wrap_pyfunction!(get_dependencies, m)?)?;
    m.add_function(wrap_pyfunction!(cull, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(materialize::graph_tasks, m)?)?;
    m.add_function(wrap_pyfunction!(random::random_block, m)?)?;
    m.add_function(wrap_pyfunction!(numpy_alloc::buffer_pool, m)?)?;
    m.add_function(wrap_pyfunction!(numpy_alloc::buffer_pool_activate, m)?)?;
    m.add_function(wrap_pyfunction!(numpy_alloc::buffer_pool_stats, m)?)?;
    m.add_function(wrap_pyfunction!(numpy_alloc::buffer_pool_drain, m)?)?;
    m.add_function(wrap_pyfunction!(borrowed_bytes, m)?)?;
    m.add_class::<Progress>()?;
    m.add_class::<buffer::Frame>()?;
    m.add_class::<Blockwise>()?;
    m.add_class::<tree::TreeReduce>()?;
    m.add_class::<gather::Gather>()?;
    m.add_class::<shuffle::ShuffleStore>()?;
    m.add_class::<peers::ShufflePeers>()?;
    m.add_class::<client::ClientConnection>()?;
    m.add_class::<client::KeyEvent>()?;
    m.add_function(wrap_pyfunction!(nanny::run_nanny, m)?)?;
    m.add_function(wrap_pyfunction!(scheduler::dashboard_asset, m)?)?;
    m.add_function(wrap_pyfunction!(scheduler::watch_transitions, m)?)?;
    m.add_class::<scheduler::AdaptivePolicy>()?;
    m.add_class::<scheduler::Scheduler>()?;
    m.add_function(wrap_pyfunction!(worker::run_worker_blocking, m)?)?;
    m.add_function(wrap_pyfunction!(worker::secede, m)?)?;
    m.add_function(wrap_pyfunction!(worker::rejoin, m)?)?;
    m.add_function(wrap_pyfunction!(security::temporary_pki, m)?)?;
    m.add_function(wrap_pyfunction!(security::check_tls, m)?)?;
    m.add("CycleError", m.py().get_type::<errors::CycleError>())?;
    Ok(())
}
