//! Task tuples for schedulers that ship tasks elsewhere (the distributed client).
//!
//! [`graph_tasks`] parses a graph with its compact layers, culls it to the requested keys and
//! returns `(key, task, dependencies)` for every task left. Tasks of the mapping are returned as
//! the user wrote them; blocks of compact layers are rebuilt as plain Dask task tuples from their
//! compiled form, so a collection's layers are expanded once, in Rust, only for what is needed.

use oxdask_graph::passes;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::errors::graph_err;
use crate::key::key_to_py;
use crate::layer::Layer;
use crate::parse::{parse, Parsed};
use crate::task::{Arg, PyTask};

/// `(key, task, dependency keys)` of every task needed for `keys`; see `_core.pyi`.
#[pyfunction]
#[pyo3(signature = (dsk, keys, *, layers=None))]
pub(crate) fn graph_tasks<'py>(
    py: Python<'py>,
    dsk: &Bound<'py, PyAny>,
    keys: &Bound<'py, PyAny>,
    layers: Option<Vec<Bound<'py, PyAny>>>,
) -> PyResult<Bound<'py, PyList>> {
    let layers = Layer::extract_all(layers)?;
    let Parsed { graph, outputs } = parse(dsk, &layers, Some(keys))?;
    let (graph, _) = passes::cull(graph, &outputs);
    passes::validate(&graph).map_err(graph_err)?;
    let out = PyList::empty(py);
    let dict = dsk.cast::<PyDict>().ok();
    for id in graph.ids() {
        let key = key_to_py(py, graph.key(id))?;
        let deps = graph
            .deps(id)
            .iter()
            .map(|d| key_to_py(py, graph.key(*d)))
            .collect::<PyResult<Vec<_>>>()?;
        let original = match &dict {
            Some(d) => d.get_item(&key)?,
            None => None,
        };
        let task = match original {
            Some(task) => task,
            None => match graph.payload(id) {
                PyTask::One(arg) => Rebuild { py, deps: &deps }.arg(arg)?,
                PyTask::Chain(_) => unreachable!("graph_tasks does not fuse"),
            },
        };
        out.append((key, task, PyList::new(py, &deps)?))?;
    }
    Ok(out)
}

/// Turns a compiled [`Arg`] back into a Dask task expression.
struct Rebuild<'a, 'py> {
    py: Python<'py>,
    /// Python keys of the task's dependencies, by position.
    deps: &'a [Bound<'py, PyAny>],
}

impl<'py> Rebuild<'_, 'py> {
    fn arg(&self, arg: &Arg) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        Ok(match arg {
            Arg::Lit(v) => self.literal(v.bind(py))?,
            Arg::Dep(i) => self.deps[*i].clone(),
            Arg::List(items) => PyList::new(py, self.all(items)?)?.into_any(),
            Arg::Tuple(items) => PyTuple::new(py, self.all(items)?)?.into_any(),
            Arg::Dict(items) => {
                let d = PyDict::new(py);
                for (k, v) in items {
                    d.set_item(k.bind(py), self.arg(v)?)?;
                }
                d.into_any()
            }
            Arg::Call(call) => {
                let args = self.all(&call.args)?;
                match &call.kwargs {
                    None => {
                        let mut items = Vec::with_capacity(args.len() + 1);
                        items.push(call.func.bind(py).clone());
                        items.extend(args);
                        PyTuple::new(py, items)?.into_any()
                    }
                    Some(kwargs) => {
                        let apply = helper(py, &APPLY, "oxdask.utils", "apply")?;
                        let kwargs = self.literal(kwargs.bind(py).as_any())?;
                        let args = PyList::new(py, args)?.into_any();
                        PyTuple::new(py, [apply, call.func.bind(py).clone(), args, kwargs])?
                            .into_any()
                    }
                }
            }
        })
    }

    fn all(&self, items: &[Arg]) -> PyResult<Vec<Bound<'py, PyAny>>> {
        items.iter().map(|a| self.arg(a)).collect()
    }

    /// A value the executor must pass unchanged: containers and strings are quoted so they are
    /// neither searched for keys nor called.
    fn literal(&self, v: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let container = v.is_instance_of::<PyTuple>()
            || v.is_instance_of::<PyList>()
            || v.is_instance_of::<PyDict>()
            || v.is_instance_of::<PyString>();
        if !container {
            return Ok(v.clone());
        }
        let literal = helper(self.py, &LITERAL, "oxdask.core", "literal")?;
        PyTuple::new(self.py, [literal.call1((v,))?]).map(Bound::into_any)
    }
}

static APPLY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static LITERAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `module.name`, imported once into `cell`.
fn helper<'py>(
    py: Python<'py>,
    cell: &PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import(module)?.getattr(name)?.unbind())
    })
    .map(|f| f.bind(py).clone())
}
