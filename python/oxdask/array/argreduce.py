"""Arg reductions (``argmin``, ``argmax`` and ``nan*``): tree reductions of (value, index)
pairs, the index made global with the block's location along the axis."""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from oxdask.array.core import asarray
from oxdask.array.reductions import handle_out, reduction, validate_axis

__all__ = ["argmax", "argmin", "nanargmax", "nanargmin"]


def _arg_chunk(x, axis, keepdims, loc, kind, nan):
    (ax,) = axis
    v = x
    if nan and x.dtype.kind in "fc":
        fill = np.inf if kind == "min" else -np.inf
        v = np.where(np.isnan(x), fill, x)
    if x.shape[ax] == 0:
        shape = tuple(1 if i == ax else s for i, s in enumerate(x.shape))
        return {"vals": np.full(shape, np.nan), "args": np.full(shape, -1, dtype=np.intp)}
    idx = np.argmin(v, axis=ax) if kind == "min" else np.argmax(v, axis=ax)
    idx = np.expand_dims(idx, ax)
    vals = np.take_along_axis(x, idx, axis=ax)
    return {"vals": vals, "args": idx + loc.start}


def _arg_combine(p, axis, keepdims, kind, nan):
    (ax,) = axis
    vals = p["vals"]
    v = vals
    if nan and vals.dtype.kind in "fc":
        v = np.where(np.isnan(vals), np.inf if kind == "min" else -np.inf, vals)
    idx = np.argmin(v, axis=ax) if kind == "min" else np.argmax(v, axis=ax)
    idx = np.expand_dims(idx, ax)
    out = {
        "vals": np.take_along_axis(vals, idx, axis=ax),
        "args": np.take_along_axis(p["args"], idx, axis=ax),
    }
    return out


def _arg_agg(p, axis, keepdims, kind, nan):
    out = _arg_combine(p, axis, True, kind, nan)
    if nan and out["vals"].dtype.kind in "fc" and np.isnan(np.ma.getdata(out["vals"])).any():
        raise ValueError("All-NaN slice encountered")  # as np.nanargmin / np.nanargmax
    r = out["args"]
    return r if keepdims else np.squeeze(r, axis=axis)


def _arg(kind, nan, a, axis, keepdims, split_every, out):
    a = asarray(a)
    for ax in range(a.ndim) if axis is None else [axis]:
        if isinstance(ax, Integral) and -a.ndim <= ax < a.ndim:
            c = a.chunks[ax]
            if len(c) > 1 and any(math.isnan(n) for n in c):
                raise ValueError(
                    "Arg-reductions do not work with arrays that have unknown chunksizes; "
                    "compute them first with x.compute_chunk_sizes()"
                )
    if axis is None:
        # over the flattened array; keepdims keeps every axis (length one), as NumPy
        ndim = a.ndim
        r = _arg(kind, nan, a.ravel(), 0, False, split_every, None)
        return handle_out(out, r.reshape((1,) * ndim) if keepdims else r)
    if not isinstance(axis, Integral):
        raise TypeError(f"axis must be either `None` or int, got '{axis}'")
    axis = validate_axis(axis, a.ndim)
    if a.shape[axis] == 0:
        raise ValueError(f"attempt to get arg{kind} of an empty sequence")
    kw = {"kind": kind, "nan": nan}
    return reduction(
        a,
        _arg_chunk,
        _arg_agg,
        axis=axis,
        keepdims=keepdims,
        dtype=np.intp,
        split_every=split_every,
        combine=_arg_combine,
        out=out,
        meta=np.empty((0,), np.intp),  # indices: plain arrays, even of masked arrays
        name=f"{'nan' if nan else ''}arg{kind}",
        chunk_kwargs=kw,
        combine_kwargs=kw,
        aggregate_kwargs=kw,
        _loc=True,
    )


def argmin(a, axis=None, keepdims=False, split_every=None, out=None):
    """Index of the minimum along ``axis`` (flattened when ``axis`` is None)."""
    return _arg("min", False, a, axis, keepdims, split_every, out)


def argmax(a, axis=None, keepdims=False, split_every=None, out=None):
    """Index of the maximum along ``axis`` (flattened when ``axis`` is None)."""
    return _arg("max", False, a, axis, keepdims, split_every, out)


def nanargmin(a, axis=None, keepdims=False, split_every=None, out=None):
    """Index of the minimum ignoring NaN."""
    return _arg("min", True, a, axis, keepdims, split_every, out)


def nanargmax(a, axis=None, keepdims=False, split_every=None, out=None):
    """Index of the maximum ignoring NaN."""
    return _arg("max", True, a, axis, keepdims, split_every, out)
