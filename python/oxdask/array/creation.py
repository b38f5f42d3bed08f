"""Arrays made from nothing: ``ones``, ``zeros``, ``full``, ``empty`` (and ``*_like``),
``arange``, ``linspace``, ``eye``, ``identity``, ``fromfunction``, ``indices``, ``meshgrid``,
``tri``, ``diag``, ``diagonal``.

Each is one Blockwise layer whose tasks receive their block's location, so creating a
million-block array builds one layer and two small location layers.
"""

from __future__ import annotations

import math
import operator
from numbers import Integral

import numpy as np

from oxdask.array import chunk as _chunk
from oxdask.array._chunks import normalize_chunks
from oxdask.array.blockwise import _blockwise_layer
from oxdask.array.core import Array, _new, asarray
from oxdask.tokenize import tokenize

__all__ = [
    "arange",
    "empty",
    "empty_like",
    "eye",
    "fromfunction",
    "full",
    "full_like",
    "identity",
    "indices",
    "linspace",
    "meshgrid",
    "ones",
    "ones_like",
    "tri",
    "zeros",
    "zeros_like",
]


def _shape(shape) -> tuple:
    if isinstance(shape, Integral):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("negative dimensions are not allowed")
    return shape


def _fill(kind, npfunc, shape, dtype, chunks, name, fill=None, order="C"):
    shape = _shape(shape)
    dtype = np.dtype(
        dtype if dtype is not None else (np.asarray(fill).dtype if fill is not None else float)
    )
    chunks = normalize_chunks(chunks, shape, dtype=dtype)
    name = name or f"{kind}-" + tokenize(shape, chunks, dtype, fill)
    ndim = len(shape)
    kwargs = {"func": npfunc, "dtype": dtype}
    if fill is not None:
        kwargs["fill"] = fill
    if ndim == 0:
        value = np.full((), fill, dtype) if fill is not None else npfunc((), dtype=dtype)
        from oxdask.highlevelgraph import MaterializedLayer

        return _new(name, MaterializedLayer({(name,): value}), [], (), dtype)
    layer, extra = _blockwise_layer(
        name,
        _chunk.filled,
        list(range(ndim)),
        [],
        chunks,
        locs=range(ndim),
        kwargs=kwargs,
        inline=True,
    )
    return _new(name, layer, [], chunks, dtype, extra)


def ones(shape, dtype=float, chunks="auto", name=None, order="C", *, like=None):
    """An array of ones.

    Parameters
    ----------
    shape : int or tuple of int
    dtype : dtype
    chunks : int, tuple or "auto"
    name : str, optional
    order, like
        Accepted for compatibility.

    Returns
    -------
    Array
    """
    return _fill("ones", np.ones, shape, dtype, chunks, name)


def zeros(shape, dtype=float, chunks="auto", name=None, order="C", *, like=None):
    """An array of zeros (parameters as :func:`ones`)."""
    return _fill("zeros", np.zeros, shape, dtype, chunks, name)


def empty(shape, dtype=float, chunks="auto", name=None, order="C", *, like=None):
    """An uninitialized array (parameters as :func:`ones`)."""
    return _fill("empty", np.empty, shape, dtype, chunks, name)


def full(shape, fill_value, dtype=None, chunks="auto", name=None, order="C", *, like=None):
    """An array filled with ``fill_value`` (a scalar).

    Parameters
    ----------
    shape : int or tuple of int
    fill_value : scalar
    dtype : dtype, optional
        Default: the dtype of ``fill_value``.
    chunks : int, tuple or "auto"
    name : str, optional

    Returns
    -------
    Array
    """
    if np.ndim(fill_value) != 0:
        raise ValueError(
            f"fill_value must be scalar. Received {type(fill_value).__name__} instead."
        )
    if dtype is None:
        dtype = np.array(fill_value).dtype
    return _fill("full", np.full, shape, dtype, chunks, name, fill=fill_value)


def _like(a, dtype, chunks, shape):
    a = asarray(a) if not isinstance(a, Array) and not hasattr(a, "shape") else a
    dtype = np.dtype(dtype if dtype is not None else a.dtype)
    shape = a.shape if shape is None else _shape(shape)
    if chunks is None:
        chunks = a.chunks if isinstance(a, Array) and shape == a.shape else "auto"
    return dtype, chunks, shape


class _LikeBlock:
    """Block of ``*_like`` for arrays of unknown chunk sizes: built from the input block."""

    def __init__(self, npfunc, dtype, fill=None):
        self.npfunc = npfunc
        self.dtype = dtype
        self.fill = fill

    def __call__(self, block):
        if self.npfunc is np.full_like:
            return np.full_like(block, self.fill, dtype=self.dtype)
        return self.npfunc(block, dtype=self.dtype)


def _unknown_like(a, shape, chunks):
    from oxdask.array._chunks import _isnan

    return (
        shape is None
        and chunks is None
        and isinstance(a, Array)
        and any(_isnan(s) for s in a.shape)
    )


def ones_like(a, dtype=None, order="C", chunks=None, name=None, shape=None):
    """Ones with the shape, dtype and chunks of ``a``."""
    if _unknown_like(a, shape, chunks):
        dt = np.dtype(dtype if dtype is not None else a.dtype)
        return a.map_blocks(_LikeBlock(np.ones_like, dt), dtype=dt)
    dtype, chunks, shape = _like(a, dtype, chunks, shape)
    return ones(shape, dtype=dtype, chunks=chunks, name=name)


def zeros_like(a, dtype=None, order="C", chunks=None, name=None, shape=None):
    """Zeros with the shape, dtype and chunks of ``a``."""
    if _unknown_like(a, shape, chunks):
        dt = np.dtype(dtype if dtype is not None else a.dtype)
        return a.map_blocks(_LikeBlock(np.zeros_like, dt), dtype=dt)
    dtype, chunks, shape = _like(a, dtype, chunks, shape)
    return zeros(shape, dtype=dtype, chunks=chunks, name=name)


def empty_like(a, dtype=None, order="C", chunks=None, name=None, shape=None):
    """An uninitialized array with the shape, dtype and chunks of ``a``."""
    if _unknown_like(a, shape, chunks):
        dt = np.dtype(dtype if dtype is not None else a.dtype)
        return a.map_blocks(_LikeBlock(np.empty_like, dt), dtype=dt)
    dtype, chunks, shape = _like(a, dtype, chunks, shape)
    return empty(shape, dtype=dtype, chunks=chunks, name=name)


def full_like(a, fill_value, order="C", dtype=None, chunks=None, name=None, shape=None):
    """``fill_value`` with the shape, dtype and chunks of ``a``."""
    if _unknown_like(a, shape, chunks):
        dt = np.dtype(dtype if dtype is not None else a.dtype)
        return a.map_blocks(_LikeBlock(np.full_like, dt, fill_value), dtype=dt)
    dtype, chunks, shape = _like(a, dtype, chunks, shape)
    return full(shape, fill_value, dtype=dtype, chunks=chunks, name=name)


def arange(start=None, /, stop=None, step=None, *, chunks="auto", like=None, dtype=None, **kwargs):
    """Evenly spaced values ``start, start + step, ...`` below ``stop``.

    Length, dtype and values follow :func:`numpy.arange`: without ``dtype`` the result is at
    least ``int64`` (``float64`` for floats or integers beyond ``int64``), and each value is
    ``first + i * (second - first)`` computed in the output dtype.

    Parameters
    ----------
    start, stop, step : number
        As :func:`numpy.arange` (``arange(stop)``, ``arange(start, stop[, step])``).
    chunks : int, tuple or "auto"
    dtype : dtype, optional

    Returns
    -------
    Array
    """
    if start is None and stop is None:
        raise TypeError("arange() requires stop to be specified.")
    if stop is None:
        start, stop = 0, start
    elif start is None:
        start = 0
    if step is None:
        step = 1
    if step == 0:
        raise ZeroDivisionError("step must not be 0")
    n = math.ceil((stop - start) / step)
    num = max(int(n), 0)
    if dtype is None:
        dtype = np.dtype(np.int64)
        for v in (start, stop, step):
            dtype = np.promote_types(dtype, np.asarray(v).dtype)
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, (num,), dtype=dtype)
    unknown = set(kwargs) - {"name"}
    if unknown:
        raise TypeError(f"arange() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    name = kwargs.get("name") or "arange-" + tokenize(start, stop, step, chunks, dtype)
    layer, extra = _blockwise_layer(
        name,
        _arange_block,
        [0],
        [(start, None), (step, None), (dtype, None)],
        chunks,
        locs=[0],
        inline=True,
    )
    return _new(name, layer, [], chunks, dtype, extra)


def _arange_block(start, step, dtype, loc):
    n = loc.stop - loc.start
    if dtype.kind == "b" or n == 0:
        return np.arange(start + loc.start * step, start + loc.stop * step, step, dtype=dtype)[:n]
    # as NumPy: the first two values are cast to dtype, the others extrapolated from them
    two = np.empty(2, dtype=dtype)
    two[0] = start
    two[1] = start + step
    first, delta = two[0], two[1] - two[0]
    if dtype.kind in "mM":
        out = np.asarray(first + np.arange(loc.start, loc.stop) * delta, dtype=dtype)
    else:  # in place: one block-sized array (plus the positions for non-integer dtypes)
        if dtype.kind in "iu":
            out = np.arange(loc.start, loc.stop, dtype=dtype)
        else:
            out = np.arange(loc.start, loc.stop).astype(dtype)
        out *= delta
        out += first
    if loc.start <= 1 < loc.stop:
        out[1 - loc.start] = two[1]
    if loc.start == 0:
        out[0] = first
    return out


def linspace(start, stop, num=50, endpoint=True, retstep=False, chunks="auto", dtype=None):
    """``num`` evenly spaced values from ``start`` to ``stop``.

    Parameters
    ----------
    start, stop : number
    num : int
    endpoint : bool
    retstep : bool
        Also return the spacing.
    chunks : int, tuple or "auto"
    dtype : dtype, optional
        Default: as :func:`numpy.linspace`, ``result_type(start, stop, float(num))``.

    Returns
    -------
    Array, or (Array, float)
    """
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    if isinstance(start, Array) or isinstance(stop, Array):
        return _lazy_linspace(start, stop, num, endpoint, retstep, chunks, dtype)
    work = np.result_type(start, stop, float(num))
    dtype = np.dtype(dtype if dtype is not None else work)
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else float("nan")
    chunks = normalize_chunks(chunks, (num,), dtype=dtype)
    name = "linspace-" + tokenize(start, stop, num, endpoint, chunks, dtype)
    layer, extra = _blockwise_layer(
        name,
        _linspace_block,
        [0],
        [(start, None), (stop, None), (num, None), (endpoint, None), (dtype, None)],
        chunks,
        locs=[0],
        inline=True,
    )
    out = _new(name, layer, [], chunks, dtype, extra)
    return (out, work.type(step)) if retstep else out


def _lazy_linspace(start, stop, num, endpoint, retstep, chunks, dtype):
    """``linspace`` between 0-d lazy bounds: blocks of positions mapped with the bounds."""
    kinds = [b.dtype.type(0) if isinstance(b, Array) else b for b in (start, stop)]
    work = np.result_type(*kinds, float(num))
    dtype = np.dtype(dtype if dtype is not None else work)
    for b in (start, stop):
        if isinstance(b, Array) and b.ndim:
            raise ValueError("linspace bounds must be scalars")
    pos = arange(num, chunks=normalize_chunks(chunks, (num,), dtype=dtype))
    out = pos.map_blocks(
        _linspace_positions, start, stop, num=num, endpoint=endpoint, out=dtype, dtype=dtype
    )
    if retstep:
        div = (num - 1) if endpoint else num
        return out, ((stop - start) / div if div > 0 else float("nan"))
    return out


def _linspace_positions(pos, start, stop, num, endpoint, out):
    if not len(pos):
        return np.zeros(0, out)
    full_ = np.linspace(start[()], stop[()], num, endpoint=endpoint, dtype=out)
    return full_[pos[0] : pos[-1] + 1]


def _linspace_block(start, stop, num, endpoint, dtype, loc):
    if num < 1 << 16:
        return np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)[loc.start : loc.stop]
    # NumPy's formula on this block only
    work = np.result_type(start, stop, float(num))
    div = (num - 1) if endpoint else num
    delta = np.asarray(stop, dtype=work) - np.asarray(start, dtype=work)
    y = np.arange(loc.start, loc.stop, dtype=work)
    step = delta / div
    y = y / div * delta if step == 0 else y * step
    y += start
    if endpoint and loc.stop == num and num > 1:
        y[-1] = stop
    if np.issubdtype(dtype, np.integer):
        np.floor(y, out=y)
    return y.astype(dtype, copy=False)


def eye(N, chunks="auto", M=None, k=0, dtype=float):
    """A 2-D array with ones on the ``k``-th diagonal.

    Parameters
    ----------
    N : int
    chunks : int or "auto"
    M : int, optional
        Number of columns (default ``N``).
    k : int
    dtype : dtype

    Returns
    -------
    Array
    """
    return _diagonal_band("eye", _eye_block, N, M, k, dtype, chunks)


def _diagonal_band(prefix, block_fn, N, M, k, dtype, chunks):
    """An ``N`` x ``M`` array whose blocks ``block_fn(k, dtype, rows, cols)`` builds."""
    M = N if M is None else M
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, (N, M), dtype=dtype)
    name = f"{prefix}-" + tokenize(N, M, k, chunks, dtype)
    layer, extra = _blockwise_layer(
        name,
        block_fn,
        [0, 1],
        [(k, None), (dtype, None)],
        chunks,
        locs=[0, 1],
        inline=True,
    )
    return _new(name, layer, [], chunks, dtype, extra)


def _eye_block(k, dtype, row, col):
    return _chunk.eye_block(row, col, k, dtype)


def identity(n, dtype=float, chunks="auto"):
    """The ``n`` x ``n`` identity matrix."""
    return eye(n, chunks=chunks, dtype=dtype)


def tri(N, M=None, k=0, dtype=float, chunks="auto", *, like=None):
    """Ones at and below the ``k``-th diagonal."""
    return _diagonal_band("tri", _tri_block, N, M, k, dtype, chunks)


def _tri_block(k, dtype, row, col):
    r = np.arange(row.start, row.stop)[:, None]
    c = np.arange(col.start, col.stop)[None, :]
    return (c - r <= k).astype(dtype)


class _FromFunction:
    def __init__(self, func, dtype, kwargs):
        self.func = func
        self.dtype = dtype
        self.kwargs = kwargs

    def __call__(self, *locs):
        grids = np.meshgrid(
            *[np.arange(loc.start, loc.stop, dtype=self.dtype) for loc in locs],
            indexing="ij",
            sparse=False,
        )
        return self.func(*grids, **self.kwargs)


def fromfunction(function, shape, *, dtype=float, chunks="auto", **kwargs):
    """Array whose element at ``(i, j, ...)`` is ``function(i, j, ...)`` (vectorized)."""
    shape = _shape(shape)
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, shape, dtype=dtype)
    name = "fromfunction-" + tokenize(function, shape, chunks, dtype, kwargs)
    probe = function(*np.zeros((len(shape), *(1,) * len(shape)), dtype=dtype), **kwargs)
    layer, extra = _blockwise_layer(
        name,
        _FromFunction(function, dtype, kwargs),
        list(range(len(shape))),
        [],
        chunks,
        locs=range(len(shape)),
        inline=True,
    )
    return _new(name, layer, [], chunks, np.asarray(probe).dtype, extra)


def indices(dimensions, dtype=int, chunks="auto"):
    """Grid indices: an array of shape ``(len(dimensions), *dimensions)``."""
    from oxdask.array.routines import stack

    dimensions = tuple(dimensions)
    chunks = normalize_chunks(chunks, dimensions, dtype=dtype)
    grids = []
    for d in range(len(dimensions)):
        grids.append(fromfunction(_Axis(d), dimensions, dtype=dtype, chunks=chunks))
    if not grids:
        return ones((0,), dtype=dtype, chunks=1)
    return stack(grids)


class _Axis:
    def __init__(self, d):
        self.d = d

    def __call__(self, *grids):
        return grids[self.d]


def meshgrid(*xi, sparse=False, indexing="xy", **kwargs):
    """Coordinate arrays from 1-D arrays (as :func:`numpy.meshgrid`)."""
    from oxdask.array.reshape import broadcast_to

    if indexing not in ("ij", "xy"):
        raise ValueError("`indexing` must be `'ij'` or `'xy'`")
    xi = [asarray(x).ravel() for x in xi]
    if indexing == "xy" and len(xi) > 1:
        xi[0], xi[1] = xi[1], xi[0]
    grids = []
    for i, x in enumerate(xi):
        idx = [None] * len(xi)
        idx[i] = slice(None)
        grids.append(x[tuple(idx)])
    if not sparse:
        shape = tuple(x.shape[0] for x in xi)
        chunks = tuple(x.chunks[0] for x in xi)
        grids = [broadcast_to(g, shape, chunks=chunks) for g in grids]
    if indexing == "xy" and len(xi) > 1:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)
