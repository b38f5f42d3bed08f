"""Chunk arithmetic: normalizing user chunk specifications, unifying chunkings, locations.

Chunks are a tuple (one per dimension) of tuples of block sizes; an unknown size is ``nan``.
"""

from __future__ import annotations

import math
from itertools import pairwise
from numbers import Integral, Number

import numpy as np

from oxdask import config

#: the one NaN object of unknown sizes: NumPy's, so that chunks compare equal (``==`` on
#: tuples checks identity first) with chunks written with ``np.nan`` as in Dask
_NAN = np.nan

__all__ = ["blockdims_from_blockshape", "normalize_chunks"]

_AUTO_BYTES = 128 * 2**20


def _parse_bytes(s) -> int:
    if isinstance(s, Number):
        return int(s)
    s = str(s).strip().lower().replace(" ", "")
    units = {"kib": 2**10, "mib": 2**20, "gib": 2**30, "kb": 1e3, "mb": 1e6, "gb": 1e9, "b": 1}
    for u, m in units.items():
        if s.endswith(u):
            return int(float(s[: -len(u)]) * m)
    return int(float(s))


def _limit_bytes(limit) -> int:
    if limit is None:
        limit = config.get("array.chunk-size", _AUTO_BYTES)
    return _parse_bytes(limit)


def blockdims_from_blockshape(shape, chunks) -> tuple[tuple[int, ...], ...]:
    """Chunks from a block shape: ``(10, 4), (4, 4) -> ((4, 4, 2), (4,))``.

    Parameters
    ----------
    shape : tuple of int
    chunks : tuple of int

    Returns
    -------
    tuple of tuple of int
    """
    if len(shape) != len(chunks):
        raise ValueError(f"Chunks and shape must be of the same length/dimension. Got {chunks}")
    out = []
    for d, c in zip(shape, chunks, strict=True):
        if d is None or (isinstance(d, float) and math.isnan(d)):
            out.append((_NAN,))
            continue
        d = int(d)
        c = max(int(c), 1)
        if d == 0:
            out.append((0,))
            continue
        out.append((c,) * (d // c) + ((d % c,) if d % c else ()))
    return tuple(out)


def _auto(shape, chunks, limit, dtype, previous=None) -> list:
    """Replace ``"auto"`` entries by a size giving blocks of about ``limit`` bytes."""
    itemsize = np.dtype(dtype if dtype is not None else float).itemsize
    auto = [i for i, c in enumerate(chunks) if c == "auto"]
    if not auto:
        return list(chunks)
    fixed = 1
    for i, c in enumerate(chunks):
        if i not in auto:
            fixed *= max(c if isinstance(c, Integral) else max(c, default=1), 1)
    budget = max(limit / itemsize / fixed, 1)
    out = list(chunks)
    todo = list(auto)
    while todo:
        size = budget ** (1 / len(todo))
        small = [i for i in todo if shape[i] <= size]
        if not small:
            s = max(int(size), 1)
            for i in todo:
                out[i] = s
            break
        for i in small:
            out[i] = max(int(shape[i]), 1)
            budget /= max(shape[i], 1)
            todo.remove(i)
    return out


def normalize_chunks(chunks, shape=None, limit=None, dtype=None, previous_chunks=None):
    """Normalize a chunk specification to a tuple of tuples of block sizes.

    Parameters
    ----------
    chunks : int, tuple, dict, str or None
        A block size for all dimensions (``int``), one entry per dimension (each an ``int``,
        a tuple of sizes, ``-1``/``None`` for the full dimension or ``"auto"``), a dict
        ``{axis: entry}`` (missing axes: full), ``"auto"``, or a full tuple of tuples.
    shape : tuple of int, optional
    limit : int or str, optional
        Target block size in bytes for ``"auto"`` (default: config ``array.chunk-size``,
        128 MiB).
    dtype : dtype, optional
        Needed for ``"auto"``.
    previous_chunks : tuple, optional
        Accepted for compatibility.

    Returns
    -------
    tuple of tuple of int

    Examples
    --------
    >>> normalize_chunks((2, 2), shape=(5, 6))
    ((2, 2, 1), (2, 2, 2))
    >>> normalize_chunks({0: 3}, shape=(5, 6))
    ((3, 2), (6,))
    """
    if isinstance(chunks, list):
        chunks = tuple(chunks)
    if shape is not None:
        shape = tuple(int(s) if not _isnan(s) else _NAN for s in shape)
    if chunks is None:
        raise ValueError("chunks must be given (got None); use 'auto' for automatic chunks")
    if isinstance(chunks, dict):
        if shape is None:
            raise ValueError("a dict of chunks needs a shape")
        for axis in chunks:
            if not -len(shape) <= axis < len(shape):
                raise ValueError(
                    f"chunks has an entry for axis {axis}, out of range for {len(shape)} dimensions"
                )
        chunks = tuple(chunks.get(i, chunks.get(i - len(shape), -1)) for i in range(len(shape)))
    if isinstance(chunks, str):
        if chunks != "auto":
            raise ValueError(f"unknown chunks specification {chunks!r}")
        if shape is None:
            raise ValueError("chunks='auto' needs a shape")
        chunks = ("auto",) * len(shape)
    if isinstance(chunks, (Integral, float)) and not isinstance(chunks, bool):
        if shape is None:
            raise ValueError("an integer chunk size needs a shape")
        chunks = (int(chunks),) * len(shape)
    if shape is not None and isinstance(chunks, tuple):
        if not chunks and shape and all(s == 0 for s in shape):  # as Dask: () for empty arrays
            chunks = ((0,),) * len(shape)
        elif (
            len(shape) == 1
            and len(chunks) > 1
            and all(isinstance(c, Integral) and not isinstance(c, bool) for c in chunks)
            and sum(chunks) == shape[0]
        ):  # as Dask: the block sizes of a 1-d array
            chunks = (chunks,)
    if shape is not None and len(chunks) != len(shape):
        raise ValueError(
            f"Chunks and shape must be of the same length/dimension. "
            f"Got chunks={chunks}, shape={shape}"
        )
    if shape is not None:
        chunks = tuple(
            (s if not _isnan(s) else "auto") if c in (-1, None) else c
            for c, s in zip(chunks, shape, strict=True)
        )
        chunks = tuple(_auto(shape, chunks, _limit_bytes(limit), dtype))
    if all(isinstance(c, tuple) for c in chunks):
        out = tuple(tuple(int(b) if not _isnan(b) else _NAN for b in c) for c in chunks)
    else:
        if shape is None:
            raise ValueError(f"chunks {chunks} need a shape")
        out = []
        for c, s in zip(chunks, shape, strict=True):
            if isinstance(c, tuple):
                out.append(tuple(int(b) if not _isnan(b) else _NAN for b in c))
            elif _isnan(s):
                out.append((_NAN,))
            else:
                out.extend(blockdims_from_blockshape((s,), (c,)))
        out = tuple(out)
    if shape is not None:
        for c, s in zip(out, shape, strict=True):
            if not _isnan(s) and not any(_isnan(b) for b in c) and sum(c) != s:
                raise ValueError(
                    f"Chunks do not add up to shape. Got chunks={chunks}, shape={shape}"
                )
            if any(not _isnan(b) and b < 0 for b in c):
                raise ValueError(f"chunks must be non-negative, got {chunks}")
    return out


def _isnan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def shape_of(chunks) -> tuple:
    return tuple(sum(c) if not any(_isnan(b) for b in c) else _NAN for c in chunks)


def common_chunks(*chunkings: tuple) -> tuple:
    """The coarsest chunking along one axis whose boundaries include all of the given ones."""
    chunkings = [c for c in chunkings if len(c) > 0]
    if len({c for c in chunkings}) == 1:
        return chunkings[0]
    if any(any(_isnan(b) for b in c) for c in chunkings):
        raise ValueError(
            "Arrays' chunk sizes are unknown along an axis they share: "
            "call compute_chunk_sizes() first"
        )
    bounds = set()
    for c in chunkings:
        bounds.update(np.cumsum((0, *c)).tolist())
    b = sorted(bounds)
    return tuple(int(y - x) for x, y in pairwise(b)) or (0,)


def starts(chunks_axis) -> list:
    out = [0]
    for c in chunks_axis:
        out.append(out[-1] + c)
    return out
