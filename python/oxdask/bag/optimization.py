"""Graph optimization of bags: chains of partition-wise layers fused into one streaming task
per partition.

A Blockwise bag layer ``P`` whose only consumer is another bag layer ``C`` reading it
partition by partition is merged into ``C`` (working on layer metadata only, whatever the
number of partitions). The merged task calls ``P``'s step and hands its output to ``C``'s;
when both are :class:`~oxdask.bag._parts.Part` s and ``C`` accepts iterators, the output
is handed over as an iterator, never made a list: ``read_text -> map -> filter -> pluck ->
frequencies`` is one pass over the lines. Reductions (one layer each, as in Dask) are first
split into their per-partition step, which joins the chain, and their tree.

This module needs neither NumPy nor ``oxdask.array``.
"""

from __future__ import annotations

from oxdask import config
from oxdask.bag._parts import Chain, Part
from oxdask.blockwise_fusion import layer_uses, surviving_dependencies
from oxdask.highlevelgraph import BlockwiseLayer, HighLevelGraph

__all__ = ["fuse", "optimize"]


def _names(keys) -> set:
    out = set()
    stack = [keys]
    while stack:
        k = stack.pop()
        if isinstance(k, list):
            stack.extend(k)
        elif isinstance(k, tuple) and k and isinstance(k[0], str):
            out.add(k[0])
        elif isinstance(k, str):
            out.add(k)
    return out


def optimize(dsk, keys, fuse_keys=None, **kwargs):
    """The ``__dask_optimize__`` of bags and items."""
    from oxdask.bag._reductions import split_reductions

    if not isinstance(dsk, HighLevelGraph):
        return dsk
    if config.get("optimization.fuse.active", None) is False:
        return dsk
    keep = _names(keys)
    if fuse_keys is not None:
        keep |= _names(fuse_keys)
    return fuse(split_reductions(dsk), keep)


def _simple(layer) -> bool:
    """A one-dimensional Blockwise layer without keyword arguments or new axes."""
    return (
        isinstance(layer, BlockwiseLayer)
        and layer.out_ind == [0]
        and not layer.kwargs
        and not layer.new_axes
        and all(ind is None or ind == [0] for _, ind in layer.args)
    )


def _nblocks(layer) -> int:
    return max((layer.numblocks[v][0] for v, ind in layer.args if ind is not None), default=1)


def _join(outer, pos, inner, n):
    """The task function running ``inner`` and handing its output to ``outer``."""
    if isinstance(outer, Part) and isinstance(inner, Part):
        inner_call = inner.lazy if outer.takes_iter else inner
        lazy = Chain(outer.lazy, pos, inner_call, n)
        local = outer._oxdask_in_caller and inner._oxdask_in_caller
        return Part(lazy, outer.takes_iter and inner.takes_iter, outer.reify, local)
    return Chain(outer, pos, inner, n)


def fuse(graph: HighLevelGraph, keep: set) -> HighLevelGraph:
    """``graph`` with every single-use partition-wise layer merged into its consumer
    (layers named in ``keep`` stay)."""
    layers = dict(graph.layers)
    uses = layer_uses(graph)
    changed = True
    while changed:
        changed = False
        for name in list(layers):
            c = layers.get(name)
            if not _simple(c):
                continue
            n = _nblocks(c)
            for k, (value, ind) in enumerate(c.args):
                if ind is None or value in keep or uses.get(value, 0) != 1:
                    continue
                p = layers.get(value)
                if not _simple(p) or c.numblocks[value] != (n,) or _nblocks(p) != n:
                    continue
                args = c.args[:k] + p.args + c.args[k + 1 :]
                numblocks = {}
                for v, i in args:
                    if i is not None:
                        numblocks[v] = p.numblocks[v] if v in p.numblocks else c.numblocks[v]
                func = _join(c.func, k, p.func, len(p.args))
                layers[name] = BlockwiseLayer(c.name, func, [0], args, numblocks)
                del layers[value]
                uses[value] = 0
                changed = True
                break
    return HighLevelGraph(layers, surviving_dependencies(graph, layers))
