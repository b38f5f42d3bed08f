"""The shuffle and the operations built on it: ``shuffle``, ``set_index``, ``sort_values``,
``drop_duplicates`` (and, through :func:`rearrange`, merges and groupby ``apply``).

:func:`rearrange` is the only function that moves rows between partitions. Each input
partition is cut into ``npartitions_out`` pieces by a *partitioner* (a function of the
partition returning the output number of every row), and each output partition concatenates
its pieces in input order (so rows keep their relative order within an output partition).
Two methods, chosen by the config ``dataframe.shuffle.method``:

``"engine"`` (the default on the threads and sync schedulers and on a distributed client)
    Each cut task keeps its pieces where it runs, in a Rust store (``_core.ShuffleStore``,
    see ``oxdask._shuffle``): they stay Python objects (nothing copied) up to a memory limit
    (``dataframe.shuffle.memory-limit``, default a quarter of the machine's memory, or of a
    worker's memory limit), beyond which whole output partitions are pickled to temporary
    files. On a cluster each output task takes its pieces from every worker that holds some,
    peer to peer. ``n_in + 1 + n_out`` tasks::

        cut      (cut, i)        = keep the pieces of partition i; where they are
        barrier  (barrier,)      = every cut done; the places holding pieces
        out      (out, j)        = concat(take j from every place)

``"tasks"`` (the default for the processes scheduler)
    Plain tasks, which run anywhere: pieces are picked out per (input, output) pair::

        split    (split, i)      = cut(partition i)            one per input partition
        pieces   (piece, i, j)   = split_i[j]                  one per pair
        concat   (out, j)        = concat(piece_0j ... piece_nj)
"""

from __future__ import annotations

import functools
import inspect
import sys
from contextlib import nullcontext

import numpy as np
import pandas as pd

from oxdask import _shuffle, config
from oxdask.dataframe import methods
from oxdask.dataframe.core import _Frame, _new
from oxdask.highlevelgraph import BlockwiseLayer, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = [
    "compute_divisions",
    "drop_duplicates",
    "partitioning_index",
    "rearrange",
    "set_index",
    "shuffle",
    "sort_values",
]


# -- the shuffle ---------------------------------------------------------------------------------


def split_by(df, dest, n):
    """``df`` cut into ``n`` pieces: piece ``k`` holds the rows with ``dest == k``, in order."""
    counts = np.bincount(dest, minlength=n)
    if counts.max() == len(df):
        j = int(dest[0])
        empty = df.iloc[:0]
        return [df if k == j else empty for k in range(n)]
    # small integer types sort by radix: linear time
    small = dest.astype(np.uint8 if n <= 256 else np.int16 if n < 32768 else np.intp)
    order = np.argsort(small, kind="stable")
    ordered = df.iloc[order]
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [ordered.iloc[bounds[k] : bounds[k + 1]] for k in range(n)]


class _Split:
    """Cut a partition into ``n`` pieces by the output number of every row."""

    def __init__(self, partitioner, n):
        self.partitioner = partitioner
        self.n = n

    def __call__(self, df):
        if len(df) == 0:
            return [df] * self.n
        dest = np.asarray(self.partitioner(df), dtype=np.intp)
        return split_by(df, dest, self.n)


class _Pick:
    def __call__(self, pieces, j):
        return pieces[j]


class _ConcatPieces:
    """Concatenate the pieces of one output partition, then apply ``post`` (optional)."""

    def __init__(self, meta, post=None):
        self.meta = meta
        self.post = post

    def __call__(self, pieces):
        out = methods.concat(pieces, self.meta)
        return self.post(out) if self.post is not None else out


def rearrange(
    frame, partitioner, npartitions_out, meta=None, post=None, divisions=None, token="shuffle"
):
    """Move rows to ``npartitions_out`` partitions chosen by ``partitioner(partition)``.

    Parameters
    ----------
    frame : DataFrame or Series
    partitioner : callable
        Returns an integer array (one output number in ``[0, npartitions_out)`` per row).
    npartitions_out : int
    meta : pandas object, optional
        Meta of the output (default: ``frame``'s, or ``post`` applied to it).
    post : callable, optional
        Applied to every output partition (sorting, setting the index...).
    divisions : tuple, optional
        Divisions of the output (default unknown).
    """
    n_in, n_out = frame.npartitions, int(npartitions_out)
    if meta is None:
        meta = frame._meta if post is None else _post_meta(post, frame)
    div = divisions if divisions is not None else (None,) * (n_out + 1)
    method = shuffle_method()
    base = tokenize(frame._name, partitioner, n_out, post, method)
    if method == "engine":
        return _engine(frame, partitioner, n_in, n_out, meta, post, div, base, token)
    sname, pname, oname = f"{token}-split-{base}", f"{token}-piece-{base}", f"{token}-{base}"
    jname = "out-number-" + tokenize(n_out)
    split = BlockwiseLayer(
        sname, _Split(partitioner, n_out), [0], [(frame._name, [0])], {frame._name: (n_in,)}
    )
    pick = BlockwiseLayer(
        pname, _Pick(), [0, 1], [(sname, [0]), (jname, [1])], {sname: (n_in,), jname: (n_out,)}
    )
    concat = BlockwiseLayer(
        oname, _ConcatPieces(frame._meta, post), [1], [(pname, [0, 1])], {pname: (n_in, n_out)}
    )
    s = _new(sname, split, [frame], frame._meta, frame.divisions)
    p = _new(pname, pick, [s], frame._meta, frame.divisions, {jname: _numbers(jname, n_out)})
    return _new(oname, concat, [p], meta, div)


def _numbers(name, n):
    """A layer ``(name, i) -> i``: block numbers as Blockwise inputs."""
    return MaterializedLayer({(name, i): i for i in range(n)})


# -- the engine shuffle --------------------------------------------------------------------------

_METHODS = ("engine", "tasks")
_LOCAL_SCHEDULERS = (None, "threads", "threading", "sync", "synchronous", "single-threaded")


def shuffle_method() -> str:
    """``dataframe.shuffle.method``, or the default: ``"engine"`` when graphs run on the local
    threads or sync scheduler or on a distributed client, else (the processes scheduler)
    ``"tasks"``."""
    method = config.get("dataframe.shuffle.method", None)
    if method is not None:
        return _checked(method, "dataframe.shuffle.method")
    client = sys.modules.get("oxdask.distributed.client")
    if client is not None and client._current is not None:
        return "engine"
    return "engine" if config.get("scheduler", None) in _LOCAL_SCHEDULERS else "tasks"


def using(method):
    """A context choosing the shuffle method for one call: Dask's ``shuffle_method=``
    argument (None keeps ``dataframe.shuffle.method``)."""
    if method is None:
        return nullcontext()
    return config.set({"dataframe.shuffle.method": _checked(method, "shuffle_method")})


# Dask's other methods: "disk" (partd files) and "p2p" (distributed) run as "tasks" here
_ALIASES = {"disk": "tasks", "p2p": "tasks"}


def _checked(method, what: str) -> str:
    method = _ALIASES.get(method, method)
    if method not in _METHODS:
        raise ValueError(f"{what} must be one of {_METHODS} (or None), not {method!r}")
    return method


def takes_shuffle_method(func):
    """Honour a ``shuffle_method=`` argument of ``func`` (named, or among ``**kwargs``)."""
    sig = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        given = sig.bind_partial(*args, **kwargs).arguments
        method = given.get("shuffle_method", given.get("kwargs", {}).get("shuffle_method"))
        with using(method):
            return func(*args, **kwargs)

    return wrapper


class _Cut:
    """Engine task: cut partition ``i`` and push its non-empty pieces into the stores of the
    process or worker running it; returns where they are (``oxdask._shuffle.Holder``)."""

    def __init__(self, shuffle: str, partitioner, n):
        self.shuffle = shuffle
        self.split = _Split(partitioner, n)

    def __call__(self, df, i):
        stores = _shuffle.current()
        if len(df):
            n = self.split.n
            for j, piece in enumerate(self.split(df)):
                if len(piece):
                    stores.push(self.shuffle, n, i, j, piece)
        return stores.holder


class _Barrier:
    """Engine task: every cut done; where the pieces are (``oxdask._shuffle.barrier``)."""

    def __init__(self, shuffle: str):
        self.shuffle = shuffle

    def __call__(self, holders):
        return _shuffle.barrier(self.shuffle, holders)


class _Assemble:
    """Engine task: concatenate the pieces of output partition ``j`` taken from every
    holder, then ``post``."""

    def __init__(self, shuffle: str, meta, post=None):
        self.shuffle = shuffle
        self.concat = _ConcatPieces(meta, post)

    def __call__(self, holders, j):
        pieces = _shuffle.take_all(self.shuffle, j, holders)
        # no piece (no row went to j): an empty frame, not the shared meta object
        return self.concat(pieces or [self.concat.meta.iloc[:0]])


def _engine(frame, partitioner, n_in, n_out, meta, post, div, base, token):
    cname, bname, oname = f"{token}-cut-{base}", f"{token}-barrier-{base}", f"{token}-{base}"
    iname, jname = "in-number-" + tokenize(n_in), "out-number-" + tokenize(n_out)
    cut = BlockwiseLayer(
        cname,
        _Cut(oname, partitioner, n_out),
        [0],
        [(frame._name, [0]), (iname, [0])],
        {frame._name: (n_in,), iname: (n_in,)},
    )
    c = _new(cname, cut, [frame], frame._meta, frame.divisions, {iname: _numbers(iname, n_in)})
    barrier = MaterializedLayer({(bname, 0): (_Barrier(oname), [(cname, i) for i in range(n_in)])})
    b = _new(bname, barrier, [c], frame._meta, (None, None))
    assemble = BlockwiseLayer(
        oname,
        _Assemble(oname, frame._meta, post),
        [0],
        [(bname, [0]), (jname, [0])],  # the barrier's one block, broadcast
        {bname: (1,), jname: (n_out,)},
    )
    return _new(oname, assemble, [b], meta, div, {jname: _numbers(jname, n_out)})


def _post_meta(post, frame):
    from oxdask.dataframe.utils import make_meta

    return make_meta(post(frame._meta_nonempty))


_MULT = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: a multiplicative hash


def _mix(h):
    """Scramble 64-bit values (the finalizer of splitmix64), in place."""
    with np.errstate(over="ignore"):
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def _hash_column(col) -> np.ndarray:
    """64-bit hashes of a column's values; equal values hash equally."""
    dt = col.dtype
    if isinstance(dt, np.dtype) and dt.kind in "Mm":
        return _mix(col.to_numpy().astype(np.int64).view(np.uint64))
    if isinstance(dt, np.dtype) and dt.kind == "O" and _holds_numbers(col):
        dt = np.dtype(np.float64)  # True/1/1.0 in an object column (a NaN introduced)
    if isinstance(dt, np.dtype) and dt.kind in "biuf":
        # numbers hash by value, whatever their dtype: a partition where missing values
        # turned ints or bools into floats or objects hashes its keys as the others do
        v = col.to_numpy().astype(np.float64)
        v = np.where(v == 0, 0.0, v)  # -0.0 == 0.0
        v[np.isnan(v)] = np.nan  # one NaN payload
        return _mix(v.view(np.uint64))
    values = np.asarray(col.astype(object)) if isinstance(dt, pd.CategoricalDtype) else col
    return pd.util.hash_array(np.asarray(values, dtype=object), categorize=True)


def _holds_numbers(col) -> bool:
    kind = pd.api.types.infer_dtype(col, skipna=True)
    return kind in ("boolean", "integer", "floating", "mixed-integer-float", "decimal")


def partitioning_index(df, npartitions: int, cast=None) -> np.ndarray:
    """Output partition of every row: a hash of its values modulo ``npartitions``.

    ``cast`` gives dtypes to convert key columns to first (so that keys of different
    dtypes on the two sides of a merge hash alike).
    """
    if isinstance(df, pd.Index):
        df = df.to_frame(index=False)
    elif isinstance(df, pd.Series):
        df = df.to_frame()
    h = None
    with np.errstate(over="ignore"):
        for i, (_, col) in enumerate(df.items()):
            if cast is not None and cast[i] is not None:
                col = col.astype(cast[i])
            hc = _hash_column(col)
            h = hc if h is None else _mix(h * _MULT + hc)
    dtype = _small_int(npartitions)
    if h is None:
        return np.zeros(len(df), dtype=dtype)
    return (h % np.uint64(npartitions)).astype(dtype)


def _small_int(n):
    """The smallest signed integer dtype holding ``n`` (as Dask)."""
    for dt in (np.int8, np.int16, np.int32):
        if n <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.int64)


class HashPartitioner:
    """Output number from a hash of columns ``on`` (or the index with ``on=None``)."""

    def __init__(self, on, n, cast=None):
        self.on = on
        self.n = n
        self.cast = cast

    def __call__(self, df):
        if self.on is None:
            keys = df.index.to_frame(index=False)
        elif isinstance(df, pd.Series):
            keys = df.to_frame()
        else:
            keys = df[self.on]
        return partitioning_index(keys, self.n, self.cast)


@takes_shuffle_method
def shuffle(frame, on=None, npartitions=None, ignore_index=False, **kwargs):
    """Rows with equal values of ``on`` (columns, the index, or an aligned Series) gathered
    into the same partition.

    Parameters
    ----------
    frame : DataFrame or Series
    on : str, list, Series or None
        Columns to hash; ``None`` (or ``"index"``) hashes the index.
    npartitions : int, optional
        Default: as many as ``frame``.
    ignore_index : bool
        Accepted for compatibility.
    """
    n = npartitions or frame.npartitions
    out = _shuffle_on(frame, on, n)
    # Dask's task shuffle drops the index with ignore_index (its disk shuffle keeps it)
    if ignore_index and kwargs.get("shuffle_method") != "disk":
        out = out.map_partitions(_drop_index, token="reset-index")
    return out


def _drop_index(df):
    return df.reset_index(drop=True)


def _shuffle_on(frame, on, n):
    if isinstance(on, (pd.Series, pd.Index, np.ndarray)):
        on = list(on)  # labels of columns
    if isinstance(on, _Frame):
        framed = frame.to_frame() if frame.ndim == 1 else frame
        if on.ndim == 2:  # a frame of keys: hashed as the same columns of ``frame`` would be
            tmp = [f"_shuffle_key_{i}" for i in range(len(on.columns))]
            tagged = framed.assign(**{t: on[c] for t, c in zip(tmp, on.columns, strict=True)})
        else:
            tmp = ["_shuffle_key"]
            tagged = framed.assign(**{tmp[0]: on})
        out = rearrange(tagged, HashPartitioner(tmp, n), n)
        out = out.drop(columns=tmp)
        return out[frame._meta.name] if frame.ndim == 1 else out
    if on == "index":
        on = None
    if isinstance(on, (str, int, tuple)) and not isinstance(on, list):
        on = [on]
    if on is not None and frame.ndim == 2:
        missing = [c for c in on if c not in frame._meta.columns]
        if missing:
            raise KeyError(f"shuffle: columns {missing} not found")
    return rearrange(frame, HashPartitioner(on, n), n)


class _DropDup:
    def __init__(self, kwargs):
        self.kwargs = kwargs

    def __call__(self, df):
        return df.drop_duplicates(**self.kwargs)


def _drop_dup_tree(values, kwargs):
    parts = [v for v in values if len(v)] or values[:1]
    both = pd.concat(parts) if len(parts) > 1 else parts[0]
    return both.drop_duplicates(**kwargs)


class _DropDupAgg:
    def __init__(self, kwargs):
        self.kwargs = kwargs

    def __call__(self, values):
        return _drop_dup_tree(values, self.kwargs)


@takes_shuffle_method
def drop_duplicates(
    frame, subset=None, split_every=None, split_out=True, keep="first", ignore_index=False, **kwargs
):
    """Rows without duplicates: a tree reduction with ``split_out=1``, else a hash shuffle."""
    kw = {"keep": keep}
    if frame.ndim == 2 and subset is not None:
        subset = [subset] if np.isscalar(subset) else list(subset)
        missing = [c for c in subset if c not in frame._meta.columns]
        if missing:
            raise KeyError(f"drop_duplicates: subset columns {missing} not found")
        kw["subset"] = subset
    if keep not in ("first", "last", False):
        raise ValueError("keep must be 'first', 'last' or False")
    if split_out in (1, False) or frame.npartitions == 1:
        from oxdask.dataframe.reductions import reduction

        out = reduction(
            frame,
            _DropDup(kw),
            _DropDupAgg(kw),
            meta=frame._meta,
            token="drop-duplicates",
            split_every=split_every,
        )
    else:
        n = frame.npartitions if split_out is True else int(split_out)
        on = subset if frame.ndim == 2 else None
        part = (
            HashPartitioner(on if on is not None else list(frame._meta.columns), n)
            if (frame.ndim == 2)
            else _SeriesHash(n)
        )
        out = rearrange(frame, part, n, post=_DropDup(kw), token="drop-duplicates")
    if ignore_index:
        out = out.reset_index(drop=True)
    return out


class _SeriesHash:
    def __init__(self, n):
        self.n = n

    def __call__(self, s):
        return partitioning_index(s, self.n)


# range partitioning lives in _ranges (it builds on rearrange above)
from oxdask.dataframe._ranges import (  # noqa: E402
    compute_divisions,
    set_index,
    sort_values,
)
