"""Functions that run on single blocks (NumPy arrays) inside tasks.

Everything here is a plain module-level function or a small picklable callable class, so that
graphs can be shipped to worker processes. None of them builds graphs.
"""

from __future__ import annotations

import contextlib
import os
import threading

import numpy as np

__all__ = ["Loc", "assemble", "concatenate_nested", "unwrap_nested"]


class Loc:
    """Where a block sits along one axis: block index ``i`` and elements ``start:stop``."""

    __slots__ = ("i", "start", "stop")
    __oxdask_inline__ = True  # copied into the tasks that use it, not shipped as a task

    def __init__(self, i: int, start, stop):
        self.i = i
        self.start = start
        self.stop = stop

    def __reduce__(self):
        return (Loc, (self.i, self.start, self.stop))

    def __repr__(self) -> str:
        return f"Loc({self.i}, {self.start}, {self.stop})"

    @property
    def size(self):
        return self.stop - self.start


def concatenate_nested(nested, axes):
    """Concatenate nested lists of blocks; ``axes[d]`` is the axis of nesting level ``d``."""
    if not isinstance(nested, list):
        return nested
    if not axes:
        return nested
    parts = [concatenate_nested(n, axes[1:]) for n in nested]
    if len(parts) == 1:
        return parts[0]
    return concatenate(parts, axis=axes[0])


def concatenate(parts, axis=0):
    """``np.concatenate``, or ``np.ma.concatenate`` when a part is masked (keeps masks)."""
    if any(isinstance(p, np.ma.MaskedArray) for p in parts):
        out = np.ma.concatenate(parts, axis=axis)
        with contextlib.suppress(TypeError):  # unhashable (structured) fill values
            fills = {p.fill_value[()] for p in parts if isinstance(p, np.ma.MaskedArray)}
            if len(fills) == 1:  # the blocks' common fill value (np.ma.concatenate drops it)
                out.fill_value = fills.pop()
        return out
    return np.concatenate(parts, axis=axis)


def unwrap_nested(x):
    """The single block inside nested one-element lists."""
    while isinstance(x, list):
        if len(x) != 1:
            raise ValueError(f"expected a single block, got {len(x)}")
        x = x[0]
    return x


class BlockCall:
    """Calls ``func`` after concatenating the contracted lists of the array arguments.

    ``concat[k]`` is, for positional argument ``k``, ``None`` (pass unchanged), or the tuple
    of axes along which its nested lists are concatenated (``()`` unwraps one block).
    """

    __slots__ = ("concat", "func", "nloc")

    def __init__(self, func, concat, nloc=0):
        self.func = func
        self.concat = concat
        self.nloc = nloc

    def __reduce__(self):
        return (BlockCall, (self.func, self.concat, self.nloc))

    def __call__(self, *args, **kwargs):
        args = list(args)
        for k, axes in enumerate(self.concat):
            if axes is None:
                continue
            args[k] = concatenate_nested(args[k], axes) if axes else unwrap_nested(args[k])
        return self.func(*args, **kwargs)


def getter(a, *locs, asarray=True, lock=None):
    """``a[block]`` for the block at ``locs`` (one :class:`Loc` per axis)."""
    index = tuple(slice(loc.start, loc.stop) for loc in locs)
    if lock is not None:
        lock.acquire()  # the lock's own acquire (subclasses may refuse), as Dask's getter
        try:
            c = a[index]
        finally:
            lock.release()
    else:
        c = a[index]
    if asarray:
        c = np.asarray(c)
    return c


class SerializableLock:
    """A lock that pickles to a fresh lock (enough for the local schedulers)."""

    def __init__(self):
        self.lock = threading.Lock()

    def acquire(self, *args, **kwargs):
        return self.lock.acquire(*args, **kwargs)

    def release(self):
        self.lock.release()

    def locked(self) -> bool:
        return self.lock.locked()

    def __enter__(self):
        self.lock.acquire()
        return self

    def __exit__(self, *exc):
        self.lock.release()

    def __reduce__(self):
        return (SerializableLock, ())


def filled(*locs, func, dtype, fill=None, **kwargs):
    """A block of the shape given by ``locs`` (``ones``, ``zeros``, ``full``, ``empty``).

    Constant blocks are read-only broadcast views of one element (as Dask does), so that
    creating them costs neither time nor memory; operations on them allocate their results.
    """
    shape = tuple(loc.stop - loc.start for loc in locs)
    if func is np.empty and fill is None:
        func = np.zeros
    key = (shape, dtype, func, fill)
    try:
        return _FILLED[key]
    except (KeyError, TypeError):
        pass
    if fill is None:
        one = func((1,) * len(shape), dtype=dtype, **kwargs)
    else:
        one = np.full((1,) * len(shape), fill, dtype=dtype)
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes <= _CONTIGUOUS_LIMIT:
        # small blocks: one shared, read-only, contiguous block (faster to compute with)
        out = np.ascontiguousarray(np.broadcast_to(one, shape))
        out.flags.writeable = False
    else:
        out = np.broadcast_to(one, shape)
    if len(_FILLED) < 64:
        with contextlib.suppress(TypeError):  # an unhashable fill value is not cached
            _FILLED[key] = out
    return out


# Read-only constant blocks by (shape, dtype, kind, fill): arrays with equal chunks share them.
_FILLED: dict = {}
_CONTIGUOUS_LIMIT = 1 << 20


def arange_block(loc, start, step, dtype):
    """Elements ``loc.start:loc.stop`` of ``arange(start, ..., step)``."""
    return start + step * np.arange(loc.start, loc.stop, dtype=np.float64 if step % 1 else None)


def linspace_block(loc, start, step, dtype):
    return (start + step * np.arange(loc.start, loc.stop)).astype(dtype, copy=False)


def eye_block(row, col, k, dtype):
    r = np.arange(row.start, row.stop)[:, None]
    c = np.arange(col.start, col.stop)[None, :]
    return (c - r == k).astype(dtype)


def astype(x, dtype, casting="unsafe", copy=True):
    return x.astype(dtype, casting=casting, copy=copy)


def getitem(x, index):
    return x[index]


def keepdims_wrapper(func):
    return func


def store_block(block, *locs, target, offset, lock=None, owner=None):
    """Write ``block`` into ``target`` at its location; returns nothing. ``owner`` is the
    process that holds an in-memory target: a write anywhere else would be lost."""
    if owner is not None and owner != os.getpid():
        raise RuntimeError(
            "da.store into a NumPy array ran in another process than the one holding the "
            "array, where the write would be lost: call store(..., compute=True) (it then "
            "writes the computed values in the calling process) or use threads or sync"
        )
    index = tuple(
        slice(off + loc.start, off + loc.stop) for loc, off in zip(locs, offset, strict=True)
    )
    if lock is not None:
        lock.acquire()
        try:
            target[index] = block
        finally:
            lock.release()
    else:
        target[index] = block
    return None


def nothing(*args, **kwargs):
    return None


def block_shape(x):
    return np.asarray(x).shape


def assemble(blocks, *axis_slices):
    """Gather task (rechunk, slicing, overlap): slice the pieces of blocks (``blocks`` nests
    one list per axis; ``axis_slices[d]`` holds the index of each piece along axis ``d``, a
    slice, or an integer dropping the axis when every axis has one piece) and concatenate them
    into one block."""
    return _assemble(blocks, axis_slices, 0, ())


def _assemble(blocks, axis_slices, axis, index):
    if axis == len(axis_slices):
        return blocks[index]
    parts = [
        _assemble(b, axis_slices, axis + 1, (*index, s))
        for b, s in zip(blocks, axis_slices[axis], strict=True)
    ]
    if len(parts) == 1:
        return parts[0]
    return concatenate(parts, axis=axis)
