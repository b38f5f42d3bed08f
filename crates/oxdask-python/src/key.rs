//! Conversion of Dask keys between Python objects and [`Key`].

use oxdask_graph::Key;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString, PyTuple};

/// Converts a Python key (str, bytes, int, float, or tuple of those) to a [`Key`].
pub(crate) fn key_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Key> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Key::Str(s.to_str()?.into()));
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        let parts = t
            .iter()
            .map(|p| key_from_py(&p))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Key::Tuple(parts.into()));
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return Ok(Key::Int(obj.extract()?));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Key::Float(f.value().to_bits()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Key::Bytes(b.as_bytes().into()));
    }
    Err(PyTypeError::new_err(format!(
        "unexpected key type {} (value: {}): keys must be str, bytes, int, float or tuples of them",
        obj.get_type().name()?,
        obj.repr()?
    )))
}

/// Converts a [`Key`] back to the Python object it came from.
pub(crate) fn key_to_py<'py>(py: Python<'py>, key: &Key) -> PyResult<Bound<'py, PyAny>> {
    Ok(match key {
        Key::Str(s) => PyString::new(py, s).into_any(),
        Key::Int(i) => i.into_pyobject(py)?.into_any(),
        Key::Float(bits) => PyFloat::new(py, f64::from_bits(*bits)).into_any(),
        Key::Bytes(b) => PyBytes::new(py, b).into_any(),
        Key::Tuple(parts) => {
            let items = parts
                .iter()
                .map(|p| key_to_py(py, p))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, items)?.into_any()
        }
    })
}
