"""Changing the partitioning without a shuffle: by divisions, by count, by size.

Repartitioning by divisions slices each old partition at the new boundaries (by binary search
on its sorted index) and concatenates the slices that make up each new partition; it needs
known divisions. By count, neighbouring partitions are concatenated (fewer) or partitions are
cut by row position (more).
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left, bisect_right

import numpy as np
import pandas as pd

from oxdask.dataframe import methods
from oxdask.dataframe.core import _name, _new
from oxdask.highlevelgraph import MaterializedLayer

__all__ = ["repartition", "repartition_divisions", "repartition_npartitions"]


class IndexSlice:
    """Rows with ``lo <= index < hi`` (``<= hi`` when ``right_closed``); ``None``: open."""

    def __init__(self, lo, hi, right_closed):
        self.lo = lo
        self.hi = hi
        self.right_closed = right_closed

    def __call__(self, df):
        idx = df.index
        if not idx.is_monotonic_increasing:
            keep = np.ones(len(idx), dtype=bool)
            if self.lo is not None:
                keep &= np.asarray(idx >= self.lo)
            if self.hi is not None:
                keep &= (
                    np.asarray(idx <= self.hi) if self.right_closed else np.asarray(idx < self.hi)
                )
            return df[keep]
        i = 0 if self.lo is None else idx.searchsorted(self.lo, "left")
        if self.hi is None:
            j = len(idx)
        else:
            j = idx.searchsorted(self.hi, "right" if self.right_closed else "left")
        return df.iloc[i:j]


class Pieces:
    """Concatenation of slices of several partitions (one slicer per partition)."""

    def __init__(self, slicers):
        self.slicers = slicers

    def __call__(self, *parts):
        return methods.concat([f(p) for f, p in zip(self.slicers, parts, strict=True)])


def repartition_divisions(frame, divisions, force=False):
    """``frame`` with partitions cut at the new ``divisions`` (known divisions only).

    Parameters
    ----------
    frame : DataFrame or Series
    divisions : sequence
        Sorted new boundaries.
    force : bool
        Allow new divisions that do not cover the old ones.
    """
    if not frame.known_divisions:
        raise ValueError(
            "Cannot repartition on divisions with unknown divisions; use set_index or "
            "repartition(npartitions=...)"
        )
    divisions = tuple(divisions)
    if len(divisions) < 2:
        raise ValueError("divisions need at least two values")
    if list(divisions) != sorted(divisions):
        raise ValueError("New division must be sorted")
    old = frame.divisions
    if not force:
        if divisions[0] > old[0]:
            raise ValueError(
                "left side of the new division must be equal or smaller than old division"
            )
        if divisions[-1] < old[-1]:
            raise ValueError(
                "right side of the new division must be equal or larger than old division"
            )
    if divisions == old:
        return frame
    name = _name("repartition", frame._name, divisions)
    n_old, n_new = frame.npartitions, len(divisions) - 1
    layer = {}
    for j in range(n_new):
        lo, hi = divisions[j], divisions[j + 1]
        last = j == n_new - 1
        first_i = min(max(bisect_right(old, lo) - 1, 0), n_old - 1)
        last_i = (bisect_right(old, hi) if last else bisect_left(old, hi)) - 1
        last_i = min(max(last_i, first_i), n_old - 1)
        olds = list(range(first_i, last_i + 1))
        lo_ = None if (j == 0 and not force) else lo
        hi_ = None if (last and not force) else hi
        slicers = [IndexSlice(lo_, hi_, last) for _ in olds]
        layer[(name, j)] = (Pieces(slicers), *[(frame._name, i) for i in olds])
    return _new(name, MaterializedLayer(layer), [frame], frame._meta, divisions)


class SplitPositions:
    """Piece ``k`` of ``n`` of a partition cut by row position."""

    def __init__(self, k, n):
        self.k = k
        self.n = n

    def __call__(self, df):
        m = len(df)
        a, b = (m * self.k) // self.n, (m * (self.k + 1)) // self.n
        return df.iloc[a:b]


def repartition_npartitions(frame, npartitions):
    """``frame`` with ``npartitions`` partitions (concatenating or cutting partitions)."""
    n = frame.npartitions
    npartitions = int(npartitions)
    if npartitions < 1:
        raise ValueError("npartitions must be at least 1")
    if npartitions == n:
        return frame
    name = _name("repartition", frame._name, npartitions)
    if npartitions < n:
        bounds = [round(i * n / npartitions) for i in range(npartitions + 1)]
        layer = {
            (name, j): (methods.concat_list, *[(frame._name, i) for i in range(a, b)])
            for j, (a, b) in enumerate(itertools.pairwise(bounds))
        }
        divisions = [frame.divisions[b] for b in bounds]
        return _new(name, MaterializedLayer(layer), [frame], frame._meta, divisions)
    idx_dtype = frame._meta.index.dtype
    if frame.known_divisions and (
        pd.api.types.is_numeric_dtype(idx_dtype) or pd.api.types.is_datetime64_any_dtype(idx_dtype)
    ):
        divisions = _interpolate_divisions(frame.divisions, npartitions, idx_dtype)
        if divisions is not None:
            return repartition_divisions(frame, divisions)
    per = [npartitions // n + (1 if i < npartitions % n else 0) for i in range(n)]
    layer = {}
    j = 0
    for i, k in enumerate(per):
        for piece in range(k):
            layer[(name, j)] = (SplitPositions(piece, k), (frame._name, i))
            j += 1
    return _new(name, MaterializedLayer(layer), [frame], frame._meta, (None,) * (j + 1))


def _interpolate_divisions(old, npartitions, dtype):
    """Evenly interpolated divisions over each old partition (``None`` if not distinct)."""
    n = len(old) - 1
    per = [npartitions // n + (1 if i < npartitions % n else 0) for i in range(n)]
    is_dt = pd.api.types.is_datetime64_any_dtype(dtype)
    out = []
    for i, k in enumerate(per):
        a, b = old[i], old[i + 1]
        if is_dt:
            a_v, b_v = pd.Timestamp(a).value, pd.Timestamp(b).value
        else:
            a_v, b_v = a, b
        for piece in range(k):
            v = a_v + (b_v - a_v) * piece / k
            if is_dt:
                out.append(pd.Timestamp(int(v), tz=getattr(a, "tz", None)))
            elif pd.api.types.is_integer_dtype(dtype):
                out.append(math.floor(v))
            else:
                out.append(v)
    out.append(old[-1])
    if len(set(out)) != len(out):
        return None
    return out


_PERIOD_START = {
    pd.offsets.MonthEnd: pd.offsets.MonthBegin,
    pd.offsets.QuarterEnd: pd.offsets.QuarterBegin,
    pd.offsets.YearEnd: pd.offsets.YearBegin,
}


def _freq_divisions(frame, freq):
    """Divisions at every ``freq`` step (``"1D"``, ``"ME"``: months start their periods)
    from the first whole step after the first division, plus the first and last divisions,
    as Dask's."""
    first, last = frame.divisions[0], frame.divisions[-1]
    if not (frame.known_divisions and isinstance(first, pd.Timestamp)):
        raise TypeError("Can only repartition on frequency for timeseries")
    offset = pd.tseries.frequencies.to_offset(freq)
    begin = _PERIOD_START.get(type(offset))
    if begin is not None:
        offset = begin(offset.n)
    try:
        start = first.ceil(offset)
    except ValueError:  # not a fixed frequency (weeks, months)
        start = first
    steps = list(pd.date_range(start, last, freq=offset))
    if not steps:
        return [first, last]
    if steps[-1] != last:
        steps.append(last)
    return steps if steps[0] == first else [first, *steps]


def repartition(
    frame, divisions=None, npartitions=None, partition_size=None, freq=None, force=False
):
    """``frame`` repartitioned by ``divisions``, ``npartitions`` or ``partition_size``.

    Parameters
    ----------
    frame : DataFrame or Series
    divisions : sequence, optional
        New boundaries (known divisions only).
    npartitions : int, optional
    partition_size : int or str, optional
        Target bytes per partition (``"100MB"``); computes the memory use of the partitions.
    freq : str or DateOffset, optional
        One partition per period (``"1D"``) of a datetime index with known divisions.
    force : bool
        Allow ``divisions`` that do not cover the current ones.
    """
    if isinstance(frame, (pd.DataFrame, pd.Series)):  # pandas data: cut at ``divisions``
        from oxdask.dataframe.io.io import from_pandas

        frame = from_pandas(frame, npartitions=1)
        force = True
    given = [x is not None for x in (divisions, npartitions, partition_size, freq)]
    if sum(given) != 1:
        raise ValueError(
            "Please provide exactly one of the ``npartitions=``, ``divisions=``, "
            "``partition_size=`` or ``freq=`` keyword arguments"
        )
    if freq is not None:
        divisions = _freq_divisions(frame, freq)
    if divisions is not None:
        return repartition_divisions(frame, divisions, force=force)
    if npartitions is not None:
        return repartition_npartitions(frame, npartitions)
    size = _parse_bytes(partition_size)
    total = frame.memory_usage_per_partition(deep=True).sum().compute()
    return repartition_npartitions(frame, max(1, math.ceil(total / size)))


def _parse_bytes(s) -> int:
    if isinstance(s, (int, float)):
        return int(s)
    units = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
    text = s.strip().lower().replace(" ", "")
    for u in sorted(units, key=len, reverse=True):
        if text.endswith(u):
            return int(float(text[: -len(u)] or 1) * units[u])
    return int(float(text))
