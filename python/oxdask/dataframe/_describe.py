"""Approximate quantiles and ``describe``.

A quantile reduction summarizes each partition by its sorted non-missing values, thinned to
at most :data:`SAMPLE` points carrying weights (how many values each point stands for); the
summaries are merged and the quantiles interpolated linearly over the weighted ranks. With
partitions of at most :data:`SAMPLE` values the result equals pandas' (linear interpolation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oxdask.dataframe.reductions import combine_results, reduction

SAMPLE = 1000  # points kept per partition
_MERGED = 20 * SAMPLE  # points kept when combining summaries

__all__ = ["describe", "quantile"]


def _thin(values, weights, k):
    """At most ``k`` points of the sorted ``values`` with weights summing to the same total."""
    if len(values) <= k:
        return values, weights
    cum = np.cumsum(weights)
    total = cum[-1]
    targets = np.linspace(0, total, k + 1)[1:]
    pos = np.minimum(np.searchsorted(cum, targets, side="left"), len(values) - 1)
    pos = np.unique(pos)
    new_cum = cum[pos]
    new_w = np.diff(np.concatenate([[0], new_cum]))
    return values[pos], new_w


class Summary:
    """Sorted values (as float or int64 nanoseconds) and weights of one partition."""

    def __call__(self, part):
        if isinstance(part, pd.DataFrame):
            return {c: self._one(part[c]) for c in part.columns}
        return self._one(part)

    def _one(self, s):
        s = s.dropna()
        if pd.api.types.is_datetime64_any_dtype(s.dtype) or pd.api.types.is_timedelta64_dtype(
            s.dtype
        ):
            v = np.sort(s.array.asi8)
        else:
            v = np.sort(s.to_numpy(dtype="float64"))
        return _thin(v, np.ones(len(v), dtype="int64"), SAMPLE)


def _merge(parts):
    vals = np.concatenate([p[0] for p in parts])
    ws = np.concatenate([p[1] for p in parts])
    order = np.argsort(vals, kind="stable")
    return _thin(vals[order], ws[order], _MERGED)


def merge_summaries(values):
    if isinstance(values[0], dict):
        return {c: _merge([v[c] for v in values]) for c in values[0]}
    return _merge(values)


def _interpolate(values, weights, qs):
    """Linear interpolation at quantiles ``qs`` of values repeated ``weights`` times."""
    if len(values) == 0:
        return np.full(len(qs), np.nan)
    cum = np.cumsum(weights)
    n = cum[-1]
    out = []
    for q in qs:
        pos = q * (n - 1)
        lo = int(np.floor(pos))
        frac = pos - lo
        i = np.searchsorted(cum, lo, side="right")
        j = np.searchsorted(cum, min(lo + 1, n - 1), side="right")
        a, b = float(values[i]), float(values[j])
        out.append(a + (b - a) * frac if frac else a)
    return np.array(out)


class QuantileAgg:
    """Quantiles from merged summaries, shaped like pandas' result."""

    def __init__(self, qs, scalar_q, meta, dtypes):
        self.qs = qs
        self.scalar_q = scalar_q
        self.meta = meta
        self.dtypes = dtypes

    def _values(self, summary, dtype):
        v = _interpolate(summary[0], summary[1], self.qs)
        if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
            return pd.Series(np.round(v).astype("int64")).astype(dtype).array
        return v

    def __call__(self, values):
        merged = merge_summaries(values)
        if isinstance(merged, dict):
            cols = {c: self._values(merged[c], self.dtypes[c]) for c in merged}
            if self.scalar_q:
                return pd.Series({c: v[0] for c, v in cols.items()}, name=self.qs[0]).astype(
                    self.meta.dtype
                )
            out = pd.DataFrame(cols, index=pd.Index(self.qs, dtype="float64"))
            return out.astype(self.meta.dtypes.to_dict())
        v = self._values(merged, self.dtypes)
        if self.scalar_q:
            return v[0]
        return pd.Series(v, index=pd.Index(self.qs, dtype="float64"), name=self.meta.name)


def quantile(frame, q, numeric_only=False):
    """Approximate quantiles of a Series (a Scalar or a Series) or of the numeric columns of
    a DataFrame."""
    scalar_q = np.ndim(q) == 0
    qs = [float(q)] if scalar_q else [float(x) for x in q]
    if any(not 0 <= x <= 1 for x in qs):
        raise ValueError("percentiles should all be in the interval [0, 1]")
    if isinstance(frame._meta, pd.DataFrame):
        if numeric_only:
            frame = frame[list(frame._meta.select_dtypes(include=["number", "datetime"]).columns)]
        meta_full = frame._meta_nonempty.quantile(q)
        dtypes = frame._meta.dtypes.to_dict()
    else:
        meta_full = frame._meta_nonempty.quantile(q)
        dtypes = frame._meta.dtype
    if isinstance(meta_full, (pd.Series, pd.DataFrame)):
        meta_full.iloc[:0]
        out_meta = meta_full.iloc[:0]
    else:
        out_meta = meta_full
    agg = QuantileAgg(qs, scalar_q, meta_full if hasattr(meta_full, "iloc") else None, dtypes)
    return reduction(
        frame, Summary(), agg, combine=merge_summaries, meta=out_meta, token="quantile"
    )


class _AssembleNumeric:
    def __init__(self, labels, name, columns):
        self.labels = labels
        self.name = name
        self.columns = columns

    def __call__(self, count, mean, std, mn, qs, mx):
        if self.columns is None:
            vals = [count, mean, std, mn, *list(qs), mx]
            return pd.Series(vals, index=self.labels, name=self.name, dtype="float64")
        rows = [count, mean, std, mn, *[qs.iloc[i] for i in range(len(qs))], mx]
        out = pd.DataFrame([r.reindex(self.columns) for r in rows], index=self.labels)
        return out.astype("float64")


class _AssembleOther:
    def __init__(self, name):
        self.name = name

    def __call__(self, count, unique, counts):
        top = counts.index[0] if len(counts) else np.nan
        freq = counts.iloc[0] if len(counts) else np.nan
        return pd.Series(
            [count, unique, top, freq],
            index=["count", "unique", "top", "freq"],
            name=self.name,
            dtype=object,
        )


class _AssembleDatetime:
    def __init__(self, labels, name):
        self.labels = labels
        self.name = name

    def __call__(self, count, mean, mn, qs, mx):
        return pd.Series(
            [count, mean, mn, *list(qs), mx], index=self.labels, name=self.name, dtype=object
        )


class _Concat:
    def __init__(self, columns, order):
        self.columns = columns
        self.order = order

    def __call__(self, *parts):
        out = pd.concat(parts, axis=1)
        out.columns = self.columns
        return out.reindex(self.order)


def _labels(percentiles):
    return ["count", "mean", "std", "min", *[_pct(p) for p in percentiles], "max"]


def _pct(p) -> str:
    s = f"{100 * p:.10g}"
    return f"{s}%"


def describe(frame, percentiles=None, include=None, exclude=None, split_every=False):
    """Summary statistics of a Series or DataFrame, in pandas' layout."""
    percentiles = sorted(set([0.25, 0.5, 0.75] if percentiles is None else percentiles))
    expected = frame._meta_nonempty.describe(
        percentiles=percentiles,
        **({} if isinstance(frame._meta, pd.Series) else {"include": include, "exclude": exclude}),
    )
    if isinstance(frame._meta, pd.Series):
        return _describe_series(frame, percentiles, split_every, expected.iloc[:0])
    parts = [_describe_series(frame[c], percentiles, split_every, None) for c in expected.columns]
    numeric = [
        c
        for c in expected.columns
        if pd.api.types.is_numeric_dtype(frame._meta[c].dtype)
        and not pd.api.types.is_bool_dtype(frame._meta[c].dtype)
    ]
    if len(numeric) == len(expected.columns):
        sub = frame[numeric]
        labels = _labels(percentiles)
        stats = [
            sub.count(split_every=split_every),
            sub.mean(split_every=split_every),
            sub.std(split_every=split_every),
            sub.min(split_every=split_every),
            sub.quantile(percentiles),
            sub.max(split_every=split_every),
        ]
        meta = expected.iloc[:0].astype("float64")
        return combine_results(
            _AssembleNumeric(labels, None, numeric), *stats, meta=meta, token="describe"
        )
    meta = expected.iloc[:0]
    return combine_results(
        _Concat(expected.columns, list(expected.index)), *parts, meta=meta, token="describe"
    )


def _describe_series(s, percentiles, split_every, meta):
    dtype = s._meta.dtype
    name = s._meta.name
    if pd.api.types.is_bool_dtype(dtype) or not (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype)
    ):
        stats = [
            s.count(split_every=split_every),
            s.nunique(split_every=split_every),
            s.value_counts(split_every=split_every),
        ]
        m = pd.Series([], dtype=object, name=name) if meta is None else meta
        return combine_results(_AssembleOther(name), *stats, meta=m, token="describe")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        labels = ["count", "mean", "min", *[_pct(p) for p in percentiles], "max"]
        stats = [
            s.count(split_every=split_every),
            s.mean(split_every=split_every),
            s.min(split_every=split_every),
            s.quantile(percentiles),
            s.max(split_every=split_every),
        ]
        m = pd.Series([], dtype=object, name=name) if meta is None else meta
        return combine_results(_AssembleDatetime(labels, name), *stats, meta=m, token="describe")
    stats = [
        s.count(split_every=split_every),
        s.mean(split_every=split_every),
        s.std(split_every=split_every),
        s.min(split_every=split_every),
        s.quantile(percentiles),
        s.max(split_every=split_every),
    ]
    m = pd.Series([], dtype="float64", name=name) if meta is None else meta
    labels = _labels(percentiles)
    return combine_results(_AssembleNumeric(labels, name, None), *stats, meta=m, token="describe")
