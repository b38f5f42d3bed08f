"""Collections from in-memory data and other collections: ``from_pandas``, ``from_dict``,
``from_delayed``, ``from_array``, ``from_dask_array``, and back to arrays.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from oxdask.core import quote
from oxdask.dataframe import methods
from oxdask.dataframe.core import Index, _new
from oxdask.dataframe.utils import check_meta, make_meta
from oxdask.highlevelgraph import BlockwiseLayer, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = [
    "from_array",
    "from_dask_array",
    "from_delayed",
    "from_dict",
    "from_map",
    "from_pandas",
    "to_dask_array",
]


def sorted_division_locations(index: pd.Index, npartitions: int) -> list[int]:
    """Row positions starting each partition, never splitting equal index values."""
    n = len(index)
    wanted = [round(i * n / npartitions) for i in range(npartitions)]
    out = [0]
    values = index
    for pos in wanted[1:]:
        pos = max(pos, out[-1] + 1)
        while 0 < pos < n and values[pos] == values[pos - 1]:
            pos += 1
        if pos >= n:
            break
        if pos > out[-1]:
            out.append(pos)
    return out


def from_pandas(data, npartitions=None, chunksize=None, sort=True, name=None):
    """A collection cut from a pandas DataFrame or Series.

    Parameters
    ----------
    data : pandas.DataFrame or pandas.Series
    npartitions : int, optional
        Number of partitions (default 1 when ``chunksize`` is not given either).
    chunksize : int, optional
        Rows per partition.
    sort : bool
        Sort by the index and record the divisions; otherwise divisions are unknown.
    name : str, optional

    Returns
    -------
    DataFrame or Series
    """
    if isinstance(data, pd.Index):
        return from_pandas(data.to_series(), npartitions, chunksize, sort, name).index
    if not isinstance(data, (pd.DataFrame, pd.Series)):
        raise TypeError("Input must be a pandas DataFrame or Series.")
    if npartitions is not None and chunksize is not None:
        raise ValueError("Exactly one of npartitions and chunksize must be specified.")
    n = len(data)
    if chunksize is not None:
        if int(chunksize) < 1:
            raise ValueError("chunksize must be at least 1")
        npartitions = max(1, math.ceil(n / int(chunksize)))
    npartitions = int(npartitions or 1)
    if npartitions < 1:
        raise ValueError("npartitions must be at least 1")
    name = name or "from_pandas-" + tokenize(data, npartitions, sort)
    if sort and n and not data.index.is_monotonic_increasing:
        data = data.sort_index()
    if n == 0:
        locations = [0, 0]
    elif sort:
        locations = [*sorted_division_locations(data.index, min(npartitions, n)), n]
    else:
        k = min(npartitions, n)
        locations = [round(i * n / k) for i in range(k + 1)]
    parts = {(name, i): data.iloc[a:b] for i, (a, b) in enumerate(itertools.pairwise(locations))}
    if sort and n:
        idx = data.index
        divisions = [idx[p] for p in locations[:-1]] + [idx[-1]]
    else:
        divisions = [None] * len(locations)
    return _new(name, MaterializedLayer(parts), [], data.iloc[:0], divisions)


def from_dict(data, npartitions, orient="columns", dtype=None, columns=None, sort=True):
    """A DataFrame from a dict of columns (see ``pandas.DataFrame.from_dict``).

    Parameters
    ----------
    data : dict
    npartitions : int
    orient, dtype, columns
        As for ``pandas.DataFrame.from_dict``.
    sort : bool
        As for :func:`from_pandas`.
    """
    df = pd.DataFrame.from_dict(data, orient=orient, dtype=dtype, columns=columns)
    return from_pandas(df, npartitions=npartitions, sort=sort)


class _CheckMeta:
    """Return a partition after checking it against ``meta`` (error names the partition)."""

    def __init__(self, meta, funcname, number):
        self.meta = meta
        self.funcname = funcname
        self.number = number

    def __call__(self, part):
        meta = self.meta
        if (
            isinstance(meta, pd.DataFrame)
            and isinstance(part, pd.DataFrame)
            and not part.columns.equals(meta.columns)
            and set(part.columns) == set(meta.columns)
        ):
            part = part[list(meta.columns)]
        try:
            return check_meta(part, self.meta, self.funcname)
        except ValueError as e:
            raise ValueError(f"{e}\n\n(partition {self.number})") from None


def from_delayed(dfs, meta=None, divisions=None, prefix="from-delayed", verify_meta=True):
    """A collection with one partition per :class:`~oxdask.delayed.Delayed` pandas object.

    Parameters
    ----------
    dfs : Delayed or list of Delayed
    meta : pandas object, dict or iterable of tuples, optional
        Computed from the first partition when not given.
    divisions : tuple or "sorted", optional
        Known divisions, or ``"sorted"`` to compute them from the partitions' index bounds.
    prefix : str
    verify_meta : bool
        Check each computed partition against ``meta``; a mismatch raises ``ValueError``
        naming the columns and the partition.
    """
    from oxdask.delayed import Delayed, delayed

    if isinstance(dfs, Delayed) or hasattr(dfs, "key"):
        dfs = [dfs]
    dfs = [d if isinstance(d, Delayed) else delayed(d) for d in dfs]
    if not dfs:
        raise TypeError("Must supply at least one delayed object")
    meta = make_meta(dfs[0].compute()) if meta is None else make_meta(meta)
    name = prefix + "-" + tokenize(*[d.key for d in dfs], meta, divisions)
    layer = {}
    for i, d in enumerate(dfs):
        layer[(name, i)] = (_CheckMeta(meta, "from_delayed", i), d.key) if verify_meta else d.key
    if divisions is None or divisions == "sorted":
        div = (None,) * (len(dfs) + 1)
    else:
        div = tuple(divisions)
        if len(div) != len(dfs) + 1:
            raise ValueError(f"divisions must have {len(dfs) + 1} values for {len(dfs)} partitions")
    out = _new(name, MaterializedLayer(layer), dfs, meta, div)
    if divisions == "sorted":
        from oxdask.dataframe.shuffle import compute_divisions

        out = compute_divisions(out)
    return out


class _FromArrayBlock:
    """A pandas partition from a NumPy block and its first row position."""

    def __init__(self, meta, kind):
        self.meta = meta
        self.kind = kind

    def __call__(self, block, start, *index):
        if isinstance(block, list):
            block = block[0] if len(block) == 1 else np.concatenate(block, axis=1)
        idx = index[0] if index else pd.RangeIndex(start, start + len(block))
        if self.kind == "series":
            return pd.Series(block, index=idx, name=self.meta.name, dtype=self.meta.dtype)
        if self.kind == "record":
            df = pd.DataFrame(block, index=idx)
        else:
            df = pd.DataFrame(block, index=idx, columns=self.meta.columns)
        return df.astype(self.meta.dtypes.to_dict())


def _array_meta(dtype, ndim, columns, ncols):
    if dtype.names is not None:
        cols = list(dtype.names) if columns is None else list(columns)
        return pd.DataFrame(np.empty(0, dtype=dtype))[list(dtype.names)].set_axis(cols, axis=1)
    if ndim == 1:
        name = columns if not isinstance(columns, (list, tuple, pd.Index)) else None
        return pd.Series(np.empty(0, dtype=dtype), name=name)
    cols = list(range(ncols)) if columns is None else list(columns)
    if len(cols) != ncols:
        raise ValueError(f"{len(cols)} column names for an array of {ncols} columns")
    return pd.DataFrame(np.empty((0, ncols), dtype=dtype), columns=cols)


def from_array(x, chunksize=50_000, columns=None, meta=None):
    """A collection from a 1-d, 2-d or record NumPy array (or an ``oxdask.array.Array``).

    Parameters
    ----------
    x : array_like
    chunksize : int
        Rows per partition.
    columns : list or str, optional
        Column names (the Series name for 1-d input).
    meta : optional
        Accepted for compatibility.
    """
    from oxdask.array import Array
    from oxdask.array import from_array as da_from_array

    if isinstance(x, Array):
        return from_dask_array(x, columns=columns, meta=meta)
    x = np.asarray(x)
    if x.ndim > 2:
        raise ValueError("from_array does not input more than 2D array")
    chunks = (max(1, int(chunksize)),) + ((x.shape[1],) if x.ndim == 2 else ())
    return from_dask_array(da_from_array(x, chunks=chunks), columns=columns, meta=meta)


def from_dask_array(x, columns=None, index=None, meta=None):
    """A collection from an ``oxdask.array.Array``, one partition per block of rows.

    Parameters
    ----------
    x : oxdask.array.Array
        1-d, 2-d or of a record dtype, with known chunk sizes along the first axis.
    columns : list or str, optional
    index : Index, optional
        An :class:`Index` collection with as many partitions as ``x`` has row blocks.
    meta : optional
        Accepted for compatibility.
    """
    if x.ndim > 2:
        raise ValueError("from_dask_array does not input more than 2D array")
    if x.ndim == 2 and x.numblocks[1] > 1:
        x = x.rechunk({1: x.shape[1]})
    sizes = x.chunks[0]
    if any(math.isnan(s) for s in sizes):
        raise ValueError("from_dask_array needs known chunk sizes; use compute_chunk_sizes()")
    meta_ = _array_meta(x.dtype, x.ndim, columns, x.shape[1] if x.ndim == 2 else 0)
    kind = "series" if isinstance(meta_, pd.Series) else ("record" if x.dtype.names else "frame")
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    name = "from-dask-array-" + tokenize(x.name, columns, getattr(index, "_name", None))
    sname = "row-start-" + tokenize(tuple(starts))
    start_layer = MaterializedLayer({(sname, i): int(starts[i]) for i in range(len(sizes))})
    args = [(x.name, [0, 1] if x.ndim == 2 else [0]), (sname, [0])]
    numblocks = {x.name: x.numblocks, sname: (len(sizes),)}
    deps = [x]
    if index is not None:
        if not isinstance(index, Index) or index.npartitions != len(sizes):
            raise ValueError("index must be an Index collection with one partition per block")
        args.append((index._name, [0]))
        numblocks[index._name] = (index.npartitions,)
        deps.append(index)
        meta_.index = index._meta
        divisions = index.divisions
    else:
        divisions = (*[int(s) for s in starts[:-1]], int(starts[-1]) - 1)
        if len(sizes) == 1 and sizes[0] == 0:
            divisions = (None, None)
    layer = BlockwiseLayer(name, _FromArrayBlock(meta_, kind), [0], args, numblocks)
    return _new(name, layer, deps, meta_, divisions, {sname: start_layer})


def to_dask_array(frame, lengths=None):
    """The values of ``frame`` as an :class:`oxdask.array.Array`.

    Parameters
    ----------
    frame : DataFrame, Series or Index
    lengths : bool or sequence of int, optional
        ``True`` computes the partition lengths; otherwise chunk sizes are unknown.
    """
    from oxdask.array.core import Array

    if lengths is True:
        from oxdask.base import compute

        lengths = compute(*[d for d in frame.map_partitions(methods.length, meta=0).to_delayed()])
        lengths = tuple(int(v) for v in lengths)
    nrows = tuple(lengths) if lengths else (math.nan,) * frame.npartitions
    if len(nrows) != frame.npartitions:
        raise ValueError("lengths must have one value per partition")
    name = "values-" + tokenize(frame._name, nrows)
    meta = frame._meta
    if isinstance(meta, pd.DataFrame):
        dtype = meta.to_numpy().dtype
        chunks = (nrows, (len(meta.columns),))
        layer = MaterializedLayer(
            {(name, i, 0): (methods.values, (frame._name, i)) for i in range(frame.npartitions)}
        )
    else:
        dtype = np.asarray(meta.to_numpy()).dtype
        chunks = (nrows,)
        layer = MaterializedLayer(
            {(name, i): (methods.values, (frame._name, i)) for i in range(frame.npartitions)}
        )
    from oxdask.dataframe.core import graph_on

    graph = graph_on(name, layer, [frame])
    return Array(graph, name, chunks, dtype)


class _MapCall:
    """``func(*inputs, *args, **kwargs)`` for one partition's inputs."""

    def __init__(self, func, args, kwargs, meta, enforce):
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.meta = meta
        self.enforce = enforce

    def __call__(self, inputs):
        out = self.func(*inputs, *self.args, **self.kwargs)
        if self.enforce:
            return check_meta(out, self.meta, "from_map")
        return out


def from_map(
    func,
    *iterables,
    args=None,
    meta=None,
    divisions=None,
    label=None,
    token=None,
    enforce_metadata=False,
    **kwargs,
):
    """A collection with one partition per element: ``func(element, *args, **kwargs)``.

    Parameters
    ----------
    func : callable
    *iterables
        Partition ``i`` receives the ``i``-th element of each iterable.
    args : tuple, optional
        More positional arguments of ``func``.
    meta : optional
        Metadata of the partitions; computed from the first element when not given.
    divisions : sequence, optional
    label : str, optional
        Prefix of the output name.
    token : str, optional
    enforce_metadata : bool
        Check every partition against ``meta``.
    **kwargs
        Keyword arguments of ``func``.
    """
    if not iterables:
        raise ValueError("from_map needs at least one iterable")
    inputs = list(zip(*[list(it) for it in iterables], strict=True))
    if not inputs:
        raise ValueError("from_map needs non-empty iterables")
    args = tuple(args or ())
    meta = make_meta(func(*inputs[0], *args, **kwargs)) if meta is None else make_meta(meta)
    label = label or getattr(func, "__name__", "from-map").replace("_", "-")
    base = token or tokenize(func, inputs, args, kwargs, meta)
    name, iname = f"{label}-{base}", f"{label}-inputs-{base}"
    layer = BlockwiseLayer(
        name,
        _MapCall(func, args, kwargs, meta, enforce_metadata),
        [0],
        [(iname, [0])],
        {iname: (len(inputs),)},
    )
    # quoted, so that tuples among the inputs are not read as keys or tasks
    spec = MaterializedLayer({(iname, i): quote(x) for i, x in enumerate(inputs)})
    div = tuple(divisions) if divisions is not None else (None,) * (len(inputs) + 1)
    return _new(name, layer, [], meta, div, {iname: spec})
