"""Block-structured routines for drop-in compatibility with ``dask.array``: ``gradient``,
``coarsen``, ``histogramdd``/``histogram2d``, ``push``, ``shuffle``, and the ``Array``
methods ``choose``, ``shuffle``, ``partitions`` and ``A``.
"""

from __future__ import annotations

import builtins
import math
from numbers import Integral

import numpy as np

from oxdask.array.core import Array, asarray
from oxdask.array.reductions import validate_axis

__all__ = [
    "aligned_coarsen_chunks",
    "coarsen",
    "gradient",
    "histogram2d",
    "histogramdd",
    "push",
    "shuffle",
]


# -- gradient -----------------------------------------------------------------------------------


def _gradient_block(block, coord=None, axis=0, locs=None, grad_kwargs=None, block_id=None):
    if locs is not None:
        i = block_id[axis]
        coord = coord[locs[0][i] : locs[1][i]]
    if block.shape[axis] < 2:
        return np.zeros_like(block)
    return np.gradient(block, coord, axis=axis, **grad_kwargs)


def gradient(f, *varargs, axis=None, **kwargs):
    """Gradient by second-order central differences (as :func:`numpy.gradient`).

    Spacing: scalars, or 1-D NumPy coordinates per axis. Every block along a differentiated
    axis needs more than ``edge_order`` elements.
    """
    f = asarray(f)
    kwargs["edge_order"] = math.ceil(kwargs.get("edge_order", 1))
    if kwargs["edge_order"] > 2:
        raise ValueError("edge_order must be less than or equal to 2.")
    single = isinstance(axis, Integral)
    if axis is None:
        axes = tuple(range(f.ndim))
    else:
        axes = (axis,) if single else tuple(axis)
        axes = tuple(validate_axis(a, f.ndim) for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError("duplicate axes not allowed")
    if not varargs:
        varargs = (1,)
    if len(varargs) == 1:
        varargs = varargs * len(axes)
    if len(varargs) != len(axes):
        raise TypeError("Spacing must either be a single scalar, or a scalar / 1d-array per axis")
    if f.dtype.kind in "biu" or (f.dtype.kind == "f" and f.dtype.itemsize < 4):
        f = f.astype(float)
    out = []
    for ax, spacing in zip(axes, varargs, strict=True):
        smallest = min(f.chunks[ax], default=0)
        if smallest < kwargs["edge_order"] + 1:
            raise ValueError(
                "Chunk size must be larger than edge_order + 1. "
                f"Minimum chunk for axis {ax} is {smallest}. Rechunk to proceed."
            )
        locs = None
        if isinstance(spacing, Array):
            raise NotImplementedError("dask array coordinated is not supported.")
        if np.ndim(spacing):
            spacing = np.asarray(spacing)
            if spacing.shape != (f.shape[ax],):
                raise ValueError(
                    "when 1d, distances must match the length of the corresponding dimension"
                )
            stops = np.cumsum(f.chunks[ax])
            lo = np.maximum(stops - np.asarray(f.chunks[ax]) - 1, 0)
            hi = np.minimum(stops + 1, f.shape[ax])
            locs = (lo.tolist(), hi.tolist())
        out.append(
            f.map_overlap(
                _gradient_block,
                depth={d: 1 if d == ax else 0 for d in range(f.ndim)},
                boundary="none",
                dtype=f.dtype,
                coord=spacing,
                axis=ax,
                locs=locs,
                grad_kwargs=kwargs,
            )
        )
    return out[0] if single else out


# -- coarsen ------------------------------------------------------------------------------------


def aligned_coarsen_chunks(chunks, multiple):
    """Block sizes with the same total as ``chunks``, each a multiple of ``multiple`` except
    possibly an added last one; blocks that already are multiples keep their size and place.

    The remainders of the other blocks are pooled and handed back in whole multiples, first
    to the smallest of those blocks (so that none becomes empty), the rest at the end.
    """
    chunks = [int(c) for c in chunks]
    base = [c - c % multiple for c in chunks]
    excess = sum(c % multiple for c in chunks)
    invalid = sorted((i for i, c in enumerate(chunks) if c % multiple), key=lambda i: base[i])
    units, leftover = divmod(excess, multiple)
    k = 0
    while units and invalid:
        base[invalid[k % len(invalid)]] += multiple
        units -= 1
        k += 1
    out = [c for c in base if c > 0]
    if leftover:
        out.append(leftover)
    return tuple(out)


class _Coarsen:
    def __init__(self, reduction, factors, kwargs):
        self.reduction = reduction
        self.factors = factors
        self.kwargs = kwargs

    def __call__(self, block):
        shape = []
        for d, n in enumerate(block.shape):
            f = self.factors.get(d, 1)
            shape += [n // f, f]
        red_axes = tuple(range(1, 2 * block.ndim, 2))
        return self.reduction(block.reshape(shape), axis=red_axes, **self.kwargs)


def coarsen(reduction, x, axes, trim_excess=False, **kwargs):
    """Reduce every run of ``axes[d]`` neighbouring elements along each axis ``d``.

    ``reduction`` is a NumPy reduction (``np.sum``, ``np.mean``...; oxdask functions are
    replaced by the NumPy function of the same name).
    """
    x = asarray(x)
    factors = {validate_axis(k, x.ndim): int(v) for k, v in axes.items()}
    if not trim_excess and any(x.shape[d] % f for d, f in factors.items()):
        raise ValueError(f"Coarsening factors {axes} do not align with array shape {x.shape}.")
    if trim_excess:
        x = x[tuple(slice(0, s - s % factors.get(d, 1)) for d, s in enumerate(x.shape))]
    mod = getattr(reduction, "__module__", "") or ""
    if mod.split(".")[0] in ("oxdask", "dask") and hasattr(np, reduction.__name__):
        reduction = getattr(np, reduction.__name__)
    target = [aligned_coarsen_chunks(c, factors.get(d, 1)) for d, c in enumerate(x.chunks)]
    x = x.rechunk(tuple(target))
    out_chunks = tuple(tuple(b // factors.get(d, 1) for b in c) for d, c in enumerate(x.chunks))
    fn = _Coarsen(reduction, factors, kwargs)
    probe = np.ones(tuple(factors.get(d, 1) for d in range(x.ndim)), dtype=x.dtype)
    dtype = np.asarray(fn(probe)).dtype
    return x.map_blocks(fn, chunks=out_chunks, dtype=dtype)


# -- histograms ---------------------------------------------------------------------------------


class _HistBlock:
    def __init__(self, edges):
        self.edges = edges

    def __dask_tokenize__(self):
        return ("histogramdd-block", [e.tolist() for e in self.edges])

    def __call__(self, sample, weights=None):
        w = None if weights is None else weights[:, 0]
        h, _ = np.histogramdd(sample, bins=self.edges, weights=w)
        return h[None]


def _sample(sample, weights):
    """The sample as one (N, D) array chunked along its rows only, and the weights (N, 1)."""
    from oxdask.array.routines import stack

    if isinstance(sample, (list, tuple)):
        cols = [asarray(s) for s in sample]
        if len({c.chunks for c in cols}) > 1:
            raise ValueError("All coordinate arrays must be chunked identically.")
        stacked = stack([c.ravel() for c in cols], axis=1).rechunk({1: len(cols)})
        if weights is not None:
            weights = asarray(weights)
            if weights.chunks[0] != cols[0].chunks[0] or weights.ndim != 1:
                raise ValueError(
                    "Input arrays and weights must have the same shape and chunk structure."
                )
    else:
        stacked = asarray(sample)
        if stacked.ndim != 2:
            raise ValueError(
                "Single array input to histogramdd should be columnar (a 2-d array of shape (N, D))"
            )
        if stacked.numblocks[1] > 1:
            raise ValueError("Input array can only be chunked along the 0th axis.")
        if weights is not None:
            weights = asarray(weights)
            if weights.ndim != 1 or weights.chunks[0] != stacked.chunks[0]:
                raise ValueError(
                    "Input array and weights must have the same shape and chunk structure "
                    "along the first dimension."
                )
    return stacked, None if weights is None else weights[:, None]


def histogramdd(sample, bins, range=None, normed=None, weights=None, density=None):
    """Multidimensional histogram (as :func:`numpy.histogramdd`); returns ``(hist, edges)``.

    ``sample`` is an (N, D) array chunked along its rows only, or D 1-d arrays chunked alike.
    The counts are lazy; the edges are NumPy arrays (computed from the data's extremes when
    ``bins`` has counts and ``range`` is not given).
    """
    if normed is not None:
        if density is not None:
            raise TypeError("Cannot specify both 'normed' and 'density'")
        density = normed
    stacked, w = _sample(sample, weights)
    D = stacked.shape[1]
    if isinstance(bins, Integral):
        bins = [int(bins)] * D
    bins = [b.compute() if isinstance(b, Array) else b for b in bins]
    if len(bins) != D:
        raise ValueError("The dimension of bins must be equal to the dimension of the sample.")
    if range is not None:
        if len(range) != D:
            raise ValueError("range argument requires one entry, a min max pair, per dimension.")
        if not all(r is None or (np.ndim(r) == 1 and len(r) == 2) for r in range):
            raise ValueError("range argument should be a sequence of pairs")
    counts = [isinstance(b, Integral) for b in bins]
    if any(counts) and (range is None or any(r is None for r in range)):
        lo = np.asarray(stacked.min(axis=0).compute()) if stacked.shape[0] else np.zeros(D)
        hi = np.asarray(stacked.max(axis=0).compute()) if stacked.shape[0] else np.ones(D)
        given = range if range is not None else [None] * D
        range = [r if r is not None else (lo[d], hi[d]) for d, r in enumerate(given)]
    edges = []
    for d, b in enumerate(bins):
        if counts[d]:
            lo_, hi_ = (float(v) for v in range[d])
            if lo_ == hi_:
                lo_, hi_ = lo_ - 0.5, hi_ + 0.5
            edges.append(np.linspace(lo_, hi_, b + 1))
        else:
            e = np.asarray(b, dtype=float)
            if e.ndim != 1 or np.any(np.diff(e) < 0):
                raise ValueError(f"`bins[{d}]` must be monotonically increasing, when an array")
            edges.append(e)
    nbins = tuple(len(e) - 1 for e in edges)
    args = [stacked] if w is None else [stacked, w]
    per_block = Array.map_blocks(
        args[0],
        _HistBlock(edges),
        *args[1:],
        drop_axis=1,
        new_axis=list(builtins.range(1, D + 1)),
        chunks=((1,) * stacked.numblocks[0], *((n,) for n in nbins)),
        dtype=float,
    )
    hist = per_block.sum(axis=0)
    if density:
        s = hist.sum()
        for d in builtins.range(D):
            shape = [1] * D
            shape[d] = nbins[d]
            hist = hist / np.diff(edges[d]).reshape(shape)
        hist = hist / s
    return hist, edges


def histogram2d(x, y, bins=10, range=None, normed=None, weights=None, density=None):
    """Two-dimensional histogram (as :func:`numpy.histogram2d`): ``(hist, xedges, yedges)``."""
    try:
        n = len(bins)
    except TypeError:
        n = 1
    if n not in (1, 2):
        bins = [bins, bins]
    hist, edges = histogramdd(
        [x, y], bins, range=range, normed=normed, weights=weights, density=density
    )
    return hist, edges[0], edges[1]


# -- unique with first indices and inverse -------------------------------------------------------


def _unique_block(block, offset):
    vals, first, counts = np.unique(block.ravel(), return_index=True, return_counts=True)
    return vals, first + offset, counts


def _unique_merge(parts):
    vals = np.concatenate([p[0] for p in parts])
    first = np.concatenate([p[1] for p in parts])
    counts = np.concatenate([p[2] for p in parts])
    uniq, inv = np.unique(vals, return_inverse=True)
    total = np.zeros(len(uniq), dtype=np.intp)
    np.add.at(total, inv, counts)
    earliest = np.full(len(uniq), np.iinfo(np.intp).max, dtype=np.intp)
    np.minimum.at(earliest, inv, first)
    return uniq, earliest, total


def _inverse_block(block, merged):
    return np.searchsorted(merged[0][0], block)


def unique(ar, return_index=False, return_inverse=False, return_counts=False):
    """Sorted unique values (a 1-d array of unknown size), as :func:`numpy.unique`: with the
    index of each value's first occurrence in the flattened input, the inverse (shaped as
    the input) and the counts when asked."""
    from oxdask.array.io import from_delayed
    from oxdask.array.percentile import unique as _unique_counts
    from oxdask.delayed import delayed

    if not return_index and not return_inverse:
        return _unique_counts(ar, return_counts=return_counts)
    a = asarray(ar)
    flat = a.ravel()
    offsets = np.cumsum((0, *flat.chunks[0]))
    blocks = flat.to_delayed().ravel().tolist()
    parts = [
        delayed(_unique_block, pure=True)(b, int(o)) for b, o in zip(blocks, offsets, strict=False)
    ]
    merged = delayed(_unique_merge, pure=True)(parts)
    out = [from_delayed(merged[0], shape=(math.nan,), dtype=a.dtype)]
    if return_index:
        out.append(from_delayed(merged[1], shape=(math.nan,), dtype=np.intp))
    if return_inverse:
        out.append(a.map_blocks(_inverse_block, [merged], dtype=np.intp))
    if return_counts:
        out.append(from_delayed(merged[2], shape=(math.nan,), dtype=np.intp))
    return tuple(out)


# -- push ---------------------------------------------------------------------------------------


def _push_block(a, n, axis):
    a = np.moveaxis(a, axis, -1)
    valid = ~np.isnan(a)
    pos = np.arange(a.shape[-1])
    idx = np.where(valid, pos, -1)
    np.maximum.accumulate(idx, axis=-1, out=idx)
    out = np.take_along_axis(a, np.maximum(idx, 0), axis=-1)
    gone = idx < 0
    if n is not None:
        gone |= (pos - idx > n) & ~valid
    out[gone] = np.nan
    return np.moveaxis(out, -1, axis)


def push(array, n, axis):
    """Fill NaNs with the last valid value before them along ``axis``, at most ``n`` in a row
    (``None``: no limit)."""
    x = asarray(array)
    axis = validate_axis(axis, x.ndim)
    if n is not None and not 0 < n < x.shape[axis] - 1:
        n = None
    x = x.rechunk({axis: x.shape[axis]}) if x.numblocks[axis] > 1 else x
    out = x.map_blocks(_push_block, n, axis, dtype=x.dtype)
    return out.rechunk({axis: asarray(array).chunks[axis]})


# -- shuffle ------------------------------------------------------------------------------------


def shuffle(x, indexer, axis, chunks="auto"):
    """Reorder ``x`` along ``axis`` by the groups of ``indexer`` (lists of positions); a
    group is never split between blocks."""
    x = asarray(x)
    axis = validate_axis(axis, x.ndim)
    if not isinstance(indexer, (list, tuple)) or not all(
        isinstance(g, (list, tuple, np.ndarray)) for g in indexer
    ):
        raise ValueError("indexer must be a list of lists of positional indices")
    groups = [np.asarray(g, dtype=np.intp).ravel() for g in indexer]
    flat = np.concatenate(groups) if groups else np.zeros(0, np.intp)
    n = x.shape[axis]
    if flat.size and (flat.max() >= n or flat.min() < -n):
        raise IndexError(f"index {flat.max()} is out of bounds for axis {axis} with size {n}")
    target = max(x.chunks[axis], default=1)
    sizes, cur = [], 0
    for g in groups:
        if cur and cur + len(g) > target:
            sizes.append(cur)
            cur = 0
        cur += len(g)
    if cur or not sizes:
        sizes.append(cur)
    idx = [slice(None)] * x.ndim
    idx[axis] = flat
    out = x[tuple(idx)]
    return out.rechunk({axis: tuple(sizes)}) if out.shape[axis] else out


# -- Array methods ------------------------------------------------------------------------------


def _choose(self, choices):
    """``choose(self, choices)``."""
    from oxdask.array.routines import choose

    return choose(self, choices)


def _shuffle(self, indexer, axis, chunks="auto"):
    """``shuffle(self, indexer, axis)``."""
    return shuffle(self, indexer, axis, chunks)


Array.choose = _choose
Array.shuffle = _shuffle
Array.partitions = property(lambda self: self.blocks, doc="Same as ``blocks``.")
Array.A = property(lambda self: self, doc="The array itself (as ``numpy.matrix.A``).")
