//! The `Blockwise` compact layer as seen from Python, and [`Layer`]: any compact layer.

use std::collections::BTreeMap;

use oxdask_graph::layer::{self, BlockRef, BlockwiseInput};
use oxdask_graph::{GraphBuilder, GraphError, Key};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping, PyString};

use crate::errors::{check_callable, graph_err};
use crate::gather::Gather;
use crate::parse::{LayerErr, Parser, Source};
use crate::task::{kwargs_dict, Arg, Call, PyTask};
use crate::tree::TreeReduce;

/// `(name, *block_index) -> func(*args, **kwargs)` for every output block; see `_core.pyi`.
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct Blockwise {
    pub(crate) name: String,
    pub(crate) func: Py<PyAny>,
    pub(crate) out_ind: Vec<u32>,
    /// `(value, ind)`: `ind` is `None` for a literal, else `value` is an input name.
    pub(crate) args: Vec<(Py<PyAny>, Option<Vec<u32>>)>,
    pub(crate) kwargs: Option<Py<PyDict>>,
    /// Input name of each argument (`None` for literals).
    names: Vec<Option<String>>,
    inputs: Vec<BlockwiseInput>,
    new_axes: BTreeMap<u32, u32>,
    numblocks: Vec<u32>,
}

impl Blockwise {
    pub(crate) fn spec(&self) -> layer::Blockwise {
        layer::Blockwise {
            name: self.name.clone(),
            out_ind: self.out_ind.clone(),
            inputs: self.inputs.clone(),
            new_axes: self.new_axes.clone(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.numblocks.iter().map(|&n| n as usize).product()
    }

    pub(crate) fn out_numblocks(&self) -> &[u32] {
        &self.numblocks
    }

    fn source(&self, arg: usize) -> Source<'_> {
        match &self.names[arg] {
            Some(name) => Source::Blocks(name),
            None => Source::Literal(&self.args[arg].0),
        }
    }

    /// The call computing one block, given its arguments as the layer's expansion yields them.
    fn call(&self, parser: &mut Parser<'_>, refs: &[BlockRef]) -> PyResult<Arg> {
        let py = parser.py();
        let args = refs
            .iter()
            .map(|r| parser.block_ref(r, &|arg| self.source(arg)))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Arg::Call(Box::new(Call {
            func: self.func.clone_ref(py),
            args,
            kwargs: self.kwargs.as_ref().map(|k| k.clone_ref(py)),
        })))
    }
}

/// A Blockwise layer computed inside the first level of a tree reduction: the layer, its
/// expansion and its label sizes.
type Inline<'a> = (&'a Blockwise, layer::Blockwise, BTreeMap<u32, u32>);

/// `r` (blocks of a tree's input) with each block replaced by the call of the layer computing it.
fn inline_blocks(parser: &mut Parser<'_>, r: &BlockRef, inline: &Inline<'_>) -> PyResult<Arg> {
    let (bw, spec, sizes) = inline;
    match r {
        BlockRef::List(items) => Ok(Arg::List(
            items
                .iter()
                .map(|i| inline_blocks(parser, i, inline))
                .collect::<PyResult<_>>()?,
        )),
        BlockRef::Block { coords, .. } => bw.call(parser, &spec.block(sizes, coords)),
        BlockRef::Literal { arg } => Err(PyTypeError::new_err(format!(
            "Blockwise {:?}: argument {arg} of a tree reduction is not a block",
            bw.name
        ))),
    }
}

#[pymethods]
impl Blockwise {
    #[new]
    #[pyo3(signature = (name, func, out_ind, args, numblocks, kwargs=None, new_axes=None))]
    fn new(
        name: String,
        func: Bound<'_, PyAny>,
        out_ind: Vec<u32>,
        args: Vec<(Bound<'_, PyAny>, Option<Vec<u32>>)>,
        numblocks: Bound<'_, PyMapping>,
        kwargs: Option<Bound<'_, PyDict>>,
        new_axes: Option<BTreeMap<u32, u32>>,
    ) -> PyResult<Self> {
        check_callable("Blockwise", &name, "func", &func)?;
        let mut inputs = Vec::with_capacity(args.len());
        let mut names = Vec::with_capacity(args.len());
        for (i, (value, ind)) in args.iter().enumerate() {
            let Some(ind) = ind else {
                inputs.push(BlockwiseInput::Literal);
                names.push(None);
                continue;
            };
            let input = value.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "Blockwise {name:?}: argument {i} has an index, so its value must be the \
                     name of a blocked input, not {}",
                    value.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            })?;
            let nb: Vec<u32> = match numblocks.get_item(input) {
                Ok(nb) => nb.extract()?,
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "Blockwise {name:?}: numblocks has no entry for input {}",
                        input.repr()?
                    )))
                }
            };
            inputs.push(BlockwiseInput::Blocks {
                ind: ind.clone(),
                numblocks: nb,
            });
            names.push(Some(input.to_str()?.to_owned()));
        }
        let mut layer = Self {
            name,
            func: func.unbind(),
            out_ind,
            args: args.into_iter().map(|(v, i)| (v.unbind(), i)).collect(),
            kwargs: kwargs_dict(kwargs.as_ref()),
            names,
            inputs,
            new_axes: new_axes.unwrap_or_default(),
            numblocks: Vec::new(),
        };
        layer.numblocks = layer.spec().out_numblocks().map_err(graph_err)?;
        Ok(layer)
    }

    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    #[getter(numblocks)]
    fn py_numblocks(&self) -> Vec<u32> {
        self.numblocks.clone()
    }

    fn __len__(&self) -> usize {
        self.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Blockwise(name={:?}, numblocks={:?})",
            self.name, self.numblocks
        )
    }
}

/// A compact layer passed to `_core.get(..., layers=...)`.
pub(crate) enum Layer<'py> {
    Blockwise(PyRef<'py, Blockwise>),
    Tree(PyRef<'py, TreeReduce>),
    Gather(PyRef<'py, Gather>),
}

impl<'py> Layer<'py> {
    /// The `layers=` argument of the graph functions (absent: none).
    pub(crate) fn extract_all(layers: Option<Vec<Bound<'py, PyAny>>>) -> PyResult<Vec<Self>> {
        layers
            .unwrap_or_default()
            .iter()
            .map(Layer::extract)
            .collect()
    }

    /// Accepts a `Blockwise`, a `TreeReduce` or a `Gather`.
    pub(crate) fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.extract::<PyRef<'py, Blockwise>>() {
            return Ok(Layer::Blockwise(b));
        }
        if let Ok(t) = obj.extract::<PyRef<'py, TreeReduce>>() {
            return Ok(Layer::Tree(t));
        }
        if let Ok(g) = obj.extract::<PyRef<'py, Gather>>() {
            return Ok(Layer::Gather(g));
        }
        Err(PyTypeError::new_err(format!(
            "layers must be Blockwise, TreeReduce or Gather objects, not {}",
            obj.get_type().name()?
        )))
    }

    /// Number of tasks the layer expands to.
    pub(crate) fn len(&self) -> usize {
        match self {
            Layer::Blockwise(b) => b.len(),
            Layer::Tree(t) => t.len(),
            Layer::Gather(g) => g.spec.len(),
        }
    }

    /// The collections the layer defines, in id order: name and blocks per key dimension.
    pub(crate) fn ranges(&self) -> Result<Vec<(String, Vec<u32>)>, GraphError> {
        Ok(match self {
            Layer::Blockwise(b) => vec![(b.name.clone(), b.numblocks.clone())],
            Layer::Tree(t) => {
                let (last, partial) = t.levels.split_last().expect("a tree has a final level");
                let mut out: Vec<_> = partial
                    .iter()
                    .map(|l| (l.name.clone(), l.numblocks.clone()))
                    .collect();
                out.push((last.name.clone(), t.spec.output_numblocks()));
                out
            }
            Layer::Gather(g) => vec![(g.spec.name.clone(), g.spec.key_numblocks())],
        })
    }

    /// Appends the layer's tasks to `b`, in the id order given by [`Layer::ranges`].
    pub(crate) fn push(
        &self,
        parser: &mut Parser<'py>,
        b: &mut GraphBuilder<PyTask>,
    ) -> PyResult<()> {
        let py = parser.py();
        match self {
            Layer::Blockwise(layer) => layer.spec().expand::<LayerErr>(|coords, refs| {
                parser.begin_task(Key::chunk(&layer.name, coords));
                let call = layer.call(parser, &refs).map_err(LayerErr)?;
                parser.end_task(b, call);
                Ok(())
            }),
            Layer::Tree(tree) => {
                // The first level may compute its input blocks itself (see `TreeReduce`).
                let inline = match &tree.inline {
                    Some(bw) => {
                        let bw = bw.get();
                        let spec = bw.spec();
                        let sizes = spec.label_sizes().map_err(graph_err)?;
                        Some((bw, spec, sizes))
                    }
                    None => None,
                };
                let last = tree.levels.len();
                let source = |level: usize| {
                    Source::Blocks(if level == 0 {
                        &tree.input
                    } else {
                        &tree.levels[level - 1].name
                    })
                };
                tree.spec.expand::<LayerErr>(|level, coords, inputs| {
                    let (key, func) = if level == last {
                        let out = tree.spec.output_coords(coords);
                        (Key::chunk(&tree.spec.name, &out), &tree.aggregate)
                    } else {
                        (
                            Key::chunk(&tree.levels[level - 1].name, coords),
                            &tree.combine,
                        )
                    };
                    parser.begin_task(key);
                    let arg = match &inline {
                        Some(inline) if level == 1 => inline_blocks(parser, &inputs, inline),
                        _ => parser.block_ref(&inputs, &source),
                    }
                    .map_err(LayerErr)?;
                    let call = Call {
                        func: func.clone_ref(py),
                        args: vec![arg],
                        kwargs: None,
                    };
                    parser.end_task(b, Arg::Call(Box::new(call)));
                    Ok(())
                })
            }
            Layer::Gather(layer) => {
                let source = |_: usize| Source::Blocks(&layer.input);
                layer.spec.expand::<LayerErr>(|coords, blocks| {
                    let key = Key::chunk(&layer.spec.name, &layer.spec.key_coords(coords));
                    parser.begin_task(key);
                    let mut args = vec![parser.block_ref(&blocks, &source).map_err(LayerErr)?];
                    for (axis, &i) in coords.iter().enumerate() {
                        args.push(Arg::Lit(layer.pieces[axis][i as usize].clone_ref(py)));
                    }
                    let call = Call {
                        func: layer.func.clone_ref(py),
                        args,
                        kwargs: None,
                    };
                    parser.end_task(b, Arg::Call(Box::new(call)));
                    Ok(())
                })
            }
        }
        .map_err(|LayerErr(e)| e)
    }
}
