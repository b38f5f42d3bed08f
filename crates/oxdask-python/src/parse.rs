//! Turns a Dask graph (a mapping of key -> task) plus compact layers into a [`Graph<PyTask>`].
//!
//! Pass one numbers every key (dict entries in order, then each layer's blocks row-major); pass
//! two compiles each task, resolving references to those numbers. A Python object crosses into
//! Rust once here; running the graph never inspects task tuples again.
//!
//! Reference rules follow Dask: a hashable argument that is a key of the graph is replaced by
//! that task's result; a tuple headed by a callable is a call; lists, tuples and dicts are
//! searched for references. In addition, a tuple `(name, i, ...)` whose `name` is the name of a
//! layer or of tuple keys in the graph, but which is not itself a key, is reported as a missing
//! dependency instead of being passed on as a literal tuple.

use std::collections::{HashMap, HashSet};

use oxdask_graph::layer::BlockRef;
use oxdask_graph::{Graph, GraphBuilder, GraphError, Key, TaskId};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};

use crate::errors::graph_err;
use crate::key::key_from_py;
use crate::layer::Layer;
use crate::task::{Arg, Call, PyTask};

/// One `(key, task)` entry of the graph mapping.
type Item<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

/// Where the blocks of a layer live in the id space.
struct LayerRange {
    base: u32,
    numblocks: Vec<u32>,
}

impl LayerRange {
    fn id(&self, coords: &[u32]) -> Option<TaskId> {
        if coords.len() != self.numblocks.len() {
            return None;
        }
        let mut flat: u64 = 0;
        for (&c, &n) in coords.iter().zip(&self.numblocks) {
            if c >= n {
                return None;
            }
            flat = flat * u64::from(n) + u64::from(c);
        }
        u32::try_from(u64::from(self.base) + flat).ok().map(TaskId)
    }
}

/// A parsed graph and the ids of the requested keys.
pub(crate) struct Parsed {
    pub(crate) graph: Graph<PyTask>,
    pub(crate) outputs: Vec<TaskId>,
}

pub(crate) struct Parser<'py> {
    py: Python<'py>,
    /// Python key -> id, for the dict part.
    ids: Bound<'py, PyDict>,
    layers: HashMap<String, LayerRange>,
    /// First elements of tuple keys of the dict part (collection names).
    tuple_names: HashSet<String>,
    /// Whether the dict has keys other than str and tuple, so numbers must be looked up too.
    scalar_keys: bool,
    /// Dependencies of the task being compiled, in first-reference order.
    deps: Vec<TaskId>,
    dep_pos: HashMap<TaskId, usize>,
    /// Key of the task being compiled, for error messages.
    current: Option<Key>,
}

impl<'py> Parser<'py> {
    /// Numbers the keys of `dsk` and of `layers`.
    fn new(dsk: &Bound<'py, PyMapping>, layers: &[Layer<'py>]) -> PyResult<(Self, Vec<Item<'py>>)> {
        let py = dsk.py();
        let ids = PyDict::new(py);
        let mut tuple_names = HashSet::new();
        let mut scalar_keys = false;
        let mut items: Vec<Item<'py>> = Vec::with_capacity(dsk.len()?);
        if let Ok(d) = dsk.cast::<PyDict>() {
            // Direct iteration: no (key, value) tuple per entry.
            items.extend(d.iter());
        } else {
            for item in dsk.items()?.iter() {
                items.push(item.extract()?);
            }
        }
        for (index, (k, _)) in items.iter().enumerate() {
            if let Ok(t) = k.cast::<PyTuple>() {
                if let Ok(first) = t.get_item(0) {
                    if let Ok(s) = first.cast::<PyString>() {
                        let name = s.to_str()?;
                        if !tuple_names.contains(name) {
                            tuple_names.insert(name.to_owned());
                        }
                    }
                }
            } else if !k.is_instance_of::<PyString>() {
                scalar_keys = true;
            }
            ids.set_item(k, index)?;
        }
        let mut next = u32::try_from(items.len()).map_err(|_| too_big())?;
        let mut ranges = HashMap::new();
        for layer in layers {
            for (name, numblocks) in layer.ranges().map_err(graph_err)? {
                let count: u64 = numblocks.iter().map(|&n| u64::from(n)).product();
                if ranges.contains_key(&name) || tuple_names.contains(&name) {
                    return Err(graph_err(GraphError::DuplicateKey {
                        key: Key::str(&name),
                    }));
                }
                ranges.insert(
                    name,
                    LayerRange {
                        base: next,
                        numblocks,
                    },
                );
                next = u32::try_from(u64::from(next) + count).map_err(|_| too_big())?;
            }
        }
        let parser = Self {
            py,
            ids,
            layers: ranges,
            tuple_names,
            scalar_keys,
            deps: Vec::new(),
            dep_pos: HashMap::new(),
            current: None,
        };
        Ok((parser, items))
    }

    /// Resolves a Python object to a task id if it is a key of the graph.
    fn lookup(&self, obj: &Bound<'py, PyAny>) -> PyResult<Option<TaskId>> {
        match self.ids.get_item(obj) {
            Ok(Some(i)) => Ok(Some(TaskId(i.extract()?))),
            Ok(None) => Ok(None),
            // Unhashable (a tuple holding a list, say): not a key.
            Err(_) => Ok(None),
        }
    }

    /// A `(name, i, j, ...)` tuple that names a block of a layer or a dict collection.
    fn lookup_block(&self, t: &Bound<'py, PyTuple>) -> PyResult<Option<Result<TaskId, Key>>> {
        let Ok(first) = t.get_item(0) else {
            return Ok(None);
        };
        let Ok(name) = first.cast::<PyString>() else {
            return Ok(None);
        };
        let name = name.to_str()?;
        if let Some(range) = self.layers.get(name) {
            let coords: Option<Vec<u32>> =
                t.iter().skip(1).map(|c| c.extract::<u32>().ok()).collect();
            if let Some(id) = coords.as_deref().and_then(|c| range.id(c)) {
                return Ok(Some(Ok(id)));
            }
        } else if !self.tuple_names.contains(name) {
            return Ok(None);
        }
        Ok(Some(Err(key_from_py(t.as_any())?)))
    }

    fn dep(&mut self, id: TaskId) -> Arg {
        if let Some(&pos) = self.dep_pos.get(&id) {
            return Arg::Dep(pos);
        }
        if self.deps.len() < 16 {
            if let Some(pos) = self.deps.iter().position(|&d| d == id) {
                return Arg::Dep(pos);
            }
        } else if self.dep_pos.is_empty() {
            self.dep_pos
                .extend(self.deps.iter().enumerate().map(|(i, &d)| (d, i)));
            return self.dep(id);
        }
        let pos = self.deps.len();
        self.deps.push(id);
        if !self.dep_pos.is_empty() {
            self.dep_pos.insert(id, pos);
        }
        Arg::Dep(pos)
    }

    fn missing(&self, missing: Key) -> PyErr {
        let task = self.current.clone().unwrap_or_else(|| Key::str("?"));
        graph_err(GraphError::MissingDependency { task, missing })
    }

    /// Compiles one argument (or a whole task body).
    fn arg(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<Arg> {
        if obj.is_instance_of::<PyString>() {
            return Ok(match self.lookup(obj)? {
                Some(id) => self.dep(id),
                None => Arg::Lit(obj.clone().unbind()),
            });
        }
        if let Ok(t) = obj.cast::<PyTuple>() {
            return self.tuple(t);
        }
        if let Ok(l) = obj.cast::<PyList>() {
            let items = l
                .iter()
                .map(|i| self.arg(&i))
                .collect::<PyResult<Vec<_>>>()?;
            return Ok(if items.iter().all(Arg::is_lit) {
                Arg::Lit(obj.clone().unbind())
            } else {
                Arg::List(items)
            });
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            let mut items = Vec::with_capacity(d.len());
            for (k, v) in d.iter() {
                items.push((k.unbind(), self.arg(&v)?));
            }
            return Ok(if items.iter().all(|(_, a)| a.is_lit()) {
                Arg::Lit(obj.clone().unbind())
            } else {
                Arg::Dict(items)
            });
        }
        if self.scalar_keys
            && (obj.is_instance_of::<PyInt>()
                || obj.is_instance_of::<PyFloat>()
                || obj.is_instance_of::<PyBytes>())
        {
            if let Some(id) = self.lookup(obj)? {
                return Ok(self.dep(id));
            }
        }
        Ok(Arg::Lit(obj.clone().unbind()))
    }

    fn tuple(&mut self, t: &Bound<'py, PyTuple>) -> PyResult<Arg> {
        if let Ok(head) = t.get_item(0) {
            if head.is_callable() {
                let args = t
                    .iter()
                    .skip(1)
                    .map(|a| self.arg(&a))
                    .collect::<PyResult<_>>()?;
                return Ok(Arg::Call(Box::new(Call {
                    func: head.unbind(),
                    args,
                    kwargs: None,
                })));
            }
        }
        if let Some(id) = self.lookup(t.as_any())? {
            return Ok(self.dep(id));
        }
        match self.lookup_block(t)? {
            Some(Ok(id)) => return Ok(self.dep(id)),
            Some(Err(missing)) => return Err(self.missing(missing)),
            None => {}
        }
        let items = t
            .iter()
            .map(|i| self.arg(&i))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(if items.iter().all(Arg::is_lit) {
            Arg::Lit(t.clone().into_any().unbind())
        } else {
            Arg::Tuple(items)
        })
    }

    /// Starts compiling the task `key`.
    fn begin(&mut self, key: Key) {
        self.deps.clear();
        self.dep_pos.clear();
        self.current = Some(key);
    }

    /// Resolves a requested key.
    fn output(&self, key: &Bound<'py, PyAny>) -> PyResult<TaskId> {
        if let Some(id) = self.lookup(key)? {
            return Ok(id);
        }
        if let Ok(t) = key.cast::<PyTuple>() {
            if let Some(Ok(id)) = self.lookup_block(t)? {
                return Ok(id);
            }
        }
        // Same class and message as a plain dict lookup, as Dask raises.
        key_from_py(key)?;
        Err(PyKeyError::new_err(key.clone().unbind()))
    }

    /// The result of block `coords` of the collection `name` (a layer or tuple keys of the dict).
    pub(crate) fn block(&mut self, name: &str, coords: &[u32]) -> PyResult<Arg> {
        let id = match self.layers.get(name) {
            Some(range) => range.id(coords),
            None => {
                let key = crate::key::key_to_py(self.py, &Key::chunk(name, coords))?;
                self.lookup(&key)?
            }
        };
        match id {
            Some(id) => Ok(self.dep(id)),
            None => Err(self.missing(Key::chunk(name, coords))),
        }
    }

    /// Compiles a layer's block reference; `source(arg)` says what argument `arg` stands for.
    pub(crate) fn block_ref<'s>(
        &mut self,
        r: &BlockRef,
        source: &dyn Fn(usize) -> Source<'s>,
    ) -> PyResult<Arg> {
        Ok(match r {
            BlockRef::List(items) => Arg::List(
                items
                    .iter()
                    .map(|i| self.block_ref(i, source))
                    .collect::<PyResult<_>>()?,
            ),
            BlockRef::Literal { arg } | BlockRef::Block { arg, .. } => {
                match (source(*arg), r) {
                    (Source::Blocks(name), BlockRef::Block { coords, .. }) => {
                        self.block(name, coords)?
                    }
                    (Source::Literal(v), _) => Arg::Lit(v.clone_ref(self.py)),
                    // A literal position never yields block coordinates, and vice versa.
                    (Source::Blocks(name), _) => return Err(self.missing(Key::str(name))),
                }
            }
        })
    }

    /// Starts a task of a layer.
    pub(crate) fn begin_task(&mut self, key: Key) {
        self.begin(key);
    }

    /// Ends a task of a layer, pushing it with the dependencies collected since `begin_task`.
    pub(crate) fn end_task(&mut self, b: &mut GraphBuilder<PyTask>, body: Arg) {
        let key = self.current.take().expect("begin_task set the key");
        b.push(key, PyTask::One(body), self.deps.drain(..));
    }

    pub(crate) fn py(&self) -> Python<'py> {
        self.py
    }
}

/// What a layer's argument stands for.
pub(crate) enum Source<'a> {
    /// A value passed unchanged.
    Literal(&'a Py<PyAny>),
    /// Blocks of the named collection.
    Blocks(&'a str),
}

/// Errors while expanding a layer: the graph crate's, or Python's.
pub(crate) struct LayerErr(pub(crate) PyErr);

impl From<GraphError> for LayerErr {
    fn from(e: GraphError) -> Self {
        LayerErr(graph_err(e))
    }
}

fn too_big() -> PyErr {
    pyo3::exceptions::PyOverflowError::new_err("graphs are limited to 2^32 tasks")
}

/// Parses `dsk` and `layers` and resolves `keys` (all keys when `None`).
pub(crate) fn parse(
    dsk: &Bound<'_, PyAny>,
    layers: &[Layer<'_>],
    keys: Option<&Bound<'_, PyAny>>,
) -> PyResult<Parsed> {
    let mapping = dsk.cast::<PyMapping>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "a task graph must be a mapping of key -> task, not {}",
            dsk.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let (mut parser, items) = Parser::new(mapping, layers)?;
    let total: usize = items.len() + layers.iter().map(|l| l.len()).sum::<usize>();
    let mut b = GraphBuilder::with_capacity(total);
    for (k, v) in &items {
        parser.begin(key_from_py(k)?);
        let body = parser.arg(v)?;
        let key = parser.current.take().expect("begin set the key");
        b.push(key, PyTask::One(body), parser.deps.drain(..));
    }
    for layer in layers {
        layer.push(&mut parser, &mut b)?;
    }
    let outputs = match keys {
        Some(keys) => keys
            .try_iter()?
            .map(|k| parser.output(&k?))
            .collect::<PyResult<Vec<_>>>()?,
        None => (0..b.len()).map(TaskId::from_index).collect(),
    };
    Ok(Parsed {
        graph: b.build(),
        outputs,
    })
}
