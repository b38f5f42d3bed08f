"""Metadata helpers: empty pandas objects (``meta``) that stand for a collection's partitions.

Every collection carries ``_meta``, an empty pandas object with the columns, dtypes, index
type and names of its partitions. Operations infer the meta of their result by running the
operation on :func:`meta_nonempty` (a two-row fake built from the meta) and keeping the first
zero rows of the result, so that dtype inference sees real values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "assert_eq",
    "is_dataframe_like",
    "is_index_like",
    "is_series_like",
    "make_meta",
    "meta_nonempty",
]

_PANDAS = (pd.DataFrame, pd.Series, pd.Index)


def is_dataframe_like(x) -> bool:
    """Whether ``x`` is a pandas DataFrame."""
    return isinstance(x, pd.DataFrame)


def is_series_like(x) -> bool:
    """Whether ``x`` is a pandas Series."""
    return isinstance(x, pd.Series)


def is_index_like(x) -> bool:
    """Whether ``x`` is a pandas Index."""
    return isinstance(x, pd.Index)


def _dtype(spec, column=None):
    try:
        if isinstance(spec, str) and spec == "category":
            return pd.CategoricalDtype()
        return pd.api.types.pandas_dtype(spec)
    except TypeError as e:
        where = f" of column {column!r}" if column is not None else ""
        raise TypeError(f"meta: invalid dtype {spec!r}{where}: {e}") from None


def make_meta(x, index=None, parent_meta=None):
    """An empty pandas object described by ``x``.

    Parameters
    ----------
    x : pandas object, dict, iterable of tuples, tuple or dtype
        A pandas object (its first zero rows are kept), ``{name: dtype}`` or
        ``[(name, dtype), ...]`` for a DataFrame, ``(name, dtype)`` for a Series, a dtype for
        a nameless Series, or a scalar for a scalar result.
    index : pandas.Index, optional
        Index of the result (default: an empty ``RangeIndex``).
    parent_meta : object, optional
        Accepted for compatibility.

    Returns
    -------
    pandas object or scalar
    """
    if hasattr(x, "_meta") and hasattr(x, "__dask_graph__"):
        return x._meta
    if isinstance(x, _PANDAS):
        return x[:0] if isinstance(x, pd.Index) else x.iloc[:0]
    idx = index[:0] if index is not None else pd.RangeIndex(0)
    if isinstance(x, dict):
        return pd.DataFrame({k: pd.Series([], dtype=_dtype(v, k)) for k, v in x.items()}, index=idx)
    if isinstance(x, tuple) and len(x) == 2 and not isinstance(x[1], tuple):
        return pd.Series([], dtype=_dtype(x[1], x[0]), name=x[0], index=idx)
    if isinstance(x, (list, tuple)) and all(isinstance(t, tuple) and len(t) == 2 for t in x):
        cols = {k: pd.Series([], dtype=_dtype(v, k)) for k, v in x}
        if len(cols) != len(x):
            raise ValueError(f"meta: duplicate column names in {x!r}")
        return pd.DataFrame(cols, index=idx, columns=[k for k, _ in x])
    if isinstance(x, (str, np.dtype, type, pd.api.extensions.ExtensionDtype)):
        if isinstance(x, type) and not issubclass(x, (np.generic, int, float, complex, bool, str)):
            raise TypeError(f"meta: cannot build metadata from type {x.__name__}")
        return pd.Series([], dtype=_dtype(x), index=idx)
    if np.isscalar(x) or x is None or isinstance(x, (pd.Timestamp, pd.Timedelta)):
        return x
    raise TypeError(f"meta: cannot build metadata from {type(x).__name__} {x!r}")


def _fake(dtype):
    """A representative value of ``dtype`` (never NA)."""
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        return cats[0] if len(cats) else "foo"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return pd.Timestamp("2000-01-01", tz=dtype.tz)
    if isinstance(dtype, pd.PeriodDtype):
        return pd.Period("2000-01-01", freq=dtype.freq)
    if isinstance(dtype, pd.IntervalDtype):
        return pd.Interval(0, 1)
    kind = getattr(dtype, "kind", "O")
    if kind == "b":
        return True
    if kind in "iu":
        return 1
    if kind == "f":
        return 1.0
    if kind == "c":
        return 1 + 0j
    if kind == "M":
        return pd.Timestamp("2000-01-01")
    if kind == "m":
        return pd.Timedelta("1D")
    return "foo"


def _fake_array(dtype, n=2):
    value = _fake(dtype)
    try:
        return pd.array([value] * n, dtype=dtype)
    except (TypeError, ValueError):
        return pd.array([value] * n).astype(dtype)


def _nonempty_index(idx: pd.Index) -> pd.Index:
    if isinstance(idx, pd.RangeIndex):
        return pd.RangeIndex(2, name=idx.name)
    if isinstance(idx, pd.MultiIndex):
        levels = [_nonempty_index(lev) for lev in idx.levels]
        return pd.MultiIndex.from_arrays([lev[:1].repeat(2) for lev in levels], names=idx.names)
    if isinstance(idx, pd.DatetimeIndex):
        return pd.date_range("2000-01-01", periods=2, tz=idx.tz, name=idx.name).as_unit(idx.unit)
    if isinstance(idx, pd.CategoricalIndex):
        return pd.CategoricalIndex(_fake_array(idx.dtype), dtype=idx.dtype, name=idx.name)
    dt = idx.dtype
    if getattr(dt, "kind", "O") in "iuf":
        return pd.Index(pd.array([1, 2]).astype(dt), name=idx.name)
    return pd.Index(_fake_array(dt), name=idx.name)


def meta_nonempty(x):
    """A two-row pandas object with the same columns, dtypes and index type as ``x``.

    Parameters
    ----------
    x : pandas object (usually empty) or scalar

    Returns
    -------
    pandas object or scalar
    """
    if isinstance(x, pd.Index):
        return _nonempty_index(x)
    if isinstance(x, pd.Series):
        idx = _nonempty_index(x.index)
        return pd.Series(_fake_array(x.dtype, len(idx)), index=idx, name=x.name)
    if isinstance(x, pd.DataFrame):
        idx = _nonempty_index(x.index)
        data = {i: _fake_array(dt, len(idx)) for i, dt in enumerate(x.dtypes)}
        out = pd.DataFrame(data, index=idx)
        out.columns = x.columns
        return out
    return x


def check_meta(x, meta, funcname=None, numeric_equal=True):
    """``x`` if its columns and dtypes match ``meta``, else a ``ValueError`` with a table.

    Parameters
    ----------
    x : pandas object
        A computed partition.
    meta : pandas object
    funcname : str, optional
        Named in the error message.
    numeric_equal : bool
        Treat all numeric dtypes as equal.
    """
    where = f" in `{funcname}`" if funcname else ""
    if type(x) is not type(meta):
        raise ValueError(
            f"Metadata mismatch found{where}.\n\nPartition type: `{type(x).__name__}`\n"
            f"Meta type: `{type(meta).__name__}`"
        )
    if isinstance(x, pd.DataFrame):
        rows = []
        cols = list(dict.fromkeys([*meta.columns, *x.columns]))
        for c in cols:
            found = x.dtypes.get(c) if c in x.columns else "-"
            expected = meta.dtypes.get(c) if c in meta.columns else "-"
            if not _equal_dtypes(found, expected, numeric_equal):
                rows.append((c, found, expected))
        if rows:
            raise ValueError(f"Metadata mismatch found{where}.\n\n{_table(rows)}")
    elif isinstance(x, (pd.Series, pd.Index)) and not _equal_dtypes(
        x.dtype, meta.dtype, numeric_equal
    ):
        raise ValueError(
            f"Metadata mismatch found{where}.\n\n"
            f"Partition dtype: {x.dtype}\nMeta dtype: {meta.dtype}"
        )
    return x


def _equal_dtypes(a, b, numeric_equal) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if a == b:
        return True
    if numeric_equal:
        num = pd.api.types.is_numeric_dtype
        if num(a) and num(b) and not pd.api.types.is_bool_dtype(a):
            return True
    # an empty partition may read as object where values read as strings (or the reverse)
    text = pd.api.types.is_string_dtype
    s = (text(a) or pd.api.types.is_object_dtype(a)) and (
        text(b) or pd.api.types.is_object_dtype(b)
    )
    return bool(s) and not isinstance(a, pd.CategoricalDtype)


def _table(rows, header=("Column", "Found", "Expected")) -> str:
    """An ASCII table of rows (each a tuple of three values)."""
    cells = [tuple(str(v) for v in r) for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line]
    for n, r in enumerate(cells):
        out.append("| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            out.append(line.replace("-", "="))
    out.append(line)
    return "\n".join(out)


def assert_eq(
    a,
    b,
    check_names=True,
    check_dtype=True,
    check_divisions=True,
    check_index=True,
    sort_results=True,
    scheduler="sync",
    **kwargs,
):
    """Compare two collections or pandas objects (computing collections), like Dask's.

    Parameters
    ----------
    a, b : collection or pandas object or scalar
    check_names, check_dtype : bool
    check_divisions : bool
        Check that each partition of a collection lies within its divisions.
    check_index : bool
        Compare the index too (else only the values, in order).
    sort_results : bool
        Order both sides by their values, then by index, before comparing (the row order
        of many operations differs from pandas').
    scheduler : str
        Scheduler used to compute collections.
    **kwargs
        Passed to :mod:`pandas.testing`.
    """
    import sys

    from oxdask.dataframe.core import _Frame

    client = sys.modules.get("oxdask.distributed.client")
    if client is not None and client._current is not None:
        scheduler = None  # persisted data lives on the cluster: compute there

    def value(x):
        if isinstance(x, _Frame):
            if check_divisions and x.known_divisions:
                _check_divisions(x, scheduler)
            return x.compute(scheduler=scheduler)
        if hasattr(x, "__dask_graph__"):
            return x.compute(scheduler=scheduler)
        return x

    a, b = _as_strings(value(a)), _as_strings(value(b))
    if isinstance(a, (pd.DataFrame, pd.Series)) and sort_results:
        a, b = _ordered(a, check_index), _ordered(b, check_index)
    if not check_index and isinstance(a, (pd.DataFrame, pd.Series)):
        a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(
            a, b, check_names=check_names, check_dtype=check_dtype, **kwargs
        )
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(
            a, b, check_names=check_names, check_dtype=check_dtype, **kwargs
        )
    elif isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b, exact=check_dtype, **kwargs)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b or np.allclose(a, b), (a, b)
    return True


def _text(values):
    """``values`` (a Series or Index) with the ``str`` dtype when they hold only strings
    (object or any string dtype), else unchanged."""
    dt = values.dtype
    if isinstance(dt, pd.StringDtype) or (
        pd.api.types.is_object_dtype(dt)
        and pd.api.types.infer_dtype(values, skipna=True) == "string"
    ):
        try:
            return values.astype(pd.StringDtype(na_value=np.nan))
        except (TypeError, ValueError):
            return values
    return values


def _as_strings(x):
    """Strings in object columns and in string dtypes compared alike (as Dask's assert_eq
    converts both sides to one string dtype)."""
    if isinstance(x, pd.DataFrame):
        x = x.copy(deep=False)
        for i in range(x.shape[1]):
            col = x.iloc[:, i]
            new = _text(col)
            if new is not col:
                x.isetitem(i, new)
    elif isinstance(x, pd.Series):
        x = _text(x.copy(deep=False))
    elif isinstance(x, pd.Index) and not isinstance(x, pd.MultiIndex):
        return _text(x)
    if isinstance(x, (pd.DataFrame, pd.Series)) and not isinstance(x.index, pd.MultiIndex):
        x.index = _text(x.index)
    return x


def _ordered(x, check_index):
    """``x`` sorted by its values (stable), then by its index when ``check_index``."""
    try:
        if isinstance(x, pd.DataFrame):
            if set(x.index.names) & set(x.columns):  # sort_values would see the level
                x = x.copy()
                x.index.names = [f"__level_{i}__" for i in range(x.index.nlevels)]
            x = x.sort_values(by=list(x.columns), kind="mergesort")
        else:
            x = x.sort_values(kind="mergesort")
    except (TypeError, IndexError, ValueError):
        pass
    if check_index:
        try:
            return x.sort_index(kind="mergesort")
        except TypeError:
            return x
    return x


def _check_divisions(x, scheduler=None):
    parts = x.to_delayed()
    from oxdask.base import compute

    values = compute(*parts, scheduler=scheduler)
    div = x.divisions
    for i, p in enumerate(values):
        idx = p if isinstance(p, pd.Index) else p.index
        if len(idx) == 0:
            continue
        if isinstance(idx, pd.MultiIndex) and not isinstance(div[i], tuple):
            idx = idx.get_level_values(0)  # divisions of the first level
        lo, hi = idx.min(), idx.max()
        last = i == len(values) - 1
        assert lo >= div[i], f"partition {i} starts at {lo!r} before its division {div[i]!r}"
        if last:
            assert hi <= div[i + 1], f"partition {i} ends at {hi!r} after {div[i + 1]!r}"
        else:
            assert hi < div[i + 1], f"partition {i} reaches {hi!r}, division {div[i + 1]!r}"
