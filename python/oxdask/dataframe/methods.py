"""Functions run inside tasks, on pandas partitions.

They are module-level functions or small picklable classes so that graphs can be sent to
other processes. None of them builds graphs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["concat"]


def concat(parts, meta=None, **kwargs):
    """Concatenate partitions in order; empty ones are skipped so they cannot change dtypes."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return meta
    if isinstance(parts[0], pd.Index):
        nonempty = [p for p in parts if len(p)] or parts[:1]
        return nonempty[0].append(nonempty[1:]) if len(nonempty) > 1 else nonempty[0]
    if not isinstance(parts[0], (pd.DataFrame, pd.Series)):
        if isinstance(meta, pd.Series):  # one value per partition
            return pd.Series(parts, dtype=meta.dtype, name=meta.name)
        return parts[0] if len(parts) == 1 else parts
    nonempty = [p for p in parts if len(p)]
    if not nonempty:
        return parts[0]
    if len(nonempty) == 1:
        return nonempty[0]
    return pd.concat(nonempty, **kwargs)


def concat_list(*parts):
    """``concat`` over positional partitions."""
    return concat(parts)


def first(seq):
    return seq[0]


def get_index(df):
    return df.index


def length(df) -> int:
    return len(df)


def sum_list(values):
    return sum(values)


def call_method(obj, _name, *args, **kwargs):
    """``obj._name(*args, **kwargs)``."""
    return getattr(obj, _name)(*args, **kwargs)


def accessor_of(obj, accessor):
    """``obj.<accessor>``; a DatetimeIndex (or other Index) has the ``dt`` ones itself."""
    if accessor == "dt" and isinstance(obj, pd.Index):
        if not hasattr(obj, "floor") and not hasattr(obj, "days"):
            raise AttributeError("Can only use .dt accessor with datetimelike values")
        return obj
    return getattr(obj, accessor)


def call_accessor(obj, _accessor, _name, *args, **kwargs):
    """``getattr(obj._accessor, _name)(*args, **kwargs)``."""
    return getattr(accessor_of(obj, _accessor), _name)(*args, **kwargs)


def accessor_property(obj, _accessor, _name):
    """``getattr(obj._accessor, _name)``."""
    if _accessor == "dt" and _name in _CLOCK_FIELDS:
        fast = _clock_field(obj, _name)
        if fast is not None:
            return fast
    return getattr(accessor_of(obj, _accessor), _name)


_NAT = np.iinfo(np.int64).min


#: ``.dt`` fields that are integer arithmetic on the time since the epoch: seconds per unit
#: of the field, how many make the next, and the offset (1970-01-01 was a Thursday).
_CLOCK_FIELDS = {"hour": (3600, 24, 0), "minute": (60, 60, 0), "second": (1, 60, 0),
                "day_of_week": (86400, 7, 3)}  # fmt: skip
_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _clock_field(obj, name):
    """``obj.dt.<name>`` of a tz-naive datetime64 Series without NaT, computed with numpy
    (the same int32 values as pandas, a few times faster); None for anything else."""
    if not isinstance(obj, pd.Series) or not isinstance(obj.dtype, np.dtype):
        return None
    if obj.dtype.kind != "M":
        return None
    per = _PER_SECOND.get(np.datetime_data(obj.dtype)[0])
    if per is None:
        return None
    ticks = obj.to_numpy().view("i8")
    if len(ticks) and ticks.min() == _NAT:
        return None
    seconds, modulo, offset = _CLOCK_FIELDS[name]
    units = ticks // (seconds * per)
    if len(units) and units.min() >= -(2**31) and units.max() + offset < 2**31:
        units = units.astype(np.int32)  # the remainder is cheaper on 32 bits
    field = (units + offset) % modulo
    return pd.Series(field.astype(np.int32, copy=False), index=obj.index, name=obj.name)


def getitem(obj, key):
    return obj[key]


def boolean_filter(df, mask):
    """``df[mask]`` where ``mask`` is a boolean Series of the same partition."""
    return df[mask]


def assign(df, names, *values):
    """``df`` with the columns ``names`` set to ``values`` (scalars or aligned Series)."""
    df = df.copy(deep=False)
    for n, v in zip(names, values, strict=True):
        if isinstance(v, pd.Series) and not v.index.equals(df.index):
            v = v.reindex(df.index) if v.index.is_unique else v
        df[n] = v
    return df


def apply_and_enforce(*args, _func, _meta, **kwargs):
    """Call ``_func`` and check that a DataFrame result has the columns of ``_meta``."""
    out = _func(*args, **kwargs)
    if isinstance(out, pd.DataFrame) and isinstance(_meta, pd.DataFrame):
        if len(out.columns) == len(_meta.columns) and not out.columns.equals(_meta.columns):
            if set(out.columns) != set(_meta.columns):
                _mismatched_columns(out.columns, _meta.columns)
            out = out[list(_meta.columns)]
        elif not out.columns.equals(_meta.columns):
            _mismatched_columns(out.columns, _meta.columns)
    elif isinstance(out, pd.Series) and isinstance(_meta, pd.Series) and out.name != _meta.name:
        out = out.rename(_meta.name)
    return out


def _mismatched_columns(found, expected):
    extra = [c for c in found if c not in set(expected)]
    missing = [c for c in expected if c not in set(found)]
    raise ValueError(
        "The columns in the computed data do not match the columns in the provided metadata.\n"
        f"  Extra:   {extra}\n  Missing: {missing}\n"
        f"  Found:    {list(found)}\n  Expected: {list(expected)}"
    )


class Head:
    """First ``n`` rows of the concatenation of the partitions it receives."""

    def __init__(self, n, concat=False):
        self.n = n
        self.concat = concat

    def __call__(self, *parts):
        df = concat(parts) if self.concat else parts[0]
        return df[: self.n] if isinstance(df, pd.Index) else df.head(self.n)


class Tail:
    """Last ``n`` rows of a partition."""

    def __init__(self, n):
        self.n = n

    def __call__(self, df):
        if isinstance(df, pd.Index):
            return df[-self.n :] if self.n else df[:0]
        return df.tail(self.n)


class NamedOp:
    """``getattr(a, name)(b, **kwargs)``: named arithmetic methods such as ``add``."""

    def __init__(self, name):
        self.name = name
        self.__name__ = name

    def __call__(self, a, *args, **kwargs):
        return getattr(a, self.name)(*args, **kwargs)

    def __dask_tokenize__(self):
        return ("NamedOp", self.name)


class WithKwargs:
    """Call ``func`` with the last ``len(names)`` positional arguments as keywords ``names``."""

    def __init__(self, func, names):
        self.func = func
        self.names = tuple(names)

    def __call__(self, *args, **kwargs):
        n = len(self.names)
        pos, kw = args[: len(args) - n], args[len(args) - n :]
        return self.func(*pos, **kwargs, **dict(zip(self.names, kw, strict=True)))


class WithPartitionInfo:
    """Call ``func`` with ``partition_info={"number": i, "division": d}`` from the last argument."""

    def __init__(self, func):
        self.func = func

    def __call__(self, *args, **kwargs):
        return self.func(*args[:-1], partition_info=args[-1], **kwargs)


def values(obj):
    return obj.to_numpy() if hasattr(obj, "to_numpy") else np.asarray(obj)
