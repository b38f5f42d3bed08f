"""Reduction methods of DataFrame and Series (mixed into :class:`~oxdask.dataframe.core._Frame`).

``sum``, ``min``... reduce each partition with the pandas method and combine the partial
results with the same method; ``mean``, ``var`` and ``std`` carry (count, mean, M2) partials
merged pairwise (Chan et al.), so they stay accurate for data far from zero. Results are a
:class:`~oxdask.dataframe.core.Scalar` for a Series and a one-partition Series for a
DataFrame, as in Dask.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oxdask.dataframe import _reduce_funcs as rf


def _is_frame_meta(meta) -> bool:
    return isinstance(meta, pd.DataFrame)


class ReductionMethods:
    """Tree reductions shared by DataFrame and Series."""

    __slots__ = ()

    # -- helpers -------------------------------------------------------------------------------
    def _reduce(self, name, chunk, combine, aggregate, meta, split_every, args=()):
        from oxdask.dataframe.reductions import reduction

        return reduction(
            self,
            chunk,
            aggregate,
            combine=combine,
            meta=meta,
            token=name,
            split_every=split_every,
            args=args,
        )

    def _axis1(self, method, **kwargs):
        from oxdask.dataframe._frame_methods import _pw

        return _pw(self, method, axis=1, **kwargs)

    def _simple(self, method, axis, split_every, **kwargs):
        if axis in (1, "columns"):
            if not _is_frame_meta(self._meta):
                raise ValueError(f"No axis named {axis} for object type Series")
            return self._axis1(method, **kwargs)
        if axis not in (None, 0, "index"):
            raise ValueError(f"No axis named {axis}")
        meta = getattr(self._meta_nonempty, method)(**kwargs)
        if isinstance(meta, pd.Series):
            meta = meta.iloc[:0]
        with np.errstate(all="ignore"):
            empty = getattr(self._meta, method)(**kwargs)
        chunk = rf.Chunk(method, kwargs)
        combine = rf.Combine(method, kwargs, rf.COMBINE_WITH.get(method, method), meta, empty)
        return self._reduce(method, chunk, combine, combine, meta, split_every)

    def reduction(
        self,
        chunk,
        aggregate=None,
        combine=None,
        meta=None,
        token=None,
        split_every=None,
        chunk_kwargs=None,
        aggregate_kwargs=None,
        combine_kwargs=None,
    ):
        """A custom tree reduction: ``chunk`` on every partition, ``combine`` and
        ``aggregate`` on concatenated chunk results (see
        :func:`oxdask.dataframe.apply_concat_apply`)."""
        from oxdask.dataframe.reductions import apply_concat_apply

        return apply_concat_apply(
            self,
            chunk,
            aggregate,
            combine,
            meta,
            token,
            split_every,
            chunk_kwargs,
            combine_kwargs,
            aggregate_kwargs,
        )

    # -- simple reductions ---------------------------------------------------------------------
    def sum(self, axis=None, skipna=True, split_every=False, numeric_only=False, min_count=0):
        """Sum of the values (per column for a DataFrame)."""
        kw = _kw(skipna=skipna, numeric_only=numeric_only, frame=_is_frame_meta(self._meta))
        out = self._simple("sum", axis, split_every, **kw)
        if min_count:
            return out.where(self.notnull().sum(axis=axis) >= min_count)
        return out

    def prod(self, axis=None, skipna=True, split_every=False, numeric_only=False, min_count=0):
        """Product of the values."""
        kw = _kw(skipna=skipna, numeric_only=numeric_only, frame=_is_frame_meta(self._meta))
        return self._simple("prod", axis, split_every, **kw)

    product = prod

    def min(self, axis=None, skipna=True, split_every=False, numeric_only=False):
        """Smallest value."""
        kw = _kw(skipna=skipna, numeric_only=numeric_only, frame=_is_frame_meta(self._meta))
        return self._simple("min", axis, split_every, **kw)

    def max(self, axis=None, skipna=True, split_every=False, numeric_only=False):
        """Largest value."""
        kw = _kw(skipna=skipna, numeric_only=numeric_only, frame=_is_frame_meta(self._meta))
        return self._simple("max", axis, split_every, **kw)

    def any(self, axis=None, skipna=True, split_every=False):
        """Whether any value is true."""
        return self._simple("any", axis, split_every, skipna=skipna)

    def all(self, axis=None, skipna=True, split_every=False):
        """Whether all values are true."""
        return self._simple("all", axis, split_every, skipna=skipna)

    def count(self, axis=None, split_every=False, numeric_only=False):
        """Number of non-missing values."""
        kw = {"numeric_only": numeric_only} if _is_frame_meta(self._meta) else {}
        return self._simple("count", axis, split_every, **kw)

    @property
    def size(self):
        """Number of elements (rows times columns for a DataFrame) as a Scalar."""
        from oxdask.dataframe.reductions import reduction

        return reduction(self, rf.size, rf.sum_values, meta=0, token="size")

    # -- moments -------------------------------------------------------------------------------
    def _moments(self, skipna, numeric_only, split_every, token):
        frame = self
        if _is_frame_meta(self._meta):
            frame = self._numeric_view(numeric_only, token)
        return frame._reduce(
            token,
            rf.Moments(skipna),
            rf.merge_moments,
            rf.merge_moments,
            frame._meta,
            split_every,
        ), frame

    def _numeric_view(self, numeric_only, token):
        meta = self._meta_nonempty
        if numeric_only:
            cols = list(self._meta.select_dtypes(include=["number", "bool"]).columns)
            return self[cols]
        bad = [
            c
            for c, dt in self._meta.dtypes.items()
            if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))
        ]
        if bad:
            getattr(meta, token)()  # raises pandas' own TypeError
            raise TypeError(f"{token}: non-numeric columns {bad}; pass numeric_only=True")
        return self

    def mean(self, axis=None, skipna=True, split_every=False, numeric_only=False):
        """Mean of the values."""
        if axis in (1, "columns"):
            return self._axis1("mean", skipna=skipna, numeric_only=numeric_only)
        if _is_datetime(self._meta):
            return rf.datetime_mean(self, skipna, split_every)
        partial, frame = self._moments(skipna, numeric_only, split_every, "mean")
        return rf.finish_moments(partial, frame, "mean", 0)

    def var(self, axis=None, skipna=True, ddof=1, split_every=False, numeric_only=False):
        """Variance of the values (``ddof`` delta degrees of freedom)."""
        if axis in (1, "columns"):
            return self._axis1("var", skipna=skipna, ddof=ddof, numeric_only=numeric_only)
        partial, frame = self._moments(skipna, numeric_only, split_every, "var")
        return rf.finish_moments(partial, frame, "var", ddof)

    def std(self, axis=None, skipna=True, ddof=1, split_every=False, numeric_only=False):
        """Standard deviation of the values."""
        if axis in (1, "columns"):
            return self._axis1("std", skipna=skipna, ddof=ddof, numeric_only=numeric_only)
        partial, frame = self._moments(skipna, numeric_only, split_every, "std")
        return rf.finish_moments(partial, frame, "std", ddof)

    def sem(self, axis=None, skipna=True, ddof=1, split_every=False, numeric_only=False):
        """Standard error of the mean."""
        partial, frame = self._moments(skipna, numeric_only, split_every, "sem")
        return rf.finish_moments(partial, frame, "sem", ddof)

    # -- distinct values -----------------------------------------------------------------------
    def nunique(self, split_every=None, dropna=True):
        """Number of distinct values (per column for a DataFrame)."""
        meta = self._meta_nonempty.nunique(dropna=dropna)
        meta = meta.iloc[:0] if isinstance(meta, pd.Series) else meta
        return self._reduce(
            "nunique",
            rf.Unique(dropna),
            rf.union_unique,
            rf.CountUnique(dropna),
            meta,
            split_every,
        )

    def unique(self, split_every=None, split_out=1):
        """The distinct values, as a Series in order of first appearance."""
        if _is_frame_meta(self._meta):
            raise AttributeError("'DataFrame' object has no attribute 'unique'")
        meta = pd.Series([], dtype=self._meta.dtype, name=self._meta.name)
        return self._reduce(
            "unique", rf.Unique(False), rf.union_unique, rf.unique_series, meta, split_every
        )

    def drop_duplicates(self, subset=None, split_every=None, split_out=True, keep="first", **kw):
        """Rows without duplicates (by a hash shuffle on ``subset``; row order changes)."""
        from oxdask.dataframe.shuffle import drop_duplicates

        return drop_duplicates(self, subset, split_every, split_out, keep, **kw)

    def value_counts(
        self,
        sort=True,
        ascending=False,
        dropna=True,
        normalize=False,
        split_every=None,
        split_out=1,
    ):
        """Counts of distinct values, largest first (see ``pandas.Series.value_counts``)."""
        meta = self._meta_nonempty.value_counts(dropna=dropna, normalize=normalize).iloc[:0]
        agg = rf.ValueCountsAgg(sort, ascending, normalize, meta)
        return self._reduce(
            "value-counts", rf.ValueCounts(dropna), rf.merge_counts, agg, meta, split_every
        )

    def mode(self, dropna=True, split_every=False):
        """The most frequent values, sorted."""
        meta = self._meta_nonempty.mode(dropna=dropna).iloc[:0]
        agg = rf.ModeAgg(dropna, meta)
        return self._reduce(
            "mode",
            rf.ValueCounts(dropna, per_column=True),
            rf.merge_counts,
            agg,
            meta,
            split_every,
        )

    # -- positions -----------------------------------------------------------------------------
    def idxmin(self, axis=None, skipna=True, split_every=False, numeric_only=False):
        """Index label of the smallest value."""
        return self._arg("idxmin", axis, skipna, split_every, numeric_only)

    def idxmax(self, axis=None, skipna=True, split_every=False, numeric_only=False):
        """Index label of the largest value."""
        return self._arg("idxmax", axis, skipna, split_every, numeric_only)

    def _arg(self, method, axis, skipna, split_every, numeric_only):
        if axis in (1, "columns"):
            return self._axis1(method, skipna=skipna)
        frame = self
        if _is_frame_meta(self._meta) and numeric_only:
            frame = self._numeric_view(True, method)
        meta = getattr(frame._meta_nonempty, method)(skipna=skipna)
        meta = meta.iloc[:0] if isinstance(meta, pd.Series) else meta
        chunk = rf.ArgChunk(method, skipna)
        comb = rf.ArgCombine(method, skipna, final=False)
        agg = rf.ArgCombine(method, skipna, final=True)
        return frame._reduce(method, chunk, comb, agg, meta, split_every)

    def nlargest(self, n=5, columns=None, split_every=None):
        """The ``n`` largest rows (by ``columns`` for a DataFrame)."""
        return self._select_n("nlargest", n, columns, split_every)

    def nsmallest(self, n=5, columns=None, split_every=None):
        """The ``n`` smallest rows (by ``columns`` for a DataFrame)."""
        return self._select_n("nsmallest", n, columns, split_every)

    def _select_n(self, method, n, columns, split_every):
        kw = {"n": n} if columns is None else {"n": n, "columns": columns}
        getattr(self._meta_nonempty, method)(**kw)  # validates columns
        f = rf.SelectN(method, kw)
        return self._reduce(method, f, f.combine, f.combine, self._meta, split_every)

    # -- quantiles and summaries ---------------------------------------------------------------
    def quantile(self, q=0.5, axis=0, numeric_only=False, method="default"):
        """Approximate quantiles (exact for partitions of up to a few thousand rows).

        Each partition is summarized by at most ``rf.SAMPLE`` weighted values; the summaries
        are merged and interpolated linearly, as Dask's approximate quantiles.
        """
        from oxdask.dataframe._describe import quantile

        if axis not in (0, None, "index"):
            raise NotImplementedError("quantile(axis=1) is not supported")
        return quantile(self, q, numeric_only)

    def median_approximate(self, axis=None, method="default"):
        """Approximate median."""
        return self.quantile(0.5, axis=axis or 0)

    def median(self, axis=None, method="default"):
        """Approximate median (see :meth:`quantile`)."""
        return self.quantile(0.5, axis=axis or 0)

    def describe(self, percentiles=None, include=None, exclude=None, split_every=False):
        """Summary statistics (count, mean, std, min, quantiles, max; or count, unique, top,
        freq for non-numeric data)."""
        from oxdask.dataframe._describe import describe

        return describe(self, percentiles, include, exclude, split_every)

    def memory_usage(self, index=True, deep=False):
        """Bytes used per column (a Series) or in total for a Series (a Scalar)."""
        kw = {"index": index, "deep": deep}
        meta = self._meta_nonempty.memory_usage(**kw)
        meta = meta.iloc[:0] if isinstance(meta, pd.Series) else meta
        chunk = rf.Chunk("memory_usage", kw)
        agg = rf.Combine("sum", {}, "sum", meta, self._meta.memory_usage(**kw))
        return self._reduce("memory-usage", chunk, agg, agg, meta, None)

    def memory_usage_per_partition(self, index=True, deep=False):
        """Bytes used by each partition, as a Series."""
        return self.map_partitions(rf.total_memory, index, deep, meta=(None, "int64"))


def _kw(skipna, numeric_only, frame):
    kw = {"skipna": skipna}
    if frame:
        kw["numeric_only"] = numeric_only
    return kw


def _is_datetime(meta) -> bool:
    return isinstance(meta, pd.Series) and pd.api.types.is_datetime64_any_dtype(meta.dtype)
