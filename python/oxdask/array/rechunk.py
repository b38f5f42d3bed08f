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
import warnings
from itertools import pairwise
from numbers import Integral

import numpy as np

from oxdask.array._chunks import _isnan, normalize_chunks, starts
from oxdask.array.chunk import assemble
from oxdask.array.core import Array, _new
from oxdask.highlevelgraph import GatherLayer
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


def _one_stage(x: Array, chunks, name, per_axis=None) -> Array:
    """One Gather layer: each new block from its (old block, slice) pieces along every axis,
    described per axis (a few numbers per block and axis, not a task per block)."""
    if per_axis is None:
        per_axis = [
            [[(i, slice(None))] for i in range(len(o))]
            if any(_isnan(b) for b in o)
            else _pieces(o, n)
            for o, n in zip(x.chunks, chunks, strict=True)
        ]
    sources = [[[i for i, _ in p] for p in axis] for axis in per_axis]
    slices = [[tuple(s for _, s in p) for p in axis] for axis in per_axis]
    layer = GatherLayer(name, x.name, x.numblocks, sources, assemble, slices)
    return _new(name, layer, [x], chunks, x.dtype)


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
        As :func:`normalize_chunks`; ``-1`` makes a dimension one block, ``None`` (and a
        dict's missing axes) keeps its chunks.
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
        for k in chunks:
            if not isinstance(k, Integral):
                raise TypeError(f"rechunk keys must be integer axes, got {k!r}")
        chunks = {k % x.ndim if -x.ndim <= k < x.ndim else k: v for k, v in chunks.items()}
        bad = [k for k in chunks if not 0 <= k < x.ndim]
        if bad:
            raise ValueError(f"axis {bad[0]} is out of bounds for array of dimension {x.ndim}")
        chunks = tuple(chunks.get(i, x.chunks[i]) for i in range(x.ndim))
    if (
        x.ndim == 1
        and isinstance(chunks, (tuple, list))
        and len(chunks) > 1
        and all(isinstance(c, Integral) for c in chunks)
    ):  # as Dask: the block sizes of a 1-d array, else (Dask zips) the first entry only
        chunks = (tuple(chunks),) if sum(chunks) == x.shape[0] else (chunks[0],)
    if isinstance(chunks, (tuple, list)) and len(chunks) == x.ndim:
        # as Dask: None keeps an axis' chunks (-1 makes it one block)
        chunks = tuple(x.chunks[i] if c is None else c for i, c in enumerate(chunks))
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
            w = want[i]
            if isinstance(w, (tuple, list)):
                if not _same_blocks(w, x.chunks[i]):
                    raise ValueError(
                        "Chunks must be unchanging along dimensions with missing values "
                        f"(axis {i}: {x.chunks[i]} to {tuple(w)})"
                    )
            elif w not in (-1, None):
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


def _same_blocks(a, b) -> bool:
    """Whether two block-size tuples agree, unknown (NaN) sizes matching unknown ones."""
    return len(a) == len(b) and all(
        (_isnan(p) and _isnan(q)) or p == q for p, q in zip(a, b, strict=True)
    )


def _balance(c):
    """Blocks of one length (the last one shorter) whose count is that of ``c``, less one
    when ``c`` ends with a block of at most half the largest (as Dask); unchanged, with a
    warning, when no length gives that count."""
    n = len(c)
    total = sum(c)
    if n <= 1 or _isnan(total):
        return c
    if min(c) <= max(c) / 2:
        n -= 1
    length = -(-total // n)
    if -(-total // length) != n:
        warnings.warn(
            "Chunk size balancing is not possible with the given chunks. Try increasing the "
            "chunk size.",
            UserWarning,
            stacklevel=3,
        )
        return c
    return (length,) * (n - 1) + (total - length * (n - 1),)
