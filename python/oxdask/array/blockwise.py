"""Graph-building primitives shared by every operation: Blockwise layers, ``blockwise`` and
``elemwise`` (broadcasting, chunk alignment, dtype inference).

``_blockwise_layer`` is the one place where arrays become compact layers: each task may also
receive the :class:`~oxdask.array.chunk.Loc` of its output block along chosen axes, read from
small per-axis location layers.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from oxdask.array._chunks import _isnan, common_chunks
from oxdask.array.chunk import BlockCall
from oxdask.array.core import Array, _loc_layer, _name, _new, asarray
from oxdask.base import is_dask_collection
from oxdask.highlevelgraph import BlockwiseLayer, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["blockwise", "broadcast_shapes", "elemwise"]


def _blockwise_layer(
    name, func, out_ind, args, out_chunks=None, locs=(), new_axes=None, kwargs=None, inline=False
):
    """A Blockwise layer over ``args`` (``(Array | value, ind)`` pairs).

    ``locs`` lists output labels whose :class:`Loc` (from ``out_chunks``) are appended to the
    arguments. ``inline`` marks a cheap source layer (see
    :func:`oxdask.blockwise_fusion.fuse_blockwise`). Returns ``(layer, extra_layers)``.
    """
    core_args = []
    numblocks = {}
    extra = {}
    for value, ind in args:
        if isinstance(value, Array):
            core_args.append((value.name, list(ind)))
            numblocks[value.name] = value.numblocks
        else:
            core_args.append((value, None))
    for label in locs:
        pos = list(out_ind).index(label)
        lname, layer = _loc_layer(out_chunks[pos])
        extra[lname] = MaterializedLayer(layer)
        core_args.append((lname, [label]))
        numblocks[lname] = (len(out_chunks[pos]),)
    layer = BlockwiseLayer(name, func, out_ind, core_args, numblocks, kwargs, new_axes, inline)
    return layer, extra


def elemwise(op, *args, dtype=None, name=None, kwargs=None, **kw):
    """Apply ``op`` block by block to broadcast arrays and scalars.

    Parameters
    ----------
    op : callable
        Called with NumPy blocks (and the scalars unchanged).
    *args : Array, ndarray or scalar
    dtype : dtype, optional
        Inferred by calling ``op`` on one-element arrays when not given.
    name : str, optional
    kwargs : dict, optional
        Keyword arguments for ``op`` (``**kw`` too, for compatibility).

    Returns
    -------
    Array
    """
    kwargs = {**(kwargs or {}), **kw}
    arrays = []
    conv = []
    for a in args:
        if isinstance(a, Array):
            conv.append(a)
        elif isinstance(a, (np.ndarray, list)) and np.ndim(a) > 0:
            conv.append(asarray(np.asarray(a)))
        elif is_dask_collection(a) and not isinstance(a, Array):
            raise TypeError(f"cannot combine an Array with {type(a).__name__}")
        else:
            conv.append(a)
    arrays = [a for a in conv if isinstance(a, Array)]
    ndim = max((a.ndim for a in arrays), default=0)
    shape = broadcast_shapes(*(a.shape for a in arrays))
    if dtype is None:
        dtype = _infer_dtype(op, conv, kwargs)
    arrays_u = unify_for_broadcast(arrays, shape)
    it = iter(arrays_u)
    conv = [next(it) if isinstance(a, Array) else a for a in conv]
    out_chunks = _broadcast_chunks(arrays_u, shape)
    out_ind = list(range(ndim))
    bargs = [
        (a, list(range(ndim - a.ndim, ndim))) if isinstance(a, Array) else (a, None) for a in conv
    ]
    name = name or _name(
        _funcname(op), op, *[a.name if isinstance(a, Array) else a for a in conv], kwargs
    )
    layer, extra = _blockwise_layer(name, op, out_ind, bargs, kwargs=kwargs)
    return _new(name, layer, arrays_u, out_chunks, dtype, extra)


def _funcname(f) -> str:
    n = getattr(f, "__name__", None) or type(f).__name__
    return n.strip("_").replace("_", "-") or "op"


def _infer_dtype(op, args, kwargs):
    samples = []
    for a in args:
        if isinstance(a, Array):
            samples.append(np.ones((1,) * a.ndim, dtype=a.dtype))
        else:
            samples.append(a)
    try:
        with np.errstate(all="ignore"):
            return np.asarray(op(*samples, **kwargs)).dtype
    except Exception:
        dts = [a.dtype for a in args if isinstance(a, Array)]
        return np.result_type(*dts) if dts else np.dtype(float)


def broadcast_shapes(*shapes) -> tuple:
    """Broadcast shapes like NumPy (``nan`` for unknown sizes); raises ``ValueError``."""
    if not shapes:
        return ()
    ndim = max(len(s) for s in shapes)
    out = []
    for d in range(ndim):
        sizes = [s[d - ndim + len(s)] for s in shapes if d - ndim + len(s) >= 0]
        known = {x for x in sizes if not _isnan(x) and x != 1}
        if len(known) > 1:
            raise ValueError(
                "operands could not be broadcast together with shapes "
                + " ".join(str(tuple(s)) for s in shapes)
            )
        if known:
            out.append(known.pop())
        elif any(_isnan(x) for x in sizes):
            out.append(math.nan)
        else:
            out.append(1)
    return tuple(out)


def unify_for_broadcast(arrays, shape):
    """Rechunk arrays so that the dimensions they share (size > 1) have the same chunks."""
    ndim = len(shape)
    targets = []
    for d in range(ndim):
        cs = [
            a.chunks[d - ndim + a.ndim]
            for a in arrays
            if d - ndim + a.ndim >= 0 and a.shape[d - ndim + a.ndim] != 1
        ]
        targets.append(common_chunks(*cs) if cs else None)
    out = []
    for a in arrays:
        want = {}
        for i in range(a.ndim):
            t = targets[i + ndim - a.ndim]
            if a.shape[i] != 1 and t is not None and a.chunks[i] != t:
                want[i] = t
            elif a.shape[i] == 1 and a.numblocks[i] != 1:
                want[i] = (1,)
        if want:
            from oxdask.array.rechunk import rechunk

            a = rechunk(a, {i: want.get(i, c) for i, c in enumerate(a.chunks)})
        out.append(a)
    return out


def _broadcast_chunks(arrays, shape):
    ndim = len(shape)
    out = []
    for d in range(ndim):
        best = None
        for a in arrays:
            i = d - ndim + a.ndim
            if i < 0:
                continue
            if best is None or (a.shape[i] != 1 and len(a.chunks[i]) >= len(best)):
                best = a.chunks[i] if a.shape[i] != 1 or best is None else best
        out.append(best if best is not None else (1,))
    return tuple(out)


def blockwise(
    func,
    out_ind,
    *args,
    name=None,
    token=None,
    dtype=None,
    adjust_chunks=None,
    new_axes=None,
    align_arrays=True,
    concatenate=None,
    meta=None,
    **kwargs,
):
    """Apply ``func`` to blocks matched by index labels (tensor-operation notation).

    Parameters
    ----------
    func : callable
    out_ind : iterable
        Labels of the output dimensions, e.g. ``"ij"``.
    *args : alternating value, index
        Arrays with their labels (``"ij"``), or other values with index ``None``.
    name, token : str, optional
    dtype : dtype, optional
    adjust_chunks : dict, optional
        Label to a function of the block size, an int, or a tuple of sizes.
    new_axes : dict, optional
        New output labels to their size (an int or a tuple of chunks).
    align_arrays : bool
        Rechunk arrays so that shared labels have the same chunks.
    concatenate : bool, optional
        Concatenate blocks along contracted labels before calling ``func``.
    meta : array, optional
    **kwargs
        Passed to ``func``.

    Returns
    -------
    Array
    """
    new_axes = dict(new_axes or {})
    pairs = list(zip(args[::2], args[1::2], strict=True))
    labels: dict = {}

    def lab(x):
        if x not in labels:
            labels[x] = len(labels)
        return labels[x]

    out_labels = [lab(x) for x in out_ind]
    conv = []
    for value, ind in pairs:
        if ind is None:
            conv.append((value, None))
            continue
        value = asarray(value) if not isinstance(value, Array) else value
        ind = [lab(x) for x in ind]
        if len(ind) != value.ndim:
            raise ValueError(f"index {ind} does not match an array with {value.ndim} dimensions")
        conv.append((value, ind))
    # align chunks of shared labels
    label_chunks: dict = {}
    for value, ind in conv:
        if ind is None:
            continue
        for label, c, s in zip(ind, value.chunks, value.shape, strict=True):
            if s == 1 and len(c) == 1:
                continue
            label_chunks.setdefault(label, []).append(c)
    target = {}
    for label, cs in label_chunks.items():
        if len(set(cs)) > 1 and not align_arrays:
            raise ValueError(f"chunks of label {label} do not match: {cs}")
        target[label] = common_chunks(*cs)
    aligned = []
    from oxdask.array.rechunk import rechunk

    for value, ind in conv:
        if ind is not None:
            want = tuple(
                target.get(label, c) if not (s == 1 and len(c) == 1) else c
                for label, c, s in zip(ind, value.chunks, value.shape, strict=True)
            )
            if want != value.chunks:
                value = rechunk(value, want)
        aligned.append((value, ind))
    new_label_chunks = {}
    for k, v in new_axes.items():
        label = lab(k)
        new_label_chunks[label] = (v,) if isinstance(v, Integral) else tuple(v)
    out_chunks = []
    for label in out_labels:
        if label in target:
            out_chunks.append(target[label])
        elif label in new_label_chunks:
            out_chunks.append(new_label_chunks[label])
        else:
            found = [
                c
                for v, ind in aligned
                if ind is not None
                for lb, c in zip(ind, v.chunks, strict=True)
                if lb == label
            ]
            if not found:
                raise ValueError(f"output index {label} not found in the inputs or new_axes")
            out_chunks.append(found[0])
    if adjust_chunks:
        for k, adj in adjust_chunks.items():
            pos = out_labels.index(lab(k))
            c = out_chunks[pos]
            if callable(adj):
                c = tuple(adj(b) for b in c)
            elif isinstance(adj, Integral):
                c = (adj,) * len(c)
            else:
                c = tuple(adj)
            out_chunks[pos] = c
    if concatenate:
        spec = []
        for _, ind in aligned:
            if ind is None:
                spec.append(None)
            else:
                spec.append(tuple(i for i, label in enumerate(ind) if label not in out_labels))
        func_ = BlockCall(func, tuple(spec)) if any(s for s in spec if s) else func
    else:
        func_ = func
    arrays = [v for v, ind in aligned if ind is not None]
    if dtype is None:
        dtype = meta.dtype if meta is not None else _infer_dtype_blockwise(func, aligned, kwargs)
    if name is None:
        name = f"{token or _funcname(func)}-" + tokenize(
            func,
            out_ind,
            [(v.name if isinstance(v, Array) else v, i) for v, i in aligned],
            new_axes,
            adjust_chunks,
            kwargs,
            concatenate,
        )
    new_counts = {lab(k): len(c) for k, c in zip(new_axes, new_label_chunks.values(), strict=True)}
    layer, extra = _blockwise_layer(
        name, func_, out_labels, aligned, kwargs=kwargs, new_axes=new_counts
    )
    return _new(name, layer, arrays, tuple(out_chunks), dtype, extra)


def _infer_dtype_blockwise(func, aligned, kwargs):
    arrays = [v for v, ind in aligned if ind is not None]
    dts = [a.dtype for a in arrays]
    return np.result_type(*dts) if dts else np.dtype(float)
