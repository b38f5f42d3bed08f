//! The `TreeReduce` compact layer as seen from Python.

use oxdask_graph::tree;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::{check_callable, graph_err};
use crate::layer::Blockwise;

/// Reduce blocks of `input` along `axes` in a tree: `combine` on groups of at most
/// `split_every` blocks per axis, `aggregate` for the last level; see `_core.pyi`.
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct TreeReduce {
    pub(crate) spec: tree::TreeReduce,
    pub(crate) input: String,
    pub(crate) combine: Py<PyAny>,
    pub(crate) aggregate: Py<PyAny>,
    pub(crate) levels: Vec<tree::Level>,
    /// The Blockwise layer producing `input`, computed inside the first level's tasks
    /// (its blocks are then never tasks of their own).
    pub(crate) inline: Option<Py<Blockwise>>,
}

#[pymethods]
impl TreeReduce {
    #[new]
    #[pyo3(signature = (name, input, numblocks, axes, split_every, combine, aggregate, keepdims=false, inline=None))]
    #[allow(clippy::too_many_arguments)] // mirrors the Python constructor
    fn new(
        name: String,
        input: String,
        numblocks: Vec<u32>,
        axes: Vec<usize>,
        split_every: Vec<u32>,
        combine: Bound<'_, PyAny>,
        aggregate: Bound<'_, PyAny>,
        keepdims: bool,
        inline: Option<Bound<'_, Blockwise>>,
    ) -> PyResult<Self> {
        check_callable("TreeReduce", &name, "combine", &combine)?;
        check_callable("TreeReduce", &name, "aggregate", &aggregate)?;
        let spec = tree::TreeReduce {
            name,
            numblocks,
            axes,
            split_every,
            keepdims,
        };
        let levels = spec.levels().map_err(graph_err)?;
        if let Some(bw) = &inline {
            let bw = bw.get();
            if bw.name != input || bw.out_numblocks() != spec.numblocks.as_slice() {
                return Err(PyValueError::new_err(format!(
                    "TreeReduce {:?}: the inline layer must produce {input:?} with {:?} blocks, \
                     not {:?} with {:?}",
                    spec.name,
                    spec.numblocks,
                    bw.name,
                    bw.out_numblocks()
                )));
            }
        }
        Ok(Self {
            spec,
            input,
            combine: combine.unbind(),
            aggregate: aggregate.unbind(),
            levels,
            inline: inline.map(Bound::unbind),
        })
    }

    #[getter]
    fn name(&self) -> &str {
        &self.spec.name
    }

    /// Output blocks per output dimension.
    #[getter]
    fn numblocks(&self) -> Vec<u32> {
        self.spec.output_numblocks()
    }

    fn __len__(&self) -> usize {
        self.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "TreeReduce(name={:?}, input={:?}, levels={})",
            self.spec.name,
            self.input,
            self.levels.len()
        )
    }
}

impl TreeReduce {
    /// Number of tasks over all levels.
    pub(crate) fn len(&self) -> usize {
        self.levels
            .iter()
            .map(|l| l.numblocks.iter().map(|&n| n as usize).product::<usize>())
            .sum()
    }
}
