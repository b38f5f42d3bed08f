"""Ghost cells: ``overlap``, ``trim_internal``, ``trim_overlap``, ``map_overlap``, and ``pad``.

``overlap`` pads the array at its outer edges according to ``boundary`` (``"reflect"``,
``"periodic"``, ``"nearest"``, ``"none"`` or a constant), then builds every block from the
range ``[start - depth, stop + depth)`` of the padded array: one task per block, gathering the
pieces of its neighbours (see :func:`oxdask.array.rechunk.gather`). Depths may exceed the
neighbouring block sizes.
"""

from __future__ import annotations

import itertools
import warnings
from numbers import Integral, Number

import numpy as np

from oxdask.array._chunks import starts
from oxdask.array.blockwise import _blockwise_layer
from oxdask.array.core import Array, _new, asarray, map_blocks
from oxdask.array.reductions import validate_axis
from oxdask.tokenize import tokenize

__all__ = [
    "boundaries",
    "constant",
    "ensure_minimum_chunksize",
    "map_overlap",
    "nearest",
    "overlap",
    "overlap_internal",
    "periodic",
    "push",
    "reflect",
    "trim_internal",
    "trim_overlap",
]

_MODES = {"reflect": "symmetric", "periodic": "wrap", "nearest": "edge"}


def _depths(depth, ndim) -> dict[int, tuple[int, int]]:
    """Per axis ``(before, after)`` depths; an int means the same on both sides."""
    if depth is None:
        depth = 0
    if isinstance(depth, Integral):
        return dict.fromkeys(range(ndim), (int(depth), int(depth)))
    if isinstance(depth, (tuple, list)):
        if len(depth) != ndim:
            raise ValueError(f"depth {depth} must have one entry per dimension ({ndim})")
        depth = dict(enumerate(depth))
    out = {}
    for k, v in depth.items():
        lo, hi = (v[0], v[1]) if isinstance(v, tuple) else (v, v)
        if lo < 0 or hi < 0:
            raise ValueError(f"depth must be non-negative, got {v}")
        out[validate_axis(k, ndim)] = (int(lo), int(hi))
    return {d: out.get(d, (0, 0)) for d in range(ndim)}


def _boundaries(boundary, ndim) -> dict:
    if boundary is None:
        boundary = "none"
    if isinstance(boundary, dict):
        b = {validate_axis(k, ndim): v for k, v in boundary.items()}
        return {d: b.get(d, "none") for d in range(ndim)}
    if isinstance(boundary, (tuple, list)):
        return dict(enumerate(boundary))
    return dict.fromkeys(range(ndim), boundary)


def overlap(x, depth, boundary=None, *, allow_rechunk=True):
    """Extend every block with ``depth`` elements of its neighbours along each axis.

    Parameters
    ----------
    x : Array
    depth : int, tuple or dict
        Per axis.
    boundary : str, number or dict, optional
        ``"reflect"``, ``"periodic"``, ``"nearest"``, ``"none"`` (default: no padding at the
        outer edges) or a constant, per axis.
    allow_rechunk : bool
        Accepted for compatibility (never needed).

    Returns
    -------
    Array
    """
    from oxdask.array.rechunk import gather

    x = asarray(x)
    depths = _depths(depth, x.ndim)
    bounds = _boundaries(boundary, x.ndim)
    for d, b in bounds.items():
        if not (b in ("none", "reflect", "periodic", "nearest") or isinstance(b, Number)):
            raise ValueError(f"unknown boundary {b!r} for axis {d}")
    for d, (lo, hi) in depths.items():
        if lo != hi and bounds[d] != "none":
            raise NotImplementedError(
                "Asymmetric overlap is currently only implemented for boundary='none', "
                f"however boundary for dimension {d} is {bounds[d]}"
            )
    for d, (lo, hi) in depths.items():
        if (lo or hi) and not allow_rechunk and min(x.chunks[d], default=0) < max(lo, hi):
            raise ValueError(
                f"The overlapping depth {max(lo, hi)} is larger than your smallest chunk "
                f"size {min(x.chunks[d])} along axis {d}; rechunk, or allow_rechunk=True"
            )
        if max(lo, hi) > x.shape[d]:
            raise ValueError(
                f"The overlapping depth {max(lo, hi)} is larger than your array {x.shape[d]}."
            )
    if not any(lo or hi for lo, hi in depths.values()):
        return x
    padded = x
    for d, (w, _) in depths.items():
        b = bounds[d]
        if w == 0 or b == "none":
            continue
        width = [(0, 0)] * x.ndim
        width[d] = (w, w)
        if isinstance(b, Number):
            padded = _pad(padded, width, "constant", constant_values=b)
        else:
            padded = _pad(padded, width, _MODES[b])
    ranges = []
    for d in range(x.ndim):
        before, after = depths[d]
        st = starts(x.chunks[d])
        n = x.shape[d]
        if not before and not after:
            ranges.append(list(itertools.pairwise(st)))
        elif bounds[d] == "none":
            ranges.append(
                [(max(lo - before, 0), min(hi + after, n)) for lo, hi in itertools.pairwise(st)]
            )
        else:
            ranges.append([(lo, hi + 2 * before) for lo, hi in itertools.pairwise(st)])
    return gather(padded, ranges, "overlap-" + tokenize(x.name, depths, bounds))


class _Trim:
    def __init__(self, depths, none_axes, numblocks):
        self.depths = depths
        self.none_axes = none_axes
        self.numblocks = numblocks

    def __call__(self, block, *locs):
        if np.ndim(block) != len(locs):  # func reduced its block: nothing of it to trim
            return block
        index = []
        for d, loc in enumerate(locs):
            before, after = self.depths.get(d, (0, 0))
            lo = 0 if (d in self.none_axes and loc.i == 0) else before
            hi = 0 if (d in self.none_axes and loc.i == self.numblocks[d] - 1) else after
            index.append(slice(lo, block.shape[d] - hi))
        return block[tuple(index)]


def trim_internal(x, axes, boundary=None):
    """Remove ``axes[d]`` elements from both sides of every block (inverse of ``overlap``)."""
    depths = _depths(axes, x.ndim)
    bounds = _boundaries(boundary, x.ndim)
    none_axes = {d for d, b in bounds.items() if b == "none"}
    chunks = []
    for d, c in enumerate(x.chunks):
        before, after = depths[d]
        n = len(c)
        out = []
        for i, b in enumerate(c):
            lo = 0 if (d in none_axes and i == 0) else before
            hi = 0 if (d in none_axes and i == n - 1) else after
            out.append(b - lo - hi)
        chunks.append(tuple(out))
    name = "trim-" + tokenize(x.name, depths, bounds)
    layer, extra = _blockwise_layer(
        name,
        _Trim(depths, none_axes, x.numblocks),
        list(range(x.ndim)),
        [(x, list(range(x.ndim)))],
        x.chunks,
        locs=range(x.ndim),
    )
    return _new(name, layer, [x], tuple(chunks), x.dtype, extra)


def trim_overlap(x, depth, boundary=None):
    """Trim the overlap added by :func:`overlap` with the same depth and boundary."""
    return trim_internal(x, depth, boundary)


def map_overlap(
    func,
    *args,
    depth=None,
    boundary=None,
    trim=True,
    align_arrays=True,
    allow_rechunk=True,
    **kwargs,
):
    """Apply ``func`` to overlapping blocks, then trim the overlap from the results.

    Parameters
    ----------
    func : callable
    *args : Array
    depth : int, tuple or dict
        Per axis.
    boundary : str, number or dict, optional
        See :func:`overlap`. Default ``"none"``.
    trim : bool
        Remove the overlap from the results (``func`` must keep the block shapes).
    align_arrays, allow_rechunk : bool
    **kwargs
        Passed to :func:`map_blocks` (``dtype``, ``chunks``...) and to ``func``.

    Returns
    -------
    Array
    """
    if isinstance(func, Array) and callable(args[0]):
        # Dask's old order map_overlap(x, func, depth, boundary, trim), deprecated there too
        warnings.warn(
            "The use of map_overlap(array, func, **kwargs) is deprecated since dask 2.17.0 "
            "and will be an error in a future release. To silence this warning, use the "
            "syntax map_overlap(func, array0,[ array1, ...,] **kwargs) instead.",
            FutureWarning,
            stacklevel=2,
        )
        old = list(args[1:])
        x, func = func, args[0]
        if old:
            depth = old.pop(0)
        if old:
            boundary = old.pop(0)
        if old:
            trim = old.pop(0)
        args = (x, *old)
    arrays = [asarray(a) if isinstance(a, (Array, np.ndarray)) else a for a in args]
    dask_arrays = [a for a in arrays if isinstance(a, Array)]
    if len(dask_arrays) > 1 and align_arrays:
        from oxdask.array.blockwise import broadcast_shapes, unify_for_broadcast

        shape = broadcast_shapes(*(a.shape for a in dask_arrays))
        unified = iter(unify_for_broadcast(dask_arrays, shape))
        arrays = [next(unified) if isinstance(a, Array) else a for a in arrays]
    ndim = max(a.ndim for a in arrays if isinstance(a, Array))
    n_arr = sum(isinstance(a, Array) for a in arrays)
    # a list gives one depth (boundary) per array, as in Dask; other forms apply to all
    depth_list = depth if isinstance(depth, list) else [depth] * n_arr
    bound_list = boundary if isinstance(boundary, list) else [boundary] * n_arr
    if len(depth_list) != n_arr or len(bound_list) != n_arr:
        raise ValueError("a list of depths or boundaries needs one entry per array")
    g = []
    per_array = iter(zip(depth_list, bound_list, strict=True))
    first = None
    for a in arrays:
        if isinstance(a, Array):
            dep, bnd = next(per_array)
            dd, bb = _depths(dep, a.ndim), _boundaries(bnd, a.ndim)
            if first is None:
                first = (a.ndim, dd, bb)
            g.append(overlap(a, dd, bb, allow_rechunk=allow_rechunk))
        else:
            g.append(a)
    out = map_blocks(func, *g, **kwargs)
    if first is not None and not any(lo or hi for lo, hi in first[1].values()):
        return out  # no overlap: a plain map_blocks
    if trim:
        nd, dd, bb = first
        off = ndim - nd  # the first array's axes are the trailing ones of the loop
        d_list = [(0, 0)] * off + [dd[d] for d in range(nd)]
        b_list = ["none"] * off + [bb[d] for d in range(nd)]
        drop = kwargs.get("drop_axis")
        if drop is not None:
            drop = {d % ndim for d in ([drop] if isinstance(drop, Integral) else drop)}
            d_list = [v for i, v in enumerate(d_list) if i not in drop]
            b_list = [v for i, v in enumerate(b_list) if i not in drop]
        new = kwargs.get("new_axis")
        if new is not None:
            new = [new] if isinstance(new, Integral) else list(new)
            n_out = len(d_list) + len(new)
            for pos in sorted(p % n_out for p in new):
                d_list.insert(pos, (0, 0))
                b_list.insert(pos, "none")
        if len(d_list) == out.ndim:
            out = trim_internal(out, dict(enumerate(d_list)), dict(enumerate(b_list)))
    return out


# -- pad ---------------------------------------------------------------------------------------


def _pad_widths(pad_width, ndim):
    pw = np.asarray(pad_width)
    if pw.dtype.kind not in "iu":
        raise TypeError("`pad_width` must be of integral type.")
    pw = np.broadcast_to(pw, (ndim, 2)).tolist()
    if any(w < 0 for p in pw for w in p):
        raise ValueError("index can't contain negative values")
    return pw


def _pad(x, pad_width, mode="constant", **kwargs):
    from oxdask.array.creation import full
    from oxdask.array.reshape import broadcast_to
    from oxdask.array.routines import concatenate

    widths = _pad_widths(pad_width, x.ndim)
    if not callable(mode) and not any(a or b for a, b in widths):
        return x  # as Dask: nothing to pad, the same array
    cv = kwargs.get("constant_values", 0)
    simple = mode in ("constant", "edge", "reflect", "symmetric", "wrap") and np.ndim(cv) == 0
    if not simple or any(
        (mode == "reflect" and max(p) > x.shape[d] - 1)
        or (mode in ("symmetric", "wrap", "edge") and max(p) > x.shape[d])
        or (mode != "constant" and x.shape[d] == 0 and max(p) > 0)
        for d, p in enumerate(widths)
    ):
        whole = x.rechunk(tuple((s,) for s in x.shape))
        out_shape = tuple(s + a + b for s, (a, b) in zip(x.shape, widths, strict=True))
        return whole.map_blocks(
            np.pad, widths, mode, chunks=tuple((s,) for s in out_shape), dtype=x.dtype, **kwargs
        )
    for d, (before, after) in enumerate(widths):
        if not before and not after:
            continue
        n = x.shape[d]
        parts = []

        def sl(a, b, step=None, d=d, x=x):
            idx = [slice(None)] * x.ndim
            if step == -1 and b is not None and b < 0:
                b = None
            idx[d] = slice(a, b, step)
            return x[tuple(idx)]

        for side, w in (("before", before), ("after", after)):
            if not w:
                parts.append(None)
                continue
            if mode == "constant":
                shape = list(x.shape)
                shape[d] = w
                chunks = list(x.chunks)
                step = max(max(x.chunks[d], default=w), 1)
                chunks[d] = (step,) * (w // step) + ((w % step,) if w % step else ())
                piece = full(tuple(shape), cv, dtype=x.dtype, chunks=tuple(chunks))
            elif mode == "edge":
                edge = sl(0, 1) if side == "before" else sl(n - 1, n)
                shape = list(x.shape)
                shape[d] = w
                chunks = list(x.chunks)
                chunks[d] = (w,)
                piece = broadcast_to(edge, tuple(shape), chunks=tuple(chunks))
            elif mode == "reflect":
                piece = sl(w, 0, -1) if side == "before" else sl(n - 2, n - 2 - w, -1)
            elif mode == "symmetric":
                piece = sl(w - 1, None, -1) if side == "before" else sl(n - 1, n - 1 - w, -1)
            else:  # wrap
                piece = sl(n - w, n) if side == "before" else sl(0, w)
            parts.append(piece)
        seq = [p for p in (parts[0], x, parts[1]) if p is not None]
        x = concatenate(seq, axis=d)
    return x


# -- Dask's helpers of this module -------------------------------------------------------------


def _pad_axis(x, axis, depth, mode, **kwargs):
    width = [(0, 0)] * x.ndim
    width[validate_axis(axis, x.ndim)] = (depth, depth)
    return _pad(x, width, mode, **kwargs)


def periodic(x, axis, depth):
    """``x`` extended by ``depth`` elements wrapped around from the other end of ``axis``."""
    return _pad_axis(x, axis, depth, "wrap")


def reflect(x, axis, depth):
    """``x`` extended by its ``depth`` edge elements mirrored (edge included) along ``axis``."""
    return _pad_axis(x, axis, depth, "symmetric")


def nearest(x, axis, depth):
    """``x`` extended by ``depth`` copies of its edge elements along ``axis``."""
    return _pad_axis(x, axis, depth, "edge")


def constant(x, axis, depth, value):
    """``x`` extended by ``depth`` elements equal to ``value`` at both ends of ``axis``."""
    return _pad_axis(x, axis, depth, "constant", constant_values=value)


def boundaries(x, depth=None, kind=None):
    """``x`` padded at its outer edges: per axis ``depth[axis]`` elements of the boundary
    ``kind[axis]`` (``"periodic"``, ``"reflect"``, ``"nearest"``, ``"none"`` or a value)."""
    depths = _depths(depth, x.ndim)
    kinds = _boundaries(kind, x.ndim)
    for d in range(x.ndim):
        w = depths[d][0]
        b = kinds[d]
        if not w or b == "none":
            continue
        if isinstance(b, Number):
            x = constant(x, d, w, b)
        else:
            x = {"periodic": periodic, "reflect": reflect, "nearest": nearest}[b](x, d, w)
    return x


def overlap_internal(x, axes):
    """Blocks extended by ``axes[d]`` elements of their neighbours (no outer padding)."""
    return overlap(x, axes, boundary="none")


def ensure_minimum_chunksize(size, chunks):
    """Block sizes with the same total as ``chunks``, each at least ``size``: a short block
    takes what it lacks from its left neighbour when that one can spare it, else merges
    with it (the first block merges with the next)."""
    chunks = [int(c) for c in chunks]
    if sum(chunks) < size:
        raise ValueError(f"The overlapping depth {size} is larger than your array {sum(chunks)}.")
    i = len(chunks) - 1
    while i >= 0:
        if chunks[i] >= size or len(chunks) == 1:
            i -= 1
            continue
        if i == 0:
            chunks[0:2] = [chunks[0] + chunks[1]]
            continue
        need = size - chunks[i]
        if chunks[i - 1] - need >= size:
            chunks[i - 1] -= need
            chunks[i] = size
            i -= 1
        else:
            chunks[i - 1 : i + 1] = [chunks[i - 1] + chunks[i]]
            i -= 1
    return tuple(chunks)


def push(array, n, axis):
    """Forward fill (see :func:`oxdask.array.push`)."""
    from oxdask.array.routines3 import push as _push

    return _push(array, n, axis)
