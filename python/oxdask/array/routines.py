"""Joining and miscellaneous routines: ``concatenate``, ``stack``, ``block``, ``where``,
``clip``, ``pad``, ``tile``, ``repeat``, ``flip``, ``roll``, ``diff``, triangles and
diagonals, ``nonzero`` and friends.
"""

from __future__ import annotations

from itertools import product
from numbers import Integral

import numpy as np

from oxdask.array._chunks import _isnan, common_chunks, starts
from oxdask.array.blockwise import _blockwise_layer, elemwise
from oxdask.array.core import Array, _name, _new, asarray
from oxdask.array.reductions import validate_axis
from oxdask.base import is_dask_collection
from oxdask.highlevelgraph import MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = [
    "allclose",
    "append",
    "argwhere",
    "average",
    "block",
    "choose",
    "clip",
    "compress",
    "concatenate",
    "count_nonzero",
    "diag",
    "diagonal",
    "diff",
    "dstack",
    "flatnonzero",
    "flip",
    "fliplr",
    "flipud",
    "hstack",
    "isclose",
    "isin",
    "nonzero",
    "outer",
    "pad",
    "piecewise",
    "ptp",
    "repeat",
    "result_type",
    "roll",
    "round",
    "searchsorted",
    "select",
    "stack",
    "take",
    "tile",
    "trace",
    "tril",
    "triu",
    "vstack",
    "where",
]


def result_type(*args):
    """The dtype NumPy would give to an operation on these arrays and scalars."""
    return np.result_type(*[a.dtype if isinstance(a, Array) else a for a in args])


def concatenate(seq, axis=0, allow_unknown_chunksizes=False):
    """Join arrays along an existing axis.

    Parameters
    ----------
    seq : sequence of array_like
    axis : int
    allow_unknown_chunksizes : bool
        Allow unknown sizes along the other axes.

    Returns
    -------
    Array
    """
    seq = [asarray(a) for a in seq]
    if not seq:
        raise ValueError("Need array(s) to concatenate")
    ndim = seq[0].ndim
    if ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    for k, a in enumerate(seq[1:], 1):
        if a.ndim != ndim:
            raise ValueError(
                "all the input arrays must have same number of dimensions, but the array at "
                f"index 0 has {ndim} dimension(s) and the array at index {k} has {a.ndim} "
                "dimension(s)"
            )
    axis = validate_axis(axis, ndim)
    for k, a in enumerate(seq[1:], 1):
        for d in range(ndim):
            if d == axis:
                continue
            s0, s1 = seq[0].shape[d], a.shape[d]
            if s0 != s1 and not (_isnan(s0) or _isnan(s1)):
                raise ValueError(
                    "all the input array dimensions except for the concatenation axis must "
                    f"match exactly, but along dimension {d}, the array at index 0 has size "
                    f"{s0} and the array at index {k} has size {s1}"
                )
    dtype = np.result_type(*[a.dtype for a in seq])
    seq = [a.astype(dtype) if a.dtype != dtype else a for a in seq]
    if len(seq) == 1:
        return seq[0]
    # common chunks on the other axes
    target = []
    for d in range(ndim):
        if d == axis:
            target.append(None)
            continue
        cs = [a.chunks[d] for a in seq]
        if any(any(_isnan(b) for b in c) for c in cs):
            if not allow_unknown_chunksizes:
                raise ValueError(
                    "Arrays chunk sizes are unknown: call compute_chunk_sizes() first, or "
                    "pass allow_unknown_chunksizes=True"
                )
            target.append(cs[0])
        else:
            target.append(common_chunks(*cs))
    seq = [
        a
        if all(t is None or a.chunks[d] == t for d, t in enumerate(target))
        else a.rechunk(tuple(a.chunks[d] if t is None else t for d, t in enumerate(target)))
        for a in seq
    ]
    name = "concatenate-" + tokenize([a.name for a in seq], axis)
    layer = {}
    offset = 0
    for a in seq:
        for idx in product(*(range(n) for n in a.numblocks)):
            out = list(idx)
            out[axis] += offset
            layer[(name, *out)] = (a.name, *idx)
        offset += a.numblocks[axis]
    chunks = list(seq[0].chunks)
    chunks[axis] = tuple(b for a in seq for b in a.chunks[axis])
    return _new(name, MaterializedLayer(layer), seq, tuple(chunks), dtype)


def stack(seq, axis=0, allow_unknown_chunksizes=False):
    """Join arrays of the same shape along a new axis."""
    from oxdask.array.reshape import expand_dims

    seq = [asarray(a) for a in seq]
    if not seq:
        raise ValueError("Need array(s) to stack")
    for k, a in enumerate(seq[1:], 2):
        if a.shape != seq[0].shape:
            raise ValueError(
                "Stacked arrays must have the same shape. The first array had shape "
                f"{seq[0].shape}, while array {k} has shape {a.shape}."
            )
    axis = validate_axis(axis, seq[0].ndim + 1)
    return concatenate(
        [expand_dims(a, axis) for a in seq],
        axis=axis,
        allow_unknown_chunksizes=allow_unknown_chunksizes,
    )


def block(arrays, allow_unknown_chunksizes=False):
    """Assemble an array from nested lists of blocks (as :func:`numpy.block`)."""

    def depth(x):
        return 1 + depth(x[0]) if isinstance(x, list) and x else (1 if isinstance(x, list) else 0)

    if isinstance(arrays, tuple):
        raise TypeError("arrays is a tuple. Only lists are supported as arrays")
    d = depth(arrays)
    leaves = []

    def walk(x):
        if isinstance(x, list):
            for y in x:
                walk(y)
        else:
            leaves.append(asarray(x))

    walk(arrays)
    ndim = max([d, *(a.ndim for a in leaves)])

    def rec(x, level):
        if not isinstance(x, list):
            a = asarray(x)
            while a.ndim < ndim:
                a = a[None]
            return a
        parts = [rec(y, level + 1) for y in x]
        return concatenate(
            parts, axis=ndim - d + level, allow_unknown_chunksizes=allow_unknown_chunksizes
        )

    return rec(arrays, 0)


def hstack(tup, allow_unknown_chunksizes=False):
    """Stack horizontally (along axis 1, or 0 for 1-D arrays)."""
    tup = [asarray(a) for a in tup]
    axis = 0 if all(a.ndim == 1 for a in tup) else 1
    return concatenate(tup, axis=axis, allow_unknown_chunksizes=allow_unknown_chunksizes)


def vstack(tup, allow_unknown_chunksizes=False):
    """Stack vertically (1-D arrays become rows)."""
    from oxdask.array.reshape import atleast_2d

    tup = [atleast_2d(a) for a in tup]
    return concatenate(tup, axis=0, allow_unknown_chunksizes=allow_unknown_chunksizes)


def dstack(tup, allow_unknown_chunksizes=False):
    """Stack along the third axis."""
    from oxdask.array.reshape import atleast_3d

    tup = [atleast_3d(a) for a in tup]
    return concatenate(tup, axis=2, allow_unknown_chunksizes=allow_unknown_chunksizes)


def append(arr, values, axis=None):
    """Append values at the end (flattening both when ``axis`` is None)."""
    arr = asarray(arr)
    values = asarray(values)
    if axis is None:
        return concatenate([arr.ravel(), values.ravel()])
    return concatenate([arr, values], axis=axis)


def where(condition, x=None, y=None):
    """Elements of ``x`` where ``condition`` holds, else of ``y`` (or ``nonzero(condition)``)."""
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    dtype = result_type(x, y)
    if isinstance(condition, (bool, np.bool_, Integral)) or (
        isinstance(condition, np.ndarray) and condition.ndim == 0
    ):  # as Dask: a constant condition picks one side
        from oxdask.array.reshape import broadcast_to

        shape = np.broadcast_shapes(np.shape(x), np.shape(y))
        side = asarray(x if condition else y)
        side = side.astype(dtype) if side.dtype != dtype else side
        return side if side.shape == shape else broadcast_to(side, shape)
    return elemwise(np.where, condition, x, y, dtype=dtype)


def clip(a, min=None, max=None):
    """Limit values to ``[min, max]``."""
    a = asarray(a)
    return elemwise(
        np.clip,
        a,
        min,
        max,
        dtype=a.dtype if not isinstance(min, float) and not isinstance(max, float) else None,
    )


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Element-wise ``|a - b| <= atol + rtol * |b|``, blockwise (as :func:`numpy.isclose`)."""
    return elemwise(
        np.isclose, a, b, kwargs={"rtol": rtol, "atol": atol, "equal_nan": equal_nan}, dtype=bool
    )


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether all elements are close (a lazy 0-d boolean array)."""
    return isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan).all()


def round(a, decimals=0):
    return elemwise(np.round, a, kwargs={"decimals": decimals})


def ptp(a, axis=None):
    """Range of values (max - min) along ``axis``."""
    a = asarray(a)
    return a.max(axis=axis) - a.min(axis=axis)


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """Weighted average along ``axis``."""
    a = asarray(a)
    if weights is None:
        avg = a.mean(axis=axis, keepdims=keepdims)
        scl = avg.dtype.type(a.size / max(avg.size, 1))
        return (avg, scl) if returned else avg
    w = asarray(weights)
    if w.shape != a.shape:
        if axis is None or w.ndim != 1:
            raise TypeError("Axis must be specified when shapes of a and weights differ.")
        shape = [1] * a.ndim
        shape[validate_axis(axis, a.ndim)] = w.shape[0]
        w = w.reshape(tuple(shape))
    scl = w.sum(axis=axis, keepdims=keepdims) * np.ones(1, dtype=result_type(a, w))[0]
    avg = (a * w).sum(axis=axis, keepdims=keepdims) / scl
    return (avg, scl) if returned else avg


def outer(a, b):
    """Outer product of two vectors (flattened first)."""
    a = asarray(a).ravel()
    b = asarray(b).ravel()
    return a[:, None] * b[None, :]


def flip(m, axis=None):
    """Reverse the order of elements along ``axis`` (all axes by default)."""
    m = asarray(m)
    axes = range(m.ndim) if axis is None else ([axis] if isinstance(axis, Integral) else axis)
    index = [slice(None)] * m.ndim
    for ax in axes:
        if not -m.ndim <= ax < m.ndim:
            raise ValueError(f"`axis` {ax} is out of bounds for an array of dimension {m.ndim}")
        index[ax % m.ndim] = slice(None, None, -1)
    return m[tuple(index)]


def flipud(m):
    """Reverse the order of the rows (axis 0), as :func:`numpy.flipud`."""
    return flip(m, 0)


def fliplr(m):
    """Reverse the order of the columns (axis 1), as :func:`numpy.fliplr`."""
    return flip(m, 1)


def roll(array, shift, axis=None):
    """Roll elements along ``axis`` (flattened when ``axis`` is None)."""
    a = asarray(array)
    if axis is None:
        if not isinstance(shift, Integral):
            raise TypeError("Expect `shift` to be an instance of Integral when `axis` is None.")
        return roll(a.ravel(), shift, 0).reshape(a.shape)
    shifts = [shift] if isinstance(shift, Integral) else list(shift)
    axes = [axis] if isinstance(axis, Integral) else list(axis)
    if len(shifts) != len(axes):
        raise ValueError("Must have the same number of shifts as axes.")
    for s, ax in zip(shifts, axes, strict=True):
        ax = validate_axis(ax, a.ndim)
        n = a.shape[ax]
        if n == 0:
            continue
        s = -s % n
        idx1 = [slice(None)] * a.ndim
        idx2 = [slice(None)] * a.ndim
        idx1[ax] = slice(s, None)
        idx2[ax] = slice(None, s)
        a = concatenate([a[tuple(idx1)], a[tuple(idx2)]], axis=ax)
    return a


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """n-th discrete difference along ``axis``."""
    a = asarray(a)
    if a.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    axis = validate_axis(axis, a.ndim)
    if n == 0:
        return a
    parts = []
    if prepend is not None:
        parts.append(_broadcast_edge(prepend, a, axis))
    parts.append(a)
    if append is not None:
        parts.append(_broadcast_edge(append, a, axis))
    if len(parts) > 1:
        a = concatenate(parts, axis=axis)
    # past the length of the axis every further difference is empty: stop there
    for _ in range(min(n, a.shape[axis]) if not _isnan(a.shape[axis]) else n):
        hi = [slice(None)] * a.ndim
        lo = [slice(None)] * a.ndim
        hi[axis] = slice(1, None)
        lo[axis] = slice(None, -1)
        # as NumPy: booleans differ by not_equal
        a = a[tuple(hi)] != a[tuple(lo)] if a.dtype == bool else a[tuple(hi)] - a[tuple(lo)]
    return a


def _broadcast_edge(v, a, axis):
    from oxdask.array.reshape import broadcast_to

    v = asarray(v)
    if v.ndim == 0:
        shape = list(a.shape)
        shape[axis] = 1
        return broadcast_to(v, tuple(shape))
    return v


def pad(array, pad_width, mode="constant", **kwargs):
    """Pad an array (modes ``constant``, ``edge``, ``reflect``, ``symmetric``, ``wrap``)."""
    from oxdask.array.overlap import _pad

    return _pad(asarray(array), pad_width, mode, **kwargs)


def tile(A, reps):
    """Repeat ``A`` ``reps`` times along each axis (as :func:`numpy.tile`)."""
    A = asarray(A)
    reps = (reps,) if isinstance(reps, Integral) else tuple(reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"Negative `reps` are not allowed: {reps}")
    nd = max(A.ndim, len(reps))
    reps = (1,) * (nd - len(reps)) + reps
    while A.ndim < nd:
        A = A[None]
    for ax, r in enumerate(reps):
        if r == 1:
            continue
        if r == 0:
            idx = [slice(None)] * nd
            idx[ax] = slice(0, 0)
            A = A[tuple(idx)]
            continue
        A = concatenate([A] * r, axis=ax)
    return A


def repeat(a, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (an integer ``repeats``)."""
    a = asarray(a)
    if axis is None:
        if a.ndim == 1:
            axis = 0
        else:
            raise NotImplementedError("Must supply an integer axis value")
    if not isinstance(repeats, Integral):
        raise NotImplementedError("Only integer valued repeats supported")
    axis = validate_axis(axis, a.ndim)
    if repeats == 0:
        idx = [slice(None)] * a.ndim
        idx[axis] = slice(0, 0)
        return a[tuple(idx)]
    chunks = list(a.chunks)
    chunks[axis] = tuple(c * repeats for c in chunks[axis])
    return a.map_blocks(np.repeat, repeats, axis=axis, chunks=tuple(chunks), dtype=a.dtype)


def _tri_mask(m, k, lower):
    from oxdask.array.creation import tri

    m = asarray(m)
    if m.ndim < 2:
        raise ValueError("input must be at least 2-d")
    mask = tri(m.shape[-2], m.shape[-1], k=k if lower else k - 1, dtype=bool, chunks=m.chunks[-2:])
    return where(mask if lower else ~mask, m, np.zeros(1, m.dtype)[0])


def tril(m, k=0):
    """Lower triangle."""
    return _tri_mask(m, k, True)


def triu(m, k=0):
    """Upper triangle."""
    return _tri_mask(m, k, False)


def diagonal(a, offset=0, axis1=0, axis2=1):
    """Diagonals of the planes ``(axis1, axis2)``, on a new last axis (as NumPy)."""
    from oxdask.array.creation import zeros
    from oxdask.array.reshape import moveaxis

    a = asarray(a)
    if a.ndim < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    axis1 = validate_axis(axis1, a.ndim)
    axis2 = validate_axis(axis2, a.ndim)
    if axis1 == axis2:
        raise ValueError("axis1 and axis2 cannot be the same")
    b = moveaxis(a, (axis1, axis2), (-2, -1))
    n1, n2 = b.shape[-2:]
    n = max(min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2), 0)
    if n == 0:
        return zeros((*b.shape[:-2], 0), dtype=a.dtype, chunks=(*b.chunks[:-2], (0,)))
    rows = np.arange(n) + max(-offset, 0)
    cols = np.arange(n) + max(offset, 0)
    picked = b.vindex[(slice(None),) * (b.ndim - 2) + (rows, cols)]
    return moveaxis(picked, 0, -1) if b.ndim > 2 else picked


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """Sums along diagonals (the diagonal is the last axis of ``diagonal``'s result)."""
    return diagonal(a, offset, axis1, axis2).sum(axis=-1, dtype=dtype)


def diag(v, k=0):
    """Diagonal of a 2-D array, or a 2-D array with ``v`` on its diagonal."""
    if not isinstance(v, (Array, np.ndarray)):
        raise TypeError(f"v must be a dask array or numpy array, got {type(v).__name__}")
    v = asarray(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError("Array must be 1d or 2d only")
    n = v.shape[0] + abs(k)
    from oxdask.array.creation import eye

    e = eye(n, k=k, dtype=v.dtype, chunks=max(v.chunksize[0], 1))
    pad_ = asarray(np.zeros(abs(k), v.dtype))
    if k > 0:
        return e * concatenate([pad_, v])[None, :]
    if k < 0:
        return e * concatenate([v, pad_])[None, :]
    return e * v[None, :]


_ = (is_dask_collection, _name, _blockwise_layer, starts)

from oxdask.array.routines_select import (  # noqa: E402, F401 - re-exported, defined there
    argwhere,
    choose,
    compress,
    count_nonzero,
    flatnonzero,
    isin,
    isnonzero,
    nonzero,
    piecewise,
    searchsorted,
    select,
    take,
)


def __getattr__(name):
    # Dask keeps every routine in ``dask.array.routines``; here some live in sibling modules.
    from oxdask.array import routines2, routines3

    for mod in (routines2, routines3):
        if name in mod.__all__:
            return getattr(mod, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
