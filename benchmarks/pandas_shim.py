"""pandas, eagerly, behind the few ``dask.dataframe`` calls the dataframe workloads make.

The reference column of ``run.py``: the same workload on one process with plain pandas. Every
operation runs at once (during the workload's "build" phase), so only the total time compares.
"""

from __future__ import annotations

import glob
import operator

import numpy as np
import pandas as pd


def _unwrap(x):
    if isinstance(x, Eager):
        return x._obj
    if isinstance(x, list):
        return [_unwrap(v) for v in x]
    if isinstance(x, tuple):
        return tuple(_unwrap(v) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    """pandas objects (frames, accessors, groupbys) and NumPy scalars, wrapped."""
    if type(x).__module__.startswith("pandas") or isinstance(x, np.generic):
        return Eager(x)
    return x


class Eager:
    """A pandas object with ``compute``/``persist`` and one partition."""

    npartitions = 1
    known_divisions = True

    def __init__(self, obj):
        self._obj = obj

    def compute(self):
        return self._obj

    def persist(self):
        return self

    @property
    def partitions(self):
        return [self]

    def set_index(self, column, **kwargs):
        return Eager(self._obj.set_index(column, **kwargs).sort_index())

    def __getattr__(self, name):
        attr = getattr(self._obj, name)
        if callable(attr) and not isinstance(attr, (pd.DataFrame, pd.Series, pd.Index)):

            def call(*args, **kwargs):
                kwargs.pop("split_out", None)
                return _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))

            return call
        return _wrap(attr)

    def __getitem__(self, key):
        return _wrap(self._obj[_unwrap(key)])

    def __len__(self):
        return len(self._obj)


def _binary(op):
    def method(self, other):
        return _wrap(op(self._obj, _unwrap(other)))

    return method


_OPERATORS = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
    "eq": operator.eq,
    "ne": operator.ne,
    "and": operator.and_,
    "or": operator.or_,
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
}
for _name, _op in _OPERATORS.items():
    setattr(Eager, f"__{_name}__", _binary(_op))


def read_csv(pattern, **kwargs):
    return Eager(pd.concat([pd.read_csv(f, **kwargs) for f in sorted(glob.glob(pattern))]))


def read_parquet(path, columns=None, **kwargs):
    return Eager(pd.read_parquet(path, columns=columns, **kwargs))


def from_map(func, iterable, args=(), **kwargs):
    return Eager(pd.concat([func(i, *args, **kwargs) for i in iterable], ignore_index=True))
