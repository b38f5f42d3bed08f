//! The `Blockwise` compact layer as seen from Python.

use std::collections::BTreeMap;

use oxdask_graph::layer::{self, BlockwiseInput};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping, PyString};

use crate::errors::graph_err;
use crate::task::kwargs_dict;

/// `(name, *block_index) -> func(*args, **kwargs)` for every output block; see `_core.pyi`.
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct Blockwise {
    pub(crate) name: String,
    pub(crate) func: Py<PyAny>,
    pub(crate) out_ind: Vec<u32>,
    /// `(value, ind)`: `ind` is `None` for a literal, else `value` is an input name.
    pub(crate) args: Vec<(Py<PyAny>, Option<Vec<u32>>)>,
    pub(crate) kwargs: Option<Py<PyDict>>,
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

    pub(crate) fn out_numblocks(&self) -> &[u32] {
        &self.numblocks
    }

    pub(crate) fn len(&self) -> usize {
        self.numblocks.iter().map(|&n| n as usize).product()
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
        if !func.is_callable() {
            return Err(PyTypeError::new_err(format!(
                "Blockwise {name:?}: func {} is not callable",
                func.repr()?
            )));
        }
        let mut inputs = Vec::with_capacity(args.len());
        for (i, (value, ind)) in args.iter().enumerate() {
            let Some(ind) = ind else {
                inputs.push(BlockwiseInput::Literal);
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
        }
        let mut layer = Self {
            name,
            func: func.unbind(),
            out_ind,
            args: args.into_iter().map(|(v, i)| (v.unbind(), i)).collect(),
            kwargs: kwargs_dict(kwargs.as_ref()),
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
