"""Shape changes: ``reshape``, ``ravel``, ``transpose``, ``swapaxes``, ``moveaxis``,
``rollaxis``, ``squeeze``, ``expand_dims``, ``broadcast_to``, ``atleast_*d``.

All are single Blockwise layers. ``reshape`` first groups input and output dimensions into
runs with equal products; within a run only the first dimension may keep several blocks
(the others are merged with ``rechunk``), so that every output block comes from exactly one
input block, in C order, as in NumPy.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from oxdask.array._chunks import _isnan
from oxdask.array.blockwise import _blockwise_layer
from oxdask.array.chunk import unwrap_nested
from oxdask.array.core import Array, _new, asarray
from oxdask.array.reductions import validate_axis
from oxdask.tokenize import tokenize

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "broadcast_to",
    "expand_dims",
    "moveaxis",
    "ravel",
    "reshape",
    "rollaxis",
    "squeeze",
    "swapaxes",
    "transpose",
]


def transpose(a, axes=None, _name=None):
    """Permute the dimensions (reverse them by default)."""
    a = asarray(a)
    if axes is None:
        axes = tuple(range(a.ndim))[::-1]
    axes = tuple(validate_axis(ax, a.ndim) for ax in axes)
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError("axes don't match array")
    if axes == tuple(range(a.ndim)):
        return a
    name = _name or "transpose-" + tokenize(a.name, axes)
    layer, extra = _blockwise_layer(name, _Transpose(axes), list(axes), [(a, list(range(a.ndim)))])
    return _new(name, layer, [a], tuple(a.chunks[i] for i in axes), a.dtype, extra)


class _Transpose:
    def __init__(self, axes):
        self.axes = axes

    def __call__(self, x):
        return np.transpose(x, self.axes)


def swapaxes(a, axis1, axis2):
    """Exchange two axes."""
    a = asarray(a)
    axis1, axis2 = validate_axis(axis1, a.ndim), validate_axis(axis2, a.ndim)
    axes = list(range(a.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    # named by its arguments, as Dask: swapaxes(a, 0, 1) and (a, 1, 0) differ by name
    return transpose(a, axes, _name="swapaxes-" + tokenize(a.name, axis1, axis2))


def moveaxis(a, source, destination):
    """Move axes to new positions (see :func:`numpy.moveaxis`)."""
    a = asarray(a)
    src = [source] if isinstance(source, Integral) else list(source)
    dst = [destination] if isinstance(destination, Integral) else list(destination)
    if len(src) != len(dst):
        raise ValueError(
            "`source` and `destination` arguments must have the same number of elements"
        )
    src = [validate_axis(s, a.ndim) for s in src]
    dst = [validate_axis(d, a.ndim) for d in dst]
    order = [n for n in range(a.ndim) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return transpose(a, order)


def rollaxis(a, axis, start=0):
    """Roll ``axis`` backwards until it lies before ``start``."""
    a = asarray(a)
    axis = validate_axis(axis, a.ndim)
    if start < 0:
        start += a.ndim
    if start > axis:
        start -= 1
    return moveaxis(a, axis, start)


def expand_dims(a, axis):
    """Insert length-one axes at the positions ``axis`` of the result."""
    a = asarray(a)
    if isinstance(axis, Integral):
        axis = (axis,)
    nd = a.ndim + len(axis)
    axis = sorted(validate_axis(ax, nd) for ax in axis)
    if len(set(axis)) != len(axis):
        raise ValueError("repeated axis")
    out_ind, chunks, new_axes = [], [], {}
    it = iter(range(a.ndim))
    for d in range(nd):
        if d in axis:
            label = a.ndim + d
            new_axes[label] = 1
            out_ind.append(label)
            chunks.append((1,))
        else:
            i = next(it)
            out_ind.append(i)
            chunks.append(a.chunks[i])
    name = "expand-dims-" + tokenize(a.name, axis)
    layer, extra = _blockwise_layer(
        name, _Expand(tuple(axis)), out_ind, [(a, list(range(a.ndim)))], new_axes=new_axes
    )
    return _new(name, layer, [a], tuple(chunks), a.dtype, extra)


class _Expand:
    def __init__(self, axis):
        self.axis = axis

    def __call__(self, x):
        return np.expand_dims(x, self.axis)


def squeeze(a, axis=None):
    """Remove length-one axes (all of them, or those in ``axis``)."""
    a = asarray(a)
    if axis is None:
        axis = tuple(i for i, s in enumerate(a.shape) if s == 1)
    elif isinstance(axis, Integral):
        axis = (axis,)
    axis = tuple(validate_axis(ax, a.ndim) for ax in axis)
    for ax in axis:
        if a.shape[ax] != 1:
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    if not axis:
        return a
    out_ind = [i for i in range(a.ndim) if i not in axis]
    name = "squeeze-" + tokenize(a.name, axis)
    layer, extra = _blockwise_layer(name, _Squeeze(axis), out_ind, [(a, list(range(a.ndim)))])
    return _new(name, layer, [a], tuple(a.chunks[i] for i in out_ind), a.dtype, extra)


class _Squeeze:
    def __init__(self, axis):
        self.axis = axis

    def __call__(self, x):
        return np.squeeze(unwrap_nested(x), axis=self.axis)


def _groups(old, new):
    """Pairs of (input dims, output dims) with equal products, in order."""
    out = []
    i = j = 0
    while i < len(old) or j < len(new):
        gi, gj = [i], [j]
        if i >= len(old):
            out.append(([], [j]))
            j += 1
            continue
        if j >= len(new):
            out.append(([i], []))
            i += 1
            continue
        pi, pj = old[i], new[j]
        i += 1
        j += 1
        while pi != pj:
            if pi < pj:
                pi *= old[i]
                gi.append(i)
                i += 1
            else:
                pj *= new[j]
                gj.append(j)
                j += 1
        # absorb trailing ones into the group
        while i < len(old) and old[i] == 1 and (j >= len(new) or new[j] != 1):
            gi.append(i)
            i += 1
        while j < len(new) and new[j] == 1 and (i >= len(old) or old[i] != 1):
            gj.append(j)
            j += 1
        out.append((gi, gj))
    return out


def reshape(x, shape, merge_chunks=True, limit=None):
    """Give a new shape, reading and writing in C order (as :func:`numpy.reshape`).

    Parameters
    ----------
    x : Array
    shape : int or tuple of int
        One entry may be ``-1``.
    merge_chunks : bool, limit
        Accepted for compatibility.

    Returns
    -------
    Array
    """
    x = asarray(x)
    if isinstance(shape, Integral):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    if any(_isnan(s) for s in x.shape):
        raise ValueError("Array chunk size or shape is unknown; call compute_chunk_sizes()")
    if shape.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension")
    size = math.prod(x.shape)
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape array of size {size} into shape {shape}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    if math.prod(shape) != size:
        raise ValueError(f"cannot reshape array of size {size} into shape {shape}")
    if shape == x.shape:
        return x
    if size == 0 or x.npartitions == 1:
        return _reshape_single(x, shape)
    groups = _groups(list(x.shape), list(shape))
    want = list(x.chunks)
    out_chunks = [None] * len(shape)
    for gi, gj in groups:
        if not gi:
            out_chunks[gj[0]] = (1,)
            continue
        if not gj:
            continue
        for d in gi[1:]:
            want[d] = (x.shape[d],)
        inner_in = math.prod(x.shape[d] for d in gi[1:])
        inner_out = math.prod(shape[d] for d in gj[1:])
        first = want[gi[0]]
        rows = [c * inner_in for c in first]
        if any(r % inner_out for r in rows):
            # blocks must hold whole rows of the output's inner dims: merge the group
            want[gi[0]] = (x.shape[gi[0]],)
            rows = [x.shape[gi[0]] * inner_in]
        out_chunks[gj[0]] = tuple(r // inner_out for r in rows)
        for d in gj[1:]:
            out_chunks[d] = (shape[d],)
    from oxdask.array.rechunk import rechunk

    if tuple(want) != x.chunks:
        x = rechunk(x, tuple(want))
    in_ind = list(range(x.ndim))
    out_ind = [None] * len(shape)
    new_axes = {}
    nxt = x.ndim
    for gi, gj in groups:
        for k, d in enumerate(gj):
            if k == 0 and gi:
                out_ind[d] = gi[0]
            else:
                out_ind[d] = nxt
                new_axes[nxt] = 1
                nxt += 1
    name = "reshape-" + tokenize(x.name, shape)
    layer, extra = _blockwise_layer(
        name, _Reshape(groups, shape), out_ind, [(x, in_ind)], new_axes=new_axes
    )
    return _new(name, layer, [x], tuple(out_chunks), x.dtype, extra)


class _Reshape:
    def __init__(self, groups, shape):
        self.groups = groups
        self.shape = shape

    def __call__(self, block):
        block = unwrap_nested(block)
        out = [0] * len(self.shape)
        for gi, gj in self.groups:
            if not gj:
                continue
            total = math.prod(block.shape[d] for d in gi) if gi else 1
            inner = math.prod(self.shape[d] for d in gj[1:])
            out[gj[0]] = total // inner if inner else 0
            for d in gj[1:]:
                out[d] = self.shape[d]
        return block.reshape(out)


def _reshape_single(x, shape):
    from oxdask.array.rechunk import rechunk

    x = rechunk(x, tuple((s,) for s in x.shape)) if x.npartitions != 1 else x
    name = "reshape-" + tokenize(x.name, shape)
    in_ind = list(range(x.ndim))
    out_ind = [x.ndim + d for d in range(len(shape))]
    layer, extra = _blockwise_layer(
        name, _ReshapeTo(shape), out_ind, [(x, in_ind)], new_axes={label: 1 for label in out_ind}
    )
    return _new(name, layer, [x], tuple((s,) for s in shape), x.dtype, extra)


class _ReshapeTo:
    def __init__(self, shape):
        self.shape = shape

    def __call__(self, block):
        return unwrap_nested(block).reshape(self.shape)


def ravel(array_like):
    """The flattened (C-order) 1-D array."""
    x = asarray(array_like)
    return reshape(x, (-1,)) if x.ndim != 1 else x


def broadcast_to(x, shape, chunks=None, meta=None):
    """Broadcast ``x`` to ``shape`` (new and length-one dims get ``chunks`` or one block)."""
    x = asarray(x)
    shape = tuple(shape)
    if len(shape) < x.ndim:
        raise ValueError("input operand has more dimensions than allowed by the axis remapping")
    nd = len(shape)
    for s, n in zip(x.shape, shape[nd - x.ndim :], strict=True):
        if s != 1 and s != n and not _isnan(s):
            raise ValueError(f"cannot broadcast shape {x.shape} to shape {shape}")
    from oxdask.array._chunks import normalize_chunks

    if chunks is None:
        chunks = tuple((s,) for s in shape[: nd - x.ndim]) + tuple(
            c if s == n else (n,)
            for c, s, n in zip(x.chunks, x.shape, shape[nd - x.ndim :], strict=True)
        )
    chunks = normalize_chunks(chunks, shape, dtype=x.dtype)
    for c, s, oc in zip(x.chunks, x.shape, chunks[nd - x.ndim :], strict=True):
        if s != 1 and c != oc:
            raise ValueError(f"cannot broadcast chunks {x.chunks} to chunks {chunks}")
    in_ind = list(range(nd - x.ndim, nd))
    if any(s == 1 and len(c) != 1 for s, c in zip(x.shape, x.chunks, strict=True)):
        x = x.rechunk({i: 1 for i, s in enumerate(x.shape) if s == 1})
    # dims broadcast from length one get fresh labels (their blocks differ in size)
    out_ind = list(range(nd))
    for k, (s, n) in enumerate(zip(x.shape, shape[nd - x.ndim :], strict=True)):
        if s == 1 and n != 1:
            in_ind[k] = nd + k
    name = "broadcast-to-" + tokenize(x.name, shape, chunks)
    locs = [d for d in range(nd) if d < nd - x.ndim or in_ind[d - nd + x.ndim] != d]
    layer, extra = _blockwise_layer(
        name, _Broadcast(len(locs), x.ndim), out_ind, [(x, in_ind)], chunks, locs=out_ind
    )
    return _new(name, layer, [x], chunks, x.dtype, extra)


class _Broadcast:
    def __init__(self, nloc, ndim):
        self.nloc = nloc
        self.ndim = ndim

    def __call__(self, block, *locs):
        block = unwrap_nested(block)
        shape = tuple(loc.stop - loc.start for loc in locs)
        return np.broadcast_to(block, shape)


def atleast_1d(*arys):
    """Arrays with at least one dimension."""
    out = [asarray(a) if asarray(a).ndim >= 1 else asarray(a)[None] for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*arys):
    """Arrays with at least two dimensions (new axes in front)."""
    out = []
    for a in arys:
        a = asarray(a)
        while a.ndim < 2:
            a = a[None]
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*arys):
    """Arrays with at least three dimensions (as :func:`numpy.atleast_3d`)."""
    out = []
    for a in arys:
        a = asarray(a)
        if a.ndim == 0:
            a = a[None, None, None]
        elif a.ndim == 1:
            a = a[None, :, None]
        elif a.ndim == 2:
            a = a[:, :, None]
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


_ = Array
