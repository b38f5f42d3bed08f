"""Index helpers that Dask exposes in ``dask.array.slicing`` and that code and tests use:
``sanitize_index``, ``normalize_index``, ``new_blockdim``, ``_slice_1d``, ``slice_array``,
``shuffle_slice``, ``make_block_sorted_slices`` and the ``SlicingNoop`` exception.

They work on plain chunk tuples (no array needed) and follow the planning that
:func:`oxdask.array.slicing.getitem` does.
"""

from __future__ import annotations

import itertools
from numbers import Integral

import numpy as np

from oxdask.array._chunks import _isnan, starts
from oxdask.base import is_dask_collection

__all__ = [
    "SlicingNoop",
    "make_block_sorted_slices",
    "new_blockdim",
    "normalize_index",
    "sanitize_index",
    "shuffle_slice",
    "slice_array",
]


class SlicingNoop(Exception):
    """Raised by :func:`slice_array` when the index selects the whole array."""


def _sanitize_index_element(ind):
    """An integer, ``None`` or a lazy scalar as an index element; ``TypeError`` otherwise."""
    if ind is None or is_dask_collection(ind):
        return ind
    if isinstance(ind, (Integral, np.integer)) and not isinstance(ind, (bool, np.bool_)):
        return int(ind)
    if isinstance(ind, (float, np.floating)) and float(ind).is_integer():
        return int(ind)
    raise TypeError(f"Invalid index type {type(ind).__name__}: {ind!r}")


def sanitize_index(ind):
    """An index as slices, ints and NumPy integer arrays (booleans become positions)."""
    if ind is None or is_dask_collection(ind):
        return ind
    if isinstance(ind, slice):
        return slice(
            _sanitize_index_element(ind.start),
            _sanitize_index_element(ind.stop),
            _sanitize_index_element(ind.step),
        )
    if isinstance(ind, (Integral, np.integer, float, np.floating)) and not isinstance(
        ind, (bool, np.bool_)
    ):
        return _sanitize_index_element(ind)
    arr = np.asanyarray(getattr(ind, "values", ind))
    if arr.dtype == bool:
        nz = np.nonzero(arr)
        return nz[0] if len(nz) == 1 else np.asanyarray(nz)
    if arr.dtype.kind in "iu":
        return arr
    if arr.dtype.kind == "f" and np.all(np.mod(arr, 1) == 0):
        return arr.astype(np.intp)
    if arr.dtype.kind == "f":
        raise IndexError("Bad index.  Must be integer-like")
    raise TypeError(f"Invalid index type {type(ind).__name__}: {ind!r}")


def normalize_index(idx, shape):
    """``idx`` with one entry per dimension (``None`` kept): lists become arrays, the
    ellipsis is expanded, and on dimensions of known length integers and slices are checked
    and put in a normal form."""
    from oxdask.array.slicing import _canonical

    if not isinstance(idx, tuple):
        idx = (idx,)
    idx = tuple(np.asarray(i) if isinstance(i, list) else i for i in idx)
    used = sum(
        (i.ndim if isinstance(i, np.ndarray) and i.dtype == bool else 1)
        for i in idx
        if i is not None and i is not Ellipsis
    )
    if used > len(shape):
        raise IndexError(f"Too many indices for array with {len(shape)} dimensions")
    if sum(1 for i in idx if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    fill = (slice(None),) * (len(shape) - used)
    if any(i is Ellipsis for i in idx):
        k = next(j for j, i in enumerate(idx) if i is Ellipsis)
        idx = idx[:k] + fill + idx[k + 1 :]
    else:
        idx = idx + fill
    out = []
    dims = iter(shape)
    for i in idx:
        if i is None:
            out.append(None)
            continue
        dim = next(dims)
        if isinstance(i, np.ndarray) and i.dtype.kind in "iu" and not _isnan(dim):
            if i.size and (i.max() >= dim or i.min() < -dim):
                raise IndexError(f"Index is out of bounds for axis with size {dim}")
            i = np.where(i < 0, i + dim, i)
        elif isinstance(i, (Integral, np.integer)) and not _isnan(dim) and not -dim <= i < dim:
            raise IndexError(f"Index is not smaller than dimension {i} >= {dim}")
        if isinstance(i, (slice, Integral, np.integer)) and not isinstance(i, bool):
            i = _canonical(int(i) if isinstance(i, np.integer) else i, dim)
        out.append(i)
    return tuple(out)


def new_blockdim(dim_shape, lengths, index):
    """Block sizes along one dimension after indexing it with ``index``."""
    from oxdask.array.slicing import _dim_plan

    if isinstance(index, (list, np.ndarray)):
        return [len(index)]
    if isinstance(index, Integral):
        return [1]
    return list(_dim_plan(tuple(lengths), dim_shape, index)[1])


def _slice_1d(dim_shape, lengths, index):
    """``{block: local index}`` for indexing one dimension of ``dim_shape`` elements cut in
    blocks of ``lengths``: a whole block gives ``slice(None)``; with a negative step the
    local bounds count from the end of the block (as Dask writes them)."""
    lengths = list(lengths)
    st = starts(lengths)
    if isinstance(index, Integral):
        i = int(index) % dim_shape if index < 0 else int(index)
        b = int(np.searchsorted(st, i, side="right") - 1)
        while lengths[b] == 0:
            b += 1
        return {b: i - st[b]}
    start, stop, step = index.indices(dim_shape)
    out = {}
    if step > 0:
        for b, n in enumerate(lengths):
            lo, hi = st[b], st[b] + n
            first = start if start >= lo else start + -(-(lo - start) // step) * step
            end = min(stop, hi)
            if first < end and first >= lo:
                if first == lo and end == hi and step == 1:
                    out[b] = slice(None)
                else:
                    out[b] = slice(first - lo, end - lo, step)
    else:
        for b in reversed(range(len(lengths))):
            n = lengths[b]
            lo, hi = st[b], st[b] + n
            first = start if start <= hi - 1 else start - -(-(start - (hi - 1)) // -step) * -step
            end = max(stop, lo - 1)
            if first > end and first <= hi - 1:
                out[b] = slice(first - lo - n, end - lo - n, step)
        out = dict(sorted(out.items()))
    return out or {0: slice(0, 0, 1)}


def _blank(name, blockdims):
    from oxdask.array.core import Array
    from oxdask.highlevelgraph import HighLevelGraph, MaterializedLayer

    graph = HighLevelGraph({name: MaterializedLayer({})}, {name: set()})
    return Array(graph, name, tuple(tuple(c) for c in blockdims), np.float64)


def slice_array(out_name, in_name, blockdims, index, itemsize=8):
    """Tasks and chunks of ``in_name[index]`` for an array of ``blockdims`` (the tasks are
    named ``out_name``); :class:`SlicingNoop` when the index selects everything."""
    raw = index if isinstance(index, tuple) else (index,)
    if all(isinstance(i, slice) and i == slice(None) for i in raw):
        raise SlicingNoop()
    shape = tuple(sum(c) for c in blockdims)
    norm = normalize_index(index, shape)
    if all(isinstance(i, slice) and i == slice(None) for i in norm):
        raise SlicingNoop()
    y = _blank(in_name, blockdims)[index]
    dsk = dict(y.dask.layers[y.name]) if y.name in y.dask.layers else {}
    dsk = {(out_name, *k[1:]): v for k, v in dsk.items()}
    return dsk, y.chunks


def shuffle_slice(x, index):
    """``x`` reordered along its first axis by the integer array ``index``."""
    return x[np.asarray(index)]


def make_block_sorted_slices(index, chunks):
    """``index`` sorted within each run of positions given by ``chunks`` (the first axis'
    block sizes), and where each original entry went in that sorted index."""
    sizes = chunks[0] if chunks and isinstance(chunks[0], (tuple, list)) else chunks
    index = np.asarray(index)
    bounds = np.cumsum((0, *sizes))
    sorted_index = np.empty_like(index)
    where = np.empty(len(index), dtype=np.intp)
    for lo, hi in itertools.pairwise(bounds):
        part = index[lo:hi]
        order = np.argsort(part, kind="stable")
        sorted_index[lo:hi] = part[order]
        where[lo + order] = lo + np.arange(len(part))
    return sorted_index, where
