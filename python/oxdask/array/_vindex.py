"""Point-wise indexing, ``x.vindex[...]``: integer arrays broadcast together pick single
elements, one task per output block gathering from the blocks the points fall in."""

from __future__ import annotations

import math
from itertools import product
from numbers import Integral

import numpy as np

from oxdask.array._chunks import starts
from oxdask.array.core import Array, _new
from oxdask.highlevelgraph import MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["VIndex"]


class VIndex:
    """Point-wise (vectorized) indexing: ``x.vindex[[0, 2], [1, 3]]`` picks two elements."""

    def __init__(self, array: Array):
        self._array = array

    def __getitem__(self, index):
        return _vindex(self._array, index)


def _vindex(x, index):
    if not isinstance(index, tuple):
        index = (index,)
    if any(isinstance(i, Array) for i in index):
        return _vindex_lazy(x, index)
    index = list(index) + [slice(None)] * (x.ndim - len(index))
    arrays = {
        d: np.asarray(i) for d, i in enumerate(index) if isinstance(i, (list, np.ndarray, Integral))
    }
    if not any(isinstance(i, (list, np.ndarray)) for i in index):
        return x[tuple(index)]
    for d, a in arrays.items():
        if a.dtype.kind not in "iu":
            raise IndexError("vindex supports only integer arrays")
        if a.size and (a.max() >= x.shape[d] or a.min() < -x.shape[d]):
            raise IndexError(f"Index is out of bounds for axis {d} with size {x.shape[d]}")
    bshape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    pts = {
        d: np.broadcast_to(np.where(a < 0, a + x.shape[d], a), bshape).ravel()
        for d, a in arrays.items()
    }
    x = x[tuple(slice(None) if d in arrays else i for d, i in enumerate(index))]
    rest = [d for d in range(x.ndim) if d not in arrays]
    npts = math.prod(bshape)
    if npts == 0:  # no points: an empty result (no block to pick from)
        from oxdask.array.creation import empty

        return empty(
            bshape + tuple(x.shape[d] for d in rest),
            dtype=x.dtype,
            chunks=tuple((s,) for s in bshape) + tuple(x.chunks[d] for d in rest),
        )
    blk = {d: np.searchsorted(starts(x.chunks[d]), p, side="right") - 1 for d, p in pts.items()}
    dims = sorted(arrays)
    combo = np.stack([blk[d] for d in dims], axis=1) if npts else np.zeros((0, len(dims)), int)
    groups: dict = {}
    for k, c in enumerate(map(tuple, combo.tolist())):
        groups.setdefault(c, []).append(k)
    name = "vindex-" + tokenize(x.name, dims, [pts[d] for d in dims])
    layer = {}
    order = np.concatenate([np.asarray(v) for v in groups.values()]) if groups else np.zeros(0, int)
    inv = np.argsort(order, kind="stable")
    st = {d: np.asarray(starts(x.chunks[d])) for d in dims}
    for rest_idx in product(*(range(x.numblocks[d]) for d in rest)):
        parts = []
        for c, members in groups.items():
            key = [0] * x.ndim
            for d, b in zip(dims, c, strict=True):
                key[d] = b
            for d, b in zip(rest, rest_idx, strict=True):
                key[d] = b
            local = tuple(pts[d][members] - st[d][b] for d, b in zip(dims, c, strict=True))
            parts.append(((x.name, *key), local))
        layer[(name, *(0,) * len(bshape), *rest_idx)] = (
            _vindex_block,
            [p[0] for p in parts],
            [p[1] for p in parts],
            dims,
            inv,
            bshape,
            x.ndim,
        )
    chunks = tuple((s,) for s in bshape) + tuple(x.chunks[d] for d in rest)
    return _new(name, MaterializedLayer(layer), [x], chunks, x.dtype)


def _vindex_block(blocks, locals_, dims, inv, bshape, ndim):
    adjacent = dims == list(range(dims[0], dims[0] + len(dims)))
    parts = []
    for b, loc in zip(blocks, locals_, strict=True):
        sel = [slice(None)] * ndim
        for d, li in zip(dims, loc, strict=True):
            sel[d] = li
        v = b[tuple(sel)]
        if adjacent and dims[0] != 0:  # NumPy keeps adjacent advanced dims in place
            v = np.moveaxis(v, dims[0], 0)
        parts.append(v)
    out = np.concatenate(parts, axis=0)[inv]
    return out.reshape(bshape + out.shape[1:])


def _vindex_lazy(x, index):
    """``x.vindex[idx]`` with a lazy integer array: only for a 1-d array of one block (as
    Dask), the result chunked like ``idx``."""
    if len(index) != 1 or x.ndim != 1 or x.numblocks[0] != 1:
        raise IndexError(
            "vindex does not support indexing with dask objects unless the array has one "
            "dimension and one block; call compute on the indexer first"
        )
    idx = index[0]
    if idx.dtype.kind not in "iu":
        raise IndexError("vindex supports only integer arrays")
    return idx.map_blocks(_pick, [x], dtype=x.dtype)


def _pick(idx, whole):
    return np.asarray(whole[0])[idx]
