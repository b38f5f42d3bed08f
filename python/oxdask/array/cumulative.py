"""Cumulative reductions (``cumsum``, ``cumprod`` and ``nan*``): a scan per block, then a
sequential carry along the axis (one small task per block) added block by block."""

from __future__ import annotations

import numpy as np

from oxdask.array.blockwise import elemwise
from oxdask.array.chunk import concatenate
from oxdask.array.core import _new, asarray
from oxdask.array.reductions import handle_out, validate_axis
from oxdask.highlevelgraph import MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["cumprod", "cumreduction", "cumsum", "nancumprod", "nancumsum"]


def _last(x, axis, ident):
    if x.shape[axis] == 0:
        shape = tuple(1 if i == axis else s for i, s in enumerate(x.shape))
        return np.full(shape, ident, dtype=x.dtype)
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


def cumreduction(
    func, binop, ident, x, axis=None, dtype=None, out=None, method="sequential", preop=None
):
    """A cumulative reduction along ``axis`` (the flattened array when None).

    Parameters
    ----------
    func : callable
        The scan of one block, ``func(block, axis=axis, dtype=dtype)`` (``np.cumsum``,
        ``np.add.accumulate``...).
    binop : callable
        Combines a carried value with the scan (``np.add`` for ``np.cumsum``).
    ident : scalar
        Identity of ``binop`` (0 for sums, 1 for products).
    x : Array
    axis : int, optional
    dtype : dtype, optional
    out : Array, optional
        Replaced by the result (as Dask's ``out=``).
    method : {"sequential", "blelloch"}
        "blelloch" scans all blocks in parallel and combines the carried values afterwards
        (partial products may overflow where the sequential scan does not).
    preop : callable, optional
        Accepted for compatibility.

    Sums scan every block in parallel and add the carried totals afterwards; other
    operations ("sequential") scan each block starting from the previous block's last value,
    so that results equal NumPy's sequential scan.
    """
    if method not in ("sequential", "blelloch"):
        raise ValueError(
            'Invalid method for cumreduction.  Expected "sequential" or "blelloch".  '
            f"Got: {method!r}"
        )
    return _cumulative(func, binop, ident, x, axis, dtype, "cumreduction", False, out, method)


def _cumulative(npfunc, binop, ident, a, axis, dtype, name, nan, out=None, method="sequential"):
    a = asarray(a)
    if axis is None:
        a = a.ravel()
        axis = 0
    axis = validate_axis(axis, a.ndim)
    if nan:
        a = elemwise(_NanTo(ident), a, dtype=a.dtype)
    rdtype = npfunc(np.ones((1,), dtype=a.dtype), axis=0, dtype=dtype).dtype
    scan = _CumBlock(npfunc, axis, dtype)
    token = tokenize(a.name, npfunc, binop, ident, axis, dtype)
    lname = f"{name}-last-{token}"
    oname = f"{name}-{token}"
    layer = {}
    if binop is np.add or method == "blelloch":
        part = elemwise(scan, a, dtype=rdtype)
        last = elemwise(_LastOf(axis, ident), part, dtype=rdtype, name=lname)
        cname = f"{name}-carry-{token}"
        for idx in np.ndindex(*part.numblocks):
            key = (oname, *idx)
            if idx[axis] == 0:
                layer[key] = (part.name, *idx)
                continue
            prev = (*idx[:axis], idx[axis] - 1, *idx[axis + 1 :])
            if idx[axis] == 1:
                layer[(cname, *idx)] = (lname, *prev)
            else:
                layer[(cname, *idx)] = (binop, (cname, *prev), (lname, *prev))
            layer[key] = (binop, (cname, *idx), (part.name, *idx))  # earlier values first
        deps = [part, last]
    else:
        seeded = _Seeded(scan)
        take_last = _LastOf(axis, ident)
        for idx in np.ndindex(*a.numblocks):
            key = (oname, *idx)
            layer[(lname, *idx)] = (take_last, key)
            if idx[axis] == 0:
                layer[key] = (scan, (a.name, *idx))
            else:
                prev = (*idx[:axis], idx[axis] - 1, *idx[axis + 1 :])
                layer[key] = (seeded, (lname, *prev), (a.name, *idx))
        deps = [a]
    result = _new(oname, MaterializedLayer(layer), deps, a.chunks, rdtype)
    return handle_out(out, result)


class _CumBlock:
    def __init__(self, func, axis, dtype):
        self.func = func
        self.axis = axis
        self.dtype = dtype

    def __call__(self, x):
        return self.func(x, axis=self.axis, dtype=self.dtype)


class _Seeded:
    """The scan of a block that starts from ``carry`` (the previous block's last value)."""

    def __init__(self, scan):
        self.scan = scan

    def __call__(self, carry, x):
        out = self.scan(concatenate([carry, x], axis=self.scan.axis))
        return out[(slice(None),) * self.scan.axis + (slice(1, None),)]


class _LastOf:
    def __init__(self, axis, ident):
        self.axis = axis
        self.ident = ident

    def __call__(self, x):
        return _last(x, self.axis, self.ident)


def cumsum(x, axis=None, dtype=None, out=None, method="sequential"):
    """Cumulative sum along ``axis`` (flattened when ``axis`` is None)."""
    return _cumulative(np.cumsum, np.add, 0, x, axis, dtype, "cumsum", False, out, method)


def cumprod(x, axis=None, dtype=None, out=None, method="sequential"):
    """Cumulative product along ``axis`` (flattened when ``axis`` is None)."""
    return _cumulative(np.cumprod, np.multiply, 1, x, axis, dtype, "cumprod", False, out, method)


def nancumsum(x, axis, dtype=None, out=None, *, method="sequential"):
    """Cumulative sum treating NaN as zero."""
    return _cumulative(np.cumsum, np.add, 0, x, axis, dtype, "nancumsum", True, out, method)


def nancumprod(x, axis, dtype=None, out=None, *, method="sequential"):
    """Cumulative product treating NaN as one."""
    return _cumulative(np.cumprod, np.multiply, 1, x, axis, dtype, "nancumprod", True, out, method)
