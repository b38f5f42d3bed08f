"""Categoricals: ``categorize`` (compute the categories) and known/unknown categories.

A categorical column whose categories are not known before computing (``astype("category")``
on the partitions, or CSV read with ``dtype="category"``) carries the single placeholder
category :data:`UNKNOWN_CATEGORIES` in its meta, as in Dask; ``categorize`` computes the
distinct values and makes them the categories of every partition.
"""

from __future__ import annotations

import pandas as pd

from oxdask.dataframe import _reduce_funcs as rf

__all__ = ["UNKNOWN_CATEGORIES", "categorize", "has_known_categories"]

UNKNOWN_CATEGORIES = "__UNKNOWN_CATEGORIES__"


def has_known_categories(x) -> bool:
    """Whether a categorical Series/Index meta has real categories."""
    dtype = x.dtype if hasattr(x, "dtype") else x
    if not isinstance(dtype, pd.CategoricalDtype):
        raise TypeError("Expected Series or Index of a categorical dtype")
    return UNKNOWN_CATEGORIES not in dtype.categories


def unknown_dtype(ordered=False) -> pd.CategoricalDtype:
    """A categorical dtype whose categories are unknown."""
    return pd.CategoricalDtype([UNKNOWN_CATEGORIES], ordered=ordered)


def _to_categories(values):
    cats = pd.Series(values).dropna().drop_duplicates()
    try:
        return pd.Index(cats.sort_values().to_numpy())
    except TypeError:
        return pd.Index(cats.to_numpy())


class _Categorize:
    def __init__(self, dtypes):
        self.dtypes = dtypes

    def __call__(self, df):
        if isinstance(df, pd.Series):
            return df.astype(self.dtypes)
        return df.astype(self.dtypes)


def _targets(frame, columns):
    meta = frame._meta
    if isinstance(meta, pd.Series):
        return [meta.name]
    if columns is not None:
        columns = [columns] if isinstance(columns, str) else list(columns)
        missing = [c for c in columns if c not in meta.columns]
        if missing:
            raise KeyError(f"categorize: columns {missing} not found")
        return columns
    out = []
    for c, dt in meta.dtypes.items():
        if isinstance(dt, pd.CategoricalDtype):
            if not has_known_categories(dt):
                out.append(c)
        elif pd.api.types.is_string_dtype(dt) or pd.api.types.is_object_dtype(dt):
            out.append(c)
    return out


def categorize(frame, columns=None, index=None, split_every=None):
    """``frame`` with categorical columns whose categories are computed (now).

    Parameters
    ----------
    frame : DataFrame or Series
    columns : list, optional
        Default: every string/object column and every categorical with unknown categories.
    index : bool, optional
        Accepted for compatibility (the index is not categorized).
    split_every : int, optional
    """
    from oxdask.dataframe.core import Series

    cols = _targets(frame, columns)
    if not cols:
        return frame
    sub = frame if isinstance(frame, Series) else frame[cols]
    values = sub._reduce(
        "categories", rf.Unique(True), rf.union_unique, rf.union_unique, None, split_every
    ).compute()
    if isinstance(frame, Series):
        dtype = pd.CategoricalDtype(_to_categories(values))
        meta = frame._meta.astype(dtype)
        return frame.map_partitions(_Categorize(dtype), meta=meta, token="categorize")
    dtypes = {}
    for c in cols:
        ordered = getattr(frame._meta[c].dtype, "ordered", False) or False
        dtypes[c] = pd.CategoricalDtype(_to_categories(values[c]), ordered=ordered)
    meta = frame._meta.astype(dtypes)
    return frame.map_partitions(_Categorize(dtypes), meta=meta, token="categorize")


def categorize_series(series):
    """A categorical Series with its categories computed."""
    return categorize(series.astype(object))


def as_unknown(series):
    """The Series with the categories of its meta marked unknown (data unchanged)."""
    from oxdask.dataframe.core import new_dd_object

    meta = series._meta.astype(unknown_dtype(series._meta.cat.ordered))
    return new_dd_object(series.dask, series._name, meta, series.divisions)
