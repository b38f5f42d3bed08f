"""Chunk, combine and aggregate functions of the reductions (run inside tasks).

Conventions: a chunk function returns ``None`` for an empty partition when its result would
otherwise change the dtype of the final result (``min`` of no rows is NaN); combine functions
take a list of chunk results and skip the ``None`` values.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

COMBINE_WITH = {"count": "sum", "size": "sum"}
_EMPTY_IS_NONE = {"min", "max", "any", "all", "idxmin", "idxmax"}


class Chunk:
    """``partition.method(**kwargs)``; ``None`` for empty partitions of order statistics."""

    def __init__(self, method, kwargs):
        self.method = method
        self.kwargs = kwargs

    def __call__(self, part):
        if len(part) == 0 and self.method in _EMPTY_IS_NONE:
            return None
        return getattr(part, self.method)(**self.kwargs)


class Combine:
    """Reduce a list of chunk results with ``method`` (``sum`` for counts).

    ``empty`` is the result for no rows at all (the method applied to the empty meta).
    """

    def __init__(self, method, kwargs, combine_method, meta, empty):
        self.method = method
        self.kwargs = {k: v for k, v in kwargs.items() if k in ("skipna",)}
        self.combine_method = combine_method
        self.meta = meta
        self.empty = empty

    def __call__(self, values):
        values = [v for v in values if v is not None]
        if not values:
            return self.empty
        if isinstance(values[0], pd.Series):
            table = pd.DataFrame(values).infer_objects()
            out = getattr(table, self.combine_method)(**self.kwargs)
            out.name = self.meta.name if isinstance(self.meta, pd.Series) else None
            if isinstance(self.meta, pd.Series) and self.meta.dtype != object:
                with contextlib.suppress(TypeError, ValueError):
                    out = out.astype(self.meta.dtype)
            return out
        return getattr(pd.Series(values), self.combine_method)(**self.kwargs)


def size(part) -> int:
    return int(part.size)


def sum_values(values):
    return sum(values)


def total_memory(part, index, deep):
    """Bytes used by a partition, as a one-value Series."""
    return pd.Series([int(np.sum(part.memory_usage(index=index, deep=deep)))], dtype="int64")


# -- moments ------------------------------------------------------------------------------------


class Moments:
    """(count, mean, M2) per column of a partition, as float arrays (M2: sum of squared
    deviations from the mean)."""

    def __init__(self, skipna):
        self.skipna = skipna

    def __call__(self, part):
        if isinstance(part, pd.DataFrame):
            x = part.to_numpy(dtype="float64", na_value=np.nan)
            cols = part.columns
        else:
            x = part.to_numpy(dtype="float64", na_value=np.nan).reshape(-1, 1)
            cols = None
        if self.skipna:
            valid = ~np.isnan(x)
            n = valid.sum(axis=0).astype("float64")
            total = np.where(valid, x, 0.0).sum(axis=0)
        else:
            n = np.full(x.shape[1], float(x.shape[0]))
            total = x.sum(axis=0)
        with np.errstate(all="ignore"):
            mean = np.where(n > 0, total / np.where(n > 0, n, 1), 0.0)
            dev = x - mean
            if self.skipna:
                dev = np.where(np.isnan(x), 0.0, dev)
            m2 = (dev * dev).sum(axis=0)
        return n, mean, m2, cols


def merge_moments(values):
    """Merge (count, mean, M2) partials (Chan, Golub and LeVeque)."""
    cols = next((v[3] for v in values if v[3] is not None), None)
    n = np.zeros_like(values[0][0])
    mean = np.zeros_like(values[0][1])
    m2 = np.zeros_like(values[0][2])
    for nb, mb, m2b, _ in values:
        tot = n + nb
        with np.errstate(all="ignore"):
            delta = mb - mean
            frac = np.where(tot > 0, nb / np.where(tot > 0, tot, 1), 0.0)
            mean = np.where(nb > 0, mean + delta * frac, mean)
            m2 = m2 + m2b + np.where(nb > 0, delta * delta * n * frac, 0.0)
        n = tot
    return n, mean, m2, cols


class FinishMoments:
    """mean, var, std or sem from merged moments."""

    def __init__(self, kind, ddof, meta):
        self.kind = kind
        self.ddof = ddof
        self.meta = meta

    def __call__(self, moments):
        n, mean, m2, _ = moments
        with np.errstate(all="ignore"):
            if self.kind == "mean":
                out = np.where(n > 0, mean, np.nan)
            else:
                var = np.where(n - self.ddof > 0, m2 / (n - self.ddof), np.nan)
                if self.kind == "var":
                    out = var
                elif self.kind == "std":
                    out = np.sqrt(var)
                else:
                    out = np.sqrt(var) / np.sqrt(n)
        if isinstance(self.meta, pd.Series):
            return pd.Series(out, index=self.meta.index, name=self.meta.name, dtype="float64")
        return np.float64(out[0])


def finish_moments(partial, frame, kind, ddof):
    """The collection holding ``kind`` of the merged moments ``partial``."""
    from oxdask.dataframe.reductions import combine_results

    meta_ne = getattr(frame._meta_nonempty, kind)()
    if isinstance(meta_ne, pd.Series):
        meta = pd.Series(np.nan, index=meta_ne.index, dtype="float64", name=meta_ne.name)
        func_meta = meta
        meta = meta.iloc[:0]
    else:
        func_meta = None
        meta = np.float64(1.0)
    return combine_results(FinishMoments(kind, ddof, func_meta), partial, meta=meta, token=kind)


class _ToTimestamp:
    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, value):
        if np.isnan(value):
            return pd.NaT
        return pd.Series([round(value)], dtype="int64").astype(self.dtype).iloc[0]


def _as_float(s):
    return pd.Series(s.array.asi8, index=s.index, dtype="float64").where(s.notna())


def datetime_mean(series, skipna, split_every):
    """Mean of a datetime Series (through float nanoseconds)."""
    from oxdask.dataframe.reductions import combine_results

    floats = series.map_partitions(_as_float, meta=pd.Series([], dtype="float64"))
    m = floats.mean(skipna=skipna, split_every=split_every)
    return combine_results(_ToTimestamp(series._meta.dtype), m, meta=pd.Timestamp(0), token="mean")


# -- distinct values ----------------------------------------------------------------------------


class Unique:
    """Distinct values of a partition (per column for a DataFrame)."""

    def __init__(self, dropna):
        self.dropna = dropna

    def __call__(self, part):
        if isinstance(part, pd.DataFrame):
            return {c: self._one(part[c]) for c in part.columns}
        return self._one(part)

    def _one(self, s):
        s = pd.Series(s.drop_duplicates().to_numpy(), dtype=s.dtype, name=s.name)
        return s.dropna() if self.dropna else s


def _union(parts):
    parts = [p for p in parts if len(p)] or parts[:1]
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts, ignore_index=True).drop_duplicates()


def union_unique(values):
    if isinstance(values[0], dict):
        return {c: _union([v[c] for v in values]) for c in values[0]}
    return _union(values)


class CountUnique:
    """Number of distinct values from merged unique values."""

    def __init__(self, dropna):
        self.dropna = dropna

    def __call__(self, values):
        merged = union_unique(values)
        if isinstance(merged, dict):
            return pd.Series(
                {c: v.nunique(dropna=self.dropna) for c, v in merged.items()}, dtype="int64"
            )
        return merged.nunique(dropna=self.dropna)


def unique_series(values):
    return union_unique(values).reset_index(drop=True)


class ValueCounts:
    """``value_counts(sort=False)`` of a partition (per column with ``per_column``)."""

    def __init__(self, dropna, per_column=False):
        self.dropna = dropna
        self.per_column = per_column

    def __call__(self, part):
        if isinstance(part, pd.DataFrame):
            return {c: part[c].value_counts(sort=False, dropna=self.dropna) for c in part.columns}
        return part.value_counts(sort=False, dropna=self.dropna)


def _merge_counts(parts):
    parts = [p for p in parts if len(p)] or parts[:1]
    if len(parts) == 1:
        return parts[0]
    both = pd.concat(parts)
    return both.groupby(level=0, sort=False, dropna=False).sum()


def merge_counts(values):
    if isinstance(values[0], dict):
        return {c: _merge_counts([v[c] for v in values]) for c in values[0]}
    return _merge_counts(values)


class ValueCountsAgg:
    """Final ``value_counts``: merged, sorted and normalized as asked."""

    def __init__(self, sort, ascending, normalize, meta):
        self.sort = sort
        self.ascending = ascending
        self.normalize = normalize
        self.meta = meta

    def __call__(self, values):
        out = merge_counts(values)
        if self.sort:
            out = out.sort_values(ascending=self.ascending, kind="stable")
        if self.normalize:
            out = out / out.sum()
        out.name = self.meta.name
        out.index.name = self.meta.index.name
        return out.astype(self.meta.dtype)


class ModeAgg:
    """Most frequent values from merged counts."""

    def __init__(self, dropna, meta):
        self.dropna = dropna
        self.meta = meta

    def _one(self, counts, name, dtype):
        if len(counts) == 0:
            return pd.Series([], dtype=dtype, name=name)
        top = counts[counts == counts.max()].index
        return pd.Series(top, name=name).astype(dtype).sort_values(ignore_index=True)

    def __call__(self, values):
        merged = merge_counts(values)
        if isinstance(merged, dict):
            cols = [self._one(v, c, self.meta[c].dtype) for c, v in merged.items()]
            out = pd.concat(cols, axis=1)
            out.columns = self.meta.columns
            return out
        return self._one(merged, self.meta.name, self.meta.dtype)


# -- positions ----------------------------------------------------------------------------------


class ArgChunk:
    """(label, value) of the smallest/largest value of a partition (per column)."""

    def __init__(self, method, skipna):
        self.method = method
        self.skipna = skipna

    def _one(self, s):
        if not self.skipna and s.isna().any():
            return "NA"
        s = s.dropna()
        if len(s) == 0:
            return None
        label = getattr(s, self.method)()
        return (label, s.loc[label] if s.index.is_unique else s[s.index == label].iloc[0])

    def __call__(self, part):
        if isinstance(part, pd.DataFrame):
            return {c: self._one(part[c]) for c in part.columns}
        return self._one(part)


class ArgCombine:
    """Best (label, value) over partials; the label only when ``final``."""

    def __init__(self, method, skipna, final):
        self.method = method
        self.skipna = skipna
        self.final = final

    def _one(self, items, col=None):
        if any(isinstance(i, str) for i in items):
            if self.final:
                raise ValueError("Encountered an NA value with skipna=False")
            return "NA"
        items = [i for i in items if i is not None]
        if not items:
            if self.final:
                raise ValueError(
                    f"attempt to get {self.method[3:]} of an empty sequence"
                    + (f" (column {col!r})" if col is not None else "")
                )
            return None
        best = items[0]
        for it in items[1:]:
            if (it[1] < best[1]) if self.method == "idxmin" else (it[1] > best[1]):
                best = it
        return best[0] if self.final else best

    def __call__(self, values):
        if isinstance(values[0], dict):
            out = {c: self._one([v[c] for v in values], c) for c in values[0]}
            return pd.Series(out) if self.final else out
        return self._one(values)


class SelectN:
    """``nlargest``/``nsmallest`` of a partition, and of the concatenated partials."""

    def __init__(self, method, kwargs):
        self.method = method
        self.kwargs = kwargs

    def __call__(self, part):
        return getattr(part, self.method)(**self.kwargs)

    def combine(self, values):
        parts = [v for v in values if len(v)] or values[:1]
        both = pd.concat(parts) if len(parts) > 1 else parts[0]
        return getattr(both, self.method)(**self.kwargs)
