"""Selection: ``df[col]``, ``df[[cols]]``, ``df[mask]`` and label-based ``loc``.

``loc`` uses known divisions to read only the partitions that can hold the labels asked for;
with unknown divisions it filters every partition.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np
import pandas as pd

from oxdask.dataframe import _pushdown, methods
from oxdask.dataframe.core import DataFrame, Series, _Frame, _name, _new
from oxdask.highlevelgraph import MaterializedLayer

__all__ = ["getitem"]


def _missing(meta, keys):
    cols = meta.columns
    return [k for k in keys if k not in cols]


def _select(frame, key, meta):
    from oxdask.dataframe.partitionwise import partitionwise
    from oxdask.dataframe.projection import ColumnRule

    name = _name("getitem", frame._name, key)
    rule = ColumnRule(frame._name, select=key if isinstance(key, list) else [key])
    out = partitionwise(methods.getitem, frame, key, meta=meta, name=name, columns_rule=rule)
    _pushdown.tag_column(out, frame, key)
    return out


def getitem(frame, key):
    """``frame[key]``: a column, a list of columns, a boolean filter or an index slice."""
    if isinstance(key, slice):
        return frame.loc[key]
    if isinstance(key, _Frame):
        if not isinstance(key, Series) or not pd.api.types.is_bool_dtype(key._meta.dtype):
            raise KeyError(
                f"a {type(key).__name__} of dtype {getattr(key._meta, 'dtype', '?')} "
                "cannot select rows; use a boolean Series"
            )
        return _filter(frame, key)
    if isinstance(frame, Series):
        return frame.loc[key]
    meta = frame._meta
    if isinstance(key, (list, pd.Index, np.ndarray, pd.Series)):  # labels (pandas Series too)
        keys = list(key)
        if keys and all(isinstance(k, (bool, np.bool_)) for k in keys):
            raise NotImplementedError("boolean lists cannot select rows of a DataFrame")
        missing = _missing(meta, keys)
        if missing:
            raise KeyError(
                f"columns {missing} not found; the DataFrame has columns {list(meta.columns)}"
            )
        return _select(frame, keys, meta[keys])
    try:
        in_cols = key in meta.columns
    except TypeError:
        in_cols = False
    if not in_cols:
        raise KeyError(f"column {key!r} not found; the DataFrame has columns {list(meta.columns)}")
    return _select(frame, key, meta[key])


def _filter(frame, mask):
    from oxdask.dataframe.partitionwise import align_partitions, partitionwise
    from oxdask.dataframe.projection import ColumnRule

    pushed = _pushdown.pushed(frame, mask)
    if pushed is not None:
        return pushed
    frame, mask = align_partitions(frame, mask)
    name = _name("filter", frame._name, mask._name)
    rule = ColumnRule(frame._name, keep=True) if isinstance(frame, DataFrame) else None
    return partitionwise(
        methods.boolean_filter, frame, mask, meta=frame._meta, name=name, columns_rule=rule
    )


class LocSlice:
    """Rows of a partition whose index lies in ``[start, stop]`` (``None``: unbounded)."""

    def __init__(self, start, stop):
        self.start = start
        self.stop = stop

    def __call__(self, df):
        idx = df.index
        if idx.is_monotonic_increasing:  # pandas' own slicing (partial date strings...)
            return df.loc[self.start : self.stop]
        keep = np.ones(len(idx), dtype=bool)
        if self.start is not None:
            keep &= np.asarray(idx >= self.start)
        if self.stop is not None:
            keep &= np.asarray(idx <= self.stop)
        return df[keep]


class LocLabels:
    """Rows of a partition whose index is one of ``labels``, in the order of ``labels``."""

    def __init__(self, labels):
        self.labels = list(labels)

    def __call__(self, df):
        present = [lab for lab in self.labels if lab in df.index]
        return df.loc[present] if present else df.iloc[:0]


class _LocIndexer:
    """``frame.loc[...]``: selection by index labels, using divisions when known."""

    def __init__(self, frame):
        self.obj = frame

    def __getitem__(self, key):
        cols = None
        if isinstance(key, tuple) and isinstance(self.obj, DataFrame):
            if len(key) != 2:
                raise IndexError("Too many indexers")
            key, cols = key
        out = self._rows(key)
        if cols is not None:
            if isinstance(cols, slice) and cols == slice(None):
                return out
            if isinstance(cols, slice):
                cols = list(out._meta.loc[:, cols].columns)
            out = out[cols]
        return out

    def _rows(self, key):
        obj = self.obj
        if isinstance(key, slice):
            if key.step is not None:
                raise NotImplementedError("loc with a step is not supported")
            if key.start is None and key.stop is None:
                return obj
            return _loc_range(obj, key.start, key.stop)
        if isinstance(key, _Frame):
            return getitem(obj, key)
        if isinstance(key, (list, np.ndarray, pd.Index)):
            return _loc_labels(obj, list(key))
        if callable(key):
            return _rows_callable(obj, key)
        return _loc_range(obj, key, key)


def _rows_callable(obj, key):
    return obj.loc[key(obj)]


def _partitions_for(frame, start, stop) -> tuple[int, int]:
    """First and last partition that may hold labels in ``[start, stop]``."""
    n = frame.npartitions
    if not frame.known_divisions:
        return 0, n - 1
    d = frame.divisions
    first = 0 if start is None else min(max(bisect_right(d, start) - 1, 0), n - 1)
    last = n - 1 if stop is None else min(max(bisect_right(d, stop) - 1, 0), n - 1)
    return first, max(first, last)


def _label_bounds(index, start, stop):
    """Bounds comparable with the divisions: partial date strings widened to their period
    (``"2024-02"`` reaches the end of February, as in pandas)."""
    if not isinstance(index, pd.DatetimeIndex):
        return start, stop
    tz = index.tz

    def stamp(x, end):
        if not isinstance(x, str):
            return x
        t = pd.Period(x).end_time if end else pd.Timestamp(x)
        return t.tz_localize(tz) if tz is not None and t.tz is None else t

    return stamp(start, False), stamp(stop, True)


def _loc_range(frame, start, stop):
    label_start, label_stop = start, stop
    start, stop = _label_bounds(frame._meta.index, start, stop)
    first, last = _partitions_for(frame, start, stop)
    name = _name("loc", frame._name, label_start, label_stop)
    func = LocSlice(label_start, label_stop)
    layer = MaterializedLayer(
        {(name, k): (func, (frame._name, i)) for k, i in enumerate(range(first, last + 1))}
    )
    if frame.known_divisions:
        d = frame.divisions
        inner = list(d[first + 1 : last + 1])
        lo = d[first] if start is None else max(start, d[first])
        hi = d[last + 1] if stop is None else min(stop, d[last + 1])
        lo = min(lo, inner[0]) if inner else lo
        hi = max(hi, inner[-1]) if inner else hi
        if not inner and hi < lo:
            hi = lo
        divisions = (lo, *inner, hi)
    else:
        divisions = (None,) * (last - first + 2)
    return _new(name, layer, [frame], frame._meta, divisions)


def _loc_labels(frame, labels):
    name = _name("loc-labels", frame._name, labels)
    if frame.known_divisions and labels:
        d = frame.divisions
        parts: dict[int, list] = {}
        for lab in labels:
            i = min(max(bisect_right(d, lab) - 1, 0), frame.npartitions - 1)
            parts.setdefault(i, []).append(lab)
        order = sorted(parts)
        layer = MaterializedLayer(
            {(name, k): (LocLabels(parts[i]), (frame._name, i)) for k, i in enumerate(order)}
        )
        divisions = [min(parts[i]) for i in order] + [max(parts[order[-1]])]
        return _new(name, layer, [frame], frame._meta, divisions)
    layer = MaterializedLayer(
        {(name, i): (LocLabels(labels), (frame._name, i)) for i in range(frame.npartitions)}
    )
    return _new(name, layer, [frame], frame._meta, (None,) * (frame.npartitions + 1))
