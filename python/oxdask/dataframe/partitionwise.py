"""Partition-wise operations: one Blockwise layer per operation, aligned inputs, meta inference.

:func:`partitionwise` is the one place where collections become Blockwise layers: every
DataFrame/Series/Index argument contributes its partition ``i`` to task ``i``, a
:class:`~oxdask.dataframe.core.Scalar` (or ``Delayed``) is broadcast to every task, and any
other argument is passed unchanged. Inputs with known but different divisions are first
repartitioned to the union of their divisions (:func:`align_partitions`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oxdask.base import is_dask_collection
from oxdask.dataframe import methods
from oxdask.dataframe.core import Scalar, _Frame, _name, _new
from oxdask.dataframe.utils import make_meta
from oxdask.highlevelgraph import BlockwiseLayer, MaterializedLayer
from oxdask.tokenize import tokenize
from oxdask.utils import funcname

__all__ = ["align_partitions", "elemwise", "map_partitions", "partitionwise"]


class _NoDefault:
    def __repr__(self):
        return "<no_default>"


no_default = _NoDefault()


def _as_block_input(a):
    """``(value, ind)`` of one Blockwise argument, and its collection (or None)."""
    if is_dask_collection(a) and not isinstance(a, (_Frame, Scalar)) and hasattr(a, "key"):
        a = _delayed_to_scalar(a)
    if isinstance(a, (_Frame, Scalar)):
        return (a._name, [0]), a
    if is_dask_collection(a):
        raise TypeError(f"cannot use a {type(a).__name__} in a partition-wise operation")
    return (a, None), None


def _delayed_to_scalar(d):
    """A :class:`Scalar` holding the value of a ``Delayed``."""
    from oxdask.delayed import Delayed

    if not isinstance(d, Delayed):
        raise TypeError(f"cannot use a {type(d).__name__} in a partition-wise operation")
    name = "delayed-" + tokenize(d.key)
    layer = MaterializedLayer({(name, 0): d.key})
    return _new(name, layer, [d], None, (None, None))


def partitionwise(
    func,
    *args,
    meta,
    name,
    divisions=None,
    kwargs=None,
    inline=False,
    broadcast=False,
    columns_rule=None,
):
    """A collection whose partition ``i`` is ``func(*args_i, **kwargs)``.

    Parameters
    ----------
    func : callable
    *args : collection or object
        Frames must already be aligned (same number of partitions).
    meta : pandas object or scalar
    name : str
    divisions : tuple, optional
        Default: those of the first frame argument.
    kwargs : dict, optional
        Constant keyword arguments.
    inline : bool
        Cheap source layer (see :func:`oxdask.blockwise_fusion.fuse_blockwise`).
    broadcast : bool
        Let single-partition frames be passed whole to every task.
    columns_rule : ColumnRule, optional
        Which input columns the layer needs (see :mod:`oxdask.dataframe.projection`).
    """
    core_args, numblocks, deps = [], {}, []
    nparts = set()
    for a in args:
        core, dep = _as_block_input(a)
        core_args.append(core)
        if dep is not None:
            numblocks[dep._name] = (dep.npartitions,)
            deps.append(dep)
            if isinstance(dep, _Frame):
                nparts.add(dep.npartitions)
    if broadcast:
        nparts.discard(1)
    if len(nparts) > 1:
        raise ValueError(f"partition-wise inputs have different numbers of partitions: {nparts}")
    if divisions is None:
        frames = [a for a in args if isinstance(a, _Frame)]
        frames.sort(key=lambda f: -f.npartitions)
        divisions = frames[0].divisions if frames else (None, None)
    layer = BlockwiseLayer(name, func, [0], core_args, numblocks, kwargs, inline=inline)
    if columns_rule is not None:
        layer.columns_rule = columns_rule
    return _new(name, layer, deps, meta, divisions)


def _sample(a):
    if isinstance(a, _Frame):
        return a._meta_nonempty
    if isinstance(a, Scalar):
        return a._meta
    if is_dask_collection(a):
        raise TypeError(f"cannot infer metadata with a {type(a).__name__} argument")
    return a


def emulate(func, *args, udf=False, **kwargs):
    """``func`` run on non-empty fakes of the arguments' meta; the result's meta.

    With ``udf``, failures raise Dask's ``ValueError`` asking for ``meta=``.
    """
    samples = [_sample(a) for a in args]
    kw = {k: _sample(v) for k, v in kwargs.items()}
    try:
        with np.errstate(all="ignore"):
            out = func(*samples, **kw)
    except Exception as e:
        if not udf:
            raise
        raise ValueError(
            f"Metadata inference failed in `{funcname(func)}`.\n\n"
            "You have supplied a custom function and oxdask is unable to determine the type "
            "of output that that function returns.\n\nTo resolve this please provide a meta= "
            "keyword.\nThe docstring of the oxdask function you ran should have more "
            f"information.\n\nOriginal error is below:\n------------------------\n{e!r}"
        ) from e
    return make_meta(out) if isinstance(out, (pd.DataFrame, pd.Series, pd.Index)) else out


def align_partitions(*args):
    """``args`` with every frame repartitioned to common divisions.

    Frames with the same number of partitions and unknown divisions are taken as aligned;
    frames with known divisions are repartitioned to the union of their divisions. Raises
    ``ValueError`` when they cannot be aligned.
    """
    frames = [a for a in args if isinstance(a, _Frame)]
    if len(frames) < 2:
        return list(args)
    divs = [f.divisions for f in frames]
    if all(d == divs[0] for d in divs):
        return list(args)
    if not all(f.known_divisions for f in frames):
        if len({f.npartitions for f in frames}) == 1:
            return list(args)
        raise ValueError(
            "Not all divisions are known, can't align partitions. "
            "Please use `set_index` to set the index."
        )
    from oxdask.dataframe.repartition import repartition_divisions

    union = sorted(set().union(*(set(d) for d in divs)))
    return [repartition_divisions(a, tuple(union)) if isinstance(a, _Frame) else a for a in args]


def elemwise(op, *args, meta=no_default, name=None, **kwargs):
    """``op`` applied partition by partition to aligned frames, scalars and constants.

    Parameters
    ----------
    op : callable
    *args : collection or object
    meta : optional
        Inferred by running ``op`` on non-empty fakes when not given.
    **kwargs
        Constant keyword arguments of ``op``.
    """
    args = align_partitions(*args)
    if meta is no_default:
        meta = emulate(op, *args, **kwargs)
    name = name or _name(
        funcname(op).strip("_").replace("_", "-"),
        op,
        [a._name if isinstance(a, (_Frame, Scalar)) else a for a in args],
        kwargs,
    )
    if isinstance(meta, np.ndarray) and any(isinstance(a, _Frame) for a in args):
        # e.g. comparisons of an Index give NumPy arrays: an Array of unknown chunks, as Dask
        shaped = pd.Series([], dtype=meta.dtype)
        parts = partitionwise(op, *args, meta=shaped, name=name, kwargs=kwargs or None)
        return _as_array(parts, meta.dtype)
    if any(isinstance(a, _Frame) for a in args) and not isinstance(
        meta, (pd.DataFrame, pd.Series, pd.Index)
    ):
        meta = pd.Series([meta]).iloc[:0]
    return partitionwise(op, *args, meta=meta, name=name, kwargs=kwargs or None)


def _as_array(frame, dtype):
    """The partitions of ``frame`` (each a 1-d NumPy array) as an oxdask Array."""
    from oxdask.array.core import Array

    chunks = ((np.nan,) * frame.npartitions,)
    return Array(frame.__dask_graph__(), frame._name, chunks, dtype)


def map_partitions(
    func,
    *args,
    meta=no_default,
    enforce_metadata=True,
    transform_divisions=True,
    align_dataframes=True,
    token=None,
    clear_divisions=False,
    parent_meta=None,
    **kwargs,
):
    """Apply ``func`` to every partition (``func(partition_i, *args, **kwargs)``).

    Parameters
    ----------
    func : callable
    *args : collection or object
        Frames are aligned and passed partition by partition; Scalars and Delayed values are
        passed whole to every call; other objects unchanged.
    meta : pandas object, dict, iterable of tuples or tuple, optional
        Metadata of the result; inferred by running ``func`` on non-empty fakes otherwise.
    enforce_metadata : bool
        Check at compute time that DataFrame results have the columns of ``meta``.
    transform_divisions, align_dataframes, parent_meta
        Accepted for compatibility.
    token : str, optional
        Prefix of the output name.
    clear_divisions : bool
        Make the divisions of the result unknown.
    **kwargs
        Keyword arguments of ``func``; collections among them are passed partition by
        partition too.

    Returns
    -------
    DataFrame, Series, Index or Scalar
    """
    if align_dataframes:
        args = align_partitions(*args)
    frames = [a for a in args if isinstance(a, _Frame)]
    coll_kw = {k: v for k, v in kwargs.items() if is_dask_collection(v)}
    const_kw = {k: v for k, v in kwargs.items() if k not in coll_kw}
    wants_info = _accepts_partition_info(func)
    if meta is no_default:
        if wants_info:
            const_kw_m = {**const_kw, "partition_info": {"number": 0, "division": None}}
            meta = emulate(func, *args, udf=True, **const_kw_m, **coll_kw)
        else:
            meta = emulate(func, *args, udf=True, **const_kw, **coll_kw)
    else:
        meta = make_meta(meta, index=_meta_index(frames[0]._meta) if frames else None)
    if not isinstance(meta, (pd.DataFrame, pd.Series, pd.Index)):
        meta = pd.Series([meta]).iloc[:0] if frames else meta
    name = _name(
        token or funcname(func).strip("_").replace("_", "-"),
        func,
        [a._name if isinstance(a, (_Frame, Scalar)) else a for a in args],
        const_kw,
        {k: v._name for k, v in coll_kw.items() if hasattr(v, "_name")},
        meta,
    )
    call = func
    call_args = list(args)
    if enforce_metadata and isinstance(meta, (pd.DataFrame, pd.Series)):
        call = _Enforced(func, meta)
    if coll_kw:
        call = methods.WithKwargs(call, list(coll_kw))
        call_args += list(coll_kw.values())
    if wants_info and frames:
        call = methods.WithPartitionInfo(call)
        call_args.append(_info_frame(frames[0]))
    divisions = None
    if clear_divisions and frames:
        divisions = (None,) * (frames[0].npartitions + 1)
    return partitionwise(
        call, *call_args, meta=meta, name=name, divisions=divisions, kwargs=const_kw or None
    )


def _meta_index(meta):
    return meta if isinstance(meta, pd.Index) else meta.index


class _Enforced:
    """``func`` followed by the column check of ``meta`` (see ``methods.apply_and_enforce``)."""

    def __init__(self, func, meta):
        self.func = func
        self.meta = meta
        self.__name__ = funcname(func)

    def __call__(self, *args, **kwargs):
        return methods.apply_and_enforce(*args, _func=self.func, _meta=self.meta, **kwargs)


def _accepts_partition_info(func) -> bool:
    import inspect

    try:
        return "partition_info" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _info_frame(frame):
    """A one-value-per-partition collection of ``{"number": i, "division": d}`` dicts."""
    name = "partition-info-" + tokenize(frame.divisions)
    layer = MaterializedLayer(
        {
            (name, i): _Info({"number": i, "division": frame.divisions[i]})
            for i in range(frame.npartitions)
        }
    )
    return _new(name, layer, [], pd.Series([], dtype=object), frame.divisions)


class _Info(dict):
    """A partition-info dict (a dict subclass so that the engine passes it as data)."""
