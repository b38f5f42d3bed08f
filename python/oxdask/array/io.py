"""Reading and writing: ``store``, ``from_delayed``, ``from_zarr``/``to_zarr`` (needs the
``zarr`` package) and
``from_npy_stack``/``to_npy_stack`` (a directory of ``.npy`` files, one per block along an
axis, plus an ``info`` file describing chunks, dtype and axis).
"""

from __future__ import annotations

import os
import pickle
from functools import partial

import numpy as np

from oxdask.array.blockwise import _blockwise_layer
from oxdask.array.core import Array, _new, asarray, from_array, store
from oxdask.highlevelgraph import HighLevelGraph, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["from_delayed", "from_npy_stack", "from_zarr", "to_npy_stack", "to_zarr"]


def _zarr():
    try:
        import zarr
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("from_zarr/to_zarr need the zarr package: pip install zarr") from e
    return zarr


def from_zarr(
    url, component=None, storage_options=None, chunks=None, name=None, inline_array=False, **kwargs
):
    """Read a zarr array (an open ``zarr.Array``, or a path/store opened with zarr).

    Parameters
    ----------
    url : zarr.Array, str or store
    component : str, optional
        Path of the array inside a group.
    storage_options : dict, optional
        Options of the fsspec filesystem of a URL (``s3://...`` credentials, endpoint).
    chunks : tuple, optional
        Default: the zarr chunks.
    name : str, optional

    Returns
    -------
    Array
    """
    if hasattr(url, "shape") and hasattr(url, "dtype") and hasattr(url, "__getitem__"):
        z = url
    else:
        zarr = _zarr()
        if storage_options:
            kwargs["storage_options"] = storage_options
        z = (
            zarr.open(url, mode="r", path=component, **kwargs)
            if component
            else zarr.open(url, mode="r", **kwargs)
        )
    if chunks is None:
        chunks = getattr(z, "chunks", "auto")
    return from_array(z, chunks=chunks, name=name or f"from-zarr-{tokenize(id(z), chunks)}")


def to_zarr(
    arr,
    url,
    component=None,
    storage_options=None,
    overwrite=False,
    region=None,
    compute=True,
    return_stored=False,
    **kwargs,
):
    """Write an array to zarr (an open ``zarr.Array`` target, or a path created with zarr).

    Every block must lie within one zarr chunk or cover whole zarr chunks when several
    threads write; oxdask rechunks to the zarr chunks when they differ.

    Returns
    -------
    None, Delayed or Array
    """
    arr = asarray(arr)
    if hasattr(url, "shape") and hasattr(url, "__setitem__") and not isinstance(url, str):
        z = url
    else:
        zarr = _zarr()
        if storage_options:
            kwargs["storage_options"] = storage_options
        mode = "w" if overwrite else "w-"
        chunks = tuple(c[0] for c in arr.chunks)
        z = (
            zarr.open_array(
                url,
                mode=mode,
                shape=arr.shape,
                chunks=chunks,
                dtype=arr.dtype,
                path=component,
                **kwargs,
            )
            if component
            else zarr.open_array(
                url, mode=mode, shape=arr.shape, chunks=chunks, dtype=arr.dtype, **kwargs
            )
        )
    zchunks = getattr(z, "chunks", None)
    if zchunks is not None and region is None:
        want = tuple(min(c, s) if s else c for c, s in zip(zchunks, arr.shape, strict=True))
        if any(
            len(set(c[:-1])) > 1 or (c and c[0] % w) for c, w in zip(arr.chunks, want, strict=True)
        ):
            arr = arr.rechunk(want)
    out = store(arr, z, lock=False, regions=region, compute=compute, return_stored=return_stored)
    return out


def _npy_fs(dirname, storage_options):
    """``(fsspec filesystem, path)`` of a URL or of a path with ``storage_options``; ``(None,
    dirname)`` for a local path (written and memory-mapped directly)."""
    dirname = os.fspath(dirname)
    if not storage_options and "://" not in dirname:
        return None, dirname
    from fsspec.core import url_to_fs

    return url_to_fs(dirname, **(storage_options or {}))


def to_npy_stack(dirname, x, axis=0, storage_options=None):
    """Write ``x`` as one ``.npy`` file per block along ``axis`` into ``dirname`` (a path or an
    fsspec URL such as ``s3://bucket/stack``, with ``storage_options`` for its filesystem)."""
    x = asarray(x)
    chunks = tuple((c if i == axis else (sum(c),)) for i, c in enumerate(x.chunks))
    xx = x.rechunk(chunks)
    fs, root = _npy_fs(dirname, storage_options)
    info = {"chunks": chunks, "dtype": x.dtype, "axis": axis}
    if fs is None:
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "info"), "wb") as f:
            pickle.dump(info, f)
        save, sep = _save, os.sep
    else:
        fs.makedirs(root, exist_ok=True)
        with fs.open(f"{root}/info", "wb") as f:
            pickle.dump(info, f)
        save, sep = partial(_save_fs, fs), "/"
    name = "to-npy-stack-" + tokenize(xx.name, dirname)
    layer = {}
    for i in range(xx.numblocks[axis]):
        idx = [0] * x.ndim
        idx[axis] = i
        layer[(name, i)] = (save, f"{root.rstrip(sep)}{sep}{i}.npy", (xx.name, *idx))
    graph = HighLevelGraph.from_collections(name, MaterializedLayer(layer), [xx])
    from oxdask.base import compute_as_if_collection

    compute_as_if_collection(Array, graph, list(layer))


def _save(path, block):
    np.save(path, block)


def _load(path, mmap_mode):
    return np.load(path, mmap_mode=mmap_mode)


def _save_fs(fs, path, block):
    with fs.open(path, "wb") as f:
        np.save(f, block)


def _load_fs(fs, path, mmap_mode):
    with fs.open(path, "rb") as f:  # read into memory: a remote file cannot be memory-mapped
        return np.load(f)


def from_npy_stack(dirname, mmap_mode="r", storage_options=None):
    """Read a directory written by :func:`to_npy_stack` (memory-mapped by default when local;
    a URL's files, with ``storage_options`` for its filesystem, are read by the tasks)."""
    fs, root = _npy_fs(dirname, storage_options)
    if fs is None:
        with open(os.path.join(root, "info"), "rb") as f:
            info = pickle.load(f)
        load, sep = _load, os.sep
    else:
        with fs.open(f"{root}/info", "rb") as f:
            info = pickle.load(f)
        load, sep = partial(_load_fs, fs), "/"
    chunks, dtype, axis = info["chunks"], info["dtype"], info["axis"]
    name = "from-npy-stack-" + tokenize(dirname)
    layer = {}
    for i in range(len(chunks[axis])):
        idx = [0] * len(chunks)
        idx[axis] = i
        layer[(name, *idx)] = (load, f"{root.rstrip(sep)}{sep}{i}.npy", mmap_mode)
    return Array(
        HighLevelGraph({name: MaterializedLayer(layer)}, {name: set()}), name, chunks, dtype
    )


def from_delayed(value, shape, dtype=None, meta=None, name=None):
    """An array of one block computed by a :class:`~oxdask.delayed.Delayed` value.

    Parameters
    ----------
    value : Delayed
    shape : tuple of int
    dtype : dtype, optional
    meta : array, optional
    name : str, optional

    Returns
    -------
    Array
    """
    from oxdask.delayed import Delayed, delayed

    if not isinstance(value, Delayed) and hasattr(value, "key"):
        value = delayed(value)
    if not isinstance(value, Delayed):
        raise TypeError(f"from_delayed expects a Delayed value, got {type(value).__name__}")
    dtype = np.dtype(dtype if dtype is not None else (meta.dtype if meta is not None else float))
    name = name or "from-value-" + tokenize(value.key, shape, dtype)
    shape = tuple(shape)
    key = (name, *(0,) * len(shape))
    layer = MaterializedLayer({key: value.key})
    graph = HighLevelGraph.from_collections(name, layer, [value])
    return Array(graph, name, tuple((s,) for s in shape), dtype)


def _store(sources, targets, lock, regions, compute, return_stored, kwargs):
    from oxdask.array.chunk import SerializableLock, store_block
    from oxdask.delayed import Delayed
    from oxdask.highlevelgraph import TreeReduceLayer

    if isinstance(sources, Array):
        sources, targets = [sources], [targets]
    sources = list(sources)
    targets = list(targets)
    if len(sources) != len(targets):
        raise ValueError(
            f"Different number of sources [{len(sources)}] and targets [{len(targets)}]"
        )
    if isinstance(regions, tuple) or regions is None:
        regions = [regions] * len(sources)
    if len(regions) != len(sources):
        raise ValueError("Different number of sources and regions")
    if lock is True:
        lock = SerializableLock()
    if compute and not return_stored and _writes_elsewhere(sources, targets, kwargs):
        return _store_in_caller(sources, targets, regions, kwargs)
    outs = []
    for src, tgt, region in zip(sources, targets, regions, strict=True):
        src = asarray(src)
        offset = [0] * src.ndim
        if region is not None:
            for d, r in enumerate(region):
                if isinstance(r, slice):
                    offset[d] = r.indices(tgt.shape[d])[0]
        elif tuple(getattr(tgt, "shape", src.shape)) != src.shape:
            raise ValueError(f"target shape {tgt.shape} does not match source {src.shape}")
        name = "store-" + tokenize(src.name, id(tgt), region)
        kw = {"target": tgt, "offset": tuple(offset)}
        if _in_memory(tgt):  # a write from another process would be lost: refuse it there
            kw["owner"] = os.getpid()
        if lock:
            kw["lock"] = lock
        layer, extra = _blockwise_layer(
            name,
            store_block,
            list(range(src.ndim)),
            [(src, list(range(src.ndim)))],
            src.chunks,
            locs=range(src.ndim),
            kwargs=kw,
        )
        stored = _new(name, layer, [src], src.chunks, src.dtype, extra)
        outs.append((src, stored))
    if return_stored:
        if compute:
            from oxdask.base import compute as _compute

            _compute(*[s for _, s in outs], **kwargs)
        return tuple(src for src, _ in outs)
    final = "store-map-" + tokenize([s.name for _, s in outs])
    layers = {}
    keys = []
    for _, s in outs:
        if s.ndim == 0:
            keys.append((s.name,))
            continue
        tname = f"{s.name}-done"
        layers[tname] = TreeReduceLayer(
            tname, s.name, s.numblocks, list(range(s.ndim)), [8] * s.ndim, _none, _none
        )
        keys.append((tname,))
    graph = HighLevelGraph.merge(*(s.dask for _, s in outs))
    for k, v in layers.items():
        graph.layers[k] = v
        graph.dependencies[k] = set()
    graph.layers[final] = MaterializedLayer({final: (_none, keys)})
    graph.dependencies[final] = set(layers)
    d = Delayed(final, graph)
    if compute:
        d.compute(**kwargs)
        return None
    return d


def _none(*args, **kwargs):
    return None


def _in_memory(target) -> bool:
    """A target that lives in this process only (a NumPy array, an open h5py dataset): a
    write in another process is lost, or the target cannot even be sent there."""
    import numpy as np

    return isinstance(target, np.ndarray) or type(target).__module__.startswith("h5py")


def _writes_elsewhere(sources, targets, kwargs) -> bool:
    """Whether tasks would write into this process's NumPy targets from other processes
    (the processes scheduler, a distributed client)."""
    from oxdask import local, threaded
    from oxdask._schedulers import get_scheduler

    if not any(_in_memory(t) for t in targets):
        return False
    get = get_scheduler(
        scheduler=kwargs.get("scheduler"), collections=[asarray(s) for s in sources]
    )
    return get is not None and get not in (threaded.get, local.get_sync)


def _store_in_caller(sources, targets, regions, kwargs):
    """Compute the sources wherever the scheduler runs them, then write them into the
    targets here, in the process that holds them."""
    from oxdask.base import compute as _compute

    values = _compute(*[asarray(s) for s in sources], **kwargs)
    for value, target, region in zip(values, targets, regions, strict=True):
        if region is None and tuple(target.shape) != value.shape:
            raise ValueError(f"target shape {target.shape} does not match source {value.shape}")
        target[region if region is not None else ...] = value
    return None


def to_hdf5(filename, *args, chunks=True, **kwargs):
    """Write arrays into datasets of an HDF5 file (h5py).

    ``to_hdf5(filename, "/x", x)`` or ``to_hdf5(filename, {"/x": x, "/y": y})``. Each dataset
    is created (or reused) with the array's shape and dtype; ``chunks=True`` gives it the
    array's first chunk shape, and other keywords go to ``h5py.File.require_dataset``
    (``compression="gzip"``...). ``scheduler=`` picks what computes the blocks; the writes
    happen in this process.
    """
    if len(args) == 1 and isinstance(args[0], dict):
        data = dict(args[0])
    elif len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], Array):
        data = {args[0]: args[1]}
    else:
        raise ValueError("Please provide {'/data/path': array} dictionary")
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("to_hdf5 needs h5py: pip install h5py") from e
    compute_kwargs = {k: kwargs.pop(k) for k in ("scheduler", "num_workers") if k in kwargs}
    with h5py.File(os.fspath(filename), mode="a") as f:
        datasets = [
            f.require_dataset(
                path,
                shape=x.shape,
                dtype=x.dtype,
                chunks=tuple(c[0] for c in x.chunks) if chunks is True else chunks,
                **kwargs,
            )
            for path, x in data.items()
        ]
        _store(list(data.values()), datasets, True, None, True, False, compute_kwargs)


def _from_func(func, shape, dtype, name, args, kwargs):
    import functools

    kwargs = kwargs or {}
    shape = tuple(int(s) for s in shape)
    name = name or "from_func-" + tokenize(func, shape, dtype, args, kwargs)
    call = functools.partial(func, *args, **kwargs) if args or kwargs else func
    layer = MaterializedLayer({(name, *(0,) * len(shape)): (call,)})
    graph = HighLevelGraph.from_collections(name, layer, [])
    return Array(graph, name, tuple((n,) for n in shape), np.dtype(dtype) if dtype else None)
