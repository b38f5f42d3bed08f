"""Discrete Fourier transforms of oxdask arrays (``dask.array.fft``): NumPy's ``numpy.fft``
functions block by block. A transform needs every axis it runs along in one chunk (rechunk
first: ``x.rechunk({axis: -1})``); the other axes keep their chunks."""

from __future__ import annotations

import numpy as np

from oxdask.array.core import asarray

__all__ = [
    "fft", "fft2", "fft_wrap", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn",
    "ifftshift", "ihfft", "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn",
]  # fmt: skip

# What a transform's output length along an axis is, given the input length n and the
# requested length s (None: the input's): for each kind of transform.
_LENGTHS = {
    "fft": lambda n, s: s if s is not None else n,
    "rfft": lambda n, s: (s if s is not None else n) // 2 + 1,
    "irfft": lambda n, s: s if s is not None else 2 * (n - 1),
    "hfft": lambda n, s: s if s is not None else 2 * (n - 1),
    "ihfft": lambda n, s: (s if s is not None else n) // 2 + 1,
}


def _kind(func) -> str:
    name = func.__name__.rstrip("n2")
    if name in ("fft", "ifft"):
        return "fft"
    if name in ("rfft",):
        return "rfft"
    if name in ("irfft",):
        return "irfft"
    return name


def _chunk_error(axis, chunks):
    return ValueError(
        "Dask array only supports taking an FFT along an axis that has a single chunk. An FFT "
        f"operation was tried on axis {axis} which has chunks {chunks}. To change the array's "
        f"chunks use dask.Array.rechunk."
    )


class _Transform:
    """``func`` on one block with the fixed keywords of the call."""

    def __init__(self, func, kwargs):
        self.func = func
        self.kwargs = kwargs

    def __call__(self, block):
        return self.func(block, **self.kwargs)


def fft_wrap(fft_func, kind=None, dtype=None, allow_fftpack=False):
    """An oxdask version of a NumPy-style FFT function (``numpy.fft.fft``-like signature:
    ``(a, n, axis, norm)`` for 1-d kinds, ``(a, s, axes, norm)`` for n-d ones)."""
    kind = kind or _kind(fft_func)
    if kind not in _LENGTHS:
        raise ValueError(f"Given unknown `kind` {kind}.")
    multi = fft_func.__name__.endswith(("n", "2"))
    two = fft_func.__name__.endswith("2")

    def wrapped(a, n=None, axis=None, norm=None, s=None, axes=None):
        a = asarray(a)
        if multi:
            if n is not None and s is None:
                s = n
            if axis is not None and axes is None:
                axes = axis
            if axes is None:
                if two:
                    axes = (-2, -1)
                else:
                    axes = tuple(range(a.ndim)) if s is None else tuple(range(-len(s), 0))
            axes = tuple(ax % a.ndim for ax in axes)
            sizes = [None] * len(axes) if s is None else list(s)
            kwargs = {"s": s, "axes": axes, "norm": norm}
        else:
            axes = ((-1 if axis is None else axis) % a.ndim,)
            sizes = [n]
            kwargs = {"n": n, "axis": axes[0], "norm": norm}
        for ax in axes:
            if len(a.chunks[ax]) != 1:
                raise _chunk_error(ax, a.chunks[ax])
        chunks = list(a.chunks)
        for i, (ax, size) in enumerate(zip(axes, sizes, strict=True)):
            last = multi and i == len(axes) - 1
            rule = _LENGTHS[kind] if (not multi or last or kind == "fft") else _LENGTHS["fft"]
            chunks[ax] = (rule(a.shape[ax], size),)
        sample = fft_func(np.ones((2,) * a.ndim, dtype=a.dtype)).dtype if dtype is None else dtype
        return a.map_blocks(_Transform(fft_func, kwargs), chunks=tuple(chunks), dtype=sample)

    wrapped.__name__ = fft_func.__name__
    wrapped.__doc__ = f"``numpy.fft.{fft_func.__name__}`` of an oxdask array (see fft_wrap)."
    return wrapped


fft = fft_wrap(np.fft.fft)
ifft = fft_wrap(np.fft.ifft)
rfft = fft_wrap(np.fft.rfft)
irfft = fft_wrap(np.fft.irfft)
hfft = fft_wrap(np.fft.hfft)
ihfft = fft_wrap(np.fft.ihfft)
fft2 = fft_wrap(np.fft.fft2, kind="fft")
ifft2 = fft_wrap(np.fft.ifft2, kind="fft")
fftn = fft_wrap(np.fft.fftn, kind="fft")
ifftn = fft_wrap(np.fft.ifftn, kind="fft")
rfft2 = fft_wrap(np.fft.rfft2, kind="rfft")
irfft2 = fft_wrap(np.fft.irfft2, kind="irfft")
rfftn = fft_wrap(np.fft.rfftn, kind="rfft")
irfftn = fft_wrap(np.fft.irfftn, kind="irfft")


def fftfreq(n, d=1.0, chunks="auto"):
    """The sample frequencies of an FFT of length ``n`` (as ``numpy.fft.fftfreq``)."""
    from oxdask.array.core import from_array

    return from_array(np.fft.fftfreq(int(n), d), chunks=chunks)


def rfftfreq(n, d=1.0, chunks="auto"):
    """The sample frequencies of an ``rfft`` of length ``n``."""
    from oxdask.array.core import from_array

    return from_array(np.fft.rfftfreq(int(n), d), chunks=chunks)


def _shift(x, axes, inverse):
    from oxdask.array.routines import roll

    x = asarray(x)
    axes = tuple(range(x.ndim)) if axes is None else (axes,) if np.isscalar(axes) else axes
    for ax in axes:
        n = x.shape[ax]
        x = roll(x, -(n // 2) if inverse else n // 2, axis=ax)
    return x


def fftshift(x, axes=None):
    """The zero-frequency term moved to the centre (as ``numpy.fft.fftshift``)."""
    return _shift(x, axes, False)


def ifftshift(x, axes=None):
    """The inverse of :func:`fftshift`."""
    return _shift(x, axes, True)
