//! Task tuples for schedulers that ship tasks elsewhere (the distributed client).
//!
//! [`graph_tasks`] parses a graph with its compact layers, culls it to the requested keys and
//! returns `(key, task, dependencies)` for every task left. Tasks of the mapping are returned as
//! the user wrote them; blocks of compact layers are rebuilt as plain Dask task tuples from their
//! compiled form, so a collection's layers are expanded once, in Rust, only for what is needed.

use std::cell::RefCell;
use std::collections::HashMap;

use oxdask_graph::passes;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::errors::graph_err;
use crate::key::{key_from_py, key_to_py};
use crate::layer::Layer;
use crate::parse::{parse, Parsed};
use crate::task::{Arg, PyTask};

/// `(key, task, dependency keys)` of every task needed for `keys`; see `_core.pyi`.
#[pyfunction]
#[pyo3(signature = (dsk, keys, *, layers=None, external=Vec::new(), share_large=false))]
pub(crate) fn graph_tasks<'py>(
    py: Python<'py>,
    dsk: &Bound<'py, PyAny>,
    keys: &Bound<'py, PyAny>,
    layers: Option<Vec<Bound<'py, PyAny>>>,
    external: Vec<Bound<'py, PyAny>>,
    share_large: bool,
) -> PyResult<Bound<'py, PyList>> {
    let layers = Layer::extract_all(layers)?;
    let external: std::collections::HashSet<oxdask_graph::Key> =
        external.iter().map(key_from_py).collect::<PyResult<_>>()?;
    let Parsed { graph, outputs } = parse(dsk, &layers, Some(keys))?;
    let (graph, outputs) = passes::cull(graph, &outputs);
    passes::validate(&graph).map_err(graph_err)?;
    let dict = dsk.cast::<PyDict>().ok();
    // Tasks of the mapping are sent as written; blocks of compact layers are rebuilt.
    let mut original = Vec::with_capacity(graph.len());
    let mut keys = Vec::with_capacity(graph.len());
    for id in graph.ids() {
        let key = key_to_py(py, graph.key(id))?;
        original.push(match &dict {
            Some(d) => d.get_item(&key)?,
            None => None,
        });
        keys.push(key);
    }
    // Cheap literal values are written into the rebuilt tasks that use them instead of being
    // shipped as tasks of their own; one stays a task only if it is an output or a task of the
    // mapping refers to it.
    let mut inlined: Vec<Option<&Py<PyAny>>> = vec![None; graph.len()];
    let mut kept = vec![true; graph.len()];
    let dependents = graph.dependents();
    let outputs: std::collections::HashSet<_> = outputs.iter().copied().collect();
    for id in graph.ids() {
        if external.contains(graph.key(id)) {
            kept[id.index()] = false;
            continue;
        }
        let PyTask::One(Arg::Lit(v)) = graph.payload(id) else {
            continue;
        };
        let users = dependents.get(id);
        if users.is_empty() || !(users.len() == 1 || cheap(v.bind(py))?) {
            continue;
        }
        inlined[id.index()] = Some(v);
        kept[id.index()] =
            outputs.contains(&id) || users.iter().any(|u| original[u.index()].is_some());
    }
    let out = PyList::empty(py);
    let shared = RefCell::new(Shared {
        on: share_large,
        seen: HashMap::new(),
        tasks: Vec::new(),
    });
    for id in graph.ids() {
        if !kept[id.index()] {
            continue;
        }
        let key = keys[id.index()].clone();
        let task = match &original[id.index()] {
            Some(task) => {
                let deps = graph.deps(id).iter().map(|d| keys[d.index()].clone());
                out.append((key, task, PyList::new(py, deps)?))?;
                continue;
            }
            None => graph.payload(id),
        };
        let deps: Vec<Dep<'_, 'py>> = graph
            .deps(id)
            .iter()
            .map(|d| match inlined[d.index()] {
                Some(v) => Dep::Value(v.bind(py)),
                None => Dep::Key(&keys[d.index()]),
            })
            .collect();
        let rebuild = Rebuild {
            py,
            deps: &deps,
            shared: &shared,
            extra: RefCell::new(Vec::new()),
        };
        let task = match task {
            PyTask::One(arg) => rebuild.arg(arg)?,
            PyTask::Chain(_) => unreachable!("graph_tasks does not fuse"),
        };
        let wire_deps = PyList::empty(py);
        for d in &deps {
            if let Dep::Key(k) = d {
                wire_deps.append(*k)?;
            }
        }
        for k in rebuild.extra.into_inner() {
            wire_deps.append(k)?;
        }
        out.append((key, task, wire_deps))?;
    }
    for (key, value) in shared.into_inner().tasks.into_iter().rev() {
        out.insert(0, (key, value, PyList::empty(py)))?;
    }
    Ok(out)
}

/// Large literal values of rebuilt tasks (in-memory arrays read by every block of
/// `from_array`): each becomes one task of its own, which the tasks using it depend on, so it
/// is sent once instead of inside every task.
struct Shared<'py> {
    on: bool,
    /// The key standing for each literal seen so far (`None`: small, written into tasks),
    /// by object identity (the graph holds them all while tasks are rebuilt).
    seen: HashMap<usize, Option<Bound<'py, PyAny>>>,
    /// `(key, value)` of each large literal.
    tasks: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
}

/// Literals from this size (as `oxdask.sizeof` counts) are shared.
const LARGE: usize = 64 << 10;

impl<'py> Shared<'py> {
    fn key_of(&mut self, v: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if !self.on {
            return Ok(None);
        }
        let id = v.as_ptr() as usize;
        if let Some(known) = self.seen.get(&id) {
            return Ok(known.clone());
        }
        let py = v.py();
        let key = if cheap(v)? {
            None
        } else {
            let size: usize = helper(py, &SIZEOF, "oxdask.sizeof", "sizeof")?
                .call1((v,))?
                .extract()?;
            if size < LARGE {
                None
            } else {
                let token = helper(py, &TOKENIZE, "oxdask.tokenize", "tokenize")?.call1((v,))?;
                let key = PyString::new(py, &format!("literal-{token}")).into_any();
                self.tasks.push((key.clone(), quoted(py, v)?));
                Some(key)
            }
        };
        self.seen.insert(id, key.clone());
        Ok(key)
    }
}

/// A value worth copying into every task that uses it: a number, `None`, a short string or
/// bytes, or an instance of a class marked `__oxdask_inline__ = True` (such as the block
/// locations of arrays).
fn cheap(v: &Bound<'_, PyAny>) -> PyResult<bool> {
    use pyo3::types::{PyBytes, PyFloat, PyInt};
    const SHORT: usize = 256;
    // (`bool` is an `int`.)
    if v.is_none() || v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>() {
        return Ok(true);
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s.to_str().is_ok_and(|s| s.len() <= SHORT));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(b.as_bytes().len() <= SHORT);
    }
    match v
        .get_type()
        .getattr(pyo3::intern!(v.py(), "__oxdask_inline__"))
    {
        Ok(flag) => flag.is_truthy(),
        Err(_) => Ok(false),
    }
}

/// A rebuilt task's dependency: a key to fetch, or a literal written into the task.
enum Dep<'a, 'py> {
    Key(&'a Bound<'py, PyAny>),
    Value(&'a Bound<'py, PyAny>),
}

/// Turns a compiled [`Arg`] back into a Dask task expression.
struct Rebuild<'a, 'py> {
    py: Python<'py>,
    /// The task's dependencies, by position.
    deps: &'a [Dep<'a, 'py>],
    shared: &'a RefCell<Shared<'py>>,
    /// Keys of shared literals the task uses.
    extra: RefCell<Vec<Bound<'py, PyAny>>>,
}

impl<'py> Rebuild<'_, 'py> {
    fn arg(&self, arg: &Arg) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        Ok(match arg {
            Arg::Lit(v) => {
                let v = v.bind(py);
                match self.shared.borrow_mut().key_of(v)? {
                    Some(key) => {
                        let mut extra = self.extra.borrow_mut();
                        if !extra.iter().any(|k| k.is(&key)) {
                            extra.push(key.clone());
                        }
                        key
                    }
                    None => quoted(self.py, v)?,
                }
            }
            Arg::Dep(i) => match &self.deps[*i] {
                Dep::Key(k) => (*k).clone(),
                Dep::Value(v) => quoted(self.py, v)?,
            },
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
                        let kwargs = quoted(self.py, kwargs.bind(py).as_any())?;
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
}

/// A value the executor must pass unchanged: containers and strings are quoted so they are
/// neither searched for keys nor called.
fn quoted<'py>(py: Python<'py>, v: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let container = v.is_instance_of::<PyTuple>()
        || v.is_instance_of::<PyList>()
        || v.is_instance_of::<PyDict>()
        || v.is_instance_of::<PyString>();
    if !container {
        return Ok(v.clone());
    }
    let literal = helper(py, &LITERAL, "oxdask.core", "literal")?;
    PyTuple::new(py, [literal.call1((v,))?]).map(Bound::into_any)
}

static APPLY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static LITERAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SIZEOF: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static TOKENIZE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

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
