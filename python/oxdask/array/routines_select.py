"""Selecting routines: ``take``, ``compress``, ``nonzero``/``argwhere``/``flatnonzero``,
``count_nonzero``, ``searchsorted``, ``isin``, ``choose``, ``select`` and ``piecewise``
(re-exported by :mod:`oxdask.array.routines`).
"""

from __future__ import annotations

import numpy as np

from oxdask.array.blockwise import elemwise
from oxdask.array.core import Array, asarray
from oxdask.array.reductions import validate_axis

__all__ = [
    "argwhere",
    "choose",
    "compress",
    "count_nonzero",
    "flatnonzero",
    "isin",
    "isnonzero",
    "nonzero",
    "piecewise",
    "searchsorted",
    "select",
    "take",
]


def _truth(block):
    if block.dtype.kind in "US":
        return block != block.dtype.type()
    if block.dtype.kind == "O":
        return np.frompyfunc(bool, 1, 1)(block).astype(bool)
    return block.astype(bool)


def isnonzero(a):
    """Truth of every element (strings: non-empty; objects: ``bool(x)``), as NumPy counts."""
    return elemwise(_truth, asarray(a), dtype=bool)


def count_nonzero(a, axis=None):
    """Number of non-zero elements along ``axis``."""
    return isnonzero(a).astype(np.intp).sum(axis=axis)


def take(a, indices, axis=0):
    """Elements of ``a`` at ``indices`` along ``axis``."""
    if isinstance(indices, Array) and not isinstance(a, Array):
        a = np.asarray(a)  # small in-memory data: taken block by block of the indices
        axis = validate_axis(axis, a.ndim)
        if a.ndim != 1:
            raise NotImplementedError("take of in-memory data with lazy indices needs 1-d data")
        return indices.map_blocks(_take_from, a=a, dtype=a.dtype)
    a = asarray(a)
    axis = validate_axis(axis, a.ndim)
    idx = [slice(None)] * a.ndim
    idx[axis] = np.asarray(indices)
    return a[tuple(idx)]


def _take_from(indices, a):
    return np.take(a, indices)


def compress(condition, a, axis=None):
    """Selected slices of ``a`` along ``axis`` where ``condition`` (1-D) holds."""
    from oxdask.array.routines import concatenate

    a = asarray(a)
    if axis is None:
        a = a.ravel()
        axis = 0
    axis = validate_axis(axis, a.ndim)
    cond = condition if isinstance(condition, Array) else np.asarray(condition, dtype=bool)
    if cond.ndim != 1:
        raise ValueError("Condition must be one dimensional")
    if len(cond) > a.shape[axis]:
        raise IndexError(
            f"index {len(cond)} is out of bounds for axis {axis} with size {a.shape[axis]}"
        )
    if len(cond) < a.shape[axis]:
        from oxdask.array.creation import zeros

        pad_ = zeros(a.shape[axis] - len(cond), dtype=bool)
        cond = (
            concatenate([cond.astype(bool), pad_])
            if isinstance(cond, Array)
            else np.concatenate([cond, np.zeros(a.shape[axis] - len(cond), bool)])
        )
    idx = [slice(None)] * a.ndim
    idx[axis] = cond
    return a[tuple(idx)]


def nonzero(a):
    """Indices of the non-zero elements, one array per dimension (unknown sizes)."""
    a = asarray(a)
    idx = argwhere(a)
    return tuple(idx[:, i] for i in range(a.ndim)) if a.ndim else (idx[:, 0],)


def argwhere(a):
    """Indices of the non-zero elements as rows (unknown number of rows)."""
    from oxdask.array.creation import indices
    from oxdask.array.routines import stack

    a = asarray(a)
    if a.ndim == 0:
        a = a[None]
    ind = indices(a.shape, dtype=np.intp, chunks=a.chunks)
    ind = stack([ind[i].ravel() for i in range(a.ndim)], axis=1) if a.ndim > 1 else ind[0][:, None]
    mask = isnonzero(a.ravel())
    return ind.rechunk({0: mask.chunks[0]})[mask]


def flatnonzero(a):
    """Indices of non-zero elements of the flattened array."""
    return argwhere(asarray(a).ravel())[:, 0]


def isin(element, test_elements, assume_unique=False, invert=False):
    """Whether each element is in ``test_elements`` (a NumPy array or small list)."""
    test = np.asarray(
        test_elements.compute() if isinstance(test_elements, Array) else test_elements
    )
    return elemwise(np.isin, element, kwargs={"test_elements": test, "invert": invert}, dtype=bool)


def searchsorted(a, v, side="left", sorter=None):
    """Insertion points of ``v`` into the sorted 1-D ``a`` (chunked like ``v``)."""
    if sorter is not None:
        raise NotImplementedError("da.searchsorted with a sorter argument is not supported")
    if getattr(a, "ndim", np.ndim(a)) != 1:
        raise ValueError("Input array a must be one dimensional")
    v = asarray(v)
    a = a if isinstance(a, Array) else np.asarray(a)
    return v.map_blocks(_searchsorted_block, [a], side=side, dtype=np.intp)


def _searchsorted_block(v, a, side):
    return np.searchsorted(np.asarray(a[0]), v, side=side)


def choose(a, choices):
    """Pick each element from ``choices[a]`` (blockwise :func:`numpy.choose`)."""
    return elemwise(_choose, a, *choices)


def _choose(a, *choices):
    return np.choose(a, choices)


def select(condlist, choicelist, default=0):
    """Elements of the first choice whose condition holds, else ``default`` (as
    :func:`numpy.select`)."""
    from oxdask.array.routines import where

    out = asarray(np.asarray(default)) if not isinstance(default, Array) else default
    for c, ch in reversed(list(zip(condlist, choicelist, strict=True))):
        out = where(c, ch, out)
    return out


def piecewise(x, condlist, funclist, *args, **kw):
    """Evaluate ``funclist[i]`` where ``condlist[i]`` holds (as :func:`numpy.piecewise`).

    The conditions may be arrays (lazy or not) broadcastable to ``x``; they are split into
    the blocks of ``x``.
    """
    x = asarray(x)
    if isinstance(condlist, (Array, np.ndarray)) or np.isscalar(condlist):
        conds = [condlist] if getattr(condlist, "ndim", 0) <= x.ndim else list(condlist)
    else:
        conds = list(condlist)
        if conds and not isinstance(conds[0], (list, np.ndarray, Array)) and x.ndim != 0:
            conds = [conds]
    conds = [asarray(c) if isinstance(c, Array) else asarray(np.asarray(c)) for c in conds]
    n = len(conds)
    if len(funclist) not in (n, n + 1):
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are expected")
    return x.map_blocks(
        _piecewise_block,
        *conds,
        funclist=funclist,
        func_args=args,
        func_kw=kw,
        dtype=x.dtype,
    )


def _piecewise_block(x, *conds, funclist, func_args, func_kw):
    shape = np.broadcast_shapes(x.shape, *(c.shape for c in conds))
    x = np.broadcast_to(x, shape)
    conds = [np.broadcast_to(c, shape) for c in conds]
    return np.piecewise(x, conds, funclist, *func_args, **func_kw)
