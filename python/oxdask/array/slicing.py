"""Indexing: basic slicing, integer-array and boolean-mask indexing, ``vindex``, ``blocks``,
item assignment, and ``compute_chunk_sizes``.

Basic slices that keep every block are one Blockwise layer (each task receives its local
slice from per-axis layers); slices that drop blocks, integer-array indexing and
point-wise indexing build one task per output block. Boolean masks given as dask arrays give
unknown (``nan``) chunk sizes along the masked axes, as in Dask.
"""

from __future__ import annotations

import math
from itertools import product
from numbers import Integral

import numpy as np

from oxdask.array._chunks import _isnan, starts
from oxdask.array._slicing_helpers import (  # noqa: F401 - Dask's names in this module
    SlicingNoop,
    _sanitize_index_element,
    _slice_1d,
    make_block_sorted_slices,
    new_blockdim,
    normalize_index,
    sanitize_index,
    shuffle_slice,
    slice_array,
)
from oxdask.array._vindex import VIndex
from oxdask.array.blockwise import _blockwise_layer, elemwise
from oxdask.array.chunk import assemble
from oxdask.array.chunk import concatenate as _chunk_concatenate
from oxdask.array.core import Array, _name, _new, asarray
from oxdask.highlevelgraph import GatherLayer, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["BlockView", "VIndex", "compute_chunk_sizes", "getitem", "setitem"]


def _normalize_index(index, ndim):
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, list):
            i = np.asarray(i)
            if i.dtype == object or (i.size == 0 and i.dtype.kind == "f"):
                i = i.astype(np.intp)
        if isinstance(i, np.ndarray) and i.ndim == 0:
            i = i.item()
        out.append(i)
    n_ell = sum(1 for i in out if i is Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(
        (i.ndim if isinstance(i, (np.ndarray, Array)) and i.dtype == bool else 1)
        for i in out
        if i is not None and i is not Ellipsis
    )
    if used > ndim:
        raise IndexError(
            f"too many indices for array: array is {ndim}-dimensional, but {used} were indexed"
        )
    if n_ell:
        k = next(j for j, i in enumerate(out) if i is Ellipsis)
        out = out[:k] + [slice(None)] * (ndim - used) + out[k + 1 :]
    else:
        out += [slice(None)] * (ndim - used)
    return out


def _dim_plan(chunks_d, dim, idx):
    """Pieces ``[(block, local_index)]`` and output chunks (None if the dim is dropped)."""
    st = starts(chunks_d)
    if isinstance(idx, Integral):
        i = int(idx)
        if not -dim <= i < dim:
            raise IndexError(f"index {i} is out of bounds for axis with size {dim}")
        i %= dim
        b = int(np.searchsorted(st, i, side="right") - 1)
        while chunks_d[b] == 0:
            b += 1
        return [(b, i - st[b])], None
    start, stop, step = idx.indices(dim)
    pieces, out = [], []
    nb = len(chunks_d)
    if step > 0:
        for b in range(nb):
            lo, hi = st[b], st[b + 1]
            first = start if start >= lo else start + -(-(lo - start) // step) * step
            end = min(stop, hi)
            if first < end and first >= lo:
                pieces.append((b, slice(first - lo, end - lo, step)))
                out.append(-(-(end - first) // step))
    else:
        for b in reversed(range(nb)):
            lo, hi = st[b], st[b + 1]
            top = hi - 1
            first = start if start <= top else start - -(-(start - top) // -step) * -step
            end = max(stop, lo - 1)
            if first > end and first <= top:
                local_stop = end - lo if end - lo >= 0 else None
                pieces.append((b, slice(first - lo, local_stop, step)))
                out.append(-(-(first - end) // -step))
    if not pieces:
        pieces, out = [(0, slice(0, 0))], [0]
    return pieces, tuple(out)


def _canonical(i, dim):
    """A slice covering the whole dimension as ``slice(None)``; other slices and integers in a
    normal form (so equivalent indices give the same names, as in Dask)."""
    if _isnan(dim):
        return i
    if isinstance(i, slice):
        start, stop, step = i.indices(dim)
        if step == 1 and start == 0 and stop == dim:
            return slice(None)
        if step < 0 and stop < 0:
            stop = None
        return slice(start, stop, step)
    if isinstance(i, Integral) and -dim <= i < dim:
        return int(i) % dim
    return i


def _basic(x, index):
    """``x[index]`` for a list of ints and slices (one per dim)."""
    index = [_canonical(i, s) for i, s in zip(index, x.shape, strict=True)]
    if all(isinstance(i, slice) and i == slice(None) for i in index):
        return x
    for d, (c, i) in enumerate(zip(x.chunks, index, strict=True)):
        if any(_isnan(b) for b in c) and not (isinstance(i, slice) and i == slice(None)):
            raise ValueError(
                f"Array chunk size or shape is unknown along axis {d}; call "
                "x.compute_chunk_sizes() first"
            )
    plans = [
        _dim_plan(c, s, i)
        if not (isinstance(i, slice) and i == slice(None))
        else ([(b, slice(None)) for b in range(len(c))], c)
        for c, s, i in zip(x.chunks, x.shape, index, strict=True)
    ]
    out_chunks = tuple(p[1] for p in plans if p[1] is not None)
    name = "getitem-" + tokenize(x.name, [repr(i) for i in index])
    keeps_all = all(
        p[1] is not None and len(p[0]) == len(c) and [b for b, _ in p[0]] == list(range(len(c)))
        for p, c in zip(plans, x.chunks, strict=True)
    )
    if keeps_all:
        from oxdask.highlevelgraph import BlockwiseLayer

        args = [(x.name, list(range(x.ndim)))]
        numb = {x.name: x.numblocks}
        extra = {}
        for d, (pieces, _) in enumerate(plans):
            lname = "slices-" + tokenize(pieces)
            extra[lname] = MaterializedLayer({(lname, b): s for b, s in pieces})
            args.append((lname, [d]))
            numb[lname] = (len(pieces),)
        layer = BlockwiseLayer(name, _slice_block, list(range(x.ndim)), args, numb)
        return _new(name, layer, [x], out_chunks, x.dtype, extra)
    # One source block per output block along every axis; integer indices drop their axis.
    sources = [[[b] for b, _ in p[0]] for p in plans]
    local = [[(s,) for _, s in p[0]] for p in plans]
    dropped = [d for d, p in enumerate(plans) if p[1] is None]
    layer = GatherLayer(name, x.name, x.numblocks, sources, assemble, local, dropped)
    return _new(name, layer, [x], out_chunks, x.dtype)


def _slice_block(block, *slices):
    return block[slices]


def _take(x, axis, idx):
    """``x`` indexed by the integer array ``idx`` along ``axis``."""
    dim = x.shape[axis]
    if _isnan(dim):
        if x.numblocks[axis] > 1:
            raise ValueError("Array chunk size or shape is unknown; call compute_chunk_sizes()")
        from oxdask.array.core import from_array

        idx = np.asarray(idx)
        if idx.dtype.kind not in "iu" or idx.ndim != 1:
            raise IndexError("arrays used as indices must be 1-d and of integer type")
        return _take_lazy(x, axis, from_array(idx, chunks=-1))  # sizes known once computed
    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise IndexError("arrays used as indices must be of integer (or boolean) type")
    if idx.ndim != 1:
        raise NotImplementedError("only 1-D integer arrays are supported as indices")
    if idx.size and (idx.max() >= dim or idx.min() < -dim):
        bad = idx[(idx >= dim) | (idx < -dim)][0]
        raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {dim}")
    idx = np.where(idx < 0, idx + dim, idx).astype(np.intp)
    st = np.asarray(starts(x.chunks[axis]))
    size = max(max(x.chunks[axis], default=1), 1)
    groups = [idx[i : i + size] for i in range(0, len(idx), size)] or [idx]
    name = "take-" + tokenize(x.name, axis, idx)
    layer = {}
    other = [range(n) for d, n in enumerate(x.numblocks) if d != axis]
    for g, sel in enumerate(groups):
        blocks = np.searchsorted(st, sel, side="right") - 1
        used = sorted(set(blocks.tolist()))
        locals_ = [sel[blocks == b] - st[b] for b in used]
        order = (
            np.argsort(np.concatenate([np.nonzero(blocks == b)[0] for b in used]), kind="stable")
            if used
            else np.array([], dtype=np.intp)
        )
        for rest in product(*other):
            rest = list(rest)
            out_idx = (*rest[:axis], g, *rest[axis:])
            keys = [(x.name, *rest[:axis], b, *rest[axis:]) for b in used]
            if not keys:
                keys = [(x.name, *rest[:axis], 0, *rest[axis:])]
                locals_ = [np.array([], dtype=np.intp)]
            layer[(name, *out_idx)] = (_take_block, keys, locals_, order, axis)
    chunks = list(x.chunks)
    chunks[axis] = tuple(len(g) for g in groups)
    return _new(name, MaterializedLayer(layer), [x], tuple(chunks), x.dtype)


def _take_block(blocks, locals_, order, axis):
    parts = [np.take(b, loc, axis=axis) for b, loc in zip(blocks, locals_, strict=True)]
    out = _chunk_concatenate(parts, axis=axis) if len(parts) > 1 else parts[0]
    if len(order) and not np.array_equal(order, np.arange(len(order))):
        out = np.take(out, order, axis=axis)
    return out


def _take_lazy(x, axis, idx):
    """``x`` indexed along ``axis`` by a 1-D lazy integer array: one output block per block
    of ``idx``, each reading the blocks of ``x`` along ``axis`` (whose sizes may be unknown)."""
    name = "take-" + tokenize(x.name, axis, idx.name)
    layer = {}
    other = [range(n) for d, n in enumerate(x.numblocks) if d != axis]
    for j in range(idx.numblocks[0]):
        for rest in product(*other):
            rest = list(rest)
            keys = [(x.name, *rest[:axis], b, *rest[axis:]) for b in range(x.numblocks[axis])]
            layer[(name, *rest[:axis], j, *rest[axis:])] = (
                _take_lazy_block,
                (idx.name, j),
                keys,
                axis,
            )
    chunks = list(x.chunks)
    chunks[axis] = idx.chunks[0]
    return _new(name, MaterializedLayer(layer), [x, idx], tuple(chunks), x.dtype)


def _take_lazy_block(idx, blocks, axis):
    sizes = [b.shape[axis] for b in blocks]
    dim = sum(sizes)
    idx = np.asarray(idx)
    if idx.size and (idx.max() >= dim or idx.min() < -dim):
        bad = idx[(idx >= dim) | (idx < -dim)][0]
        raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {dim}")
    idx = idx.astype(np.intp, copy=False)
    idx = np.where(idx < 0, idx + dim, idx)
    bounds = np.cumsum([0, *sizes])
    owner = np.searchsorted(bounds, idx, side="right") - 1
    used = np.unique(owner)
    if not len(used):
        sel = [slice(None)] * blocks[0].ndim
        sel[axis] = slice(0, 0)
        return blocks[0][tuple(sel)]
    parts = [np.take(blocks[b], idx[owner == b] - bounds[b], axis=axis) for b in used]
    out = _chunk_concatenate(parts, axis=axis) if len(parts) > 1 else parts[0]
    order = np.argsort(np.concatenate([np.nonzero(owner == b)[0] for b in used]), kind="stable")
    return np.take(out, order, axis=axis)


def _mask_nd(x, mask):
    """``x[mask]`` with a dask boolean array of the same shape: 1-D, unknown chunks."""
    if mask.shape != x.shape and not any(_isnan(s) for s in mask.shape + x.shape):
        raise IndexError(
            f"boolean index did not match indexed array; shape {x.shape} vs mask {mask.shape}"
        )
    # C order, as NumPy: flatten both (rows are merged by reshape), then filter.
    return _mask_axis(x.ravel(), 0, mask.ravel())


def _mask_axis(x, axis, mask):
    """``x`` filtered along ``axis`` by a 1-D dask boolean array (unknown chunk sizes)."""
    if mask.shape[0] != x.shape[axis] and not _isnan(mask.shape[0]):
        raise IndexError(
            f"boolean index did not match indexed array along axis {axis}; size of axis is "
            f"{x.shape[axis]} but size of corresponding boolean axis is {mask.shape[0]}"
        )
    if mask.chunks[0] != x.chunks[axis]:
        mask = mask.rechunk({0: x.chunks[axis]})
    name = "getitem-" + tokenize(x.name, axis, mask.name)
    layer, extra = _blockwise_layer(
        name, _MaskAxis(axis), list(range(x.ndim)), [(x, list(range(x.ndim))), (mask, [axis])]
    )
    chunks = list(x.chunks)
    chunks[axis] = (math.nan,) * len(chunks[axis])
    return _new(name, layer, [x, mask], tuple(chunks), x.dtype, extra)


class _MaskAxis:
    def __init__(self, axis):
        self.axis = axis

    def __call__(self, block, mask):
        return np.compress(mask, block, axis=self.axis)


def getitem(x: Array, index):
    """``x[index]``: basic slicing, integer arrays, boolean masks and ``None``."""
    index = _normalize_index(index, x.ndim)
    newaxes = []
    plain = []
    pos = 0
    for i in index:
        if i is None:
            newaxes.append(pos)
            pos += 1
            continue
        if isinstance(i, (np.ndarray, Array)) and i.dtype == bool and i.ndim > 1:
            if i.ndim != x.ndim or len(index) - sum(1 for j in index if j is None) != 1:
                raise NotImplementedError(
                    "multi-dimensional boolean masks are only supported "
                    "alone, with the shape of the array"
                )
            return _mask_nd(x, asarray(i))
        plain.append(i)
        if not isinstance(i, Integral):
            pos += 1
    for i in plain:
        if not isinstance(i, (Integral, slice, np.ndarray, Array)):
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and "
                f"integer or boolean arrays are valid indices, got {i!r}"
            )
    fancy = [d for d, i in enumerate(plain) if isinstance(i, (np.ndarray, Array))]
    if len(fancy) > 1:
        raise NotImplementedError("Don't yet support nd fancy indexing; use vindex")
    basic = [slice(None) if isinstance(i, (np.ndarray, Array)) else i for i in plain]
    out = _basic(x, basic)
    if fancy:
        d = fancy[0]
        axis = d - sum(1 for i in plain[:d] if isinstance(i, Integral))
        arr = plain[d]
        if isinstance(arr, Array):
            if arr.dtype == bool:
                out = _mask_axis(out, axis, arr)
            elif arr.dtype.kind not in "iu":
                raise IndexError("arrays used as indices must be of integer (or boolean) type")
            elif arr.ndim == 0:
                out = _take_lazy(out, axis, arr[None])[(slice(None),) * axis + (0,)]
            elif arr.ndim == 1:
                out = _take_lazy(out, axis, arr)
            else:
                raise NotImplementedError("only 1-D integer dask arrays are supported as indices")
        else:
            if arr.dtype == bool:
                if len(arr) != out.shape[axis]:
                    raise IndexError(
                        f"boolean index did not match indexed array along axis {axis}; size of "
                        f"axis is {out.shape[axis]} but size of corresponding boolean axis "
                        f"is {len(arr)}"
                    )
                arr = np.nonzero(arr)[0]
            out = _take(out, axis, arr)
    if newaxes:
        from oxdask.array.reshape import expand_dims

        out = expand_dims(out, tuple(newaxes))
    return out


# -- blocks, vindex ------------------------------------------------------------------------


class BlockView:
    """``x.blocks[i, j]``: an array made of some of ``x``'s blocks."""

    def __init__(self, array: Array):
        self._array = array

    def __getitem__(self, index):
        x = self._array
        if not isinstance(index, tuple):
            index = (index,)
        index = list(index) + [slice(None)] * (x.ndim - len(index))
        if len(index) > x.ndim:
            raise IndexError("too many indices for the blocks of the array")
        sel = []
        for d, i in enumerate(index):
            ids = np.arange(x.numblocks[d])[i]
            sel.append(np.atleast_1d(ids).tolist())
        name = "blocks-" + tokenize(x.name, sel)
        layer = {}
        for out_idx in product(*(range(len(s)) for s in sel)):
            src = tuple(sel[d][k] for d, k in enumerate(out_idx))
            layer[(name, *out_idx)] = (x.name, *src)
        chunks = tuple(tuple(x.chunks[d][b] for b in s) for d, s in enumerate(sel))
        return _new(name, MaterializedLayer(layer), [x], chunks, x.dtype)

    @property
    def size(self) -> int:
        return self._array.npartitions

    @property
    def shape(self) -> tuple:
        return self._array.numblocks

    def ravel(self) -> list:
        return [self[idx] for idx in np.ndindex(*self.shape)]


# -- assignment, chunk sizes ------------------------------------------------------------------


def setitem(x: Array, key, value):
    """The array ``x`` with ``x[key] = value`` applied (returns a new array)."""
    if isinstance(key, Array) or (isinstance(key, np.ndarray) and key.dtype == bool):
        key = asarray(key)  # a lazy key of any dtype is a mask by truth, as in Dask
        if key.shape != x.shape:
            raise IndexError(
                f"boolean index did not match indexed array; shape {x.shape} vs mask {key.shape}"
            )
        if isinstance(value, Array) and value.ndim > 0 and value.shape != x.shape:
            raise ValueError("boolean mask assignment needs a scalar or an array of the same shape")
        return elemwise(np.where, key, value, x, dtype=x.dtype)
    if isinstance(value, Array):
        if value.ndim == 0 or value.shape == x.shape:
            pass
        raise NotImplementedError(
            "assigning a dask array to a slice is not supported; use "
            "a NumPy value or oxdask.array.where"
        )
    index = _normalize_index(key, x.ndim)
    if any(i is None or not isinstance(i, (Integral, slice)) for i in index):
        raise NotImplementedError("item assignment supports integers, slices and masks")
    region = []
    spec = []
    for i, n in zip(index, x.shape, strict=True):
        if isinstance(i, Integral):
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis with size {n}")
            spec.append(("i", int(i) % n))
        else:
            s = i.indices(n)
            spec.append(("s", s))
            region.append(len(range(*s)))
    value = np.asarray(value)
    try:
        v = np.broadcast_to(value, tuple(region))
    except ValueError:
        raise ValueError(
            f"could not broadcast input array from shape {value.shape} into shape {tuple(region)}"
        ) from None
    name = _name("setitem")
    layer, extra = _blockwise_layer(
        name,
        _SetBlock(spec, v),
        list(range(x.ndim)),
        [(x, list(range(x.ndim)))],
        x.chunks,
        locs=range(x.ndim),
    )
    return _new(name, layer, [x], x.chunks, x.dtype, extra)


class _SetBlock:
    def __init__(self, spec, value):
        self.spec = spec
        self.value = value

    def __call__(self, block, *locs):
        local, vsel = [], []
        for (kind, s), loc in zip(self.spec, locs, strict=True):
            if kind == "i":
                if not loc.start <= s < loc.stop:
                    return block
                local.append(np.array([s - loc.start]))
                continue
            r = np.arange(*s)
            hit = np.nonzero((r >= loc.start) & (r < loc.stop))[0]
            if not len(hit):
                return block
            local.append(r[hit] - loc.start)
            vsel.append(hit)
        out = block.copy()
        v = self.value[np.ix_(*vsel)] if vsel else self.value
        shape = tuple(len(li) for li in local)
        out[np.ix_(*local)] = np.reshape(v, shape)
        return out


def compute_chunk_sizes(x: Array) -> Array:
    """Replace unknown chunk sizes by the computed ones (in place; returns ``x``)."""
    from oxdask.array.chunk import block_shape

    if not any(_isnan(b) for c in x.chunks for b in c):
        return x
    shapes = elemwise(block_shape, x, dtype=object)
    from oxdask.base import compute

    (res,) = compute(_Shapes(shapes), scheduler=None)
    arr = np.empty(x.numblocks, dtype=object)
    for idx in np.ndindex(*x.numblocks):
        r = res
        for i in idx:
            r = r[i]
        arr[idx] = r
    chunks = []
    for d in range(x.ndim):
        sel = [0] * x.ndim
        row = []
        for b in range(x.numblocks[d]):
            sel[d] = b
            row.append(arr[tuple(sel)][d])
        chunks.append(tuple(row))
    x._chunks = tuple(chunks)
    return x


class _Shapes:
    """A collection whose result is the nested lists of block shapes (no concatenation)."""

    def __init__(self, arr):
        self.arr = arr

    def __dask_graph__(self):
        return self.arr.__dask_graph__()

    def __dask_keys__(self):
        return self.arr.__dask_keys__()

    def __dask_postcompute__(self):
        return _identity, ()

    def __dask_postpersist__(self):  # pragma: no cover - never persisted
        raise NotImplementedError


def _identity(x):
    return x
