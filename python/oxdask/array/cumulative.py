"""Cumulative reductions (``cumsum``, ``cumprod`` and ``nan*``): a scan per block, then a
sequential carry along the axis (one small task per block) added block by block."""

from __future__ import annotations

import numpy as np

from oxdask.array.blockwise import elemwise
from oxdask.array.core import _new, asarray
from oxdask.array.reductions import handle_out, validate_axis
from oxdask.highlevelgraph import MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["cumprod", "cumsum", "nancumprod", "nancumsum"]


def _last(x, axis, binop):
    if x.shape[axis] == 0:
        shape = tuple(1 if i == axis else s for i, s in enumerate(x.shape))
        return np.full(shape, 0 if binop is np.add else 1, dtype=x.dtype)
    # the running total, also where the last element is masked (np.ma's cumsum holds it)
    return np.ma.getdata(np.take(x, [-1], axis=axis))


class _NanTo:
    """NaN replaced by ``fill`` (a copy; masks kept)."""

    def __init__(self, fill):
        self.fill = fill

    def __call__(self, x):
        if x.dtype.kind not in "fc":
            return x
        x = x.copy()
        x[np.isnan(np.ma.getdata(x))] = self.fill
        return x


def _cumulative(npfunc, binop, a, axis, dtype, name, nan, out=None):

    a = asarray(a)
    if axis is None:
        a = a.ravel()
        axis = 0
    axis = validate_axis(axis, a.ndim)
    if nan:
        a = elemwise(_NanTo(0 if binop is np.add else 1), a, dtype=a.dtype)
    rdtype = npfunc(np.ones((1,), dtype=a.dtype), dtype=dtype).dtype
    part = elemwise(_CumBlock(npfunc, axis, dtype), a, dtype=rdtype)
    token = tokenize(part.name, axis, binop)
    lname = f"{name}-last-{token}"
    last = elemwise(_LastOf(axis, binop), part, dtype=rdtype, name=lname)
    cname = f"{name}-carry-{token}"
    oname = f"{name}-{token}"
    layer = {}
    nb = part.numblocks
    for idx in np.ndindex(*nb):
        key = (oname, *idx)
        if idx[axis] == 0:
            layer[key] = (part.name, *idx)
            continue
        prev = list(idx)
        prev[axis] -= 1
        prev = tuple(prev)
        if idx[axis] == 1:
            layer[(cname, *idx)] = (lname, *prev)
        else:
            layer[(cname, *idx)] = (binop, (cname, *prev), (lname, *prev))
        layer[key] = (binop, (part.name, *idx), (cname, *idx))
    return handle_out(out, _new(oname, MaterializedLayer(layer), [part, last], part.chunks, rdtype))


class _CumBlock:
    def __init__(self, func, axis, dtype):
        self.func = func
        self.axis = axis
        self.dtype = dtype

    def __call__(self, x):
        return self.func(x, axis=self.axis, dtype=self.dtype)


class _LastOf:
    def __init__(self, axis, binop):
        self.axis = axis
        self.binop = binop

    def __call__(self, x):
        return _last(x, self.axis, self.binop)


def cumsum(x, axis=None, dtype=None, out=None, method="sequential"):
    """Cumulative sum along ``axis`` (flattened when ``axis`` is None)."""
    return _cumulative(np.cumsum, np.add, x, axis, dtype, "cumsum", False, out)


def cumprod(x, axis=None, dtype=None, out=None, method="sequential"):
    """Cumulative product along ``axis`` (flattened when ``axis`` is None)."""
    return _cumulative(np.cumprod, np.multiply, x, axis, dtype, "cumprod", False, out)


def nancumsum(x, axis, dtype=None, out=None, *, method="sequential"):
    """Cumulative sum treating NaN as zero."""
    return _cumulative(np.cumsum, np.add, x, axis, dtype, "nancumsum", True, out)


def nancumprod(x, axis, dtype=None, out=None, *, method="sequential"):
    """Cumulative product treating NaN as one."""
    return _cumulative(np.cumprod, np.multiply, x, axis, dtype, "nancumprod", True, out)
