"""More groupby methods run by pandas on whole groups after a hash shuffle (mixed into
:class:`oxdask.dataframe.groupby._GroupBy`)."""

from __future__ import annotations

import warnings

from oxdask.dataframe._groupby_spec import _meta_of


def _warn_meta():
    warnings.warn(
        "`meta` is not specified, inferred from partial data. Please provide `meta` if the "
        "result is unexpected.",
        UserWarning,
        stacklevel=3,
    )


class GroupByShuffled:
    """Methods whose result needs every row of a group in one partition."""

    __slots__ = ()

    def compute(self, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} does not allow compute method."
            "Please chain it with an aggregation method (like ``.mean()``) or get a "
            "specific group using ``.get_group()`` before calling ``compute()``"
        )

    def _whole(self, method, *args, sort_result=False, **kwargs):
        meta = _meta_of(self._call_meta(method, *args, **kwargs))
        return self._per_group(method, args, kwargs, meta, sort_result=sort_result)

    def ffill(self, limit=None, shuffle_method=None):
        """Forward-fill missing values within each group."""
        return self._whole("ffill", limit=limit)

    def bfill(self, limit=None, shuffle_method=None):
        """Backward-fill missing values within each group."""
        return self._whole("bfill", limit=limit)

    def head(self, n=5, shuffle_method=None):
        """The first ``n`` rows of each group (original index)."""
        return self._whole("head", n)

    def tail(self, n=5, shuffle_method=None):
        """The last ``n`` rows of each group (original index)."""
        return self._whole("tail", n)

    def nth(self, n, shuffle_method=None):
        """The ``n``-th row of each group."""
        return self._whole("nth", n)

    def diff(self, periods=1, shuffle_method=None):
        """Difference with the previous row of the same group."""
        return self._whole("diff", periods)

    def rank(self, **kwargs):
        """Rank of each value within its group."""
        return self._whole("rank", **kwargs)

    def pct_change(self, periods=1, **kwargs):
        """Change from the previous row of the same group, as a fraction."""
        return self._whole("pct_change", periods, **kwargs)

    def cov(self, ddof=1, split_every=None, split_out=1, numeric_only=False, std=False):
        """Covariance of the columns within each group."""
        kw = {"ddof": ddof, "numeric_only": numeric_only} if numeric_only else {"ddof": ddof}
        return self._whole("cov", sort_result=self._sorted(split_out), **kw)

    def corr(self, split_every=None, split_out=1, numeric_only=False):
        """Correlation of the columns within each group."""
        kw = {"numeric_only": numeric_only} if numeric_only else {}
        return self._whole("corr", sort_result=self._sorted(split_out), **kw)

    def idxmin(self, split_every=None, split_out=1, axis=None, skipna=True, numeric_only=False):
        """Index label of the smallest value of each group."""
        kw = (
            {"skipna": skipna, "numeric_only": numeric_only} if numeric_only else {"skipna": skipna}
        )
        return self._whole("idxmin", sort_result=self._sorted(split_out), **kw)

    def idxmax(self, split_every=None, split_out=1, axis=None, skipna=True, numeric_only=False):
        """Index label of the largest value of each group."""
        kw = (
            {"skipna": skipna, "numeric_only": numeric_only} if numeric_only else {"skipna": skipna}
        )
        return self._whole("idxmax", sort_result=self._sorted(split_out), **kw)

    def _sorted(self, split_out) -> bool:
        sort = self.sort if self.sort is not None else True
        return bool(sort) and split_out in (None, 1)

    def get_group(self, key):
        """The rows of one group (a filter on the keys, no shuffle)."""
        obj = self.obj
        it = iter(self._key_series)
        series = [obj[c] if c is not None else next(it) for c in self._key_cols]
        values = key if isinstance(key, tuple) and len(series) > 1 else (key,)
        if len(values) != len(series):
            raise ValueError(f"get_group: {len(series)} keys, got {key!r}")
        mask = None
        for s, v in zip(series, values, strict=True):
            m = s.isna() if v is None or v != v else s == v
            mask = m if mask is None else mask & m
        out = obj[mask]
        return out[self._selection] if self._selection is not None else out
