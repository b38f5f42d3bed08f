//! The `Gather` compact layer as seen from Python.

use oxdask_graph::gather;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::{check_callable, graph_err};

/// Output block `(i, j, ...)` is `func(blocks, pieces[0][i], pieces[1][j], ...)`, where
/// `blocks` nests the input blocks `sources[0][i] x sources[1][j] x ...`; see `_core.pyi`.
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct Gather {
    pub(crate) spec: gather::Gather,
    pub(crate) input: String,
    pub(crate) func: Py<PyAny>,
    /// Per dimension, per output block: the value passed to `func` for that dimension.
    pub(crate) pieces: Vec<Vec<Py<PyAny>>>,
}

#[pymethods]
impl Gather {
    #[new]
    #[pyo3(signature = (name, input, in_numblocks, sources, func, pieces, dropped=None))]
    fn new(
        name: String,
        input: String,
        in_numblocks: Vec<u32>,
        sources: Vec<Vec<Vec<u32>>>,
        func: Bound<'_, PyAny>,
        pieces: Vec<Vec<Bound<'_, PyAny>>>,
        dropped: Option<Vec<usize>>,
    ) -> PyResult<Self> {
        check_callable("Gather", &name, "func", &func)?;
        let same_shape = pieces.len() == sources.len()
            && pieces.iter().zip(&sources).all(|(p, s)| p.len() == s.len());
        if !same_shape {
            return Err(PyValueError::new_err(format!(
                "Gather {name:?}: pieces must have one entry per output block of every \
                 dimension, like sources"
            )));
        }
        let spec = gather::Gather {
            name,
            in_numblocks,
            sources,
            dropped: dropped.unwrap_or_default(),
        };
        spec.check().map_err(graph_err)?;
        Ok(Self {
            spec,
            input,
            func: func.unbind(),
            pieces: pieces
                .into_iter()
                .map(|p| p.into_iter().map(Bound::unbind).collect())
                .collect(),
        })
    }

    #[getter]
    fn name(&self) -> &str {
        &self.spec.name
    }

    /// Output blocks per dimension of the output keys.
    #[getter]
    fn numblocks(&self) -> Vec<u32> {
        self.spec.key_numblocks()
    }

    fn __len__(&self) -> usize {
        self.spec.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Gather(name={:?}, input={:?}, numblocks={:?})",
            self.spec.name,
            self.input,
            self.spec.key_numblocks()
        )
    }
}
