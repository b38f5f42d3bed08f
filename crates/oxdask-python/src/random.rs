//! `_core.random_block`: the blocks of `oxdask.array.random` (see
//! [`oxdask_kernels::random`]), computed with the GIL released and handed to NumPy as a
//! [`Frame`] over the same memory; the distributions built on uniforms and words stay in NumPy.

use bytes::Bytes;
use oxdask_kernels::random::{block, Output};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::buffer::{py_from_bytes, Frame};

/// Values handed to Python as bytes, without a copy.
struct Words(Vec<u64>);

impl AsRef<[u8]> for Words {
    fn as_ref(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }
}

/// `_core.random_block(key, starts, stops, shape, uniform)`: one block of a random array
/// (see the module docs) as a [`Frame`] of 8-byte values, read with `numpy.frombuffer`.
#[pyfunction]
pub(crate) fn random_block<'py>(
    py: Python<'py>,
    key: u64,
    starts: Vec<u64>,
    stops: Vec<u64>,
    shape: Vec<u64>,
    uniform: bool,
) -> PyResult<Bound<'py, Frame>> {
    let output = if uniform {
        Output::Uniform
    } else {
        Output::Words
    };
    let data = py
        .detach(|| block(key, &starts, &stops, &shape, output))
        .map_err(PyValueError::new_err)?;
    py_from_bytes(py, Bytes::from_owner(Words(data)))
}
