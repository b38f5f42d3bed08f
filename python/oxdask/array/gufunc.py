"""Custom block functions: ``map_blocks`` (with ``block_info``), ``apply_gufunc``,
``as_gufunc`` and ``gufunc``.

``map_blocks`` is one Blockwise layer. When the function asks for ``block_info`` or
``block_id``, the task also receives the output block's :class:`~oxdask.array.chunk.Loc` per
axis (from shared per-axis location layers), from which the wrapper builds the same
dictionaries as Dask.
"""

from __future__ import annotations

import inspect
from numbers import Integral

import numpy as np

from oxdask.array._chunks import normalize_chunks, starts
from oxdask.array._gufunc_apply import (  # noqa: F401 - Dask has them in this module
    _parse_gufunc_signature,
    _validate_normalize_axes,
    apply_gufunc,
)
from oxdask.array.blockwise import (
    _blockwise_layer,
    _broadcast_chunks,
    _funcname,
    broadcast_shapes,
    unify_for_broadcast,
)
from oxdask.array.chunk import concatenate_nested, unwrap_nested
from oxdask.array.core import Array, _new, asarray
from oxdask.base import is_dask_collection
from oxdask.tokenize import tokenize

__all__ = ["apply_gufunc", "as_gufunc", "gufunc"]


def _has_keyword(func, name) -> bool:
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


class _MapBlocksCall:
    """Task function of ``map_blocks``: concatenates dropped axes, adds block_info/block_id."""

    def __init__(self, func, concat, nloc, info, want_info, want_id, ndim_out, lazy_kw=()):
        self.lazy_kw = lazy_kw
        self.func = func
        self.concat = concat
        self.nloc = nloc
        self.info = info
        self.want_info = want_info
        self.want_id = want_id
        self.ndim_out = ndim_out

    def __call__(self, *args, **kwargs):
        args = list(args)
        locs = args[len(args) - self.nloc :] if self.nloc else []
        args = args[: len(args) - self.nloc]
        if self.lazy_kw:  # keyword values holding collections arrive computed, last
            kwargs = dict(
                kwargs, **dict(zip(self.lazy_kw, args[-len(self.lazy_kw) :], strict=True))
            )
            args = args[: -len(self.lazy_kw)]
        for k, axes in enumerate(self.concat):
            if axes is not None:
                args[k] = concatenate_nested(args[k], axes) if axes else unwrap_nested(args[k])
        if self.nloc:
            block_id = tuple(loc.i for loc in locs)
            if self.want_id:
                kwargs["block_id"] = block_id
            if self.want_info:
                kwargs["block_info"] = self._block_info(block_id, locs)
        out = self.func(*args, **kwargs)
        if self.ndim_out is not None and np.ndim(out) != self.ndim_out:
            raise ValueError(
                f"Dimension mismatch: expected output of {self.func} to have dims = "
                f"{self.ndim_out}.  Got {np.ndim(out)} instead."
            )
        return out

    def _block_info(self, block_id, locs):
        out_shape, out_nb, dtype, inputs = self.info
        info = {
            None: {
                "shape": out_shape,
                "num-chunks": out_nb,
                "array-location": [(loc.start, loc.stop) for loc in locs],
                "chunk-location": block_id,
                "chunk-shape": tuple(loc.stop - loc.start for loc in locs),
                "dtype": dtype,
            }
        }
        for k, (shape, nb, st, pos) in inputs.items():
            cl = tuple(
                0 if p is None or n == 1 else block_id[p] for p, n in zip(pos, nb, strict=True)
            )
            al = [
                (s[c], s[c + 1]) if p is not None else (0, sh)
                for c, s, p, sh in zip(cl, st, pos, shape, strict=True)
            ]
            info[k] = {"shape": shape, "num-chunks": nb, "array-location": al, "chunk-location": cl}
        return info


def _norm_axes(axes, ndim, what) -> list[int]:
    if axes is None:
        return []
    if isinstance(axes, Integral):
        axes = [axes]
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{what} {a} is out of bounds for array of dimension {ndim}")
        out.append(a % ndim)
    return sorted(out)


def _map_blocks(
    func, args, name, token, dtype, chunks, drop_axis, new_axis, enforce_ndim, meta, kwargs
):
    if not callable(func):
        raise TypeError(f"First argument must be callable function, not {type(func).__name__}")
    conv = [asarray(a) if isinstance(a, np.ndarray) and a.ndim > 0 else a for a in args]
    # collections inside other arguments (lists of arrays, ...) are computed whole, as in Dask
    holders = {k: _holder(a) for k, a in enumerate(conv) if _has_collection(a)}
    lazy_kw = tuple(k for k, v in kwargs.items() if _has_collection(v))
    kw_holders = [_holder(kwargs[k]) for k in lazy_kw]
    kwargs = {k: v for k, v in kwargs.items() if k not in lazy_kw}
    arrays = [a for a in conv if isinstance(a, Array)]
    if not arrays:  # as in Dask: every output axis is a new axis with the given chunks
        if drop_axis:
            raise ValueError("drop_axis needs at least one dask array argument")
        if new_axis is None and chunks:
            new_axis = list(range(len(chunks)))
    shape = broadcast_shapes(*(a.shape for a in arrays))
    arrays = unify_for_broadcast(arrays, shape)
    it = iter(arrays)
    conv = [next(it) if isinstance(a, Array) else a for a in conv]
    ndim_in = len(shape)
    drop = _norm_axes(drop_axis, ndim_in, "drop_axis")
    in_chunks = _broadcast_chunks(arrays, shape)
    out_labels = [i for i in range(ndim_in) if i not in drop]
    out_chunks = [in_chunks[i] for i in out_labels]
    ndim_out = len(out_labels) + (
        len([new_axis]) if isinstance(new_axis, Integral) else len(new_axis or ())
    )
    new = _norm_axes(new_axis, ndim_out, "new_axis")
    new_counts = {}
    for k, pos in enumerate(new):
        label = ndim_in + k
        out_labels.insert(pos, label)
        out_chunks.insert(pos, (1,))
        new_counts[label] = 1
    if chunks is not None:
        if len(chunks) != len(out_chunks):
            if drop or new:
                raise ValueError(
                    f"chunks {chunks} do not match the {len(out_chunks)} output dimensions"
                )
            # Dask allows chunks with another number of dimensions when nothing is dropped.
            raise ValueError(
                f"Provided chunks have {len(chunks)} dims; expected {len(out_chunks)} dims"
            )
        fixed = []
        for c, prev in zip(chunks, out_chunks, strict=True):
            if isinstance(c, (tuple, list)):
                fixed.append(tuple(c))
            else:
                fixed.append((int(c),) * len(prev))
        out_chunks = fixed
        for label, c in zip(out_labels, out_chunks, strict=True):
            if label in new_counts:
                new_counts[label] = len(c)
    out_chunks = tuple(out_chunks)
    want_info = _has_keyword(func, "block_info")
    want_id = _has_keyword(func, "block_id")
    concat = []
    bargs = []
    inputs_info = {}
    for k, a in enumerate(conv):
        if isinstance(a, Array):
            ind = list(range(ndim_in - a.ndim, ndim_in))
            axes = tuple(i for i, label in enumerate(ind) if label in drop)
            concat.append(axes if axes else None)
            bargs.append((a, ind))
            pos = [out_labels.index(label) if label in out_labels else None for label in ind]
            inputs_info[k] = (a.shape, a.numblocks, [starts(c) for c in a.chunks], pos)
        elif k in holders:
            concat.append(None)
            bargs.append((holders[k], []))
        else:
            concat.append(None)
            bargs.append((a, None))
    for h in kw_holders:
        concat.append(None)
        bargs.append((h, []))
    out_shape = tuple(sum(c) for c in out_chunks)
    if dtype is None:
        dtype = (
            meta.dtype
            if meta is not None
            else _infer(func, conv, kwargs, want_info, want_id, bool(holders or lazy_kw))
        )
    dtype = np.dtype(dtype)
    nloc = len(out_labels) if (want_info or want_id) else 0
    info = (out_shape, tuple(len(c) for c in out_chunks), dtype, inputs_info)
    wrapped = _MapBlocksCall(
        func,
        tuple(concat),
        nloc,
        info,
        want_info,
        want_id,
        len(out_labels) if enforce_ndim else None,
        lazy_kw,
    )
    if name is None:
        name = f"{token or _funcname(func)}-" + tokenize(
            func,
            [
                a.name if isinstance(a, Array) else holders[k].name if k in holders else a
                for k, a in enumerate(conv)
            ],
            [h.name for h in kw_holders],
            out_chunks,
            drop,
            new,
            kwargs,
            dtype,
        )
    locs = out_labels if nloc else ()
    for label in locs:
        new_counts.pop(label, None)
    layer, extra = _blockwise_layer(
        name, wrapped, out_labels, bargs, out_chunks, locs=locs, new_axes=new_counts, kwargs=kwargs
    )
    deps = arrays + list(holders.values()) + kw_holders
    return _new(name, layer, deps, out_chunks, dtype, extra)


def _has_collection(v) -> bool:
    if is_dask_collection(v):
        return not isinstance(v, Array)
    if isinstance(v, (list, tuple)):
        return any(isinstance(x, Array) or _has_collection(x) for x in v)
    if isinstance(v, dict):
        return any(isinstance(x, Array) or _has_collection(x) for x in v.values())
    return False


def _holder(value) -> Array:
    """A one-block 0-d array whose block is ``value`` with its collections computed."""
    from oxdask.array.io import from_delayed
    from oxdask.delayed import delayed

    return from_delayed(delayed(value), (), dtype=object)


def _infer(func, conv, kwargs, want_info, want_id, lazy=False):
    if lazy:  # calling func on lazy values would build graphs (or compute) at each call
        dts = [a.dtype for a in conv if isinstance(a, Array)]
        return np.result_type(*dts) if dts else np.dtype(float)
    samples = [np.ones((1,) * a.ndim, dtype=a.dtype) if isinstance(a, Array) else a for a in conv]
    extra = {}
    if want_info:
        extra["block_info"] = None
    if want_id:
        extra["block_id"] = None
    try:
        with np.errstate(all="ignore"):
            out = func(*samples, **kwargs, **extra)
        return np.asarray(out).dtype
    except Exception:
        dts = [a.dtype for a in conv if isinstance(a, Array)]
        return np.result_type(*dts) if dts else np.dtype(float)


# ---------------------------------------------------------------------------------------------
# Generalized ufuncs


class gufunc:
    """Wrap ``pyfunc`` as a generalized ufunc applied with :func:`apply_gufunc`.

    Parameters
    ----------
    pyfunc : callable
    signature : str
    **kwargs
        Defaults for :func:`apply_gufunc` (``vectorize``, ``output_dtypes``...).
    """

    def __init__(self, pyfunc, *, signature=None, **kwargs):
        self.pyfunc = pyfunc
        self.signature = signature
        self.kwargs = kwargs

    def __call__(self, *args, **kwargs):
        return apply_gufunc(self.pyfunc, self.signature, *args, **{**self.kwargs, **kwargs})


def as_gufunc(signature=None, **kwargs):
    """Decorator form of :class:`gufunc`."""

    def deco(f):
        return gufunc(f, signature=signature, **kwargs)

    return deco


_ = (_new, normalize_chunks)
