//! Compiled tasks: a Dask task tuple parsed once into a tree whose key references are positions
//! in the task's dependency list, evaluated many times without re-inspecting Python objects.

use oxdask_graph::passes::Fuse;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// One argument (or the whole body) of a task.
#[derive(Debug)]
pub(crate) enum Arg {
    /// A value passed as is; also stands for a literal container without references inside.
    Lit(Py<PyAny>),
    /// The result of the task's `i`-th dependency.
    Dep(usize),
    /// A list whose items need evaluation.
    List(Vec<Arg>),
    /// A tuple whose items need evaluation (a tuple not headed by a callable).
    Tuple(Vec<Arg>),
    /// A dict whose values need evaluation.
    Dict(Vec<(Py<PyAny>, Arg)>),
    /// A call `func(*args, **kwargs)`.
    Call(Box<Call>),
}

/// `func(*args, **kwargs)`.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) func: Py<PyAny>,
    pub(crate) args: Vec<Arg>,
    pub(crate) kwargs: Option<Py<PyDict>>,
}

impl Arg {
    /// True when evaluation returns a stored object unchanged.
    pub(crate) fn is_lit(&self) -> bool {
        matches!(self, Arg::Lit(_))
    }
}

/// What one scheduled unit runs: a single task, or a fused chain in which every member after the
/// first consumes the previous member's result as its dependency 0.
#[derive(Debug)]
pub(crate) enum PyTask {
    One(Arg),
    Chain(Vec<Arg>),
}

impl Fuse for PyTask {
    fn fuse(chain: Vec<Self>) -> Self {
        let mut members = Vec::with_capacity(chain.len());
        for part in chain {
            match part {
                PyTask::One(a) => members.push(a),
                PyTask::Chain(c) => members.extend(c),
            }
        }
        PyTask::Chain(members)
    }
}

/// Replaces a call when tasks run elsewhere (process pool): `submit(func, args, kwargs)`.
pub(crate) type Submit = Option<Py<PyAny>>;

/// Evaluates tasks; `inputs[i]` is the result of the task's `i`-th dependency.
pub(crate) struct Evaluator<'a> {
    pub(crate) submit: &'a Submit,
}

impl Evaluator<'_> {
    pub(crate) fn run(
        &self,
        py: Python<'_>,
        task: &PyTask,
        inputs: &[Py<PyAny>],
    ) -> PyResult<Py<PyAny>> {
        match task {
            PyTask::One(arg) => self.eval(py, arg, inputs),
            PyTask::Chain(members) => {
                let (first, rest) = members.split_first().expect("a chain has members");
                let mut value = self.eval(py, first, inputs)?;
                for m in rest {
                    value = self.eval(py, m, std::slice::from_ref(&value))?;
                }
                Ok(value)
            }
        }
    }

    fn eval(&self, py: Python<'_>, arg: &Arg, inputs: &[Py<PyAny>]) -> PyResult<Py<PyAny>> {
        Ok(match arg {
            Arg::Lit(v) => v.clone_ref(py),
            Arg::Dep(i) => inputs[*i].clone_ref(py),
            Arg::List(items) => {
                let values = self.eval_all(py, items, inputs)?;
                PyList::new(py, values)?.into_any().unbind()
            }
            Arg::Tuple(items) => {
                let values = self.eval_all(py, items, inputs)?;
                PyTuple::new(py, values)?.into_any().unbind()
            }
            Arg::Dict(items) => {
                let d = PyDict::new(py);
                for (k, v) in items {
                    d.set_item(k.bind(py), self.eval(py, v, inputs)?)?;
                }
                d.into_any().unbind()
            }
            Arg::Call(call) => self.call(py, call, inputs)?,
        })
    }

    fn eval_all(
        &self,
        py: Python<'_>,
        items: &[Arg],
        inputs: &[Py<PyAny>],
    ) -> PyResult<Vec<Py<PyAny>>> {
        items.iter().map(|a| self.eval(py, a, inputs)).collect()
    }

    fn call(&self, py: Python<'_>, call: &Call, inputs: &[Py<PyAny>]) -> PyResult<Py<PyAny>> {
        let args = PyTuple::new(py, self.eval_all(py, &call.args, inputs)?)?;
        let func = call.func.bind(py);
        let kwargs = call.kwargs.as_ref().map(|k| k.bind(py));
        match self.submit {
            None => Ok(func.call(args, kwargs)?.unbind()),
            Some(submit) => Ok(submit.bind(py).call1((func, args, kwargs))?.unbind()),
        }
    }
}

/// Keeps a keyword dict only when it has entries.
pub(crate) fn kwargs_dict(kwargs: Option<&Bound<'_, PyDict>>) -> Option<Py<PyDict>> {
    kwargs.filter(|k| !k.is_empty()).map(|k| k.clone().unbind())
}
