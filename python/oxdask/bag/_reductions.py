"""Reductions of bags: a per-partition step (fused into the partition's chain, consuming its
elements as they stream by) and an aggregation in a tree of ``split_every`` partials."""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from functools import reduce
from operator import add, itemgetter

from oxdask.bag._parts import Part, _missing, no_result
from oxdask.highlevelgraph import (
    BlockwiseLayer,
    HighLevelGraph,
    MaterializedLayer,
    TreeReduceLayer,
)
from oxdask.tokenize import tokenize
from oxdask.utils import funcname

no_default = _missing


class _EmptySafe:
    """``func(partition)``; an empty partition gives ``no_result`` unless ``is_last``."""

    __slots__ = ("func", "is_last")

    def __init__(self, func, is_last):
        self.func = func
        self.is_last = is_last

    def __reduce__(self):
        return (_EmptySafe, (self.func, self.is_last))

    def __call__(self, part):
        if isinstance(part, Iterator):
            try:
                first = next(part)
            except StopIteration:
                if not self.is_last:
                    return no_result
                return self.func(iter(()))
            return self.func(itertools.chain((first,), part))
        if not self.is_last and _is_empty(part):
            return no_result
        return self.func(part)


def _is_empty(obj) -> bool:
    """Whether a partition (a sequence, an array, a sparse matrix...) has no elements."""
    try:
        return len(obj) == 0
    except Exception:
        pass
    nnz = getattr(obj, "nnz", None)
    if nnz is not None:
        return nnz == 0
    shape = getattr(obj, "shape", None)
    if shape is not None:
        return any(d == 0 for d in shape)
    return False


def empty_safe_apply(func, part, is_last):
    """``func(part)``, or ``no_result`` for an empty partition that is not the last one."""
    return _EmptySafe(func, is_last)(part)


class _Aggregate:
    """``func`` of the partials that are not ``no_result`` (a list). Runs in the scheduling
    process under the processes scheduler, where the partials are."""

    __slots__ = ("func", "is_last")
    _oxdask_in_caller = True

    def __init__(self, func, is_last):
        self.func = func
        self.is_last = is_last

    def __reduce__(self):
        return (_Aggregate, (self.func, self.is_last))

    def __call__(self, parts):
        parts = [p for p in parts if p is not no_result]
        if not parts and not self.is_last:
            return no_result
        return self.func(parts)


class ReductionLayer(Mapping):
    """One graph layer for a whole reduction (as Dask shows it): the per-partition
    Blockwise step, the TreeReduce of the partials and the output key ``key`` (the name, or
    ``(name, 0)`` for a one-partition bag). As a mapping, the last step of the tree appears
    under ``key``. :func:`split_reductions` makes them three layers before fusion, so that
    the per-partition step joins the chain before it."""

    def __init__(self, key, part, tree):
        self.key = key
        self.part = part
        self.tree = tree

    @property
    def __oxdask_layers__(self):
        return [self.part.to_core(), self.tree.to_core()]

    def _alias(self):
        return MaterializedLayer({self.key: (self.tree.name, 0)})

    def _all(self) -> dict:
        out = dict(self.part)
        out.update(self.tree)
        out[self.key] = out.pop((self.tree.name, 0))
        return out

    def __getitem__(self, key):
        if key == self.key:
            return self.tree[(self.tree.name, 0)]
        if key == (self.tree.name, 0):
            raise KeyError(key)
        return self._all()[key]

    def __iter__(self):
        return iter(self._all())

    def __len__(self) -> int:
        return len(self.part) + len(self.tree)


def split_reductions(graph):
    """``graph`` with every :class:`ReductionLayer` as its three layers."""
    if not any(isinstance(v, ReductionLayer) for v in graph.layers.values()):
        return graph
    layers, deps = {}, {}
    for name, layer in graph.layers.items():
        d = set(graph.dependencies.get(name, ()))
        if isinstance(layer, ReductionLayer):
            layers[layer.part.name] = layer.part
            deps[layer.part.name] = d
            layers[layer.tree.name] = layer.tree
            deps[layer.tree.name] = {layer.part.name}
            layers[name] = layer._alias()
            deps[name] = {layer.tree.name}
        else:
            layers[name] = layer
            deps[name] = d
    return HighLevelGraph(layers, deps)


def tree_layer(name, key, bag, part_func, combine, aggregate, split_every):
    """A :class:`ReductionLayer` named ``name`` on top of ``bag``."""
    if split_every is None:
        split_every = 8
    if split_every is False:
        split_every = bag.npartitions
    split_every = max(2, int(split_every))
    n = bag.npartitions
    a = f"{name}-part"
    part = BlockwiseLayer(a, part_func, [0], [(bag.name, [0])], {bag.name: (n,)})
    tree = TreeReduceLayer(
        f"{name}-tree", a, (n,), [0], [split_every], combine, aggregate, keepdims=True
    )
    return ReductionLayer(key, part, tree)


def reduction(
    bag, perpartition, aggregate, split_every=None, out_type=None, name=None, takes_iter=False
):
    """``aggregate`` of the ``perpartition`` results of every partition, in a tree."""
    from oxdask.bag.core import Bag, Item, _graph

    if out_type is None:
        out_type = Item
    token = tokenize(bag, perpartition, aggregate, split_every)
    fmt = f"{name or funcname(aggregate)}-aggregate-{token}"
    key = fmt if out_type is Item else (fmt, 0)
    small = getattr(bag, "_small", False)
    part = Part(_EmptySafe(perpartition, bag.npartitions == 1), takes_iter, False, small)
    layer = tree_layer(
        fmt, key, bag, part, _Aggregate(aggregate, False), _Aggregate(aggregate, True), split_every
    )
    graph = _graph(fmt, layer, [bag])
    if out_type is Item:
        return Item(graph, fmt, fmt)
    out = Bag(graph, fmt, 1)
    out._small = True
    return out


# -- per-partition functions (they accept iterators) ---------------------------------------


def count(seq):
    if isinstance(seq, list):
        return len(seq)
    return sum(1 for _ in seq)


def frequencies(seq):
    return Counter(seq)


def merge_frequencies(parts):
    if not parts:
        return {}
    out = Counter(parts[0])
    for p in parts[1:]:
        out.update(p)
    return out


def dictitems(d):
    return list(d.items())


def sorted_items(d):
    return sorted(d.items(), key=itemgetter(1), reverse=True)


class TopK:
    __slots__ = ("k", "key")

    def __init__(self, k, key=None):
        self.k = k
        self.key = key

    def __reduce__(self):
        return (TopK, (self.k, self.key))

    def __call__(self, seq):
        if self.key is None:
            return heapq.nlargest(self.k, seq)
        return heapq.nlargest(self.k, seq, key=self.key)

    def merge(self, parts):
        return self(itertools.chain.from_iterable(parts))


class _TopKMerge:
    __slots__ = ("topk",)

    def __init__(self, topk):
        self.topk = topk

    def __call__(self, parts):
        return self.topk.merge(parts)


class _Star:
    __slots__ = ("func",)

    def __init__(self, func):
        self.func = func

    def __call__(self, x):
        return self.func(*x)


def takes_multiple_arguments(func) -> bool:
    """Whether ``func`` needs more than one positional argument."""
    import inspect

    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    required = [
        p
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(required) > 1


def _keyfunc(key):
    if key is None or callable(key):
        return key
    return itemgetter(key)


class Distinct:
    __slots__ = ("key",)

    def __init__(self, key=None):
        self.key = key

    def __reduce__(self):
        return (Distinct, (self.key,))

    def __call__(self, seq):
        if self.key is None:
            return list(dict.fromkeys(seq))
        seen = set()
        out = []
        key = self.key
        for x in seq:
            k = key(x)
            if k not in seen:
                seen.add(k)
                out.append(x)
        return out

    def merge(self, parts):
        return self(itertools.chain.from_iterable(parts))


class _Merge:
    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __call__(self, parts):
        return self.obj.merge(parts)


class Reduce:
    """``functools.reduce(binop, seq[, initial])``."""

    __slots__ = ("binop", "initial")

    def __init__(self, binop, initial=no_default):
        self.binop = binop
        self.initial = initial

    def __reduce__(self):
        return (Reduce, (self.binop, self.initial))

    def __call__(self, seq):
        if self.initial is no_default:
            return reduce(self.binop, seq)
        return reduce(self.binop, seq, self.initial)


def mean_chunk(seq):
    total, n = 0.0, 0
    for x in seq:
        total += x
        n += 1
    return total, n


def mean_aggregate(parts):
    total = sum(p[0] for p in parts)
    n = sum(p[1] for p in parts)
    return 1.0 * total / n


def var_chunk(seq):
    squares, total, n = 0.0, 0.0, 0
    for x in seq:
        squares += x * x
        total += x
        n += 1
    return squares, total, n


class VarAggregate:
    __slots__ = ("ddof",)

    def __init__(self, ddof):
        self.ddof = ddof

    def __reduce__(self):
        return (VarAggregate, (self.ddof,))

    def __call__(self, parts):
        squares = sum(p[0] for p in parts)
        totals = sum(p[1] for p in parts)
        n = sum(p[2] for p in parts)
        result = (squares / n) - (totals / n) ** 2
        return result * n / (n - self.ddof)


class ReductionMethods:
    """Reduction methods of :class:`~oxdask.bag.Bag`."""

    __slots__ = ()

    def reduction(self, perpartition, aggregate, split_every=None, out_type=None, name=None):
        """``aggregate(partials)`` of ``perpartition(partition)`` (a list) for every
        partition; ``split_every`` partials per aggregation step (default 8)."""
        return reduction(self, perpartition, aggregate, split_every, out_type, name)

    def _reduction(self, perpartition, aggregate, split_every=None, out_type=None, name=None):
        return reduction(self, perpartition, aggregate, split_every, out_type, name, True)

    def fold(self, binop, combine=None, initial=no_default, split_every=None, out_type=None):
        """``reduce(binop)`` in every partition, ``reduce(combine)`` of the partials."""
        combine = combine or binop
        return self._reduction(
            Reduce(binop, initial), Reduce(combine), split_every, out_type, "fold"
        )

    def frequencies(self, split_every=None, sort=False):
        """A bag of ``(element, number of occurrences)`` (most frequent first if ``sort``)."""
        from oxdask.bag.core import Bag

        out = self._reduction(frequencies, merge_frequencies, split_every, Bag, name="frequencies")
        return out.map_partitions(sorted_items if sort else dictitems)

    def topk(self, k, key=None, split_every=None):
        """A bag of the ``k`` largest elements (by ``key``), largest first."""
        from oxdask.bag.core import Bag

        if key is not None and not callable(key):
            key = itemgetter(key)
        elif key is not None and takes_multiple_arguments(key):
            key = _Star(key)
        top = TopK(k, key)
        return self._reduction(top, _TopKMerge(top), split_every, Bag, name="topk")

    def distinct(self, key=None):
        """A bag of the distinct elements (by ``key``: a function or an item name)."""
        from oxdask.bag.core import Bag

        d = Distinct(_keyfunc(key))
        return self._reduction(d, _Merge(d), None, Bag, name="distinct")

    def sum(self, split_every=None):
        """Sum of the elements."""
        return self._reduction(sum, sum, split_every, name="sum")

    def max(self, split_every=None):
        """Largest element."""
        return self._reduction(max, max, split_every, name="max")

    def min(self, split_every=None):
        """Smallest element."""
        return self._reduction(min, min, split_every, name="min")

    def any(self, split_every=None):
        """Whether any element is true."""
        return self._reduction(any, any, split_every, name="any")

    def all(self, split_every=None):
        """Whether every element is true."""
        return self._reduction(all, all, split_every, name="all")

    def count(self, split_every=None):
        """Number of elements."""
        return self._reduction(count, sum, split_every, name="count")

    def mean(self):
        """Arithmetic mean."""
        return self._reduction(mean_chunk, mean_aggregate, False, name="mean")

    def var(self, ddof=0):
        """Variance."""
        return self._reduction(var_chunk, VarAggregate(ddof), False, name="var")

    def std(self, ddof=0):
        """Standard deviation."""
        return self.var(ddof=ddof).apply(math.sqrt)


__all__ = ["ReductionMethods", "add", "no_default", "reduction"]
