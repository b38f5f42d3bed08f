"""Reductions as tree reductions: ``sum``, ``mean``, ``var``, ``argmin``, ... and ``reduction``.

A reduction is two layers: a Blockwise *chunk* layer (each block reduced on its own, keeping
the reduced axes as length-one or small axes) and one ``TreeReduce`` layer that combines
groups of at most ``split_every`` blocks per axis, level after level, and calls the
*aggregate* function last. Both layers stay compact; a chain of elementwise operations in
front of the chunk layer runs in the same task per block (the engine fuses linear chains).

Arg reductions live in :mod:`oxdask.array.argreduce`, cumulative ones in
:mod:`oxdask.array.cumulative`, moments (``mean``, ``var``, ``std``) in
:mod:`oxdask.array.moments`; intermediate values may be dicts of arrays, concatenated field by
field.

NaN-aware min/max use ``np.fmin``/``np.fmax`` reductions, which return NaN for all-NaN slices
without warnings (masked and object blocks use ``np.nanmin``/``np.nanmax``). Blocks of masked
arrays are reduced with NumPy's masked-array methods, so masked elements are skipped; full
reductions to 0-d give NumPy scalars, as NumPy does.
"""

from __future__ import annotations

import builtins
import math
import warnings
from numbers import Integral

import numpy as np

from oxdask import config
from oxdask.array.blockwise import _blockwise_layer
from oxdask.array.chunk import concatenate_nested
from oxdask.array.core import Array, _new, asarray
from oxdask.highlevelgraph import TreeReduceLayer
from oxdask.tokenize import tokenize

__all__ = [
    "all",
    "any",
    "max",
    "mean",
    "min",
    "nanmax",
    "nanmean",
    "nanmin",
    "nannumel",
    "nanprod",
    "nanstd",
    "nansum",
    "nanvar",
    "numel",
    "prod",
    "reduction",
    "std",
    "sum",
    "var",
]


def validate_axis(axis, ndim) -> int:
    if not isinstance(axis, Integral):
        raise TypeError(f"Axis value must be an integer, got {axis}")
    if not -ndim <= axis < builtins.max(ndim, 1):
        from numpy.exceptions import AxisError

        raise AxisError(axis, ndim)
    return int(axis) % builtins.max(ndim, 1)


def _axes(axis, ndim) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, Integral):
        axis = (axis,)
    out = tuple(validate_axis(a, ndim) for a in axis)
    if len(set(out)) != len(out):
        raise ValueError("duplicate value in 'axis'")
    return out


def _split_every(split_every, axes) -> list[int]:
    if split_every is None:
        split_every = config.get("split_every", None) or 32
    if isinstance(split_every, dict):
        return [builtins.max(int(split_every.get(a, 2)), 2) for a in axes]
    per = builtins.max(round(split_every ** (1 / builtins.max(len(axes), 1))), 2)
    return [per] * len(axes)


#: A reduction computes its input blocks inside the tasks of its first level (see
#: ``blockwise_fusion.inline_tree_inputs``) when every block of the input is at most
#: ``_INLINE_BYTES`` and the first level still has ``_INLINE_GROUPS`` tasks: then per-task
#: overhead outweighs the work of a block, and there is enough parallelism left for any
#: cluster of a few hundred threads.
_INLINE_BYTES = 1 << 20
_INLINE_GROUPS = 256


def _inline_ok(x, axes, split_every) -> bool:
    if builtins.any(len(c) == 0 or builtins.any(math.isnan(b) for b in c) for c in x.chunks):
        return False  # no blocks, or sizes unknown
    largest = math.prod(builtins.max(c) for c in x.chunks) * builtins.max(x.dtype.itemsize, 1)
    if largest > _INLINE_BYTES:
        return False
    groups = 1
    for i, c in enumerate(x.chunks):
        groups *= -(-len(c) // split_every[axes.index(i)]) if i in axes else len(c)
    return groups >= _INLINE_GROUPS


# Plain ufunc reductions and their ufuncs: no floating-point state to silence, and
# ``ufunc.reduce`` skips the dispatch layers of ``np.sum`` (a few microseconds per block on
# million-block arrays); partial results combine element-wise with the ufunc itself.
_UFUNCS = {np.sum: np.add, np.prod: np.multiply, np.min: np.minimum, np.max: np.maximum}
_FAST = {func: ufunc.reduce for func, ufunc in _UFUNCS.items()}


def _keeps_dtype(func, dtype, kwargs) -> bool:
    """Whether the plain reduction ``func`` with ``kwargs`` (none, or ``dtype=``) returns
    ``dtype`` unchanged (sums and products widen small integers and booleans)."""
    if kwargs:
        return set(kwargs) == {"dtype"} and np.dtype(kwargs["dtype"]) == dtype
    if func is np.min or func is np.max:
        return dtype.kind in "biuf"
    return dtype.kind == "f" or dtype in (np.dtype(np.int64), np.dtype(np.uint64))


class _Chunk:
    """Reduce one block, keeping dims; optionally passes the block's Loc along ``axis``."""

    def __init__(self, func, axes, kwargs, weighted=False):
        self.fast = _FAST.get(func)
        self.func = func
        self.axes = axes
        self.kwargs = kwargs
        self.weighted = weighted

    def __call__(self, x, *locs):
        if self.weighted:
            w, *locs = locs
            with np.errstate(all="ignore"):
                return self.func(x, axis=self.axes, keepdims=True, weights=w, **self.kwargs)
        if self.func in _NO_IDENTITY and 0 in x.shape:
            # an empty block (of a filtered array) adds nothing: its empty partial result is
            # concatenated with the others; all empty raises NumPy's error at the end
            return x
        if self.fast is not None and type(x) is np.ndarray and x.dtype.kind in "biuf" and x.size:
            if builtins.all(x.shape[a] == 1 for a in self.axes) and _keeps_dtype(
                self.func, x.dtype, self.kwargs
            ):
                return x  # reducing axes of length one: the block is its own result
            return self.fast(x, axis=self.axes, keepdims=True, **self.kwargs)
        with np.errstate(all="ignore"):
            if locs:
                return self.func(x, axis=self.axes, keepdims=True, loc=locs[0], **self.kwargs)
            return self.func(x, axis=self.axes, keepdims=True, **self.kwargs)


class _Level:
    """Combine/aggregate step: concatenate nested blocks along the axes, then reduce."""

    def __init__(self, func, axes, keepdims, concatenate, kwargs):
        self.func = func
        self.axes = axes
        self.keepdims = keepdims
        self.concatenate = concatenate
        self.kwargs = kwargs

    def __call__(self, nested):
        if self.concatenate and self.func in _FAST:
            out = _elementwise(self.func, nested, self.axes, self.keepdims, self.kwargs)
            if out is not None:
                return out
        x = _concat_any(nested, self.axes) if self.concatenate else nested
        with np.errstate(all="ignore"):
            out = self.func(x, axis=self.axes, keepdims=self.keepdims, **self.kwargs)
        return _scalar(out) if not self.keepdims else out


def _scalar(x):
    """A 0-d NumPy array as its scalar (as NumPy's reductions return); others unchanged."""
    if type(x) is np.ndarray and x.ndim == 0:
        return x[()]
    if isinstance(x, np.ma.MaskedArray) and x.ndim == 0:
        return np.ma.masked if x.mask else x.data[()]
    return x


def leaves(nested, out=None) -> list:
    """The non-list items of nested lists, in order (appended to ``out`` when given)."""
    out = [] if out is None else out
    if isinstance(nested, list):
        for n in nested:
            leaves(n, out)
    else:
        out.append(nested)
    return out


def _elementwise(func, nested, axes, keepdims, kwargs):
    """``func`` over the concatenation of partial results that are each of length one along
    ``axes``, computed as an element-wise ufunc over the partials: no concatenated copy.
    None when the partials are not such arrays of one shape and dtype."""
    parts = leaves(nested)
    first = parts[0]
    if not (
        type(first) is np.ndarray
        and first.size >= 4096  # smaller partials: one concatenation costs less than n ufuncs
        and _keeps_dtype(func, first.dtype, kwargs)
        and builtins.all(first.shape[a] == 1 for a in axes)
        and builtins.all(
            type(p) is np.ndarray and p.shape == first.shape and p.dtype == first.dtype
            for p in parts
        )
    ):
        return None
    ufunc = _UFUNCS[func]
    out = first.copy() if len(parts) == 1 else ufunc(first, parts[1])
    for p in parts[2:]:
        ufunc(out, p, out=out)
    if keepdims:
        return out
    out = out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in axes))
    return out[()] if out.ndim == 0 else out


def _first_leaf(nested):
    while isinstance(nested, list):
        nested = nested[0]
    return nested


def _concat_any(nested, axes):
    leaf = _first_leaf(nested)
    if isinstance(leaf, dict):
        return {k: concatenate_nested(_field(nested, k), axes) for k in leaf}
    return concatenate_nested(nested, axes)


def _field(nested, k):
    if isinstance(nested, list):
        return [_field(n, k) for n in nested]
    return nested[k]


def reduction(
    x,
    chunk,
    aggregate,
    axis=None,
    keepdims=False,
    dtype=None,
    split_every=None,
    combine=None,
    name=None,
    out=None,
    concatenate=True,
    output_size=1,
    meta=None,
    weights=None,
    chunk_kwargs=None,
    combine_kwargs=None,
    aggregate_kwargs=None,
    _loc=False,
):
    """A general tree reduction.

    Parameters
    ----------
    x : Array
    chunk : callable
        ``chunk(block, axis=axes, keepdims=True)`` on every block.
    aggregate : callable
        ``aggregate(values, axis=axes, keepdims=keepdims)`` on the concatenated last level.
    axis : int or tuple of int, optional
    keepdims : bool
    dtype : dtype
    split_every : int or dict, optional
        Largest number of blocks combined at once (total, or per axis as a dict).
    combine : callable, optional
        Intermediate levels (default: ``aggregate`` with ``keepdims=True``).
    name : str, optional
    out : Array, optional
        Not supported (must be None).
    concatenate : bool
        Concatenate the nested lists of blocks before ``combine``/``aggregate`` (``False``:
        they receive the nested lists).
    output_size : int
        Size of each chunk result along the reduced axes.
    meta, weights
        Accepted for compatibility (``weights`` must be None).

    Returns
    -------
    Array
    """
    x = asarray(x)
    axes = _axes(axis, x.ndim)
    if dtype is None:
        dtype = x.dtype
    dtype = np.dtype(dtype)
    combine = combine or aggregate
    token = name or "reduce"
    split_every = _split_every(split_every, axes)
    base = tokenize(
        x.name,
        chunk,
        aggregate,
        combine,
        axes,
        keepdims,
        dtype,
        split_every,
        chunk_kwargs,
        aggregate_kwargs,
    )
    cname = f"{token}-chunk-{base}"
    chunks_c = tuple((output_size,) * len(c) if i in axes else c for i, c in enumerate(x.chunks))
    locs = [axes[0]] if _loc else []
    inds = list(range(x.ndim))
    args = [(x, inds)]
    if weights is not None:  # broadcast against x and passed to ``chunk`` as weights=
        from oxdask.array.reshape import broadcast_to

        try:
            w = broadcast_to(asarray(weights), x.shape)
        except ValueError as e:
            raise ValueError(
                f"Weights with shape {np.shape(weights)} are not broadcastable "
                f"to x with shape {x.shape}"
            ) from e
        args.append((w.rechunk(x.chunks), inds))
        base = tokenize(base, args[-1][0].name)
        cname = f"{token}-chunk-{base}"
    layer, extra = _blockwise_layer(
        cname,
        _Chunk(chunk, axes, chunk_kwargs or {}, weighted=weights is not None),
        inds,
        args,
        x.chunks,
        locs=locs,
    )
    c = _new(cname, layer, [a for a, _ in args], chunks_c, dtype, extra)
    oname = f"{token}-aggregate-{base}"
    tree = TreeReduceLayer(
        oname,
        cname,
        c.numblocks,
        axes,
        split_every,
        _Level(combine, axes, True, concatenate, combine_kwargs or {}),
        _Level(aggregate, axes, keepdims, concatenate, aggregate_kwargs or {}),
        keepdims=keepdims,
        inline_ok=_inline_ok(x, axes, split_every),
    )
    if keepdims:
        out_chunks = tuple((1,) if i in axes else ch for i, ch in enumerate(x.chunks))
    else:
        out_chunks = tuple(ch for i, ch in enumerate(x.chunks) if i not in axes)
    if meta is not None and not isinstance(meta, np.ma.MaskedArray):
        meta = np.empty((0,) * len(out_chunks), dtype=dtype)  # plain blocks, even from masked
    elif meta is not None:
        meta = np.ma.empty((0,) * len(out_chunks), dtype=dtype)
    return handle_out(out, _new(oname, tree, [c], out_chunks, dtype, meta=meta))


def normalize_out(out):
    """``out=`` as one Array or None (a tuple of one Array is that Array)."""
    if isinstance(out, tuple):
        if len(out) > 1:
            raise NotImplementedError("The out parameter is not fully supported")
        out = out[0] if out else None
    if out is not None and not isinstance(out, Array):
        raise NotImplementedError(
            "The out parameter is not fully supported. "
            f"Received type {type(out).__name__}, expected Dask Array"
        )
    return out


def handle_out(out, result):
    """The ``out=`` argument of Dask: ``out`` (an Array of the result's shape) becomes the
    result and is returned; without ``out``, ``result``."""
    out = normalize_out(out)
    if out is None:
        return result
    if out.shape != result.shape:
        raise ValueError(
            f"Mismatched shapes between result and out parameter. out={out.shape}, "
            f"result={result.shape}"
        )
    out._assign(result)
    return out


# -- element counts (chunk functions, on NumPy arrays) -----------------------------------


def numel(x, axis=None, keepdims=False, dtype=None):
    """Number of elements of ``x`` along ``axis``, shaped as ``np.sum(x, axis, ...)``."""
    axes = tuple(range(x.ndim)) if axis is None else _axes(axis, x.ndim)
    count = math.prod(x.shape[a] for a in axes)
    if keepdims:
        shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    else:
        shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    return np.full(shape, count, dtype=dtype or np.intp)


def nannumel(x, axis=None, keepdims=False, dtype=None):
    """Number of non-NaN elements of ``x`` along ``axis``."""
    return np.sum(~np.isnan(x), axis=axis, keepdims=keepdims, dtype=dtype or np.intp)


# -- simple reductions ---------------------------------------------------------------------


def _dtype_of(func, dt, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    return np.dtype(getattr(func(np.ones((1,), dtype=dt)), "dtype", object))


def _simple(
    npfunc,
    name,
    a,
    axis,
    dtype,
    keepdims,
    split_every,
    out,
    combine_func=None,
    with_dtype=True,
    initial_dtype=None,
):
    a = asarray(a)
    kw = {"dtype": dtype} if (with_dtype and dtype is not None) else {}
    rdtype = (
        _dtype_of(npfunc, a.dtype, dtype)
        if with_dtype
        else (initial_dtype if initial_dtype is not None else a.dtype)
    )
    agg = combine_func or npfunc
    return reduction(
        a,
        npfunc,
        agg,
        axis=axis,
        keepdims=keepdims,
        dtype=rdtype,
        split_every=split_every,
        out=out,
        name=name,
        chunk_kwargs=kw,
        aggregate_kwargs=kw,
        combine_kwargs=kw,
    )


def sum(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
    """Sum of elements over ``axis`` (see :func:`numpy.sum`)."""
    return _simple(np.sum, "sum", a, axis, dtype, keepdims, split_every, out)


def prod(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
    """Product of elements over ``axis`` (see :func:`numpy.prod`)."""
    return _simple(np.prod, "prod", a, axis, dtype, keepdims, split_every, out)


def nansum(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
    """Sum treating NaN as zero (see :func:`numpy.nansum`)."""
    return _simple(
        np.nansum, "nansum", a, axis, dtype, keepdims, split_every, out, combine_func=np.sum
    )


def nanprod(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
    """Product treating NaN as one (see :func:`numpy.nanprod`)."""
    return _simple(
        np.nanprod, "nanprod", a, axis, dtype, keepdims, split_every, out, combine_func=np.prod
    )


def _check_nonempty(a, axis, what):
    a = asarray(a)
    for ax in _axes(axis, a.ndim):
        if a.shape[ax] == 0:
            raise ValueError(f"zero-size array to reduction operation {what} which has no identity")
    if axis is None and a.size == 0:
        raise ValueError(f"zero-size array to reduction operation {what} which has no identity")
    return a


def min(a, axis=None, keepdims=False, split_every=None, out=None):
    """Minimum over ``axis`` (see :func:`numpy.min`)."""
    a = _check_nonempty(a, axis, "minimum")
    return _simple(np.min, "min", a, axis, None, keepdims, split_every, out, with_dtype=False)


def max(a, axis=None, keepdims=False, split_every=None, out=None):
    """Maximum over ``axis`` (see :func:`numpy.max`)."""
    a = _check_nonempty(a, axis, "maximum")
    return _simple(np.max, "max", a, axis, None, keepdims, split_every, out, with_dtype=False)


def _quiet_nan(func, x, axis, keepdims):
    """``func`` (np.nanmin, np.nanmax) without the warning of all-NaN slices (NaN)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN", RuntimeWarning)
        return func(x, axis=axis, keepdims=keepdims)


def _fmin(x, axis, keepdims):
    if type(x) is not np.ndarray or x.dtype.kind not in "biufcmM":
        # masked and object arrays: ``fmin`` ignores masks and misorders NaN among objects
        return _quiet_nan(np.nanmin, x, axis, keepdims)
    return np.fmin.reduce(x, axis=axis, keepdims=keepdims)


def _fmax(x, axis, keepdims):
    if type(x) is not np.ndarray or x.dtype.kind not in "biufcmM":
        return _quiet_nan(np.nanmax, x, axis, keepdims)
    return np.fmax.reduce(x, axis=axis, keepdims=keepdims)


# reductions without an identity: empty blocks are skipped (see _Chunk)
_NO_IDENTITY = (np.min, np.max, _fmin, _fmax)


def nanmin(a, axis=None, keepdims=False, split_every=None, out=None):
    """Minimum ignoring NaN; NaN (without a warning) where a slice is all NaN."""
    a = _check_nonempty(a, axis, "fmin")
    return reduction(
        a,
        _fmin,
        _fmin,
        axis=axis,
        keepdims=keepdims,
        dtype=a.dtype,
        split_every=split_every,
        out=out,
        name="nanmin",
    )


def nanmax(a, axis=None, keepdims=False, split_every=None, out=None):
    """Maximum ignoring NaN; NaN (without a warning) where a slice is all NaN."""
    a = _check_nonempty(a, axis, "fmax")
    return reduction(
        a,
        _fmax,
        _fmax,
        axis=axis,
        keepdims=keepdims,
        dtype=a.dtype,
        split_every=split_every,
        out=out,
        name="nanmax",
    )


def _any(x, axis, keepdims):
    return np.any(x, axis=axis, keepdims=keepdims)


def _all(x, axis, keepdims):
    return np.all(x, axis=axis, keepdims=keepdims)


def any(a, axis=None, keepdims=False, split_every=None, out=None):
    """Whether any element over ``axis`` is true."""
    return reduction(
        a,
        _any,
        _any,
        axis=axis,
        keepdims=keepdims,
        dtype=bool,
        split_every=split_every,
        out=out,
        name="any",
    )


def all(a, axis=None, keepdims=False, split_every=None, out=None):
    """Whether all elements over ``axis`` are true."""
    return reduction(
        a,
        _all,
        _all,
        axis=axis,
        keepdims=keepdims,
        dtype=bool,
        split_every=split_every,
        out=out,
        name="all",
    )


# Moments (mean, var, std and nan forms) live in oxdask.array.moments.
from oxdask.array.moments import (  # noqa: E402 - moments builds on reduction() above
    mean,
    nanmean,
    nanstd,
    nanvar,
    std,
    var,
)

_ = Array


def __getattr__(name):
    # ``cumreduction`` lives in oxdask.array.cumulative (which imports this module)
    if name == "cumreduction":
        from oxdask.array.cumulative import cumreduction

        return cumreduction
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
