"""Masked arrays (``dask.array.ma``): arrays whose blocks are :class:`numpy.ma.MaskedArray`.

An Array of masked blocks has a masked ``_meta``; elementwise operations, slicing,
rechunking and the reductions of :mod:`oxdask.array` keep the masks (reductions skip masked
elements, as NumPy's ``np.ma`` functions do). The functions here create or take apart masked
arrays block by block.
"""

from __future__ import annotations

import numpy as np

from oxdask.array.blockwise import elemwise
from oxdask.array.core import Array, asanyarray

__all__ = [
    "average",
    "count",
    "empty_like",
    "filled",
    "fix_invalid",
    "getdata",
    "getmaskarray",
    "masked_array",
    "masked_equal",
    "masked_greater",
    "masked_greater_equal",
    "masked_inside",
    "masked_invalid",
    "masked_less",
    "masked_less_equal",
    "masked_not_equal",
    "masked_outside",
    "masked_values",
    "masked_where",
    "nonzero",
    "ones_like",
    "set_fill_value",
    "where",
    "zeros_like",
]


def _masked(x: Array, masked: bool = True) -> Array:
    """``x`` declared as having masked (or plain) blocks."""
    x._masked = masked
    return x


def _scalar_value(value, what):
    if getattr(value, "shape", ()):
        raise ValueError(f"da.ma.{what} doesn't support array `value`s")
    return value


class _Call:
    """``func(*args, **kwargs)`` on blocks; a picklable partial with a readable name."""

    def __init__(self, func, **kwargs):
        self.func = func
        self.kwargs = kwargs
        self.__name__ = func.__name__

    def __call__(self, *args):
        return self.func(*args, **self.kwargs)


def _elementwise(func, *args, dtype=None, masked=True, **kwargs):
    args = [asanyarray(a) if isinstance(a, (np.ndarray, list)) else a for a in args]
    out = elemwise(_Call(func, **kwargs), *args, dtype=dtype)
    return _masked(out, masked)


def filled(a, fill_value=None):
    """The data with masked elements replaced by ``fill_value`` (plain blocks)."""
    a = asanyarray(a)
    return _elementwise(np.ma.filled, a, dtype=a.dtype, masked=False, fill_value=fill_value)


def _compare(npfunc):
    def func(a, value):
        a = asanyarray(a)
        return _elementwise(npfunc, a, value, dtype=a.dtype)

    func.__name__ = npfunc.__name__
    func.__doc__ = f"Lazy :func:`numpy.ma.{npfunc.__name__}` (block by block)."
    return func


masked_greater = _compare(np.ma.masked_greater)
masked_greater_equal = _compare(np.ma.masked_greater_equal)
masked_less = _compare(np.ma.masked_less)
masked_less_equal = _compare(np.ma.masked_less_equal)
masked_not_equal = _compare(np.ma.masked_not_equal)


def masked_equal(a, value):
    """Mask the elements equal to ``value`` (a scalar)."""
    a = asanyarray(a)
    return _elementwise(np.ma.masked_equal, a, _scalar_value(value, "masked_equal"), dtype=a.dtype)


def masked_invalid(a):
    """Mask NaN and infinite elements."""
    a = asanyarray(a)
    return _elementwise(np.ma.masked_invalid, a, dtype=a.dtype)


def masked_inside(x, v1, v2):
    """Mask the elements in ``[v1, v2]``."""
    x = asanyarray(x)
    return _elementwise(np.ma.masked_inside, x, v1, v2, dtype=x.dtype)


def masked_outside(x, v1, v2):
    """Mask the elements outside ``[v1, v2]``."""
    x = asanyarray(x)
    return _elementwise(np.ma.masked_outside, x, v1, v2, dtype=x.dtype)


def masked_where(condition, a):
    """Mask ``a`` where ``condition`` is true (``condition`` of ``a``'s shape)."""
    cshape = getattr(condition, "shape", ())
    if cshape and tuple(cshape) != tuple(a.shape):
        raise IndexError(
            "Inconsistent shape between the condition and the "
            f"input (got {tuple(cshape)} and {tuple(a.shape)})"
        )
    a = asanyarray(a)
    return _elementwise(_masked_where, condition, a, dtype=a.dtype)


def _masked_where(condition, a):
    return np.ma.masked_where(condition, a)


def masked_values(x, value, rtol=1e-05, atol=1e-08, shrink=True):
    """Mask the elements (approximately) equal to ``value`` (a scalar)."""
    x = asanyarray(x)
    value = _scalar_value(value, "masked_values")
    return _elementwise(
        np.ma.masked_values, x, value, dtype=x.dtype, rtol=rtol, atol=atol, shrink=shrink
    )


def fix_invalid(a, fill_value=None):
    """Mask NaN and infinite elements and replace their data by ``fill_value``."""
    a = asanyarray(a)
    return _elementwise(np.ma.fix_invalid, a, dtype=a.dtype, fill_value=fill_value)


def getdata(a):
    """The data of a masked array (plain blocks)."""
    a = asanyarray(a)
    return _elementwise(np.ma.getdata, a, dtype=a.dtype, masked=False)


def getmaskarray(a):
    """The mask as a boolean array (plain blocks, False where nothing is masked)."""
    a = asanyarray(a)
    return _elementwise(np.ma.getmaskarray, a, dtype=bool, masked=False)


def _masked_array(data, mask=np.ma.nomask, masked_dtype=None, **kwargs):
    return np.ma.masked_array(data, mask=mask, dtype=masked_dtype, **kwargs)


def masked_array(data, mask=np.ma.nomask, fill_value=None, **kwargs):
    """A masked array from ``data`` and an optional ``mask`` of the same shape."""
    data = asanyarray(data)
    if getattr(fill_value, "shape", ()):
        raise ValueError("non-scalar fill_value not supported")
    kwargs["fill_value"] = fill_value
    kwargs.pop("chunks", None)
    dtype = np.dtype(kwargs["dtype"]) if kwargs.get("dtype") is not None else data.dtype
    kwargs["masked_dtype"] = kwargs.pop("dtype", None)
    kwargs["dtype"] = dtype  # declared
    if mask is np.ma.nomask:
        return _elementwise(_masked_array, data, **kwargs)
    mask = asanyarray(mask)
    if mask.size == 1:
        mask = mask.reshape((1,) * data.ndim)
    elif data.shape != mask.shape:
        raise np.ma.MaskError(
            "Mask and data not compatible: data shape is "
            f"{data.shape!r}, and mask shape is {mask.shape!r}."
        )
    return _elementwise(_masked_array, data, mask, **kwargs)


def _set_fill_value(x, fill_value):
    if isinstance(x, np.ma.MaskedArray):
        x = x.copy()
        np.ma.set_fill_value(x, fill_value)
    return x


def set_fill_value(a, fill_value):
    """Set the fill value of every block of ``a`` (in place: ``a`` becomes the new array)."""
    a = asanyarray(a)
    if getattr(fill_value, "shape", ()):
        raise ValueError("da.ma.set_fill_value doesn't support array `value`s")
    fill_value = np.ma.core._check_fill_value(fill_value, a.dtype)
    a._assign(_elementwise(_set_fill_value, a, fill_value, dtype=a.dtype, masked=a._masked))


def _like(npfunc):
    def func(a, **kwargs):
        a = asanyarray(a)
        dtype = kwargs.get("dtype", a.dtype)
        return _elementwise(npfunc, a, dtype=dtype, **kwargs)

    func.__name__ = npfunc.__name__
    func.__doc__ = f"Lazy :func:`numpy.ma.{npfunc.__name__}`: a masked array like ``a``."
    return func


ones_like = _like(np.ma.ones_like)
zeros_like = _like(np.ma.zeros_like)
empty_like = _like(np.ma.empty_like)


def _count_chunk(x, axis=None, keepdims=None):
    return np.ma.count(x, axis=axis, keepdims=keepdims)


def _count_agg(x, axis=None, keepdims=None):
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=np.intp)


def count(a, axis=None, keepdims=False, split_every=None):
    """Number of unmasked elements along ``axis``."""
    from oxdask.array.reductions import reduction

    return reduction(
        asanyarray(a),
        _count_chunk,
        _count_agg,
        axis=axis,
        keepdims=keepdims,
        dtype=np.intp,
        split_every=split_every,
        meta=np.empty((0,), np.intp),
        name="count",
    )


def _asarray(x, like=None):
    return np.ma.asarray(x if like is None else x * like)


def _weights_where_valid(a, w):
    """The weights, masked where ``a`` is."""
    return np.ma.masked_array(np.broadcast_to(w, np.shape(a)), mask=np.ma.getmaskarray(a))


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """Weighted average skipping masked elements (see :func:`numpy.ma.average`)."""
    from oxdask.array import reductions

    a = asanyarray(a)
    if not a._masked:
        a = _elementwise(_asarray, a, dtype=a.dtype)
    if weights is None:
        avg = reductions.mean(a, axis=axis, keepdims=keepdims)
        if not returned:
            return avg
        scl = count(a, axis=axis, keepdims=keepdims)
        return avg, elemwise(np.multiply, scl, np.ones((), avg.dtype))
    w = asanyarray(weights)
    if w.shape != a.shape:
        if axis is None:
            raise TypeError("Axis must be specified when shapes of a and weights differ.")
        if w.ndim != 1 or not isinstance(axis, (int, np.integer)):
            raise TypeError("1D weights expected when shapes of a and weights differ.")
        if w.shape[0] != a.shape[axis]:
            raise ValueError("Length of weights not compatible with specified axis.")
        w = w.reshape(tuple(-1 if i == axis % a.ndim else 1 for i in range(a.ndim)))
    wv = _masked(elemwise(_weights_where_valid, a, w))
    scl = reductions.sum(wv, axis=axis, keepdims=keepdims)
    num = reductions.sum(a * wv, axis=axis, keepdims=keepdims)
    avg = num / scl
    if returned:  # as np.ma: the sums of weights are masked arrays
        return avg, _elementwise(_asarray, scl, np.ones((), avg.dtype), dtype=avg.dtype)
    return avg


def nonzero(a):
    """Indices of the unmasked non-zero elements."""
    from oxdask.array.routines import nonzero as _nonzero

    return _nonzero(getdata(a) * ~getmaskarray(a))


def where(condition, x=None, y=None):
    """``x`` where ``condition`` else ``y``, keeping masks (see :func:`numpy.ma.where`)."""
    if (x is None) != (y is None):
        raise ValueError("either both or neither of x and y should be given")
    if x is None:
        return nonzero(condition)
    return _elementwise(np.ma.where, condition, x, y)
