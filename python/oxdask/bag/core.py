"""The collections :class:`Bag` (a parallel list of Python objects in partitions) and
:class:`Item` (one lazy value), compatible with ``dask.bag``.

A bag is a name, a :class:`~oxdask.highlevelgraph.HighLevelGraph` and a number of partitions;
its keys are ``(name, i)`` and each partition computes to a list. Partition-wise steps
(``map``, ``filter``, ``pluck``, the per-partition part of a reduction...) are one Blockwise
layer each; before computing they fuse into one task per partition that streams the elements
through every step (see :mod:`oxdask.bag._parts`). Reductions aggregate the partial results
in a tree (a TreeReduce layer). Bags compute with the ``processes`` scheduler by default, as
in Dask (pure-Python functions hold the GIL).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Iterator

from oxdask.bag import _parts
from oxdask.bag._groupby import GroupMethods, reduceby
from oxdask.bag._more import MoreMethods, split, total_mem_usage
from oxdask.bag._parts import Args, Part, no_result, reify
from oxdask.bag._reductions import ReductionMethods, empty_safe_apply
from oxdask.bag.optimization import optimize
from oxdask.base import DaskMethodsMixin, dont_optimize, replace_name_in_key
from oxdask.highlevelgraph import BlockwiseLayer, HighLevelGraph, MaterializedLayer
from oxdask.tokenize import tokenize
from oxdask.utils import funcname

__all__ = [
    "Bag",
    "Item",
    "bag_map",
    "bag_range",
    "bag_zip",
    "concat",
    "empty_safe_apply",
    "finalize",
    "from_delayed",
    "from_sequence",
    "from_url",
    "map_partitions",
    "no_result",
    "optimize",
    "reduceby",
    "reify",
    "split",
    "total_mem_usage",
]


def _default_get(dsk, keys, **kwargs):
    from oxdask.multiprocessing import get

    return get(dsk, keys, **kwargs)


def finalize(results):
    """One list from the computed partitions."""
    if not results:
        return results
    if isinstance(results, Iterator):
        results = list(results)
    first = results[0]
    if isinstance(first, Iterable) and not isinstance(first, (str, bytes)):
        out = []
        for r in results:
            out.extend(r)
        return out
    return list(results)


def finalize_item(results):
    return results[0]


class _Collection(DaskMethodsMixin):
    __dask_scheduler__ = staticmethod(_default_get)

    @staticmethod
    def __dask_optimize__(dsk, keys, **kwargs):
        from oxdask import config

        if config.get("optimization.fuse.active", None) is False:
            return dont_optimize(dsk, keys)
        return optimize(dsk, keys, **kwargs)

    def __dask_graph__(self):
        return self.dask


class Item(_Collection):
    """One lazy value: the result of a reduction, or of ``Item.from_delayed``.

    Parameters
    ----------
    dsk : Mapping
    key : key
    layer : str, optional
        The graph layer holding ``key`` (default: the key's name).
    """

    def __init__(self, dsk, key, layer=None):
        if layer is None:
            layer = key[0] if isinstance(key, tuple) else key
        if not isinstance(dsk, HighLevelGraph):
            dsk = HighLevelGraph({layer: dsk}, {layer: set()})
        elif layer not in dsk.layers:
            raise ValueError(
                f"Layer {layer} not in the HighLevelGraph's layers: {list(dsk.layers)}"
            )
        self.dask = dsk
        self.key = key
        self.name = key
        self._layer = layer

    def __dask_keys__(self):
        return [self.key]

    def __dask_layers__(self):
        return (self._layer,)

    def __dask_tokenize__(self):
        return self.key

    def __dask_postcompute__(self):
        return finalize_item, ()

    def __dask_postpersist__(self):
        return self._rebuild, ()

    def _rebuild(self, dsk, *, rename=None):
        key = replace_name_in_key(self.key, rename) if rename else self.key
        return Item(dsk, key)

    def __getstate__(self):
        return (self.dask, self.key, self._layer)

    def __setstate__(self, state):
        self.dask, self.key, self._layer = state
        self.name = self.key

    @staticmethod
    def from_delayed(value):
        """An Item computing the value of a :class:`~oxdask.delayed.Delayed`."""
        from oxdask.delayed import Delayed, delayed

        if not isinstance(value, Delayed) and hasattr(value, "key"):
            value = delayed(value)
        if not isinstance(value, Delayed):
            raise TypeError(f"Expected a Delayed object, got {type(value).__name__}")
        graph = value.__dask_graph__()
        layers = value.__dask_layers__()
        layer = layers[0] if layers else None
        if not isinstance(graph, HighLevelGraph) or layer not in graph.layers:
            layer = value.key if isinstance(value.key, str) else f"delayed-{tokenize(value.key)}"
            graph = HighLevelGraph({layer: graph}, {layer: set()})
        return Item(graph, value.key, layer=layer)

    def _block(self):
        """``(name, extra)``: a one-block layer name for Blockwise inputs, ``(name, 0)``
        being this value (``extra``: a layer to add that makes it so, or None)."""
        if isinstance(self.key, tuple) and len(self.key) == 2 and self.key[1] == 0:
            return self.key[0], None
        name = "item-" + tokenize(self.key)
        return name, MaterializedLayer({(name, 0): self.key})

    def apply(self, func):
        """An Item ``func(value)``."""
        name = f"{funcname(func)}-{tokenize(self, func, 'apply')}"
        layer = MaterializedLayer({(name, 0): (func, self.key)})
        return Item(HighLevelGraph.from_collections(name, layer, [self]), (name, 0), name)

    def to_delayed(self, optimize_graph=True):
        """The value as a :class:`~oxdask.delayed.Delayed`."""
        from oxdask.delayed import Delayed

        dsk = self.__dask_graph__()
        if optimize_graph:
            dsk = self.__dask_optimize__(dsk, self.__dask_keys__())
        return Delayed(self.key, dsk, layer=self._layer)

    def __int__(self):
        return int(self.compute())

    def __float__(self):
        return float(self.compute())

    def __complex__(self):
        return complex(self.compute())

    def __bool__(self):
        return bool(self.compute())

    def __repr__(self) -> str:
        return f"Item<{self.key!r}>"


def _item_op(op, reflected=False):
    def method(self, *others):
        name = f"{op.__name__}-{tokenize(self, op, *others, reflected)}"
        deps = [self]
        args = []
        for o in others:
            if isinstance(o, Item):
                deps.append(o)
                args.append(o.key)
            elif _is_delayed(o):
                it = Item.from_delayed(o)
                deps.append(it)
                args.append(it.key)
            else:
                args.append(_quote(o))
        task = (op, *args, self.key) if reflected else (op, self.key, *args)
        layer = MaterializedLayer({(name, 0): task})
        return Item(HighLevelGraph.from_collections(name, layer, deps), (name, 0), name)

    return method


def _quote(value):
    from oxdask.core import quote

    return quote(value) if isinstance(value, (tuple, list, dict, str)) else value


def _is_delayed(x) -> bool:
    from oxdask.delayed import Delayed

    return isinstance(x, Delayed)


_BINARY = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "lshift", "rshift"]
_BINARY += ["and_", "or_", "xor", "matmul", "lt", "le", "gt", "ge", "eq", "ne", "getitem"]
for _name in _BINARY:
    _op = getattr(operator, _name)
    _dunder = _name.rstrip("_")
    setattr(Item, f"__{_dunder}__", _item_op(_op))
    if _name not in ("lt", "le", "gt", "ge", "eq", "ne", "getitem"):
        setattr(Item, f"__r{_dunder}__", _item_op(_op, reflected=True))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(Item, f"__{_name}__", _item_op(getattr(operator, _name)))
Item.__hash__ = object.__hash__


# -- Bag --------------------------------------------------------------------------------------


class Bag(_Collection, ReductionMethods, GroupMethods, MoreMethods):
    """A parallel collection of Python objects, split into partitions.

    Parameters
    ----------
    dsk : Mapping
        The graph; ``(name, i)`` computes partition ``i`` (an iterable).
    name : str
    npartitions : int
    """

    #: one partition holding a reduction's result (steps on it run in the scheduling process
    #: under the processes scheduler)
    _small = False

    def __init__(self, dsk, name, npartitions):
        if not isinstance(dsk, HighLevelGraph):
            dsk = HighLevelGraph.from_collections(name, dsk, dependencies=())
        self.dask = dsk
        self.name = name
        self.npartitions = int(npartitions)

    def __dask_keys__(self):
        return [(self.name, i) for i in range(self.npartitions)]

    def __dask_layers__(self):
        return (self.name,)

    def __dask_tokenize__(self):
        return self.name

    def __dask_postcompute__(self):
        return finalize, ()

    def __dask_postpersist__(self):
        return self._rebuild, ()

    def _rebuild(self, dsk, *, rename=None):
        name = rename.get(self.name, self.name) if rename else self.name
        return type(self)(dsk, name, self.npartitions)

    @property
    def _args(self):
        return (self.dask, self.name, self.npartitions)

    def __getstate__(self):
        return (self.dask, self.name, self.npartitions)

    def __setstate__(self, state):
        self.dask, self.name, self.npartitions = state

    def __str__(self) -> str:
        return f"dask.bag<{self.name.rsplit('-', 1)[0]}, npartitions={self.npartitions}>"

    __repr__ = __str__

    def __iter__(self):
        return iter(self.compute())

    @property
    def str(self):
        """String methods applied to every element (``b.str.lower()``, ``.match(...)``)."""
        from oxdask.bag._more import StringAccessor

        return StringAccessor(self)

    # -- building blocks ----------------------------------------------------------------------
    def _step(self, prefix, func, *token, items=(), takes_iter=True, reify_out=True, cls=None):
        """A Blockwise layer ``func(partition, *item values)`` on top of this bag."""
        name = f"{prefix}-{tokenize(self, func, *token)}"
        small = getattr(self, "_small", False)
        part = Part(func, takes_iter, reify_out, small)
        args = [(self.name, [0])]
        numblocks = {self.name: (self.npartitions,)}
        extra = {}
        for it in items:
            iname, layer = it._block()
            args.append((iname, [0]))
            numblocks[iname] = (1,)
            if layer is not None:
                extra[iname] = layer
        layer = BlockwiseLayer(name, part, [0], args, numblocks)
        graph = _graph(name, layer, [self, *items], extra)
        out = (cls or type(self))(graph, name, self.npartitions)
        out._small = small
        return out

    # -- element-wise -------------------------------------------------------------------------
    def map(self, func, *args, **kwargs):
        """``func(element, *args, **kwargs)`` for every element; Bag arguments (partitioned
        alike) are zipped, Item/Delayed arguments are computed and broadcast."""
        return bag_map(func, self, *args, **kwargs)

    def starmap(self, func, **kwargs):
        """``func(*element, **kwargs)`` for every element (a tuple)."""
        _check_callable(func, "starmap")
        spec, items = _spec(kwargs.values(), allow_bags=False)
        step = _parts.StarmapStep(func, Args(spec, kwargs))
        return self._step(funcname(func), step, "starmap", kwargs, items=items)

    def filter(self, predicate):
        """The elements for which ``predicate(element)`` is true (None: the true ones)."""
        if predicate is not None:
            _check_callable(predicate, "filter")
        return self._step(f"filter-{funcname(predicate)}", _parts.FilterStep(predicate), "filter")

    def remove(self, predicate):
        """The elements for which ``predicate(element)`` is false."""
        _check_callable(predicate, "remove")
        step = _parts.FilterStep(predicate, keep=False)
        return self._step(f"remove-{funcname(predicate)}", step, "remove")

    def pluck(self, key, default=_parts._missing):
        """``element[key]`` of every element; a list of keys gives tuples; ``default`` for
        elements without the key."""
        return self._step("pluck", _parts.PluckStep(key, default), key, default)

    def flatten(self):
        """The elements of the elements, one level down."""
        return self._step("flatten", _parts.flatten_step, "flatten")

    def map_partitions(self, func, *args, **kwargs):
        """``func(partition, *args, **kwargs)`` for every partition (given as a list)."""
        return map_partitions(func, self, *args, **kwargs)

    def unzip(self, n):
        """``n`` bags, the ``i``-th holding element ``[i]`` of every element."""
        return tuple(self.pluck(i) for i in range(n))

    def to_delayed(self, optimize_graph=True):
        """One :class:`~oxdask.delayed.Delayed` per partition."""
        from oxdask.delayed import Delayed

        dsk = self.__dask_graph__()
        keys = self.__dask_keys__()
        if optimize_graph:
            dsk = self.__dask_optimize__(dsk, keys)
        return [Delayed(k, dsk, layer=self.name) for k in keys]


def _graph(name, layer, deps, extra=None):
    graph = HighLevelGraph.from_collections(name, layer, [d for d in deps if d is not None])
    for k, v in (extra or {}).items():
        graph.layers.setdefault(k, v)
        graph.dependencies.setdefault(k, set())
        graph.dependencies[name].add(k)
    return graph


def _check_callable(func, what):
    if not callable(func):
        raise TypeError(f"{what} expects a callable, got {type(func).__name__}: {func!r}")


def _spec(values, allow_bags=True):
    """``Args`` spec and the collections among ``values`` (bags, then items)."""
    from oxdask.base import is_dask_collection
    from oxdask.delayed import Delayed

    spec, colls = [], []
    for v in values:
        if isinstance(v, Bag):
            if not allow_bags:
                raise TypeError("Bag arguments are not allowed here")
            spec.append(("bag", None))
            colls.append(v)
        elif isinstance(v, Item):
            spec.append(("item", None))
            colls.append(v)
        elif isinstance(v, Delayed):
            spec.append(("item", None))
            colls.append(Item.from_delayed(v))
        elif is_dask_collection(v):
            raise TypeError(
                f"{type(v).__name__} arguments are not supported by bag methods; "
                "use .to_delayed() or convert it to a bag"
            )
        else:
            spec.append(("const", v))
    return spec, colls


def _layer_args(colls):
    args, numblocks, extra, npart = [], {}, {}, set()
    for c in colls:
        if isinstance(c, Bag):
            args.append((c.name, [0]))
            numblocks[c.name] = (c.npartitions,)
            npart.add(c.npartitions)
        else:
            iname, layer = c._block()
            args.append((iname, [0]))
            numblocks[iname] = (1,)
            if layer is not None:
                extra[iname] = layer
    return args, numblocks, extra, npart


def _mapped(prefix, step, colls, token, takes_iter):
    bags = [c for c in colls if isinstance(c, Bag)]
    if not bags:
        raise ValueError("At least one argument must be a Bag.")
    args, numblocks, extra, npart = _layer_args(colls)
    if len(npart) > 1:
        raise ValueError("All bags must have the same number of partitions.")
    name = f"{prefix}-{tokenize(*token)}"
    small = all(getattr(b, "_small", False) for b in bags)
    layer = BlockwiseLayer(name, Part(step, takes_iter, True, small), [0], args, numblocks)
    types = {type(b) for b in bags}
    cls = types.pop() if len(types) == 1 else Bag
    out = cls(_graph(name, layer, colls, extra), name, npart.pop())
    out._small = small
    return out


def bag_map(func, *args, **kwargs):
    """``func`` applied element-wise across the bags among ``args``/``kwargs`` (partitioned
    alike); other arguments (constants, Items, Delayed) are broadcast."""
    _check_callable(func, "map")
    spec, colls = _spec([*args, *kwargs.values()])
    step = _parts.MapStep(func, Args(spec, kwargs))
    return _mapped(funcname(func), step, colls, (func, "map", args, kwargs), True)


def map_partitions(func, *args, **kwargs):
    """``func`` applied to every partition (a list) of the bags among the arguments."""
    _check_callable(func, "map_partitions")
    prefix = kwargs.pop("token", None) or funcname(func)
    spec, colls = _spec([*args, *kwargs.values()])
    step = _parts.PartitionsStep(func, Args(spec, kwargs))
    return _mapped(prefix, step, colls, (func, "map-partitions", args, kwargs), False)


# -- creation ---------------------------------------------------------------------------------


def from_sequence(seq, partition_size=None, npartitions=None):
    """A bag of the elements of ``seq`` (held in the graph), in partitions of
    ``partition_size`` elements or about ``npartitions`` partitions."""
    seq = list(seq)
    n = len(seq)
    if npartitions and not partition_size:
        partition_size = math.ceil(n / npartitions) if n <= 100 else max(1, n // npartitions)
    if npartitions is None and partition_size is None:
        partition_size = 1 if n <= 100 else max(1, math.ceil(math.sqrt(n) / 10))
    partition_size = max(1, int(partition_size))
    parts = [seq[i : i + partition_size] for i in range(0, n, partition_size)] or [[]]
    name = f"from_sequence-{tokenize(seq, partition_size)}"
    layer = {(name, i): (_parts.identity, _quote(p)) for i, p in enumerate(parts)}
    return Bag(MaterializedLayer(layer), name, len(parts))


def bag_range(n, npartitions):
    """The numbers ``0 .. n - 1`` in ``npartitions`` partitions."""
    size = max(1, n // npartitions) if n else 1
    starts = list(range(0, n, size))[:npartitions] or [0]
    name = f"range-{n}-npartitions-{npartitions}"
    layer = {}
    for i, start in enumerate(starts):
        stop = n if i == len(starts) - 1 else min(start + size, n)
        layer[(name, i)] = (_range_list, start, stop)
    return Bag(MaterializedLayer(layer), name, len(layer))


def _range_list(start, stop):
    return list(range(start, stop))


def bag_zip(*bags):
    """Tuples of the elements of the bags at the same position (partitioned alike)."""
    return bag_map(_tuple_of, *bags)


def _tuple_of(*xs):
    return xs


def concat(bags):
    """One bag with the partitions of all ``bags``, one after the other."""
    bags = list(bags)
    name = f"concat-{tokenize(*bags)}"
    layer = {}
    i = 0
    for b in bags:
        for k in b.__dask_keys__():
            layer[(name, i)] = k
            i += 1
    return Bag(HighLevelGraph.from_collections(name, MaterializedLayer(layer), bags), name, i)


def from_delayed(values):
    """A bag with one partition per :class:`~oxdask.delayed.Delayed` (each an iterable)."""
    from oxdask.delayed import Delayed, delayed

    if isinstance(values, Delayed):
        values = [values]
    values = [delayed(v) if not isinstance(v, Delayed) and hasattr(v, "key") else v for v in values]
    items = [Item.from_delayed(v) for v in values]
    name = f"bag-from-delayed-{tokenize(*values)}"
    layer = MaterializedLayer({(name, i): (reify, it.key) for i, it in enumerate(items)})
    return Bag(HighLevelGraph.from_collections(name, layer, items), name, len(items))


def from_url(urls):
    """A bag of the lines (bytes) of the documents at ``urls`` (one partition each)."""
    if isinstance(urls, str):
        urls = [urls]
    name = f"from_url-{tokenize(urls)}"
    layer = {(name, i): (_read_url, u) for i, u in enumerate(urls)}
    return Bag(MaterializedLayer(layer), name, len(urls))


def _read_url(url):
    from urllib.request import urlopen

    with urlopen(url) as f:
        return list(f)


def to_textfiles(
    b,
    path,
    name_function=None,
    compression="infer",
    encoding="utf-8",
    compute=True,
    storage_options=None,
    last_endline=False,
    **kwargs,
):
    """Write a bag of strings to text files (see :meth:`Bag.to_textfiles`)."""
    from oxdask.bag.text import to_textfiles as write

    return write(
        b,
        path,
        name_function,
        compression,
        encoding,
        compute,
        storage_options=storage_options,
        last_endline=last_endline,
        **kwargs,
    )
