"""Fusing chains of Blockwise layers before computing (arrays and dataframes).

``fuse_blockwise`` merges a Blockwise layer ``P`` into the Blockwise layer ``C`` that consumes
it when ``P`` has no other consumer, its keys are not requested, and ``C`` reads ``P``
block-for-block (no contraction over ``P``'s labels). The fused layer calls ``P``'s function
and passes the result to ``C``'s, so ``((x + 1) * 2).sum()`` runs one Python task per block
(creation, both operations and the per-block part of the sum) instead of four, and the engine
expands one layer instead of four. It works on layer metadata only: O(layers), whatever the
number of blocks.
"""

from __future__ import annotations

from oxdask.highlevelgraph import BlockwiseLayer, HighLevelGraph, TreeReduceLayer

__all__ = ["fuse_blockwise", "inline_tree_inputs", "optimize"]


class Fused:
    """Task function of a fused layer: runs ``inner`` on its arguments, then ``outer``."""

    __slots__ = ("inner", "inner_kwargs", "n_inner", "outer", "outer_kwargs", "pos")

    def __init__(self, outer, outer_kwargs, pos, inner, inner_kwargs, n_inner):
        self.outer = outer
        self.outer_kwargs = outer_kwargs
        self.pos = pos
        self.inner = inner
        self.inner_kwargs = inner_kwargs
        self.n_inner = n_inner

    def __reduce__(self):
        return (
            Fused,
            (self.outer, self.outer_kwargs, self.pos, self.inner, self.inner_kwargs, self.n_inner),
        )

    def __call__(self, *args):
        p, n = self.pos, self.n_inner
        if self.inner_kwargs:
            mid = self.inner(*args[p : p + n], **self.inner_kwargs)
        else:
            mid = self.inner(*args[p : p + n])
        if self.outer_kwargs:
            return self.outer(*args[:p], mid, *args[p + n :], **self.outer_kwargs)
        return self.outer(*args[:p], mid, *args[p + n :])


def _inputs(layer) -> list[str]:
    if isinstance(layer, BlockwiseLayer):
        return [v for v, ind in layer.args if ind is not None]
    if isinstance(layer, TreeReduceLayer):
        return layer.inputs()
    return []


def _fuse_pair(c: BlockwiseLayer, k: int, p: BlockwiseLayer) -> BlockwiseLayer | None:
    """``c`` with its ``k``-th argument (the output of ``p``) replaced by ``p``'s inputs."""
    _, ind = c.args[k]
    if any(label not in c.out_ind for label in ind):
        return None  # c contracts over p's blocks
    if not p.inline and any(label not in ind for label in c.out_ind):
        return None  # c reads each block of p several times: fusing would recompute it
    if len(set(ind)) != len(ind) or len(p.out_ind) != len(ind):
        return None
    if c.numblocks[p.name] != tuple(_out_blocks(p)):
        return None
    labels_p = {label for _, i in p.args if i is not None for label in i}
    if any(label not in p.out_ind for label in labels_p):
        return None  # p contracts: its tasks receive lists
    mapping = dict(zip(p.out_ind, ind, strict=True))
    new_args = []
    for value, i in p.args:
        new_args.append((value, None if i is None else [mapping[label] for label in i]))
    args = c.args[:k] + new_args + c.args[k + 1 :]
    numblocks = {}
    for value, i in args:
        if i is not None:
            numblocks[value] = p.numblocks[value] if value in p.numblocks else c.numblocks[value]
    new_axes = dict(c.new_axes)
    provided = {label for v, i in args if i is not None for label in i}
    for label, n in p.new_axes.items():
        m = mapping[label]
        if m not in provided and m not in new_axes:
            new_axes[m] = n
    func = Fused(c.func, c.kwargs, k, p.func, p.kwargs, len(p.args))
    return BlockwiseLayer(c.name, func, c.out_ind, args, numblocks, None, new_axes)


def _out_blocks(p: BlockwiseLayer) -> list[int]:
    sizes = dict(p.new_axes)
    for value, ind in p.args:
        if ind is None:
            continue
        for label, n in zip(ind, p.numblocks[value], strict=True):
            sizes[label] = max(n, sizes.get(label, 1))
    return [sizes[label] for label in p.out_ind]


def layer_uses(graph: HighLevelGraph) -> dict[str, int]:
    """How many layers read each layer (a materialized layer counts for each dependency)."""
    uses: dict[str, int] = {}
    for layer in graph.layers.values():
        for inp in _inputs(layer):
            uses[inp] = uses.get(inp, 0) + 1
    for name, deps in graph.dependencies.items():
        layer = graph.layers.get(name)
        if layer is None or isinstance(layer, (BlockwiseLayer, TreeReduceLayer)):
            continue
        for d in deps:  # a materialized layer may read any key of its dependencies
            uses[d] = uses.get(d, 0) + 1
    return uses


def fuse_blockwise(graph: HighLevelGraph, keep: set[str]) -> HighLevelGraph:
    """A graph where Blockwise chains are fused (layers in ``keep`` stay).

    A layer with one use is merged into its consumer. A layer marked ``inline`` (cheap
    sources: constants, ranges, random numbers, slices of in-memory data) is merged into
    every consumer, so that its blocks are recomputed where needed instead of being held in
    memory until their last consumer runs.
    """
    layers = dict(graph.layers)
    uses = layer_uses(graph)
    changed = True
    while changed:
        changed = False
        for name in list(layers):
            c = layers.get(name)
            if not isinstance(c, BlockwiseLayer):
                continue
            for k, (value, ind) in enumerate(c.args):
                if ind is None or value in keep:
                    continue
                p = layers.get(value)
                if not isinstance(p, BlockwiseLayer):
                    continue
                if uses.get(value, 0) != 1 and not getattr(p, "inline", False):
                    continue
                fused = _fuse_pair(c, k, p)
                if fused is None:
                    continue
                layers[name] = fused
                uses[value] -= 1
                for inp in _inputs(p):
                    uses[inp] = uses.get(inp, 0) + 1
                if uses[value] == 0:
                    del layers[value]
                    for inp in _inputs(p):
                        uses[inp] -= 1
                changed = True
                break
    inline_tree_inputs(layers, uses, keep)
    return HighLevelGraph(layers, surviving_dependencies(graph, layers))


def inline_tree_inputs(layers: dict, uses: dict, keep: set[str]) -> None:
    """Tree reductions marked ``inline_ok`` compute their input blocks inside their first
    level, when the input is a Blockwise layer read by nothing else: a sum of 100,000 small
    chunks then runs about 2,900 tasks (each computing and combining its group of up to 36
    blocks) instead of 100,000, and holds no more memory (a group's blocks are reduced one by
    one)."""
    for name, t in list(layers.items()):
        if not isinstance(t, TreeReduceLayer) or not t.inline_ok or t.inline is not None:
            continue
        p = layers.get(t.input)
        if not isinstance(p, BlockwiseLayer) or t.input in keep or uses.get(t.input) != 1:
            continue
        if p.annotations != t.annotations:
            continue
        fused = TreeReduceLayer(
            t.name,
            t.input,
            t.in_numblocks,
            t.axes,
            t.split_every,
            t.combine,
            t.aggregate,
            keepdims=t.keepdims,
            inline=p,
        )
        fused.annotations = t.annotations
        layers[name] = fused
        del layers[t.input]


def surviving_dependencies(graph: HighLevelGraph, layers) -> dict[str, set]:
    """Dependencies among ``layers`` (what is left of ``graph``'s after fusion): a layer that
    was merged away stands for the layers it depended on."""
    deps = {}
    for name in layers:
        out: set = set()
        todo = list(graph.dependencies.get(name, ()))
        seen = set()
        while todo:
            x = todo.pop()
            if x in seen:
                continue
            seen.add(x)
            if x in layers:
                out.add(x)
            else:
                todo.extend(graph.dependencies.get(x, ()))
        deps[name] = out
    return deps


def requested_layers(keys) -> set:
    """Names of the layers holding the requested ``keys`` (a nested list, or one key)."""
    names = set()
    for k in keys if isinstance(keys, list) else [keys]:
        leaf = _first_leaf(k)
        if isinstance(leaf, tuple) and leaf:
            names.add(leaf[0])
        elif isinstance(leaf, str):
            names.add(leaf)
    return names


def _first_leaf(keys):
    while isinstance(keys, list) and keys:
        keys = keys[0]
    return keys


def optimize(dsk, keys, **kwargs):
    """The ``__dask_optimize__`` of arrays: Blockwise fusion on high-level graphs."""
    from oxdask import config

    if not isinstance(dsk, HighLevelGraph):
        return dsk
    if config.get("optimization.fuse.active", None) is False:
        return dsk
    return fuse_blockwise(dsk, requested_layers(keys))
