"""Reductions as tree reductions: a Blockwise *chunk* layer and one TreeReduce layer.

Every partition is reduced by ``chunk``; then groups of at most ``split_every`` chunk results
are combined level after level by ``combine`` (a function of a list), and ``aggregate`` (also
a function of a list) produces the single output partition ``(name, 0)``. Both layers stay
compact until the engine expands them; a chain of partition-wise operations in front of the
chunk layer fuses with it.
"""

from __future__ import annotations

import pandas as pd

from oxdask import config
from oxdask.dataframe.core import Scalar, _Frame, _name, _new
from oxdask.highlevelgraph import MaterializedLayer, TreeReduceLayer
from oxdask.tokenize import tokenize
from oxdask.utils import funcname

__all__ = ["apply_concat_apply", "reduction", "tree_reduce"]


def _split_every(split_every) -> int:
    if split_every is None or split_every is True:
        split_every = config.get("split_every", None) or 8
    if split_every is False:
        return 1 << 30
    split_every = int(split_every)
    if split_every < 2:
        raise ValueError("split_every must be at least 2")
    return split_every


def tree_reduce(chunked, combine, aggregate, meta, name, split_every=None, divisions=(None, None)):
    """Reduce the partitions of ``chunked`` (already chunk-reduced) to one partition.

    ``combine`` and ``aggregate`` receive lists of at most ``split_every`` values.
    """
    tree = TreeReduceLayer(
        name,
        chunked._name,
        (chunked.npartitions,),
        [0],
        [_split_every(split_every)],
        combine,
        aggregate,
        keepdims=True,
    )
    graph_deps = [chunked]
    out = _new(name, tree, graph_deps, meta, divisions)
    return out


def reduction(
    frame,
    chunk,
    aggregate,
    combine=None,
    meta=None,
    token=None,
    split_every=None,
    chunk_kwargs=None,
    combine_kwargs=None,
    aggregate_kwargs=None,
    args=(),
):
    """A tree reduction of ``frame`` whose combine/aggregate take lists of chunk results.

    Parameters
    ----------
    frame : DataFrame, Series or Index
    chunk : callable
        ``chunk(partition, *args, **chunk_kwargs)``.
    aggregate : callable
        ``aggregate(list_of_values, **aggregate_kwargs)`` on the last level.
    combine : callable, optional
        ``combine(list_of_values, **combine_kwargs)`` on intermediate levels (default:
        ``aggregate``).
    meta : object
        Metadata of the result: a pandas object (a one-partition collection) or a scalar
        (a :class:`Scalar`).
    token : str, optional
    split_every : int, optional
        Largest number of values combined at once (default 8).
    args : tuple
        More arguments of ``chunk`` (collections are aligned with ``frame``).
    """
    from oxdask.dataframe.partitionwise import align_partitions, partitionwise

    token = token or funcname(chunk)
    base = tokenize(
        frame._name,
        chunk,
        aggregate,
        combine,
        chunk_kwargs,
        combine_kwargs,
        aggregate_kwargs,
        [getattr(a, "_name", a) for a in args],
        split_every,
    )
    frame, *args = align_partitions(frame, *args)
    cname = f"{token}-chunk-{base}"
    chunked = partitionwise(
        chunk, frame, *args, meta=frame._meta, name=cname, kwargs=chunk_kwargs or None
    )
    agg = _WithKwargs(aggregate, aggregate_kwargs)
    comb = _WithKwargs(combine or aggregate, combine_kwargs if combine else aggregate_kwargs)
    return tree_reduce(chunked, comb, agg, meta, f"{token}-agg-{base}", split_every)


class _WithKwargs:
    """``func(values, **kwargs)``."""

    def __init__(self, func, kwargs):
        self.func = func
        self.kwargs = kwargs or {}

    def __call__(self, values):
        return self.func(values, **self.kwargs)


class _Concatenated:
    """``func(concat(values), **kwargs)``: chunk results concatenated as in Dask."""

    def __init__(self, func, kwargs):
        self.func = func
        self.kwargs = kwargs or {}

    def __call__(self, values):
        values = [v for v in values if v is not None]
        if values and isinstance(values[0], (pd.Series, pd.DataFrame)):
            values = [v for v in values if len(v)] or values[:1]
            x = pd.concat(values) if len(values) > 1 else values[0]
        else:
            x = pd.Series(values)
        return self.func(x, **self.kwargs)


def apply_concat_apply(
    frame,
    chunk,
    aggregate=None,
    combine=None,
    meta=None,
    token=None,
    split_every=None,
    chunk_kwargs=None,
    combine_kwargs=None,
    aggregate_kwargs=None,
):
    """Dask's ``reduction``: ``aggregate`` and ``combine`` see chunk results concatenated.

    Chunk results that are Series or DataFrames are concatenated with ``pandas.concat``;
    scalars are gathered into a Series.
    """
    from oxdask.dataframe.partitionwise import emulate

    aggregate = aggregate or chunk
    if meta is None:
        one = emulate(chunk, frame, **(chunk_kwargs or {}))
        sample = pd.concat([one, one]) if isinstance(one, (pd.Series, pd.DataFrame)) else None
        if sample is None:
            sample = pd.Series([one, one])
        meta = aggregate(sample, **(aggregate_kwargs or {}))
        if isinstance(meta, (pd.Series, pd.DataFrame)):
            meta = meta.iloc[:0]
    elif isinstance(meta, tuple) and len(meta) == 2:
        # ``(name, dtype)``: Dask's reduction gives a Scalar of that dtype
        from oxdask.dataframe.utils import make_meta

        dtype = make_meta(meta).dtype
        meta = dtype.type(0) if dtype.kind in "biufc" else None
    comb = combine or aggregate
    return reduction(
        frame,
        chunk,
        _Concatenated(aggregate, aggregate_kwargs),
        combine=_Concatenated(comb, combine_kwargs if combine else aggregate_kwargs),
        meta=meta,
        token=token,
        split_every=split_every,
        chunk_kwargs=chunk_kwargs,
    )


def combine_results(func, *values, meta, token):
    """A one-partition collection ``func(*values)`` of one-partition collections/Scalars.

    Used to finish reductions made of several tree reductions (``mean = sum / count``,
    ``describe``...).
    """
    name = _name(token, func, [getattr(v, "_name", v) for v in values])
    args = [(v._name, 0) if isinstance(v, (_Frame, Scalar)) else v for v in values]
    layer = MaterializedLayer({(name, 0): (func, *args)})
    deps = [v for v in values if isinstance(v, (_Frame, Scalar))]
    return _new(name, layer, deps, meta, (None, None))
