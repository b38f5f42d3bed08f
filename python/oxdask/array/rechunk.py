"""``rechunk``: change the block structure of an array.

Plan: along every axis, each new block is a list of (old block, slice) pieces. When the
number of pieces an output block gathers (its *fan-in*) stays small, one task per output
block slices and concatenates its pieces (one stage). When the fan-in grows above
``threshold`` blocks, the change is split into two stages through an intermediate chunking
that changes the axes one group at a time (first the axes whose blocks get smaller, then
those whose blocks get larger), so that no task ever gathers more than about ``threshold``
old blocks per axis pair and no intermediate block is larger than the larger of an old and a
new block. Intermediate memory is therefore bounded by a few input and output blocks per
running task, whatever the shapes.
"""

from __future__ import annotations

import math
from itertools import pairwise, product

import numpy as np

from oxdask.array._chunks import _isnan, normalize_chunks, starts
from oxdask.array.core import Array, _new
from oxdask.highlevelgraph import MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["rechunk"]


def _pieces(old, new) -> list[list[tuple[int, slice]]]:
    """For each new block along one axis: the (old block, slice in it) pieces, in order."""
    st = starts(new)
    return _range_pieces(old, list(pairwise(st)))


def _range_pieces(old, ranges) -> list[list[tuple[int, slice]]]:
    """For each range ``(lo, hi)`` (ranges may overlap): the pieces of old blocks, in order."""
    o = starts(old)
    out = []
    for lo, hi in ranges:
        parts = []
        i = max(int(np.searchsorted(o, lo, side="right")) - 1, 0)
        while i < len(old) and o[i + 1] <= lo and not (o[i] == o[i + 1] == lo == hi):
            i += 1
        j = i
        while j < len(old) and o[j] < hi:
            parts.append((j, slice(max(lo, o[j]) - o[j], min(hi, o[j + 1]) - o[j])))
            j += 1
        if not parts:  # an empty new block
            k = min(i, len(old) - 1)
            parts.append((k, slice(0, 0)))
        out.append(parts)
    return out


class _Assemble:
    """Task: slice the pieces of old blocks and concatenate them into one new block."""

    __slots__ = ("slices",)

    def __init__(self, slices):
        self.slices = slices

    def __reduce__(self):
        return (_Assemble, (self.slices,))

    def __call__(self, blocks):
        return _concat(blocks, self.slices, 0)


def _concat(blocks, slices, axis):
    if not isinstance(blocks, list):
        return blocks[slices]
    parts = [_concat(b, s, axis + 1) for b, s in zip(blocks, slices, strict=True)]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts, axis=axis)


def _nest(idx_lists, fn, prefix=()):
    if not idx_lists:
        return fn(prefix)
    return [_nest(idx_lists[1:], fn, (*prefix, i)) for i in idx_lists[0]]


def _one_stage(x: Array, chunks, name, per_axis=None) -> Array:
    if per_axis is None:
        per_axis = [
            [[(i, slice(None))] for i in range(len(o))]
            if any(_isnan(b) for b in o)
            else _pieces(o, n)
            for o, n in zip(x.chunks, chunks, strict=True)
        ]
    layer = {}
    for out_idx in product(*(range(len(c)) for c in chunks)):
        pieces = [per_axis[d][i] for d, i in enumerate(out_idx)]
        if all(len(p) == 1 for p in pieces):
            (src, sl) = zip(*(p[0] for p in pieces), strict=True)
            full = all(
                s == slice(None) or (s.start == 0 and s.stop == x.chunks[d][src[d]])
                for d, s in enumerate(sl)
            )
            if full:
                layer[(name, *out_idx)] = (x.name, *src)
                continue
        keys = _nest(
            [list(range(len(p))) for p in pieces],
            lambda pos, pieces=pieces: (x.name, *(pieces[d][k][0] for d, k in enumerate(pos))),
        )
        slices = _nest(
            [list(range(len(p))) for p in pieces],
            lambda pos, pieces=pieces: tuple(pieces[d][k][1] for d, k in enumerate(pos)),
        )
        layer[(name, *out_idx)] = (_Assemble(slices), keys)
    return _new(name, MaterializedLayer(layer), [x], chunks, x.dtype)


def gather(x: Array, ranges, name) -> Array:
    """Blocks made of arbitrary (possibly overlapping) ``(lo, hi)`` ranges per axis."""
    per_axis = [_range_pieces(o, r) for o, r in zip(x.chunks, ranges, strict=True)]
    chunks = tuple(tuple(hi - lo for lo, hi in r) for r in ranges)
    return _one_stage(x, chunks, name, per_axis)


def _fan_in(old, new) -> int:
    return max((len(p) for p in _pieces(old, new)), default=1)


def rechunk(x, chunks="auto", threshold=None, block_size_limit=None, balance=False, method=None):
    """Convert ``x`` to new chunks.

    Parameters
    ----------
    x : Array
    chunks : int, tuple, dict or "auto"
        As :func:`normalize_chunks`; ``-1``/``None`` keeps a dimension whole, a dict leaves
        the axes it does not name unchanged.
    threshold : int, optional
        Largest product of per-axis fan-ins done in one stage (default 64).
    block_size_limit : int, optional
        Byte limit for ``"auto"`` chunks.
    balance : bool
        Make the blocks of each axis as even as possible.
    method : str, optional
        Accepted for compatibility.

    Returns
    -------
    Array
    """
    if not isinstance(x, Array):
        raise TypeError(f"rechunk expects a dask Array, got {type(x).__name__}")
    if isinstance(chunks, dict):
        chunks = {k % x.ndim if -x.ndim <= k < x.ndim else k: v for k, v in chunks.items()}
        bad = [k for k in chunks if not 0 <= k < x.ndim]
        if bad:
            raise ValueError(f"axis {bad[0]} is out of bounds for array of dimension {x.ndim}")
        chunks = tuple(chunks.get(i, x.chunks[i]) for i in range(x.ndim))
    if isinstance(chunks, (tuple, list)) and len(chunks) != x.ndim:
        raise ValueError(
            f"Chunks and shape must be of the same length/dimension. "
            f"Got chunks={tuple(chunks)}, shape={x.shape}"
        )
    if isinstance(chunks, (tuple, list)):
        chunks = tuple(
            x.chunks[i]
            if (
                c is not None
                and not isinstance(c, (tuple, list, str))
                and isinstance(c, float)
                and math.isnan(c)
            )
            else c
            for i, c in enumerate(chunks)
        )
    unknown = [i for i, c in enumerate(x.chunks) if any(_isnan(b) for b in c)]
    if unknown:
        want = list(chunks) if isinstance(chunks, tuple) else [chunks] * x.ndim
        for i in unknown:
            if want[i] not in (x.chunks[i], -1, None) and not (
                isinstance(want[i], tuple) and all(_isnan(b) for b in want[i])
            ):
                raise ValueError(
                    "Chunks do not add up to shape / unknown chunk sizes along axis "
                    f"{i}: call compute_chunk_sizes() first"
                )
            want[i] = x.chunks[i]
        known_shape = tuple(s if not _isnan(s) else 1 for s in x.shape)
        new = list(
            normalize_chunks(
                tuple(w if i not in unknown else -1 for i, w in enumerate(want)),
                known_shape,
                limit=block_size_limit,
                dtype=x.dtype,
            )
        )
        for i in unknown:
            new[i] = x.chunks[i]
        chunks = tuple(new)
    else:
        chunks = normalize_chunks(
            chunks, x.shape, limit=block_size_limit, dtype=x.dtype, previous_chunks=x.chunks
        )
    if balance:
        chunks = tuple(_balance(c) for c in chunks)
    if chunks == x.chunks:
        return x
    threshold = threshold or 64
    fan = [
        1 if any(_isnan(b) for b in o) else _fan_in(o, n)
        for o, n in zip(x.chunks, chunks, strict=True)
    ]
    name = "rechunk-merge-" + tokenize(x.name, chunks)
    if math.prod(fan) <= threshold or x.ndim < 2:
        return _one_stage(x, chunks, name)
    # Two stages: first split the axes that get finer, then merge those that get coarser.
    mid = tuple(n if len(n) >= len(o) else o for o, n in zip(x.chunks, chunks, strict=True))
    if mid in (x.chunks, chunks):
        return _one_stage(x, chunks, name)
    y = _one_stage(x, mid, "rechunk-split-" + tokenize(x.name, mid))
    return _one_stage(y, chunks, name)


def _balance(c):
    n = len(c)
    total = sum(c)
    if n == 0 or _isnan(total):
        return c
    base, extra = divmod(total, n)
    return tuple(base + (1 if i < extra else 0) for i in range(n))
