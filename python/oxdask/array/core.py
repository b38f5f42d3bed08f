"""The :class:`Array` collection and the graph-building primitives every operation uses.

An :class:`Array` is a name, a :class:`~oxdask.highlevelgraph.HighLevelGraph`, chunks (a tuple
of tuples of block sizes, ``nan`` when unknown) and a dtype. Its keys are
``(name, i, j, ...)``, one per block.

Operations build *compact* layers wherever they can (:func:`_blockwise_layer`): one
:class:`~oxdask.highlevelgraph.BlockwiseLayer` describes all blocks, and a task that needs to
know where its block lies receives :class:`~oxdask.array.chunk.Loc` objects from tiny
per-axis *location layers* (one entry per block along one axis, shared by every array with
the same chunks along that axis). Building an operation therefore costs O(sum of blocks per
axis), never O(number of blocks).
"""

from __future__ import annotations

import functools
import math
import operator
from itertools import count

import numpy as np

from oxdask.array import chunk as _chunk
from oxdask.array._chunks import _isnan, normalize_chunks, shape_of, starts
from oxdask.array._io_methods import IOMethods
from oxdask.array.chunk import Loc
from oxdask.base import DaskMethodsMixin, is_dask_collection
from oxdask.context import globalmethod
from oxdask.highlevelgraph import HighLevelGraph, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["Array", "asanyarray", "asarray", "from_array", "map_blocks", "store"]

_unique = count()


def _name(prefix: str, *args) -> str:
    if args:
        return f"{prefix}-{tokenize(*args)}"
    return f"{prefix}-{next(_unique):x}{tokenize(prefix, next(_unique))[:12]}"


def _loc_layer(chunks_axis) -> tuple[str, dict]:
    name = "loc-" + tokenize(chunks_axis)
    st = starts(chunks_axis)
    layer = {(name, i): Loc(i, st[i], st[i + 1]) for i in range(len(chunks_axis))}
    return name, layer


class PerformanceWarning(Warning):
    """A warning given when an operation is likely to be slow or to use much memory."""


def _optimize(dsk, keys, **kwargs):
    from oxdask.array.optimization import optimize

    return optimize(dsk, keys, **kwargs)


def _dont_optimize(dsk, keys, **kwargs):
    return dsk


class Array(DaskMethodsMixin, IOMethods):
    """A lazy N-dimensional array cut into NumPy blocks, compatible with ``dask.array.Array``.

    Parameters
    ----------
    dask : Mapping
        The task graph (a :class:`~oxdask.highlevelgraph.HighLevelGraph` or a plain dict).
    name : str
        Name of the keys ``(name, i, j, ...)``.
    chunks : tuple
        Chunks as accepted by :func:`normalize_chunks`.
    dtype : dtype, optional
    meta : array, optional
        An empty array giving the block type and dtype.
    shape : tuple, optional
    """

    __array_priority__ = 11

    def __init__(self, dask, name, chunks, dtype=None, meta=None, shape=None):
        if not isinstance(dask, HighLevelGraph):
            dask = HighLevelGraph({name: dask}, {name: set()})
        self.dask = dask
        self._name = name
        self._chunks = normalize_chunks(chunks, shape, dtype=dtype)
        meta_type = meta if isinstance(meta, type) else type(meta)
        if dtype is None:
            dtype = meta.dtype if meta is not None and meta is not meta_type else np.float64
        self._dtype = np.dtype(dtype)
        # Blocks are NumPy arrays, or masked arrays (``meta`` a np.ma.MaskedArray or the type).
        self._masked = issubclass(meta_type, np.ma.MaskedArray)

    # -- collection protocol ------------------------------------------------------------------
    def __dask_graph__(self):
        return self.dask

    def __dask_layers__(self):
        return (self.name,)

    def __dask_keys__(self):
        if self.ndim == 0:
            return [(self.name,)]

        def keys(prefix, d):
            if d == self.ndim - 1:
                return [(self.name, *prefix, i) for i in range(self.numblocks[d])]
            return [keys((*prefix, i), d + 1) for i in range(self.numblocks[d])]

        return keys((), 0)

    def __dask_tokenize__(self):
        return self.name

    __dask_optimize__ = globalmethod(
        _optimize, key="array_optimize", falsey=_dont_optimize
    )  # config.set(array_optimize=f) replaces it, as in Dask

    def __dask_postcompute__(self):
        return _finalize, ()

    def __dask_postpersist__(self):
        return Array._rebuild, (self.name, self.chunks, self.dtype, self._meta)

    @staticmethod
    def _rebuild(dsk, name, chunks, dtype, meta=None, rename=None):
        if rename:
            name = rename.get(name, name)
        return Array(dsk, name, chunks, dtype, meta=meta)

    # -- metadata -----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def chunks(self) -> tuple:
        return self._chunks

    @chunks.setter
    def chunks(self, value):
        raise TypeError("Can not set chunks directly; use x.rechunk(chunks) instead")

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def _meta(self):
        empty = np.ma.empty if self._masked else np.empty
        return empty((0,) * self.ndim, dtype=self.dtype)

    @property
    def shape(self) -> tuple:
        return shape_of(self.chunks)

    @property
    def ndim(self) -> int:
        return len(self.chunks)

    @property
    def numblocks(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.chunks)

    @property
    def npartitions(self) -> int:
        return math.prod(self.numblocks)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def chunksize(self) -> tuple:
        return tuple(max(c, default=0) for c in self.chunks)

    @property
    def blocks(self):
        from oxdask.array.slicing import BlockView

        return BlockView(self)

    @property
    def vindex(self):
        from oxdask.array.slicing import VIndex

        return VIndex(self)

    def __len__(self) -> int:
        if not self.chunks:
            raise TypeError("len() of unsized object")
        n = self.shape[0]
        if _isnan(n):
            raise ValueError("Cannot call len() on object with unknown chunk size.")
        return int(n)

    def __repr__(self) -> str:
        name = self.name.rsplit("-", 1)[0] if "-" in self.name else self.name
        return (
            f"dask.array<{name}, shape={self.shape}, dtype={self.dtype}, "
            f"chunksize={self.chunksize}, chunktype={_chunktype(self)}>"
        )

    def _repr_html_(self) -> str:
        from oxdask.array._protocols import _html

        return _html(self)

    def _repr_inline_(self, max_width: int = 80) -> str:
        from oxdask.array._protocols import _inline

        return _inline(self, max_width)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None, **kwargs):
        x = self.compute()
        return np.asarray(x, dtype=dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from oxdask.array.ufunc import _array_ufunc

        return _array_ufunc(self, ufunc, method, *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from oxdask.array._protocols import _array_function

        return _array_function(func, types, args, kwargs)

    def __bool__(self):
        if self.size != 1:
            raise ValueError(
                f"The truth value of a {type(self).__name__} is ambiguous. Use a.any() or a.all()."
            )
        return bool(self.compute())

    def _scalar(self, kind):
        if self.size != 1:
            raise TypeError("Only length-1 arrays can be converted to Python scalars")
        return kind(self.compute())

    def __int__(self):
        return self._scalar(int)

    def __float__(self):
        return self._scalar(float)

    def __complex__(self):
        return self._scalar(complex)

    def __index__(self):
        return self._scalar(operator.index)

    def __setstate__(self, state):
        self.__dict__.update(state)

    # -- indexing ----------------------------------------------------------------------------
    def __getitem__(self, index):
        from oxdask.array.slicing import getitem

        return getitem(self, index)

    def __setitem__(self, key, value):
        from oxdask.array.slicing import setitem

        out = setitem(self, key, value)
        self._assign(out)

    def _assign(self, out):
        """Become ``out`` (in-place operations, ``out=`` arguments)."""
        self.dask, self._name, self._chunks, self._dtype = out.dask, out.name, out.chunks, out.dtype
        self._masked = out._masked

    # -- conversions --------------------------------------------------------------------------
    def astype(self, dtype, casting="unsafe", copy=True, **kwargs):
        """Cast every block to ``dtype`` (see :meth:`numpy.ndarray.astype`)."""
        if kwargs:
            raise TypeError(
                f"astype does not take the following keyword arguments: {sorted(kwargs)}"
            )
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if not np.can_cast(self.dtype, dtype, casting=casting):
            raise TypeError(
                f"Cannot cast array data from {self.dtype!r} to {dtype!r} "
                f"according to the rule {casting!r}"
            )
        from oxdask.array.blockwise import elemwise

        return elemwise(_chunk.astype, self, dtype=dtype, kwargs={"dtype": dtype})

    def to_delayed(self, optimize_graph=True):
        """A NumPy object array of :class:`~oxdask.delayed.Delayed`, one per block."""
        from oxdask.delayed import Delayed

        keys = np.empty(self.numblocks, dtype=object)
        for idx in np.ndindex(*self.numblocks):
            keys[idx] = Delayed((self.name, *idx), self.dask)
        return keys

    def compute_chunk_sizes(self):
        """Compute unknown chunk sizes in place; returns ``self``."""
        from oxdask.array.slicing import compute_chunk_sizes

        return compute_chunk_sizes(self)

    def rechunk(
        self, chunks="auto", threshold=None, block_size_limit=None, balance=False, method=None
    ):
        """Change the chunking (see :func:`oxdask.array.rechunk`)."""
        from oxdask.array.rechunk import rechunk

        return rechunk(self, chunks, threshold, block_size_limit, balance)

    def map_blocks(self, func, *args, **kwargs):
        """``map_blocks(func, self, *args, **kwargs)``."""
        return map_blocks(func, self, *args, **kwargs)

    def map_overlap(self, func, depth, boundary=None, trim=True, **kwargs):
        """``map_overlap(func, self, depth=..., ...)`` (see :func:`oxdask.array.map_overlap`)."""
        from oxdask.array.overlap import map_overlap

        return map_overlap(func, self, depth=depth, boundary=boundary, trim=trim, **kwargs)

    def copy(self):
        return Array(self.dask, self.name, self.chunks, self.dtype, meta=self._meta)

    def __deepcopy__(self, memo):
        return self.copy()

    # elementwise, reductions and shapes: attached in ``oxdask/array/__init__.py``.


def _chunktype(x) -> str:
    return "numpy.ma.MaskedArray" if x._masked else "numpy.ndarray"


def _finalize(results):
    if not isinstance(results, (list, tuple)):
        return results
    return _concat_nested(results)


def _concat_nested(results):
    if not isinstance(results, (list, tuple)):
        return results
    depth = 0
    x = results
    while isinstance(x, (list, tuple)):
        depth += 1
        x = x[0] if len(x) else None
    if depth == 1 and len(results) == 1 and np.ndim(results[0]) == 0:
        return results[0]
    if _any_masked(results):
        return _ma_concat(results, 0)
    return (
        np.block(_lists(results))
        if depth > 1
        else np.concatenate([np.asarray(r) for r in results], axis=0)
    )


def _any_masked(x) -> bool:
    if isinstance(x, (list, tuple)):
        return any(_any_masked(y) for y in x)
    return isinstance(x, np.ma.MaskedArray)


def _ma_concat(x, axis):
    if not isinstance(x, (list, tuple)):
        return x
    parts = [_ma_concat(y, axis + 1) for y in x]
    return parts[0] if len(parts) == 1 else _chunk.concatenate(parts, axis=axis)


def _lists(x):
    if isinstance(x, (list, tuple)):
        return [_lists(y) for y in x]
    return np.asarray(x)


# ---------------------------------------------------------------------------------------------
# Graph building


def _new(name, layer, deps, chunks, dtype, extra_layers=None, meta=None) -> Array:
    """An Array of a new layer; its blocks are masked when ``meta`` is a masked array or,
    without ``meta``, when those of an array in ``deps`` are."""
    graph = HighLevelGraph.from_collections(name, layer, [d for d in deps if is_dask_collection(d)])
    if extra_layers:
        for k, v in extra_layers.items():
            graph.layers.setdefault(k, v)
            graph.dependencies.setdefault(k, set())
            graph.dependencies[name].add(k)
    if meta is None and any(getattr(d, "_masked", False) for d in deps):
        meta = np.ma.empty((0,), dtype=dtype)
    return Array(graph, name, chunks, dtype, meta=meta)


# ---------------------------------------------------------------------------------------------
# Creation from existing data


def from_array(
    x,
    chunks="auto",
    name=None,
    lock=False,
    asarray=None,
    fancy=True,
    getitem=None,
    meta=None,
    inline_array=False,
):
    """Create an array from anything with ``shape``, ``dtype`` and NumPy-style slicing.

    Parameters
    ----------
    x : array_like
        A NumPy array, or an object such as a zarr or h5py dataset.
    chunks : int, tuple, dict or "auto"
    name : str or bool, optional
        Name of the array; ``False`` for a random name.
    lock : bool or Lock, optional
        Serialize reads from ``x`` (``True``: a new lock).
    asarray : bool, optional
        Convert every block with ``np.asarray`` (default: True unless ``x`` is a NumPy
        array subclass).
    fancy, getitem, meta, inline_array
        Accepted for compatibility.

    Returns
    -------
    Array
    """
    if isinstance(x, Array):
        raise ValueError("Array is already a dask array; use rechunk or asarray")
    if not hasattr(x, "shape") or not hasattr(x, "dtype") or isinstance(x, np.generic):
        x = np.asarray(x)  # NumPy scalars too: the graph holds a 0-d array
    if hasattr(x, "__dask_graph__") and is_dask_collection(x):
        raise ValueError("from_array got a dask collection")
    shape = tuple(int(s) for s in x.shape)
    dtype = np.dtype(x.dtype)
    chunks = normalize_chunks(chunks if shape else (), shape, dtype=dtype)  # 0-d: no chunks
    masked = isinstance(x, np.ma.MaskedArray)
    if masked and meta is None:
        meta = np.ma.empty((0,) * len(shape), dtype=dtype)
    if asarray is None and masked:
        asarray = False  # masked blocks keep their mask
    if name in (None, True):
        if masked:
            token = tokenize(x.data, np.ma.getmaskarray(x), x.fill_value, chunks)
        elif isinstance(x, np.ndarray):
            token = tokenize(x, chunks)
        else:
            token = tokenize(id(x), chunks)
        name = f"array-{token}"
    elif name is False:
        name = _name("array")
    if lock is True:
        lock = _chunk.SerializableLock()
    kwargs = {}
    if lock:
        kwargs["lock"] = lock
    if asarray is False:
        kwargs["asarray"] = False
    ndim = len(shape)
    if ndim == 0:
        if isinstance(x, np.ndarray):
            task = x.copy()
        else:  # read through the getter, as blocks of other dimensions
            task = (functools.partial(_chunk.getter, **kwargs), x)
        layer = MaterializedLayer({(name,): task})
        return Array(HighLevelGraph({name: layer}, {name: set()}), name, (), dtype, meta=meta)
    from oxdask.array.blockwise import _blockwise_layer

    layer, extra = _blockwise_layer(
        name,
        _chunk.getter,
        list(range(ndim)),
        [(x, None)],
        chunks,
        locs=range(ndim),
        kwargs=kwargs,
        inline=isinstance(x, np.ndarray),  # slicing in-memory data is free: no copy
    )
    return _new(name, layer, [], chunks, dtype, extra, meta=meta)


def asarray(
    a,
    allow_unknown_chunksizes=False,
    dtype=None,
    order=None,
    *,
    like=None,
    inline_array=False,
    **kwargs,
):
    """Convert ``a`` to an :class:`Array` (arrays are returned as they are).

    Parameters
    ----------
    a : array_like
    allow_unknown_chunksizes : bool
        Accepted for compatibility.
    dtype : dtype, optional
    order, like, inline_array
        Accepted for compatibility.
    **kwargs
        Passed to :func:`from_array` (``chunks=``...) for data not yet lazy.

    Returns
    -------
    Array
    """
    if isinstance(a, Array):
        return a if dtype is None else a.astype(dtype)
    if isinstance(a, (list, tuple)) and any(isinstance(x, Array) for x in a):
        from oxdask.array.routines import stack

        return (
            stack([asarray(x) for x in a])
            if dtype is None
            else stack([asarray(x) for x in a]).astype(dtype)
        )
    sliceable = hasattr(a, "shape") and hasattr(a, "dtype") and hasattr(a, "__getitem__")
    if not sliceable or dtype is not None:
        a = np.asarray(a, dtype=dtype)
    kwargs.setdefault("chunks", a.shape if a.ndim else ())
    return from_array(a, **kwargs)


def asanyarray(a, dtype=None, order=None, *, like=None, inline_array=False, **kwargs):
    """Convert ``a`` to an :class:`Array`, keeping NumPy subclasses in the blocks (as
    :func:`asarray`)."""
    return asarray(a, dtype=dtype, order=order, like=like, inline_array=inline_array, **kwargs)


# ---------------------------------------------------------------------------------------------
# blockwise and map_blocks


def map_blocks(
    func,
    *args,
    name=None,
    token=None,
    dtype=None,
    chunks=None,
    drop_axis=None,
    new_axis=None,
    enforce_ndim=False,
    meta=None,
    **kwargs,
):
    """Apply ``func`` to every block (see :mod:`oxdask.array.gufunc` for the details).

    Parameters
    ----------
    func : callable
        Receives NumPy blocks; may accept ``block_info=`` and ``block_id=`` keywords.
    *args : Array or other
        Arrays are aligned on their trailing dimensions and broadcast.
    name, token : str, optional
    dtype : dtype, optional
    chunks : tuple, optional
        Output block shape (tuple of ints) or chunks (tuple of tuples).
    drop_axis : int or sequence, optional
        Axes removed by ``func`` (blocks along them are concatenated first).
    new_axis : int or sequence, optional
        Axes created by ``func``.
    enforce_ndim : bool
        Check the dimension of every result block.
    meta : array, optional
    **kwargs
        Passed to ``func``.

    Returns
    -------
    Array
    """
    from oxdask.array.gufunc import _map_blocks

    return _map_blocks(
        func, args, name, token, dtype, chunks, drop_axis, new_axis, enforce_ndim, meta, kwargs
    )


# ---------------------------------------------------------------------------------------------
# store


def from_func(func, shape, dtype=None, name=None, args=(), kwargs=None):
    """An array of one block, ``func(*args, **kwargs)`` (a NumPy array of ``shape``)."""
    from oxdask.array.io import _from_func

    return _from_func(func, shape, dtype, name, args, kwargs)


def store(sources, targets, lock=True, regions=None, compute=True, return_stored=False, **kwargs):
    """Write arrays into sliceable targets (NumPy arrays, zarr or h5py datasets, ...).

    Parameters
    ----------
    sources : Array or list of Array
    targets : array-like or list
        Objects supporting ``target[slices] = block``.
    lock : bool or Lock
        Serialize writes (``True``: one new lock shared by all targets).
    regions : tuple of slices or list, optional
        Where in each target to write.
    compute : bool
        Run now (default) or return a :class:`~oxdask.delayed.Delayed`.
    return_stored : bool
        Return the sources instead.
    **kwargs
        Passed to ``compute``.

    Returns
    -------
    None, Delayed or tuple of Array
    """
    from oxdask.array.io import _store

    return _store(sources, targets, lock, regions, compute, return_stored, kwargs)
