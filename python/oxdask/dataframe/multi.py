"""Combining collections: ``merge``, ``join`` and ``concat``.

A merge picks the cheapest correct plan: partition-wise when both sides are indexed with
known divisions (after aligning them); a *broadcast* join when one side has a single
partition and the join keeps only the other side's unmatched rows (inner, or left/right
with the small side on the other side); otherwise a hash shuffle of both sides on the join
keys into the same number of partitions, then partition-wise merges.
"""

from __future__ import annotations

import contextlib
import itertools

import pandas as pd

from oxdask.dataframe.core import Series, _Frame, _name, _new
from oxdask.dataframe.shuffle import takes_shuffle_method
from oxdask.highlevelgraph import MaterializedLayer

__all__ = ["concat", "merge"]


def _to_dask(x):
    if isinstance(x, _Frame):
        return x
    if isinstance(x, (pd.DataFrame, pd.Series)):
        from oxdask.dataframe.io.io import from_pandas

        return from_pandas(x, npartitions=1)
    raise TypeError(f"cannot merge a {type(x).__name__}")


class _Merge:
    """``pd.merge(left, right, **kwargs)`` on two partitions."""

    def __init__(self, kwargs):
        self.kwargs = kwargs

    def __call__(self, left, right):
        return pd.merge(left, right, **self.kwargs)


class _Join:
    def __init__(self, kwargs):
        self.kwargs = kwargs

    def __call__(self, left, right):
        return left.join(right, **self.kwargs)


def _keys(frame, on, use_index):
    """Shuffle keys of one side: column labels, or ``None`` for the index."""
    if use_index:
        return None
    return [on] if not isinstance(on, list) else on


def _shuffle_side(frame, keys, n, cast=None):
    from oxdask.dataframe.shuffle import HashPartitioner, rearrange

    return rearrange(frame, HashPartitioner(keys, n, cast), n, token="shuffle-merge")


def _key_dtypes(frame, keys):
    if keys is None:
        idx = frame._meta.index
        return [idx.dtype] if not isinstance(idx, pd.MultiIndex) else list(idx.dtypes)
    return [frame._meta[k].dtype for k in keys]


def _common_casts(left, lkeys, right, rkeys):
    """Dtypes to cast each key column to so that both sides hash alike (None: as is)."""
    import numpy as np

    casts = []
    for a, b in zip(_key_dtypes(left, lkeys), _key_dtypes(right, rkeys), strict=False):
        if a == b:
            casts.append(None)
        elif pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            casts.append(
                np.result_type(np.dtype("float64"), a, b)
                if a.kind != b.kind
                else np.result_type(a, b)
            )
        else:
            casts.append(object)
    return casts if any(c is not None for c in casts) else None


def _pairwise(func, left, right, meta, divisions=None, token="merge"):
    from oxdask.dataframe.partitionwise import partitionwise

    name = _name(token, left._name, right._name, func.kwargs)
    return partitionwise(
        func, left, right, meta=meta, name=name, divisions=divisions, broadcast=True
    )


@takes_shuffle_method
def merge(
    left,
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
    **kwargs,
):
    """Database-style join of two collections (see ``pandas.merge``).

    Parameters
    ----------
    left, right : DataFrame (or pandas DataFrame)
    how : {"inner", "left", "right", "outer", "leftsemi"}
    on, left_on, right_on : label or list, optional
    left_index, right_index : bool
    suffixes : tuple of str
    indicator : bool
    npartitions : int, optional
        Partitions of a shuffle join (default: the larger input's).
    broadcast : bool, optional
        Force (True) or forbid (False) a broadcast join when one side has one partition.

    Returns
    -------
    DataFrame
    """
    left, right = _to_dask(left), _to_dask(right)
    if isinstance(left, Series):
        left = left.to_frame()
    if isinstance(right, Series):
        right = right.to_frame()
    if how not in ("inner", "left", "right", "outer", "leftsemi"):
        raise ValueError(f"how must be one of inner, left, right, outer; got {how!r}")
    semi = how == "leftsemi"
    if semi:
        how = "inner"
    if on is not None:
        left_on = right_on = on
    if left_on is None and not left_index and right_on is None and not right_index:
        common = [c for c in left._meta.columns if c in set(right._meta.columns)]
        if not common:
            raise pd.errors.MergeError("No common columns to perform merge on.")
        left_on = right_on = common
    kw = {"how": how, "suffixes": suffixes, "indicator": indicator, **kwargs}
    if left_index:
        kw["left_index"] = True
    else:
        kw["left_on"] = left_on
    if right_index:
        kw["right_index"] = True
    else:
        kw["right_on"] = right_on
    right_meta = right._meta_nonempty
    if semi:
        right = right[[right_on] if not isinstance(right_on, list) else right_on]
        right = right.drop_duplicates(split_out=right.npartitions)
        right_meta = right._meta_nonempty
    meta = pd.merge(left._meta_nonempty, right_meta, **kw).iloc[:0]
    func = _Merge(kw)
    # 1. both sides indexed with known divisions: align, then merge partition by partition
    if left_index and right_index and left.known_divisions and right.known_divisions:
        from oxdask.dataframe.partitionwise import align_partitions

        a, b = align_partitions(left, right)
        return _pairwise(func, a, b, meta, divisions=a.divisions)
    # 2. broadcast join: one side in a single partition
    small_right = right.npartitions == 1 and how in ("inner", "left")
    small_left = left.npartitions == 1 and how in ("inner", "right")
    if broadcast is not False and (small_right or small_left):
        keep_div = left_index and small_right and how in ("inner", "left")
        div = left.divisions if keep_div else None
        if small_right:
            out = _pairwise(func, left, right, meta, divisions=div, token="merge-broadcast")
        else:
            out = _pairwise(
                func,
                left,
                right,
                meta,
                token="merge-broadcast",
                divisions=(None,) * (right.npartitions + 1),
            )
        return out if keep_div else out.clear_divisions()
    # 3. hash shuffle both sides on the join keys
    n = npartitions or max(left.npartitions, right.npartitions)
    lkeys, rkeys = _keys(left, left_on, left_index), _keys(right, right_on, right_index)
    cast = _common_casts(left, lkeys, right, rkeys)
    a = _shuffle_side(left, lkeys, n, cast)
    b = _shuffle_side(right, rkeys, n, cast)
    return _pairwise(func, a, b, meta, divisions=(None,) * (n + 1))


@takes_shuffle_method
def join(
    left, other, on=None, how="left", lsuffix="", rsuffix="", npartitions=None, shuffle_method=None
):
    """``left.join(other)`` on the index of ``other`` (and ``on`` or the index of ``left``)."""
    other = _to_dask(other)
    if isinstance(other, Series):
        if other._meta.name is None:
            raise ValueError("Other Series must have a name")
        other = other.to_frame()
    kw = {"on": on, "how": how}
    if lsuffix or rsuffix:
        kw["suffixes"] = (lsuffix, rsuffix)
    meta = left._meta_nonempty.join(other._meta_nonempty, **kw).iloc[:0]
    func = _Join(kw)
    if on is None and left.known_divisions and other.known_divisions:
        from oxdask.dataframe.partitionwise import align_partitions

        a, b = align_partitions(left, other)
        return _pairwise(func, a, b, meta, divisions=a.divisions, token="join")
    if other.npartitions == 1 and how in ("left", "inner"):
        div = left.divisions if on is None else None
        out = _pairwise(func, left, other, meta, divisions=div, token="join-broadcast")
        return out if on is None else out.clear_divisions()
    n = npartitions or max(left.npartitions, other.npartitions)
    lkeys = _keys(left, on, on is None)
    cast = _common_casts(left, lkeys, other, None)
    a = _shuffle_side(left, lkeys, n, cast)
    b = _shuffle_side(other, None, n, cast)
    return _pairwise(func, a, b, meta, divisions=(None,) * (n + 1), token="join")


class _Conform:
    """A partition with the columns (and dtypes) of the concatenation's meta."""

    def __init__(self, meta):
        self.meta = meta

    def __call__(self, part):
        if isinstance(self.meta, pd.Series):
            return part
        out = part.reindex(columns=self.meta.columns)
        diff = {c: t for c, t in self.meta.dtypes.items() if out[c].dtype != t}
        if diff:
            with contextlib.suppress(TypeError, ValueError):
                out = out.astype(diff)
        return out


class _Concat1:
    def __init__(self, join):
        self.join = join

    def __call__(self, *parts):
        return pd.concat(parts, axis=1, join=self.join)


def concat(
    dfs,
    axis=0,
    join="outer",
    interleave_partitions=False,
    ignore_unknown_divisions=False,
    ignore_order=False,
    **kwargs,
):
    """Concatenate collections along the rows (``axis=0``) or the columns (``axis=1``).

    Along rows, divisions stay known when every input's are and they follow each other;
    with ``interleave_partitions=True`` overlapping known divisions are merged by
    repartitioning; otherwise the result's divisions are unknown.
    """
    dfs = [_to_dask(d) for d in dfs]
    if not dfs:
        raise ValueError("No objects to concatenate")
    if len(dfs) == 1:
        return dfs[0]
    if axis in (1, "columns"):
        return _concat_columns(dfs, join, ignore_unknown_divisions)
    metas = [d._meta for d in dfs]
    meta = pd.concat(metas, join=join)
    name = _name("concat", [d._name for d in dfs], join, interleave_partitions)
    known = all(d.known_divisions for d in dfs)
    ordered = known and all(a.divisions[-1] < b.divisions[0] for a, b in itertools.pairwise(dfs))
    if known and not ordered and interleave_partitions:
        from oxdask.dataframe.partitionwise import align_partitions

        aligned = align_partitions(*dfs)
        from oxdask.dataframe.partitionwise import partitionwise

        conform = [_conformed(d, meta) for d in aligned]
        return partitionwise(_ConcatRows(), *conform, meta=meta, name=name)
    layer, k = {}, 0
    for d in dfs:
        f = _Conform(meta) if not _same_columns(d._meta, meta) else None
        for i in range(d.npartitions):
            layer[(name, k)] = (f, (d._name, i)) if f is not None else (d._name, i)
            k += 1
    if ordered:
        divisions = [*[x for d in dfs for x in d.divisions[:-1]], dfs[-1].divisions[-1]]
    else:
        divisions = [None] * (k + 1)
    return _new(name, MaterializedLayer(layer), dfs, meta, divisions)


class _ConcatRows:
    def __call__(self, *parts):
        from oxdask.dataframe.methods import concat as mconcat

        return mconcat(parts)


def _conformed(d, meta):
    if _same_columns(d._meta, meta):
        return d
    return d.map_partitions(_Conform(meta), meta=meta, token="conform")


def _same_columns(a, b) -> bool:
    if isinstance(a, pd.Series) or isinstance(b, pd.Series):
        return isinstance(a, pd.Series) and isinstance(b, pd.Series)
    return a.columns.equals(b.columns) and bool((a.dtypes == b.dtypes).all())


def _concat_columns(dfs, join, ignore_unknown_divisions):
    from oxdask.dataframe.partitionwise import align_partitions, partitionwise

    if not all(d.known_divisions for d in dfs) and len({d.npartitions for d in dfs}) != 1:
        raise ValueError("Unable to concatenate DataFrame with unknown division specifying axis=1")
    aligned = align_partitions(*dfs)
    meta = pd.concat([d._meta for d in aligned], axis=1, join=join)
    name = _name("concat-columns", [d._name for d in aligned], join)
    return partitionwise(_Concat1(join), *aligned, meta=meta, name=name)
