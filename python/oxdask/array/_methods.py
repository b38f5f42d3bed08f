"""Methods and properties of :class:`~oxdask.array.Array` that forward to module functions.

Kept apart from :mod:`oxdask.array.core` so that the core does not import every module.
"""

from __future__ import annotations

import numpy as np

from oxdask.array import argreduce, cumulative, linalg, reductions, routines
from oxdask.array.blockwise import elemwise
from oxdask.array.core import Array
from oxdask.array.percentile import argtopk, topk
from oxdask.array.reshape import ravel, reshape, squeeze, swapaxes, transpose


def _reduction_method(fn):
    def method(self, axis=None, *args, **kwargs):
        return fn(self, axis, *args, **kwargs)

    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


for _name in ("argmin", "argmax"):
    setattr(Array, _name, _reduction_method(getattr(argreduce, _name)))
for _name in (
    "sum",
    "prod",
    "mean",
    "std",
    "var",
    "min",
    "max",
    "any",
    "all",
    "nansum",
    "nanprod",
    "nanmean",
    "nanstd",
    "nanvar",
    "nanmin",
    "nanmax",
):
    setattr(Array, _name, _reduction_method(getattr(reductions, _name)))


def _cumsum(self, axis, dtype=None, out=None, *, method="sequential"):
    """Cumulative sum along ``axis``."""
    return cumulative.cumsum(self, axis, dtype=dtype, out=out, method=method)


def _cumprod(self, axis, dtype=None, out=None, *, method="sequential"):
    """Cumulative product along ``axis``."""
    return cumulative.cumprod(self, axis, dtype=dtype, out=out, method=method)


def _reshape(self, *shape, merge_chunks=True, limit=None):
    """Give a new shape (see :func:`oxdask.array.reshape`)."""
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = shape[0]
    return reshape(self, shape, merge_chunks=merge_chunks, limit=limit)


def _transpose(self, *axes):
    """Permute the dimensions."""
    if not axes:
        axes = None
    elif len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = axes[0]
    return transpose(self, axes)


def _clip(self, min=None, max=None):
    """Limit values to ``[min, max]``."""
    return routines.clip(self, min, max)


def _round(self, decimals=0):
    return routines.round(self, decimals)


def _conj(self):
    return elemwise(np.conj, self)


def _view(self, dtype=None, order="C"):
    dtype = np.dtype(dtype if dtype is not None else self.dtype)
    if dtype.itemsize != self.dtype.itemsize:
        raise NotImplementedError("view with a different item size is not supported")
    return elemwise(_View(dtype), self, dtype=dtype)


class _View:
    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, x):
        return x.view(self.dtype)


def _topk(self, k, axis=-1, split_every=None):
    return topk(self, k, axis=axis, split_every=split_every)


def _argtopk(self, k, axis=-1, split_every=None):
    return argtopk(self, k, axis=axis, split_every=split_every)


def _repeat(self, repeats, axis=None):
    return routines.repeat(self, repeats, axis=axis)


def _nonzero(self):
    return routines.nonzero(self)


def _dot(self, other):
    return linalg.dot(self, other)


def _squeeze(self, axis=None):
    return squeeze(self, axis)


def _swapaxes(self, axis1, axis2):
    return swapaxes(self, axis1, axis2)


def _ravel(self):
    return ravel(self)


def _trace(self, offset=0, axis1=0, axis2=1, dtype=None):
    return routines.trace(self, offset, axis1, axis2, dtype)


def _moment(self, order, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None):
    """Central moment of the given order."""
    mu = self.mean(axis=axis, keepdims=True)
    n = self.size if axis is None else np.prod([self.shape[a] for a in np.atleast_1d(axis)])
    return ((self - mu) ** order).sum(axis=axis, keepdims=keepdims, dtype=dtype) / (n - ddof)


Array.cumsum = _cumsum
Array.cumprod = _cumprod
Array.reshape = _reshape
Array.transpose = _transpose
Array.T = property(lambda self: transpose(self))
Array.mT = property(lambda self: swapaxes(self, -1, -2))
Array.clip = _clip
Array.round = _round
Array.conj = _conj
Array.view = _view
Array.topk = _topk
Array.argtopk = _argtopk
Array.repeat = _repeat
Array.nonzero = _nonzero
Array.dot = _dot
Array.squeeze = _squeeze
Array.swapaxes = _swapaxes
Array.ravel = _ravel
Array.flatten = _ravel
Array.trace = _trace
Array.moment = _moment
Array.real = property(lambda self: elemwise(np.real, self))
Array.imag = property(lambda self: elemwise(np.imag, self))
