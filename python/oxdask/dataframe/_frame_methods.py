"""Partition-wise methods of DataFrame and Series (mixed into ``core._Frame``).

Each method is one Blockwise layer calling the pandas method of the same name on every
partition; collections among the arguments are aligned and passed partition by partition.
The metadata of the result comes from running the pandas method on a non-empty fake.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from oxdask.dataframe import methods
from oxdask.dataframe._io_methods import IOMethods

_NO_VALUE = object()  # "not given" (None is a valid replacement value)


def _pw(self, method, *args, token=None, clear_divisions=False, **kwargs):
    """Partition-wise ``partition.method(*args, **kwargs)``."""
    from oxdask.dataframe.partitionwise import align_partitions, emulate, map_partitions

    aligned = align_partitions(self, *args, *kwargs.values())
    self_a, args_a = aligned[0], aligned[1 : 1 + len(args)]
    kw_a = dict(zip(kwargs, aligned[1 + len(args) :], strict=True))
    meta = emulate(methods.call_method, self_a, method, *args_a, **kw_a)
    return map_partitions(
        methods.call_method,
        self_a,
        method,
        *args_a,
        meta=meta,
        enforce_metadata=False,
        token=token or method.replace("_", "-"),
        clear_divisions=clear_divisions,
        align_dataframes=False,
        **kw_a,
    )


class FrameMethods(IOMethods):
    """Partition-wise operations shared by DataFrame and Series."""

    __slots__ = ()

    def map_partitions(self, func, *args, **kwargs):
        """Apply ``func`` to every partition (see :func:`oxdask.dataframe.map_partitions`)."""
        from oxdask.dataframe.partitionwise import map_partitions

        return map_partitions(func, self, *args, **kwargs)

    def map_overlap(self, func, before, after, *args, **kwargs):
        """Apply ``func`` to partitions extended by rows of their neighbours.

        See :func:`oxdask.dataframe.rolling.map_overlap`.
        """
        from oxdask.dataframe.rolling import map_overlap

        return map_overlap(func, self, before, after, *args, **kwargs)

    def pipe(self, func, *args, **kwargs):
        """``func(self, *args, **kwargs)``."""
        return func(self, *args, **kwargs)

    def copy(self, deep=False):
        """A new collection object with the same graph (data is immutable)."""
        from oxdask.dataframe.core import new_dd_object

        return new_dd_object(self.dask, self._name, self._meta, self.divisions)

    def astype(self, dtype):
        """Cast to ``dtype`` (a dtype or ``{column: dtype}``)."""
        if isinstance(dtype, dict) and isinstance(self._meta, pd.DataFrame):
            missing = [c for c in dtype if c not in self._meta.columns]
            if missing:
                raise KeyError(
                    f"astype: columns {missing} not found; columns are {list(self._meta.columns)}"
                )
        out = _pw(self, "astype", dtype)
        return _mark_unknown_categories(out, dtype)

    def fillna(self, value=None, axis=None, **kwargs):
        """Fill missing values with ``value`` (a scalar, dict, Series or Scalar)."""
        if axis not in (None, 0, "index"):
            kwargs["axis"] = axis
        return _pw(self, "fillna", value, **kwargs)

    def ffill(self, axis=None, limit=None):
        """Forward fill within partitions and across partition boundaries."""
        from oxdask.dataframe.rolling import fill_across

        return fill_across(self, "ffill", limit)

    def bfill(self, axis=None, limit=None):
        """Backward fill within partitions and across partition boundaries."""
        from oxdask.dataframe.rolling import fill_across

        return fill_across(self, "bfill", limit)

    def dropna(self, **kwargs):
        """Drop rows with missing values (``how``, ``subset``, ``thresh``)."""
        if kwargs.get("axis", 0) not in (0, "index"):
            raise NotImplementedError("dropna(axis=1) is not supported")
        subset = kwargs.get("subset")
        if subset is not None and isinstance(self._meta, pd.DataFrame):
            subset = [subset] if np.isscalar(subset) else subset
            missing = [c for c in subset if c not in self._meta.columns]
            if missing:
                raise KeyError(f"dropna: subset columns {missing} not found")
        return _pw(self, "dropna", **kwargs)

    def isna(self):
        """Boolean mask of missing values."""
        return _pw(self, "isna")

    isnull = isna

    def notna(self):
        """Boolean mask of present values."""
        return _pw(self, "notna")

    notnull = notna

    def where(self, cond, other=np.nan):
        """Keep values where ``cond`` is True, else ``other``."""
        return _pw(self, "where", cond, other)

    def mask(self, cond, other=np.nan):
        """Replace values where ``cond`` is True with ``other``."""
        return _pw(self, "mask", cond, other)

    def clip(self, lower=None, upper=None, axis=None):
        """Limit values to ``[lower, upper]``."""
        kw = {"axis": axis} if axis is not None else {}
        return _pw(self, "clip", lower, upper, **kw)

    def abs(self):
        """Absolute values."""
        return _pw(self, "abs")

    def round(self, decimals=0):
        """Round to ``decimals`` places."""
        return _pw(self, "round", decimals)

    def replace(self, to_replace=None, value=_NO_VALUE, regex=False):
        """Replace values (see ``pandas.DataFrame.replace``)."""
        if value is _NO_VALUE:
            return _pw(self, "replace", to_replace, regex=regex)
        return _pw(self, "replace", to_replace, value, regex=regex)

    def isin(self, values):
        """Whether each value is in ``values``."""
        if hasattr(values, "__dask_graph__"):
            raise NotImplementedError("isin with a lazy collection of values is not supported")
        return _pw(self, "isin", list(values) if isinstance(values, (set, tuple)) else values)

    def combine_first(self, other):
        """Fill missing values from ``other`` (aligned on the index)."""
        return _pw(self, "combine_first", other)

    def drop(self, labels=None, axis=0, columns=None, errors="raise"):
        """Drop columns (``columns=`` or ``labels`` with ``axis=1``)."""
        if columns is None and axis in (1, "columns"):
            columns = labels
        if columns is None:
            raise NotImplementedError(
                "Drop currently only works for axis=1 or when columns is not None"
            )
        cols = [columns] if np.isscalar(columns) else list(columns)
        if errors == "raise":
            missing = [c for c in cols if c not in self._meta.columns]
            if missing:
                raise KeyError(f"drop: columns {missing} not found in {list(self._meta.columns)}")
        return _pw(self, "drop", columns=cols, errors=errors)

    def select_dtypes(self, include=None, exclude=None):
        """The columns whose dtypes match ``include``/``exclude``."""
        cols = list(self._meta.select_dtypes(include=include, exclude=exclude).columns)
        return self[cols]

    def assign(self, **kwargs):
        """New columns from scalars, Series or callables of the DataFrame."""
        from oxdask.dataframe.core import Scalar, _Frame
        from oxdask.dataframe.partitionwise import align_partitions, emulate, partitionwise

        if isinstance(self._meta, pd.Series):
            raise AttributeError("'Series' object has no attribute 'assign'")
        out = self
        for k, v in kwargs.items():  # callables see the columns assigned before them
            if callable(v) and not isinstance(v, (_Frame, Scalar)):
                v = v(out)
            if isinstance(v, _Frame) and not isinstance(v._meta, (pd.Series, pd.Index)):
                raise TypeError(f"Column assignment of {k!r} doesn't support type DataFrame")
            if hasattr(v, "__dask_graph__") and not isinstance(v, (_Frame, Scalar)):
                v = _to_series_like(v, out, k)
            if isinstance(v, pd.Series | pd.DataFrame):
                raise TypeError(
                    f"cannot assign a pandas {type(v).__name__} to column {k!r}; "
                    "convert it with from_pandas first"
                )
            frame, value = align_partitions(out, v)
            if isinstance(value, _Frame) and isinstance(value._meta, pd.Index):
                value = value.to_series()
            meta = emulate(methods.assign, frame, [k], value)
            from oxdask.dataframe.core import _name
            from oxdask.dataframe.projection import ColumnRule

            name = _name("assign", frame._name, k, getattr(value, "_name", value))
            rule = ColumnRule(frame._name, keep=True, assigned=[k])
            out = partitionwise(
                methods.assign, frame, [k], value, meta=meta, name=name, columns_rule=rule
            )
        return out

    def rename(self, index=None, columns=None, **kwargs):
        """Rename columns (DataFrame), or the Series (a scalar ``index``)."""
        if isinstance(self._meta, pd.Series):
            if index is None or np.isscalar(index) or isinstance(index, tuple):
                return _pw(self, "rename", index)
            return _pw(self, "rename", index, clear_divisions=True)
        if index is not None:
            return _pw(self, "rename", index=index, columns=columns, clear_divisions=True)
        return _pw(self, "rename", columns=columns, **kwargs)

    def apply(self, func, axis=0, args=(), meta=None, **kwds):
        """Apply ``func`` to every row (``axis=1``) of a DataFrame, or every value of a Series.

        Without ``meta``, the output type is guessed by running ``func`` on fake data and a
        warning says so, as in Dask.
        """
        is_frame = isinstance(self._meta, pd.DataFrame)
        if is_frame and axis not in (1, "columns"):
            raise NotImplementedError(
                "DataFrame.apply only supports axis=1\n  Try: df.apply(func, axis=1)"
            )
        kw = {"axis": 1} if is_frame else {}
        if meta is None:
            warnings.warn(
                "\nYou did not provide metadata, so oxdask is running your function on a small "
                "dataset to guess output types. It is possible that oxdask will guess "
                "incorrectly.\nTo provide an explicit output types or to silence this message, "
                "please provide the `meta=` keyword, as described in the map or apply function "
                "that you are using.",
                UserWarning,
                stacklevel=2,
            )
            from oxdask.dataframe.partitionwise import emulate

            meta = emulate(
                methods.call_method, self, "apply", func, args=args, udf=True, **kw, **kwds
            )
        return self.map_partitions(
            methods.call_method, "apply", func, args=args, meta=meta, token="apply", **kw, **kwds
        )

    def map(self, arg, na_action=None, meta=None):
        """Map values through ``arg`` (a function, dict or Series)."""
        if hasattr(arg, "__dask_graph__"):
            raise NotImplementedError("map with a lazy Series is not supported")
        if meta is None:
            from oxdask.dataframe.partitionwise import emulate

            meta = emulate(methods.call_method, self, "map", arg, na_action=na_action, udf=True)
        return self.map_partitions(
            methods.call_method, "map", arg, na_action=na_action, meta=meta, token="map"
        )

    def between(self, left, right, inclusive="both"):
        """Whether each value lies between ``left`` and ``right``."""
        return _pw(self, "between", left, right, inclusive=inclusive)

    def to_frame(self, name=None):
        """The Series as a one-column DataFrame."""
        if name is None:
            return _pw(self, "to_frame")
        return _pw(self, "to_frame", name)

    def explode(self, *args, **kwargs):
        """One row per element of list-like values (index values repeat)."""
        return _pw(self, "explode", *args, **kwargs)

    def query(self, expr, **kwargs):
        """Filter rows with a boolean expression of the columns."""
        return _pw(self, "query", expr, **kwargs)

    def eval(self, expr, **kwargs):
        """Evaluate an expression of the columns (``inplace`` is not supported)."""
        if kwargs.get("inplace"):
            raise NotImplementedError("eval(inplace=True) is not supported")
        return _pw(self, "eval", expr, **kwargs)

    def reset_index(self, drop=False, **kwargs):
        """Move the index into a column (or drop it); every partition restarts at zero.

        Like Dask, the new index counts from 0 in every partition, and divisions become
        unknown.
        """
        return _pw(self, "reset_index", drop=drop, clear_divisions=True, **kwargs)

    def to_dask_array(self, lengths=None):
        """The values as an :class:`oxdask.array.Array` (``lengths=True`` computes them)."""
        from oxdask.dataframe.io.io import to_dask_array

        return to_dask_array(self, lengths)

    @property
    def values(self):
        """The values as an :class:`oxdask.array.Array` with unknown chunk sizes."""
        return self.to_dask_array()


def _mark_unknown_categories(out, dtype):
    """``out`` whose meta marks categories unknown where ``dtype`` did not give them."""
    from oxdask.dataframe.categorical import unknown_dtype
    from oxdask.dataframe.core import new_dd_object

    def unknown(dt):
        return (isinstance(dt, str) and dt == "category") or (
            isinstance(dt, pd.CategoricalDtype) and dt.categories is None
        )

    meta = out._meta
    if isinstance(meta, pd.Series):
        if not unknown(dtype):
            return out
        meta = meta.astype(unknown_dtype())
    else:
        specs = dtype if isinstance(dtype, dict) else dict.fromkeys(meta.columns, dtype)
        cols = [c for c, dt in specs.items() if unknown(dt)]
        if not cols:
            return out
        meta = meta.astype(dict.fromkeys(cols, unknown_dtype()))
    return new_dd_object(out.dask, out._name, meta, out.divisions)


def _to_series_like(v, frame, name):
    from oxdask.array import Array

    if isinstance(v, Array):
        from oxdask.dataframe.io.io import from_dask_array

        return from_dask_array(v, index=frame.index, columns=name)
    raise TypeError(f"cannot assign a {type(v).__name__} to column {name!r}")


class FrameOperations:
    """Operations of DataFrame and Series that live in their own modules (shuffles, joins,
    windows, I/O)."""

    __slots__ = ()

    def groupby(
        self,
        by=None,
        level=None,
        sort=None,
        dropna=None,
        observed=None,
        group_keys=True,
        as_index=True,
        **kwargs,
    ):
        """Group rows by columns, Series or the index (see :mod:`oxdask.dataframe.groupby`)."""
        from oxdask.dataframe.core import DataFrame
        from oxdask.dataframe.groupby import DataFrameGroupBy, SeriesGroupBy

        cls = DataFrameGroupBy if isinstance(self, DataFrame) else SeriesGroupBy
        return cls(
            self,
            by=by,
            level=level,
            sort=sort,
            dropna=dropna,
            observed=observed,
            group_keys=group_keys,
            as_index=as_index,
            **kwargs,
        )

    def rolling(
        self, window, min_periods=None, center=False, win_type=None, axis=0, on=None, closed=None
    ):
        """Rolling windows across partitions (see :class:`oxdask.dataframe.rolling.Rolling`)."""
        from oxdask.dataframe.rolling import Rolling

        return Rolling(self, window, min_periods, center, win_type, axis, on, closed)

    def shift(self, periods=1, freq=None, axis=0):
        """Values moved by ``periods`` rows across partitions (or the index by ``freq``)."""
        from oxdask.dataframe.rolling import shift

        return shift(self, periods, freq, axis)

    def diff(self, periods=1, axis=0):
        """Difference with the row ``periods`` before, across partitions."""
        from oxdask.dataframe.rolling import diff

        return diff(self, periods, axis)

    def cumsum(self, axis=None, skipna=True):
        """Cumulative sum across partitions."""
        from oxdask.dataframe.rolling import cumulative

        return cumulative(self, "cumsum", skipna)

    def cumprod(self, axis=None, skipna=True):
        """Cumulative product across partitions."""
        from oxdask.dataframe.rolling import cumulative

        return cumulative(self, "cumprod", skipna)

    def cummax(self, axis=None, skipna=True):
        """Cumulative maximum across partitions."""
        from oxdask.dataframe.rolling import cumulative

        return cumulative(self, "cummax", skipna)

    def cummin(self, axis=None, skipna=True):
        """Cumulative minimum across partitions."""
        from oxdask.dataframe.rolling import cumulative

        return cumulative(self, "cummin", skipna)

    def resample(self, rule, closed=None, label=None, **kwargs):
        """Time-based groups of a DatetimeIndex with known divisions."""
        from oxdask.dataframe.resample import Resampler

        return Resampler(self, rule, closed=closed, label=label, **kwargs)

    def repartition(
        self, divisions=None, npartitions=None, partition_size=None, freq=None, force=False
    ):
        """Change the partitioning (see :func:`oxdask.dataframe.repartition.repartition`)."""
        from oxdask.dataframe.repartition import repartition

        return repartition(self, divisions, npartitions, partition_size, freq, force)

    def shuffle(self, on=None, npartitions=None, ignore_index=False, **kwargs):
        """Gather rows with equal ``on`` values into the same partition (a hash shuffle)."""
        from oxdask.dataframe.shuffle import shuffle

        return shuffle(self, on, npartitions, ignore_index, **kwargs)

    def set_index(
        self, other, drop=True, sorted=False, npartitions=None, divisions=None, sort=True, **kwargs
    ):
        """Index (and sort) by a column or Series (see ``oxdask.dataframe.shuffle.set_index``)."""
        from oxdask.dataframe.shuffle import set_index

        return set_index(self, other, drop, sorted, npartitions, divisions, sort, **kwargs)

    def sort_values(
        self,
        by=None,
        npartitions=None,
        ascending=True,
        na_position="last",
        sort_function=None,
        sort_function_kwargs=None,
        **kwargs,
    ):
        """Rows sorted across partitions by ``by``."""
        from oxdask.dataframe.shuffle import sort_values

        return sort_values(
            self,
            by,
            npartitions,
            ascending,
            na_position,
            sort_function,
            sort_function_kwargs,
            **kwargs,
        )

    def sort_index(self, ascending=True, na_position="last", npartitions=None, **kwargs):
        """Rows sorted by the index: partition-wise when the divisions are known (or there
        is one partition), otherwise sorted across partitions as ``sort_values``."""
        from oxdask.dataframe._sorting import sort_index

        return sort_index(self, ascending, na_position, npartitions, kwargs)

    def merge(
        self,
        right,
        how="inner",
        on=None,
        left_on=None,
        right_on=None,
        left_index=False,
        right_index=False,
        suffixes=("_x", "_y"),
        indicator=False,
        npartitions=None,
        shuffle_method=None,
        broadcast=None,
    ):
        """Database-style join (see :func:`oxdask.dataframe.multi.merge`)."""
        from oxdask.dataframe.multi import merge

        return merge(
            self,
            right,
            how,
            on,
            left_on,
            right_on,
            left_index,
            right_index,
            suffixes,
            indicator,
            npartitions,
            shuffle_method,
            broadcast,
        )

    def join(
        self,
        other,
        on=None,
        how="left",
        lsuffix="",
        rsuffix="",
        npartitions=None,
        shuffle_method=None,
    ):
        """Join columns of ``other`` on the index (see :func:`oxdask.dataframe.multi.join`)."""
        from oxdask.dataframe.multi import join

        return join(self, other, on, how, lsuffix, rsuffix, npartitions, shuffle_method)

    def melt(
        self, id_vars=None, value_vars=None, var_name=None, value_name="value", col_level=None
    ):
        """Unpivot from wide to long format (see :func:`oxdask.dataframe.melt`)."""
        from oxdask.dataframe.reshape import melt

        if isinstance(self._meta, pd.Series):
            raise AttributeError("'Series' object has no attribute 'melt'")
        return melt(self, id_vars, value_vars, var_name, value_name, col_level)

    def pivot_table(self, index, columns, values, aggfunc="mean"):
        """A pivot table over a categorical ``columns`` (see
        :func:`oxdask.dataframe.pivot_table`)."""
        from oxdask.dataframe.reshape import pivot_table

        if isinstance(self._meta, pd.Series):
            raise AttributeError("'Series' object has no attribute 'pivot_table'")
        return pivot_table(self, index, columns, values, aggfunc)

    def categorize(self, columns=None, index=None, split_every=None, **kwargs):
        """Columns with known categories (computes the distinct values)."""
        from oxdask.dataframe.categorical import categorize

        return categorize(self, columns, index, split_every)
