"""Plain data of a groupby tree reduction (:class:`GroupSpec`) and helpers of
:mod:`oxdask.dataframe.groupby` that build no graphs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from oxdask.dataframe import _groupby_funcs as gf
from oxdask.dataframe.core import DataFrame, _name

_NAMED_FUNCS = {
    np.sum: "sum",
    np.mean: "mean",
    np.min: "min",
    np.max: "max",
    np.std: "std",
    np.var: "var",
    len: "size",
    sum: "sum",
    min: "min",
    max: "max",
}


class GroupSpec:
    """What the chunk and aggregate functions compute (plain data, sent with the tasks)."""

    def __init__(
        self,
        key_cols,
        key_names,
        value_cols,
        outputs,
        dropna,
        series_column,
        min_count=0,
        unobserved=None,
    ):
        self.key_cols = key_cols  # column label, or None for a Series key
        self.key_names = key_names
        self.value_cols = value_cols
        self.outputs = outputs  # [(func, value column position or None)]
        self.dropna = dropna
        self.series_column = series_column
        self.min_count = min_count or 0
        # observed=False: per key, its CategoricalDtype (or None) to add the unseen groups
        self.unobserved = unobserved
        self.partials: dict[str, list[int]] = {}
        self.nunique: list[int] = []
        for func, k in outputs:
            if func == "nunique":
                if k not in self.nunique:
                    self.nunique.append(k)
                continue
            kinds = gf.PARTIALS[func]
            if self.min_count > 0 and func in gf.MIN_COUNT:
                kinds = (*kinds, "count")
            for kind in kinds:
                ks = self.partials.setdefault(kind, [])
                if k not in ks:
                    ks.append(k)
        self.with_size = any(f == "size" for f, _ in outputs) or not self.partials

    def __dask_tokenize__(self):
        return (
            self.key_cols,
            self.key_names,
            self.value_cols,
            self.outputs,
            self.dropna,
            self.series_column,
            self.min_count,
            self.unobserved,
        )


def _func_name(f):
    if isinstance(f, str):
        return f
    return _NAMED_FUNCS.get(f, f)


def _sort(sort, split_out) -> bool:
    """Whether to sort the groups (Dask's default: only with a single output partition)."""
    one = split_out in (None, 1)
    if sort and not one:
        raise NotImplementedError(
            "Cannot guarantee sorted keys for `split_out>1`. Try using split_out=1, or "
            "grouping with sort=False."
        )
    return one if sort is None else bool(sort)


def _sort_index(df):
    return df.sort_index()


def _meta_of(x):
    return x.iloc[:0] if isinstance(x, (pd.DataFrame, pd.Series)) else x


def _is_column(meta, b) -> bool:
    try:
        return b in meta.columns
    except TypeError:
        return False


def _column_of(obj, s):
    """The column label of ``obj`` that ``s`` is (``df.y`` as a key means column ``y``)."""
    if not isinstance(obj, DataFrame):
        return None
    name = s._meta.name
    if not _is_column(obj._meta, name):
        return None
    expected = _name("getitem", obj._name, name)
    return name if s._name == expected else None


def _level_keys(obj, level):
    levels = level if isinstance(level, list) else [level]
    idx_names = list(obj._meta.index.names)
    if levels not in ([0], [idx_names[0]]) or len(idx_names) != 1:
        raise NotImplementedError("groupby(level=...) supports the single index level only")
    return obj.index.to_series()
