//! A graph's tasks in their wire form, built in one pass for the client's submit.
//!
//! Most tasks call a function on plain values and keys: `(add, "leaf-1", "leaf-2")`,
//! `(getitem, ("x", 0, 1), 3)`. Their arguments are written here in a small tagged format
//! (payload tag `N`) instead of being pickled one task at a time in Python; the worker reads
//! them back with [`loads_plain`]. Any other argument (a nested task, a NumPy array, an
//! object) sends the task through Python's pickling (`dumps`), as before.
//!
//! Format: one tag byte per value. `0` None, `1` False, `2` True, `3` int (i64 LE), `4`
//! float (f64 LE), `5` str and `6` bytes (u32 LE length, then the bytes), `7` tuple and `8`
//! list (u32 LE count, then the items). Only exact types are written: subclasses (an
//! `IntEnum`, a named tuple) keep their type through pickle.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use bytes::Bytes;
use oxdask_protocol::messages::WireTask;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyList, PyNone, PyString, PyTuple};

use oxdask_graph::{Key, KeyMap};

use crate::key::key_from_py;

/// The payload tag of plainly encoded arguments.
const TAG: u8 = b'N';
/// Nesting deeper than this goes through pickle.
const MAX_DEPTH: usize = 32;

/// Appends `obj` to `out`; `false` (with `out` partly written) when it is not plain.
fn write(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: usize) -> bool {
    if obj.is_none() {
        out.push(0);
    } else if obj.is_exact_instance_of::<PyBool>() {
        out.push(if obj.is_truthy().unwrap_or(false) {
            2
        } else {
            1
        });
    } else if obj.is_exact_instance_of::<PyInt>() {
        let Ok(i) = obj.extract::<i64>() else {
            return false; // beyond 64 bits
        };
        out.push(3);
        out.extend_from_slice(&i.to_le_bytes());
    } else if obj.is_exact_instance_of::<PyFloat>() {
        let Ok(f) = obj.cast::<PyFloat>() else {
            return false;
        };
        out.push(4);
        out.extend_from_slice(&f.value().to_le_bytes());
    } else if obj.is_exact_instance_of::<PyString>() {
        let Ok(s) = obj.cast::<PyString>().map(|s| s.to_str()) else {
            return false;
        };
        let Ok(s) = s else {
            return false; // lone surrogates are not UTF-8
        };
        return put_bytes(out, 5, s.as_bytes());
    } else if obj.is_exact_instance_of::<PyBytes>() {
        let Ok(b) = obj.cast::<PyBytes>() else {
            return false;
        };
        return put_bytes(out, 6, b.as_bytes());
    } else if depth < MAX_DEPTH && obj.is_exact_instance_of::<PyTuple>() {
        let Ok(t) = obj.cast::<PyTuple>() else {
            return false;
        };
        return put_items(out, 7, t.len(), t.iter(), depth);
    } else if depth < MAX_DEPTH && obj.is_exact_instance_of::<PyList>() {
        let Ok(l) = obj.cast::<PyList>() else {
            return false;
        };
        return put_items(out, 8, l.len(), l.iter(), depth);
    } else {
        return false;
    }
    true
}

fn put_len(out: &mut Vec<u8>, tag: u8, n: usize) -> bool {
    let Ok(n) = u32::try_from(n) else {
        return false;
    };
    out.push(tag);
    out.extend_from_slice(&n.to_le_bytes());
    true
}

fn put_bytes(out: &mut Vec<u8>, tag: u8, b: &[u8]) -> bool {
    put_len(out, tag, b.len()) && {
        out.extend_from_slice(b);
        true
    }
}

fn put_items<'py>(
    out: &mut Vec<u8>,
    tag: u8,
    n: usize,
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    depth: usize,
) -> bool {
    put_len(out, tag, n) && items.into_iter().all(|x| write(&x, out, depth + 1))
}

/// The `N` payload of `obj`, or `None` when something in it is not plain.
fn encode(obj: &Bound<'_, PyAny>) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(32);
    out.push(TAG);
    write(obj, &mut out, 0).then_some(out)
}

/// A task's inputs, by key, for substitution while reading its arguments.
pub(crate) struct Inputs<'py> {
    by_key: KeyMap<usize>,
    values: Vec<Bound<'py, PyAny>>,
}

impl<'py> Inputs<'py> {
    /// `keys[i]` stands for `values[i]`.
    pub(crate) fn new(keys: impl Iterator<Item = Key>, values: Vec<Bound<'py, PyAny>>) -> Self {
        let mut by_key = KeyMap::default();
        for (i, k) in keys.enumerate() {
            by_key.entry(canonical(k)).or_insert(i);
        }
        Self { by_key, values }
    }
}

/// A key as Python's hashing sees it: `1`, `1.0` and `True` are one dictionary key.
fn canonical(k: Key) -> Key {
    match k {
        Key::Float(bits) => {
            let f = f64::from_bits(bits);
            // (the range check keeps the cast exact; -0.0 == 0)
            if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) {
                Key::Int(f as i64)
            } else {
                Key::Float(bits)
            }
        }
        Key::Tuple(parts) if parts.iter().any(canonical_differs) => {
            Key::Tuple(parts.iter().cloned().map(canonical).collect())
        }
        other => other,
    }
}

/// Whether [`canonical`] would change `k` (an integral float somewhere in it).
fn canonical_differs(k: &Key) -> bool {
    match k {
        Key::Float(bits) => f64::from_bits(*bits).fract() == 0.0,
        Key::Tuple(parts) => parts.iter().any(canonical_differs),
        _ => false,
    }
}

/// Reads values back, checking every length against the bytes left; with `inputs`, a value
/// equal to an input's key reads as that input (Dask's substitution of dependencies).
struct Reader<'a, 'py> {
    rest: &'a [u8],
    inputs: Option<&'a Inputs<'py>>,
}

impl<'py> Reader<'_, 'py> {
    fn take(&mut self, n: usize) -> PyResult<&[u8]> {
        if self.rest.len() < n {
            return Err(PyValueError::new_err("truncated task payload"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn eight(&mut self) -> PyResult<[u8; 8]> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(b)
    }

    fn len(&mut self) -> PyResult<usize> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b) as usize)
    }

    /// The key the next value spells (numbers canonical), without consuming it; `None` for
    /// None, lists, and tuples holding them.
    fn peek_key(&self) -> Option<(Key, usize)> {
        let mut probe = Reader {
            rest: self.rest,
            inputs: None,
        };
        let key = probe.key(0)?;
        Some((key, self.rest.len() - probe.rest.len()))
    }

    fn key(&mut self, depth: usize) -> Option<Key> {
        let tag = *self.take(1).ok()?.first()?;
        Some(match tag {
            1 | 2 => Key::Int(i64::from(tag == 2)),
            3 => Key::Int(i64::from_le_bytes(self.eight().ok()?)),
            4 => canonical(Key::Float(u64::from_le_bytes(self.eight().ok()?))),
            5 => {
                let n = self.len().ok()?;
                Key::Str(std::str::from_utf8(self.take(n).ok()?).ok()?.into())
            }
            6 => {
                let n = self.len().ok()?;
                Key::Bytes(self.take(n).ok()?.into())
            }
            7 if depth < MAX_DEPTH => {
                let n = self.len().ok()?;
                if n > self.rest.len() {
                    return None;
                }
                let parts = (0..n)
                    .map(|_| self.key(depth + 1))
                    .collect::<Option<Vec<_>>>()?;
                Key::Tuple(parts.into())
            }
            _ => return None,
        })
    }

    /// The items of a tuple or list whose tag was just read.
    fn items(&mut self, py: Python<'py>, depth: usize) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let n = self.len()?;
        if n > self.rest.len() {
            return Err(PyValueError::new_err("truncated task payload"));
        }
        (0..n).map(|_| self.value(py, depth)).collect()
    }

    fn value(&mut self, py: Python<'py>, depth: usize) -> PyResult<Bound<'py, PyAny>> {
        if depth > MAX_DEPTH {
            return Err(PyValueError::new_err("task payload nested too deeply"));
        }
        if let Some(inputs) = self.inputs.filter(|i| !i.by_key.is_empty()) {
            if let Some((key, used)) = self.peek_key() {
                if let Some(&i) = inputs.by_key.get(&key) {
                    self.rest = &self.rest[used..];
                    return Ok(inputs.values[i].clone());
                }
            }
        }
        let tag = self.take(1)?[0];
        Ok(match tag {
            0 => PyNone::get(py).to_owned().into_any(),
            1 | 2 => PyBool::new(py, tag == 2).to_owned().into_any(),
            3 => i64::from_le_bytes(self.eight()?)
                .into_pyobject(py)?
                .into_any(),
            4 => PyFloat::new(py, f64::from_le_bytes(self.eight()?)).into_any(),
            5 => {
                let n = self.len()?;
                let s = std::str::from_utf8(self.take(n)?)
                    .map_err(|e| PyValueError::new_err(format!("task payload: {e}")))?;
                PyString::new(py, s).into_any()
            }
            6 => {
                let n = self.len()?;
                PyBytes::new(py, self.take(n)?).into_any()
            }
            7 | 8 => {
                let items = self.items(py, depth + 1)?;
                if tag == 7 {
                    PyTuple::new(py, items)?.into_any()
                } else {
                    PyList::new(py, items)?.into_any()
                }
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "task payload: unknown tag {other}"
                )))
            }
        })
    }
}

/// The value of an `N` payload (written by `encode_tasks` or `dumps_plain`).
#[pyfunction]
pub(crate) fn loads_plain<'py>(py: Python<'py>, payload: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    read_plain(py, payload, None, false)
}

/// Whether a task payload is plainly encoded (see the module docs).
pub(crate) fn is_plain(payload: &[u8]) -> bool {
    payload.first() == Some(&TAG)
}

/// The value of an `N` payload; with `inputs`, each value equal to an input's key is that
/// input, as Dask substitutes dependencies. With `arguments` the payload is the argument tuple
/// of a task with a head function, which is itself never a key; without, it is the whole task
/// (it may be a key: an alias).
pub(crate) fn read_plain<'py>(
    py: Python<'py>,
    payload: &[u8],
    inputs: Option<&Inputs<'py>>,
    arguments: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let Some((&TAG, body)) = payload.split_first() else {
        return Err(PyValueError::new_err("not a plain task payload"));
    };
    let mut r = Reader { rest: body, inputs };
    let value = if arguments {
        if r.take(1)?[0] != 7 {
            return Err(PyValueError::new_err(
                "task payload: arguments are not a tuple",
            ));
        }
        PyTuple::new(py, r.items(py, 1)?)?.into_any()
    } else {
        r.value(py, 0)?
    };
    if !r.rest.is_empty() {
        return Err(PyValueError::new_err("trailing bytes in task payload"));
    }
    Ok(value)
}

/// The `N` payload of `obj`, or None when it holds anything but plain values.
#[pyfunction]
pub(crate) fn dumps_plain<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
) -> Option<Bound<'py, PyBytes>> {
    encode(obj).map(|b| PyBytes::new(py, &b))
}

/// Tasks ready for `ClientConnection.submit` (taken by it).
#[pyclass(module = "oxdask._core")]
pub(crate) struct WireTasks(pub(crate) Vec<WireTask>);

#[pymethods]
impl WireTasks {
    fn __len__(&self) -> usize {
        self.0.len()
    }
}

/// Options shared by every task of one submission.
type Options = (i32, Option<Vec<String>>, bool, Vec<(String, f64)>, u32);

/// The wire form of `tasks` (`(key, task, deps)` triples); see `_core.pyi`.
#[pyfunction]
pub(crate) fn encode_tasks(
    tasks: &Bound<'_, PyList>,
    head: &Bound<'_, PyAny>,
    dumps: &Bound<'_, PyAny>,
    options: Options,
) -> PyResult<WireTasks> {
    let (priority, workers, loose, resources, retries) = options;
    // (function id, name) per head function, asked of Python once per function.
    let mut heads: HashMap<usize, (u64, String)> = HashMap::new();
    let mut out = Vec::with_capacity(tasks.len());
    for item in tasks.iter() {
        let (key, task, deps): (Bound<'_, PyAny>, Bound<'_, PyAny>, Bound<'_, PyList>) =
            item.extract()?;
        let call = task
            .cast_exact::<PyTuple>()
            .ok()
            .filter(|t| !t.is_empty())
            .and_then(|t| {
                t.get_item(0)
                    .ok()
                    .filter(|f| f.is_callable())
                    .map(|f| (t, f))
            });
        let (plain, named) = match &call {
            Some((t, func)) => {
                let named = match heads.entry(func.as_ptr() as usize) {
                    Entry::Occupied(e) => e.get().clone(),
                    Entry::Vacant(e) => e.insert(head.call1((func,))?.extract()?).clone(),
                };
                (encode(&t.get_slice(1, t.len())), Some(named))
            }
            None => (encode(&task), None),
        };
        let payload = match plain {
            Some(b) => b,
            None => {
                dumps
                    .call1((&task,))?
                    .extract::<(Option<u64>, Vec<u8>)>()?
                    .1
            }
        };
        let (function, func_name) = match named {
            Some((fid, name)) => (Some(fid), name),
            None => (None, "literal".to_owned()),
        };
        out.push(WireTask {
            key: key_from_py(&key)?,
            deps: deps
                .iter()
                .map(|d| key_from_py(&d))
                .collect::<PyResult<_>>()?,
            payload: Bytes::from(payload),
            function,
            func_name,
            priority,
            workers: workers.clone(),
            allow_other_workers: loose,
            resources: resources.clone(),
            retries,
        });
    }
    Ok(WireTasks(out))
}
