"""Range partitioning: divisions from approximate quantiles, ``set_index``, ``sort_values``
and ``compute_divisions`` (split from :mod:`oxdask.dataframe.shuffle`, which re-exports
them)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from oxdask.dataframe.core import _Frame, _name, _new
from oxdask.dataframe.shuffle import rearrange, takes_shuffle_method
from oxdask.highlevelgraph import MaterializedLayer


class _SortedSample:
    """Sorted non-missing values of a column (a random sample of large partitions, thinned,
    with weights: how many values each kept value stands for)."""

    def __init__(self, codes=False):
        self.codes = codes  # categoricals: sample the codes (the categories' order)

    def __call__(self, s):
        from oxdask.dataframe._describe import SAMPLE, _thin

        v = s.dropna()
        if isinstance(v.dtype, pd.CategoricalDtype):
            v = v.cat.codes if self.codes else v.astype(v.cat.categories.dtype)
        v = v.to_numpy()
        n = len(v)
        k = 20 * SAMPLE
        if n > k:  # divisions only need approximate quantiles
            pick = np.random.default_rng(n).integers(0, n, k)
            v = np.sort(v[pick])
            w = np.full(k, n // k, dtype="int64")
            w[: n - w.sum()] += 1
            return _thin(v, w, SAMPLE)
        return _thin(np.sort(v), np.ones(n, dtype="int64"), SAMPLE)


def _merge_samples(values):
    from oxdask.dataframe._describe import _MERGED, _thin

    values = [v for v in values if len(v[0])] or values[:1]
    vals = np.concatenate([v[0] for v in values])
    ws = np.concatenate([v[1] for v in values])
    order = np.argsort(vals, kind="stable")
    return _thin(vals[order], ws[order], _MERGED)


def quantile_divisions(series, npartitions, bounds=False):
    """Approximately equal-count boundaries of the values of ``series`` (computed now).

    With ``bounds``, returns ``(divisions, per-partition bounds)``, both from one pass: the
    bounds are ``(min, max)`` of each partition's values when they are sorted in it (None
    for an empty partition, False when unsorted).
    """
    from oxdask.base import compute
    from oxdask.dataframe.reductions import reduction

    cats = _known_categories(series._meta.dtype)
    sample = reduction(
        series, _SortedSample(cats is not None), _merge_samples, meta=None, token="divisions"
    )
    if bounds:
        parts = series.map_partitions(_ValueBounds(), meta=("bounds", object))
        (values, weights), *per = compute(sample, *parts.to_delayed())
        return _from_sample(values, weights, npartitions, series), per
    values, weights = sample.compute()
    return _from_sample(values, weights, npartitions, series)


def _index_values(df, idx):
    return pd.Series(np.asarray(idx), index=df.index, name=idx.name, dtype=idx.dtype)


class _ValueBounds:
    def __call__(self, s):
        v = s.dropna()
        if len(v) == 0:
            return None
        if len(v) < len(s) or not v.is_monotonic_increasing:
            return False
        return (v.iloc[0], v.iloc[-1])


def sorted_divisions(per):
    """Divisions when partitions hold sorted, non-overlapping, non-empty runs, else None."""
    if not per or any(b is None or b is False for b in per):
        return None
    try:
        if any(not a[1] < b[0] for a, b in pairwise(per)):
            return None
    except TypeError:
        return None
    return (*[b[0] for b in per], per[-1][1])


def _known_categories(dtype):
    """The categories of a categorical dtype when known (divisions follow their order)."""
    if not isinstance(dtype, pd.CategoricalDtype) or dtype.categories is None:
        return None
    from oxdask.dataframe.categorical import UNKNOWN_CATEGORIES

    return None if UNKNOWN_CATEGORIES in dtype.categories else dtype.categories


def _typed(divisions, series):
    """Divisions as plain Python scalars (Timestamps for datetimes), as the quantiles are."""
    out = [
        d.item() if isinstance(d, np.generic) and not isinstance(d, np.datetime64) else d
        for d in divisions
    ]
    dtype = series._meta.dtype
    if _timestamps(dtype):
        out = [_timestamp(d, getattr(dtype, "tz", None)) for d in out]
    return tuple(out)


def _from_sample(values, weights, npartitions, series):
    if len(values) == 0:
        return None
    cum = np.cumsum(weights)
    n = cum[-1]
    ranks = np.linspace(0, n - 1, npartitions + 1)
    pos = np.searchsorted(cum, np.floor(ranks), side="right")
    pos = np.minimum(pos, len(values) - 1)
    divs = [values[0], *[values[p] for p in pos[1:-1]], values[-1]]
    out = []
    for d in divs:
        d = d.item() if isinstance(d, np.generic) and not isinstance(d, np.datetime64) else d
        if not out or d != out[-1]:
            out.append(d)
    if len(out) == 1:
        out.append(out[0])
    dtype = series._meta.dtype
    cats = _known_categories(dtype)
    if cats is not None:  # sampled codes: divisions are the categories at those codes
        return [cats[int(c)] for c in out]
    if _timestamps(dtype):
        out = [_timestamp(d, getattr(dtype, "tz", None)) for d in out]
    return out


def _timestamps(dtype) -> bool:
    """Whether values of ``dtype`` are Timestamps (not pyarrow dates, which stay dates)."""
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return pa.types.is_timestamp(dtype.pyarrow_dtype)
    return pd.api.types.is_datetime64_any_dtype(dtype)


def _timestamp(d, tz):
    """A division of a datetime column: ``d`` (an aware Timestamp, or a UTC datetime64)."""
    t = pd.Timestamp(d)
    if tz is None or t.tz is not None:
        return t
    return t.tz_localize("UTC").tz_convert(tz)


class RangePartitioner:
    """Output number from where a column's value falls among sorted boundaries."""

    def __init__(self, column, boundaries, ascending=True, na_last=True):
        self.column = column
        self.boundaries = boundaries
        self.ascending = ascending
        self.na_last = na_last

    def __call__(self, df):
        if isinstance(df, pd.Series):
            s = df
        else:
            s = df.index.to_series() if self.column is None else df[self.column]
        n = len(self.boundaries) + 1
        bounds = self.boundaries
        if isinstance(s.dtype, pd.CategoricalDtype) and len(bounds):
            # boundaries are categories: compare positions in the categories' order
            codes = s.cat.categories.get_indexer(pd.Index(bounds, dtype=object))
            if (codes >= 0).all():
                bounds = codes
                s = s.cat.codes.where(s.notna())
        values = s.to_numpy()
        na = np.asarray(s.isna())
        if na.any():
            filled = s[~na]
            dest = np.empty(len(s), dtype=np.intp)
            dest[~na] = np.searchsorted(bounds, filled.to_numpy(), side="right")
            dest[na] = n - 1 if self.na_last == self.ascending else 0
        else:
            dest = np.searchsorted(bounds, values, side="right")
        return dest if self.ascending else (n - 1) - dest


def _boundaries(divisions):
    inner = list(divisions[1:-1])
    arr = np.array(inner, dtype=object) if inner else np.array([], dtype=object)
    try:
        return np.asarray(pd.Index(inner).to_numpy()) if inner else arr
    except (TypeError, ValueError):
        return arr


class _SetIndexPost:
    def __init__(self, column, drop, name=None, sort=True, append=False):
        self.column = column
        self.drop = drop
        self.name = name
        self.sort = sort
        self.append = append

    def __call__(self, df):
        drop = self.drop or self.column != self.name
        if self.append:  # pandas' append=True: a MultiIndex, kept as pandas names it
            return df.set_index(self.column, drop=drop, append=True)
        out = df.set_index(self.column, drop=drop)
        out.index.name = self.name
        return out.sort_index() if self.sort else out


@takes_shuffle_method
def set_index(
    frame, other, drop=True, sorted=False, npartitions=None, divisions=None, sort=True, **kwargs
):
    """The DataFrame indexed (and sorted) by a column or an aligned Series.

    Divisions come from approximate quantiles of the new index, computed when this is
    called (as in Dask), unless ``divisions`` are given; ``sorted=True`` trusts that the
    column is already sorted across partitions and only computes each partition's bounds.
    """
    if isinstance(other, _Frame) and other._name == frame.index._name:
        return frame  # already its index
    if divisions is not None and any(b < a for a, b in pairwise(divisions)):
        raise ValueError(f"divisions must be sorted, got {list(divisions)}")
    if isinstance(other, list):
        if len(other) != 1 or isinstance(other[0], list):
            raise NotImplementedError(
                "Dask dataframe does not yet support multi-indexes.\nYou tried to index with "
                f"this index: {other}\nIndexes must be single columns only."
            )
        other = other[0]
    index_name = other
    if isinstance(other, _Frame) and isinstance(other._meta, pd.Index):
        # an Index collection: its values, row by row, as a column (no alignment on labels)
        meta = pd.Series([], dtype=other._meta.dtype, name=other._meta.name)
        meta.index = frame._meta.index
        same = other.npartitions == frame.npartitions  # then partition by partition
        other = frame.map_partitions(
            _index_values, other, meta=meta, token="index-values", align_dataframes=not same
        )
    if isinstance(other, _Frame):
        index_name = other._meta.name
        column = "__set_index_key__"
        frame = frame.assign(**{column: other})
    else:
        if other not in frame._meta.columns:
            raise KeyError(f"set_index: column {other!r} not found in {list(frame._meta.columns)}")
        column = other
    append = bool(kwargs.pop("append", False))
    if append and sort and not sorted:
        raise NotImplementedError("set_index(append=True) needs sort=False")
    local = _SetIndexPost(column, drop, index_name, sort=False, append=append)
    if sorted or not sort:
        out = frame.map_partitions(
            local, token="set-index", meta=local(frame._meta), clear_divisions=True
        )
        if divisions is not None:
            return type(out)(out.dask, out._name, out._meta, tuple(divisions))
        return compute_divisions(out) if sorted else out
    n = npartitions or frame.npartitions
    if divisions is None:
        divisions, per = quantile_divisions(frame[column], n, bounds=True)
        cat = isinstance(frame[column]._meta.dtype, pd.CategoricalDtype)  # order by codes
        found = sorted_divisions(per) if npartitions is None and not cat else None
        if found is not None:  # already sorted: index each partition in place (as Dask)
            out = frame.map_partitions(
                local, token="set-index", meta=local(frame._meta), clear_divisions=True
            )
            return type(out)(out.dask, out._name, out._meta, _typed(found, frame[column]))
        if divisions is None:  # no values at all: one partition, unknown divisions (as Dask)
            return rearrange(frame, _Zero(), 1, post=local, token="set-index")
    bounds = _boundaries(divisions)
    post = _SetIndexPost(column, drop, index_name)
    return rearrange(
        frame,
        RangePartitioner(column, bounds),
        len(divisions) - 1,
        post=post,
        divisions=tuple(divisions),
        token="set-index",
    )


class _Bounds:
    def __call__(self, df):
        idx = df.index
        if len(idx) == 0:
            return None
        return (idx.min(), idx.max(), bool(idx.is_monotonic_increasing))


def compute_divisions(frame):
    """``frame`` with divisions computed from its partitions' index bounds.

    Partitions must be sorted and follow each other; rows equal to a boundary value that
    sit at the end of the previous partition are moved into the next one, and empty
    partitions are dropped.
    """
    from oxdask.base import compute

    parts = frame.map_partitions(_Bounds(), meta=("bounds", object), enforce_metadata=False)
    bounds = compute(*parts.to_delayed())
    keep = [i for i, b in enumerate(bounds) if b is not None]
    if not keep:
        raise ValueError("compute_divisions: every partition is empty")
    if len(keep) < len(bounds):
        frame, bounds = frame.partitions[keep], [bounds[i] for i in keep]
    mins = [b[0] for b in bounds]
    maxes = [b[1] for b in bounds]
    if not all(b[2] for b in bounds) or any(a > b for a, b in zip(maxes, mins[1:], strict=False)):
        raise ValueError(
            "Partitions have overlapping values, so divisions are non-unique. Use "
            "`set_index(sorted=True)` only on data sorted across partitions, or call "
            "`set_index` without it to sort."
        )
    if all(a < b for a, b in zip(maxes, mins[1:], strict=False)):
        return type(frame)(frame.dask, frame._name, frame._meta, (*mins, maxes[-1]))
    return _fix_ties(frame, mins, maxes)


def _fix_ties(frame, mins, maxes):
    """Repartition at the distinct partition minima (index values equal to a minimum that
    end the previous partition move into the next one)."""
    from oxdask.dataframe.repartition import IndexSlice, Pieces

    starts = list(dict.fromkeys(mins))
    divisions = (*starts, maxes[-1])
    name = _name("fix-overlap", frame._name, divisions)
    layer = {}
    n = len(starts)
    for k in range(n):
        lo, last = divisions[k], k == n - 1
        hi = divisions[k + 1]
        olds = [
            i
            for i in range(len(mins))
            if maxes[i] >= lo and (mins[i] <= hi if last else mins[i] < hi)
        ]
        slicers = [IndexSlice(lo, None if last else hi, last) for _ in olds]
        layer[(name, k)] = (Pieces(slicers), *[(frame._name, i) for i in olds])
    return _new(name, MaterializedLayer(layer), [frame], frame._meta, divisions)


class _CustomSort:
    def __init__(self, func, kwargs):
        self.func = func
        self.kwargs = kwargs

    def __call__(self, df):
        return self.func(df, **self.kwargs)


class _SortPost:
    def __init__(self, by, ascending, na_position, kwargs):
        self.by = by
        self.ascending = ascending
        self.na_position = na_position
        self.kwargs = kwargs

    def __call__(self, df):
        if isinstance(df, pd.Series):
            return df.sort_values(
                ascending=self.ascending, na_position=self.na_position, kind="stable", **self.kwargs
            )
        return df.sort_values(
            self.by,
            ascending=self.ascending,
            na_position=self.na_position,
            kind="stable",
            **self.kwargs,
        )


@takes_shuffle_method
def sort_values(
    frame,
    by=None,
    npartitions=None,
    ascending=True,
    na_position="last",
    sort_function=None,
    sort_function_kwargs=None,
    **kwargs,
):
    """Rows sorted by ``by`` across partitions (range-partitioned on the first column)."""
    if na_position not in ("first", "last"):
        raise ValueError("na_position must be either 'first' or 'last'")
    is_series = frame.ndim == 1
    if not is_series:
        by_list = [by] if not isinstance(by, list) else by
        missing = [c for c in by_list if c not in frame._meta.columns]
        if missing:
            raise KeyError(f"sort_values: columns {missing} not found")
        first = by_list[0]
        key = frame[first]
    else:
        by_list, first, key = None, None, frame
    asc = ascending if isinstance(ascending, bool) else ascending[0]
    n = npartitions or frame.npartitions
    divisions = quantile_divisions(key, n)
    post = _SortPost(by_list, ascending, na_position, sort_function_kwargs or {})
    if sort_function is not None:  # called as Dask does: by/ascending/na_position and kwargs
        kw = {"by": by, "ascending": ascending, "na_position": na_position}
        post = _CustomSort(sort_function, {**kw, **(sort_function_kwargs or {})})
    if divisions is None:
        return rearrange(frame, _Zero(), 1, post=post, token="sort")
    part = RangePartitioner(first, _boundaries(divisions), asc, na_position == "last")
    return rearrange(frame, part, len(divisions) - 1, post=post, token="sort")


class _Zero:
    def __call__(self, df):
        return np.zeros(len(df), dtype=np.intp)
