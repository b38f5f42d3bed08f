"""``sizeof``: how many bytes of memory an object holds, as Dask's ``dask.sizeof``.

Workers account for the results they store with it (their memory limit, spilling to disk).
It knows NumPy arrays, pandas objects, bytes, strings and containers; register your own
types::

    from oxdask.sizeof import sizeof

    @sizeof.register(MyTable)
    def _(table):
        return table.memory_bytes()

Containers are measured by sampling: at most :data:`SAMPLE` items are measured and the rest
are assumed alike, so a list of a million objects costs microseconds, not a second.
"""

from __future__ import annotations

import sys

from oxdask.tokenize import Dispatch

__all__ = ["SAMPLE", "sizeof"]

#: Items of a container measured one by one; the rest are extrapolated.
SAMPLE = 10

sizeof = Dispatch("sizeof")


@sizeof.register(object)
def _default(obj) -> int:
    nbytes = getattr(obj, "nbytes", None)
    if isinstance(nbytes, int) and not isinstance(obj, type):
        return nbytes
    try:
        return sys.getsizeof(obj)
    except Exception:  # objects whose __sizeof__ raises
        return 64


@sizeof.register((bytes, bytearray))
def _bytes(obj) -> int:
    return len(obj) + 33


@sizeof.register(memoryview)
def _memoryview(obj) -> int:
    return obj.nbytes + 184


@sizeof.register(str)
def _str(obj) -> int:
    return sys.getsizeof(obj)


def _sampled(items, n: int) -> int:
    if n <= SAMPLE:
        return sum(sizeof(x) for x in items)
    step = n // SAMPLE
    sample = [items[i] for i in range(0, step * SAMPLE, step)]
    return sum(sizeof(x) for x in sample) * n // SAMPLE


@sizeof.register((list, tuple))
def _sequence(obj) -> int:
    return sys.getsizeof(obj) + _sampled(obj, len(obj))


@sizeof.register((set, frozenset))
def _set(obj) -> int:
    items = [x for _, x in zip(range(SAMPLE), obj, strict=False)]
    per = sum(sizeof(x) for x in items) / max(len(items), 1)
    return sys.getsizeof(obj) + int(per * len(obj))


@sizeof.register(dict)
def _dict(obj) -> int:
    n = len(obj)
    if n <= SAMPLE:
        inner = sum(sizeof(k) + sizeof(v) for k, v in obj.items())
    else:
        sample = [kv for _, kv in zip(range(SAMPLE), obj.items(), strict=False)]
        inner = sum(sizeof(k) + sizeof(v) for k, v in sample) * n // SAMPLE
    return sys.getsizeof(obj) + inner


@sizeof.register_lazy("numpy")
def _register_numpy() -> None:
    import numpy as np

    @sizeof.register(np.ndarray)
    def _ndarray(x) -> int:
        if x.dtype == object:
            return x.nbytes + _sampled(x.ravel(), x.size)
        # A broadcast view (zero strides) holds only its base's memory.
        if 0 in x.strides and x.size > 1:
            kept = [n for n, st in zip(x.shape, x.strides, strict=True) if st]
            return x.itemsize * int(np.prod(kept))
        return x.nbytes

    @sizeof.register(np.generic)
    def _scalar(x) -> int:
        return x.nbytes + 32


@sizeof.register_lazy("pandas")
def _register_pandas() -> None:
    import pandas as pd

    def _object_bytes(values) -> int:
        n = len(values)
        if n == 0:
            return 0
        return _sampled(values, n) + 8 * n

    def _column(s) -> int:
        values = s.array
        if s.dtype == object:
            return _object_bytes(s.to_numpy())
        try:
            return int(values.nbytes)
        except Exception:
            return int(s.memory_usage(index=False, deep=False))

    def _index(ix) -> int:
        if isinstance(ix, pd.RangeIndex):
            return 128
        if ix.dtype == object:
            return _object_bytes(ix.to_numpy())
        return int(ix.memory_usage(deep=False))

    @sizeof.register(pd.DataFrame)
    def _frame(df) -> int:
        return 1000 + _index(df.index) + sum(_column(df.iloc[:, i]) for i in range(df.shape[1]))

    @sizeof.register(pd.Series)
    def _series(s) -> int:
        return 500 + _index(s.index) + _column(s)

    @sizeof.register(pd.Index)
    def _pd_index(ix) -> int:
        return 100 + _index(ix)
