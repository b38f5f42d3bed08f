"""Counting: ``histogram`` and ``bincount`` as reductions of per-block counts.

``histogram`` takes its bin edges, number of bins and range as values or as oxdask arrays
(lazy edges, a lazy number of bins, lazy range ends): every block's task receives them, and
the per-block counts are summed.
"""

from __future__ import annotations

import math

import numpy as np

from oxdask.array.core import Array, _new, asarray
from oxdask.array.reductions import leaves, reduction
from oxdask.highlevelgraph import MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["bincount", "histogram"]


def _unmasked(a, what):
    if a._masked:
        raise NotImplementedError(f"{what} of masked arrays is not supported")
    return a


def _is_scalar_bins(bins) -> bool:
    return bins is not None and np.ndim(bins) == 0


class _Ref:
    """A value given to every block task: a constant, or the key of a one-block array."""

    def __init__(self, value, deps):
        if isinstance(value, Array):
            if value.ndim:
                value = value.rechunk(-1)
            deps.append(value)
            self.key = (value.name, *(0,) * value.ndim)
            self.lazy = True
        else:
            self.key = value
            self.lazy = False


def _block_hist(x, bins, lo, hi, w=None):
    """The counts of one block as a row ``(1, nbins)``."""
    if np.ndim(bins) == 0:
        counts, _ = np.histogram(x, bins=int(bins), range=(lo, hi), weights=w)
    else:
        counts, _ = np.histogram(x, bins=bins, weights=w)
    return counts[np.newaxis, :]


def _linspace(lo, hi, n):
    return np.linspace(lo, hi, int(n) + 1)


def _check_range(range):
    if range is None:
        return
    try:
        n = len(range)
    except TypeError:
        raise TypeError(f"Expected a sequence of two values for `range`, got {range!r}") from None
    if n != 2 or any(np.ndim(r) != 0 for r in range):
        raise ValueError(f"`range` must be a pair of scalars, got {range!r}")


def histogram(a, bins=None, range=None, normed=False, weights=None, density=None):
    """Histogram of ``a`` (see :func:`numpy.histogram`): lazy counts and the bin edges.

    Parameters
    ----------
    a : Array
    bins : int, sequence, ndarray or Array
        Bin edges (a 1-D sequence or array, possibly lazy), or a number of bins (an int or a
        0-d Array; then ``range`` is required).
    range : (lower, upper), optional
        Values or 0-d Arrays.
    normed : bool
        Deprecated; raises ``ValueError`` (use ``density``).
    weights : Array, optional
        Of ``a``'s shape.
    density : bool, optional
        Normalize so that the integral over the range is one.

    Returns
    -------
    (Array, ndarray or Array)
        The counts, and the edges: ``bins`` itself when it was given as an array.
    """
    if normed:
        raise ValueError(
            "The normed argument is deprecated since NumPy 1.6 and removed in NumPy 2; "
            "use density=True instead"
        )
    scalar_bins = _is_scalar_bins(bins)
    if bins is None or (scalar_bins and range is None):
        raise ValueError(
            "dask.array.histogram requires either specifying bins as an iterable or "
            "specifying both a range and the number of bins"
        )
    _check_range(range)
    if not scalar_bins and np.ndim(bins) != 1:
        raise ValueError(f"`bins` must be 1-dimensional, got an array of shape {np.shape(bins)}")
    if scalar_bins and density and isinstance(bins, Array):
        raise NotImplementedError(
            "`bins` cannot be a scalar Dask object when density=True (the bin widths would "
            "not be known); pass the number of bins or the edges"
        )
    a = _unmasked(asarray(a), "histogram")
    deps = [a]
    w = None
    if weights is not None:
        w = asarray(weights)
        if w.shape != a.shape:
            raise ValueError(
                f"Input array of shape {a.shape} and weights of shape {w.shape} differ"
            )
        w = w.rechunk(a.chunks)
        deps.append(w)
    lazy = isinstance(bins, Array) or any(isinstance(r, Array) for r in range or ())
    if scalar_bins and not lazy:
        edges = np.linspace(range[0], range[1], int(bins) + 1)
        bins_ref, lo_ref, hi_ref = _Ref(int(bins), deps), _Ref(range[0], deps), _Ref(range[1], deps)
    elif scalar_bins:
        bins_ref, lo_ref, hi_ref = _Ref(bins, deps), _Ref(range[0], deps), _Ref(range[1], deps)
        edges = None
    else:
        edges = bins if isinstance(bins, (Array, np.ndarray)) else np.asarray(bins)
        bins_ref = _Ref(edges, deps)
        lo_ref = hi_ref = _Ref(None, deps)
    nbins = (
        (int(bins) if not isinstance(bins, Array) else math.nan)
        if scalar_bins
        else edges.shape[0] - 1
    )
    sample_w = None if w is None else np.ones(1, w.dtype)
    dtype = np.histogram(np.ones(1), bins=1, weights=sample_w)[0].dtype
    token = tokenize(a.name, None if w is None else w.name, bins_ref.key, lo_ref.key, hi_ref.key)
    name = f"histogram-blocks-{token}"
    layer = {}
    for k, idx in enumerate(np.ndindex(*a.numblocks)):
        task = [_block_hist, (a.name, *idx), bins_ref.key, lo_ref.key, hi_ref.key]
        if w is not None:
            task.append((w.name, *idx))
        layer[(name, k, 0)] = tuple(task)
    nblocks = len(layer)
    blocks = _new(name, MaterializedLayer(layer), deps, ((1,) * nblocks, (nbins,)), dtype)
    counts = blocks.sum(axis=0, dtype=dtype)
    if edges is None:  # edges from a lazy number of bins or lazy range ends
        ename = f"histogram-edges-{token}"
        elayer = {(ename, 0): (_linspace, lo_ref.key, hi_ref.key, bins_ref.key)}
        edges = _new(
            ename, MaterializedLayer(elayer), deps[1 + (w is not None) :], ((nbins + 1,),), float
        )
    elif not isinstance(edges, Array) and not isinstance(bins, (Array, np.ndarray)):
        edges = np.asarray(edges)
    if density:
        widths = np.diff(edges) if not isinstance(edges, Array) else _diff(edges)
        counts = counts / widths / counts.sum()
    given = not scalar_bins and isinstance(bins, (Array, np.ndarray))
    return counts, (bins if given else edges)


def _diff(edges):
    e = edges.rechunk(-1)
    return e.map_blocks(np.diff, chunks=((e.shape[0] - 1,),), dtype=float)


def _bincount_chunk(x, axis, keepdims, minlength, weights=None):
    return np.bincount(x.ravel(), minlength=minlength)


def _bincount_w(x, w, minlength):
    return np.bincount(x.ravel(), weights=w.ravel(), minlength=minlength)


def _bincount_agg(p, axis, keepdims, minlength, final=False):
    parts = leaves(p)
    n = max(len(q) for q in parts)
    out = np.zeros(n, dtype=np.result_type(*[q.dtype for q in parts]))
    for q in parts:
        out[: len(q)] += q
    if final and minlength and n > minlength:
        raise ValueError(
            f"bincount: values of {n - 1} and above found, but the declared length of the "
            f"result is minlength={minlength}; pass a larger minlength (or minlength=0 for "
            "a result of unknown length)"
        )
    return out


def bincount(x, weights=None, minlength=0, split_every=None):
    """Counts of each non-negative integer in the 1-D ``x`` (size unknown unless
    ``minlength`` bounds it)."""
    x = _unmasked(asarray(x), "bincount")
    if x.ndim != 1:
        raise ValueError("Input array must be one dimensional. Try using x.ravel()")
    if weights is not None:
        from oxdask.array.blockwise import elemwise

        w = asarray(weights)
        if w.chunks != x.chunks:
            w = w.rechunk(x.chunks)
        dtype = np.bincount(np.zeros(1, int), weights=np.ones(1, w.dtype)).dtype
        part = elemwise(_bincount_w, x, w, minlength, dtype=dtype)
        red = reduction(
            part,
            _identity_keep,
            _bincount_agg,
            axis=0,
            dtype=dtype,
            name="bincount",
            concatenate=False,
            split_every=split_every,
            aggregate_kwargs={"minlength": minlength, "final": True},
            combine_kwargs={"minlength": minlength},
        )
    else:
        dtype = np.intp
        red = reduction(
            x,
            _bincount_chunk,
            _bincount_agg,
            axis=0,
            dtype=dtype,
            name="bincount",
            concatenate=False,
            split_every=split_every,
            chunk_kwargs={"minlength": minlength},
            aggregate_kwargs={"minlength": minlength, "final": True},
            combine_kwargs={"minlength": minlength},
        )
    name = "bincount-" + tokenize(red.name)
    size = minlength if minlength else math.nan
    return _new(name, MaterializedLayer({(name, 0): (red.name,)}), [red], ((size,),), red.dtype)


def _identity_keep(x, axis, keepdims):
    return x


def _identity_keep(x, axis, keepdims):
    return x
