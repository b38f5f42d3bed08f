"""Grouping bags: ``foldby`` (a reduction of per-partition dicts) and ``groupby`` (a shuffle).

``groupby`` moves every element to the output partition ``stable_hash(key) % n``:

- on the threads and sync schedulers and on a distributed client, with the engine shuffle of
  :mod:`oxdask._shuffle` (pieces stay in the memory of the process or worker that cut them;
  ``n_in + 1 + n_out`` tasks);
- otherwise (the ``processes`` scheduler, the bags' default), through files in the temporary
  directory: each cut task writes one pickled piece per output, each output task reads and
  deletes its pieces (the same ``n_in + 1 + n_out`` tasks).

A key goes to the partition Dask would send it to (its token modulo the number of
partitions) when it is a string, number or tuple of them; other keys use a hash that does not
depend on the process (no ``PYTHONHASHSEED``), so that cut tasks in different processes agree.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import sys
import tempfile
import zlib
from operator import itemgetter

from oxdask import _shuffle, config
from oxdask.bag._parts import Part
from oxdask.bag._reductions import _Aggregate, _keyfunc, no_default, tree_layer
from oxdask.highlevelgraph import BlockwiseLayer, HighLevelGraph, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["GroupMethods", "reduceby", "stable_hash"]


_NONE = object()


def reduceby(key, binop, seq, init=no_default):
    """``{key(x): reduce(binop, group of x[, init])}``; ``init`` may be a factory."""
    key = _keyfunc(key)
    out: dict = {}
    get = out.get
    if init is no_default:
        for x in seq:
            k = key(x)
            acc = get(k, _NONE)
            out[k] = x if acc is _NONE else binop(acc, x)
        return out
    factory = init if callable(init) else None
    for x in seq:
        k = key(x)
        acc = get(k, _NONE)
        if acc is _NONE:
            acc = factory() if factory else init
        out[k] = binop(acc, x)
    return out


class _FoldPart:
    __slots__ = ("binop", "initial", "key")

    def __init__(self, key, binop, initial):
        self.key = key
        self.binop = binop
        self.initial = initial

    def __reduce__(self):
        return (_FoldPart, (self.key, self.binop, self.initial))

    def __call__(self, seq):
        return reduceby(self.key, self.binop, seq, self.initial)


class _FoldMerge:
    """Dicts of partial folds merged with ``combine`` (from ``combine_initial`` if given)."""

    __slots__ = ("combine", "initial")

    def __init__(self, combine, initial):
        self.combine = combine
        self.initial = initial

    def __reduce__(self):
        return (_FoldMerge, (self.combine, self.initial))

    def __call__(self, parts):
        combine = self.combine
        out: dict = {}
        if self.initial is not no_default:
            factory = self.initial if callable(self.initial) else None
            for d in parts:
                for k, v in d.items():
                    if k in out:
                        out[k] = combine(out[k], v)
                    else:
                        out[k] = combine(factory() if factory else self.initial, v)
            return out
        for d in parts:
            for k, v in d.items():
                out[k] = combine(out[k], v) if k in out else v
        return out


class _FoldFinal:
    __slots__ = ("merge",)

    def __init__(self, merge):
        self.merge = merge

    def __reduce__(self):
        return (_FoldFinal, (self.merge,))

    def __call__(self, parts):
        return list(self.merge(parts).items())


def foldby(
    bag, key, binop, initial=no_default, combine=None, combine_initial=no_default, split_every=None
):
    from oxdask.bag.core import _graph

    combine = combine or binop
    token = tokenize(bag, key, binop, initial, combine, combine_initial, split_every)
    e = f"foldby-b-{token}"
    merge = _FoldMerge(combine, combine_initial)
    part = Part(_FoldPart(key, binop, initial), True, False)
    layer = tree_layer(
        e,
        (e, 0),
        bag,
        part,
        _Aggregate(merge, False),
        _Aggregate(_FoldFinal(merge), True),
        split_every,
    )
    out = type(bag)(_graph(e, layer, [bag]), e, 1)
    out._small = True
    return out


# -- the shuffle ------------------------------------------------------------------------------

_MASK = (1 << 64) - 1


def stable_hash(x) -> int:
    """A hash of ``x`` that is the same in every process."""
    t = type(x)
    if t is str:
        return zlib.crc32(x.encode("utf-8", "surrogatepass"))
    if t is int or t is bool:
        return x & _MASK
    if t is bytes:
        return zlib.crc32(x)
    if x is None:
        return 0
    if t is float:
        return hash(x) & _MASK
    if t is tuple:
        h = 0x345678
        for e in x:
            h = ((h ^ stable_hash(e)) * 1000003) & _MASK
        return h
    try:
        return (
            hash(x) & _MASK if isinstance(x, (int, float, complex)) else int(tokenize(x)[:16], 16)
        )
    except Exception:
        return hash(x) & _MASK


def _mix(h: int) -> int:
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK
    return h ^ (h >> 31)


_PLAIN = (str, bytes, int, float, bool, type(None))


def _plain(k) -> bool:
    if isinstance(k, _PLAIN):
        return True
    return isinstance(k, tuple) and all(_plain(e) for e in k)


def _dest(k, n: int) -> int:
    """The output partition of key ``k``: as Dask's (its token) for plain keys (strings,
    numbers, tuples of them), a process-independent hash otherwise."""
    if _plain(k):
        return int(tokenize(k), 16) % n
    return _mix(stable_hash(k)) % n


def _split(part, grouper, n):
    groups: dict = {}
    for x in part:
        k = grouper(x)
        g = groups.get(k)
        if g is None:
            groups[k] = [x]
        else:
            g.append(x)
    pieces = [[] for _ in range(n)]
    for k, members in groups.items():
        pieces[_dest(k, n)].extend(members)
    return pieces


def _group(pieces, grouper):
    out: dict = {}
    for piece in pieces:
        for x in piece:
            k = grouper(x)
            g = out.get(k)
            if g is None:
                out[k] = [x]
            else:
                g.append(x)
    return list(out.items())


class _Cut:
    """Cut partition ``i`` into ``n`` pieces and keep them (engine stores or files)."""

    __slots__ = ("grouper", "n", "place", "shuffle")

    def __init__(self, shuffle, grouper, n, place):
        self.shuffle = shuffle
        self.grouper = grouper
        self.n = n
        self.place = place

    def __reduce__(self):
        return (_Cut, (self.shuffle, self.grouper, self.n, self.place))

    def __call__(self, part, i):
        pieces = _split(part, self.grouper, self.n)
        if self.place is None:
            stores = _shuffle.current()
            for j, piece in enumerate(pieces):
                if piece:
                    stores.push(self.shuffle, self.n, i, j, piece)
            return stores.holder
        for j, piece in enumerate(pieces):
            if piece:
                d = os.path.join(self.place, str(j))
                os.makedirs(d, exist_ok=True)
                tmp = os.path.join(d, f".{i}.tmp")
                with open(tmp, "wb") as f:
                    pickle.dump(piece, f, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, os.path.join(d, str(i)))
        return i


class _Barrier:
    __slots__ = ("place", "shuffle")

    def __init__(self, shuffle, place):
        self.shuffle = shuffle
        self.place = place

    def __reduce__(self):
        return (_Barrier, (self.shuffle, self.place))

    def __call__(self, holders):
        if self.place is None:
            return _shuffle.barrier(self.shuffle, holders)
        return len(holders)


class _Collect:
    __slots__ = ("grouper", "place", "shuffle")

    def __init__(self, shuffle, grouper, place):
        self.shuffle = shuffle
        self.grouper = grouper
        self.place = place

    def __reduce__(self):
        return (_Collect, (self.shuffle, self.grouper, self.place))

    def __call__(self, holders, j):
        if self.place is None:
            return _group(_shuffle.take_all(self.shuffle, j, holders), self.grouper)
        d = os.path.join(self.place, str(j))
        try:
            names = sorted(os.listdir(d), key=lambda s: (s.startswith("."), s))
        except FileNotFoundError:
            names = []
        pieces = []
        for name in names:
            if name.startswith("."):
                continue
            with open(os.path.join(d, name), "rb") as f:
                pieces.append((int(name), pickle.load(f)))
        pieces.sort(key=itemgetter(0))
        out = _group([p for _, p in pieces], self.grouper)
        shutil.rmtree(d, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(self.place)
        return out


def _numbers(name, n):
    """A layer ``(name, i) -> i``: partition numbers as Blockwise inputs."""
    return MaterializedLayer({(name, i): i for i in range(n)})


_LOCAL = ("threads", "threading", "sync", "synchronous", "single-threaded")


def _use_engine() -> bool:
    client = sys.modules.get("oxdask.distributed.client")
    if client is not None and client._current is not None:
        return True
    return config.get("scheduler", None) in _LOCAL


def groupby(bag, grouper, npartitions=None, options=()):
    from oxdask.bag.core import _graph

    grouper = _keyfunc(grouper)
    n_in = bag.npartitions
    n_out = int(npartitions or n_in)
    base = tokenize(bag, grouper, n_out, options)
    oname = f"groupby-collect-{base}"
    if _use_engine():
        place = None
    else:
        root = config.get("temporary-directory", None) or tempfile.gettempdir()
        place = os.path.join(root, f"oxdask-bag-{oname}-{os.urandom(4).hex()}")
    cname, bname = f"groupby-partition-{base}", f"groupby-barrier-{base}"
    iname, jname = "in-number-" + tokenize(n_in), "out-number-" + tokenize(n_out)
    cut = BlockwiseLayer(
        cname,
        Part(_Cut(oname, grouper, n_out, place), True, False),
        [0],
        [(bag.name, [0]), (iname, [0])],
        {bag.name: (n_in,), iname: (n_in,)},
    )
    g = _graph(cname, cut, [bag], {iname: _numbers(iname, n_in)})
    layers = dict(g.layers)
    deps = {k: set(v) for k, v in g.dependencies.items()}
    layers[bname] = MaterializedLayer(
        {(bname, 0): (_Barrier(oname, place), [(cname, i) for i in range(n_in)])}
    )
    deps[bname] = {cname}
    layers[jname] = _numbers(jname, n_out)
    deps[jname] = set()
    layers[oname] = BlockwiseLayer(
        oname,
        _Collect(oname, grouper, place),
        [0],
        [(bname, [0]), (jname, [0])],
        {bname: (1,), jname: (n_out,)},
    )
    deps[oname] = {bname, jname}
    return type(bag)(HighLevelGraph(layers, deps), oname, n_out)


class GroupMethods:
    """Grouping and joining methods of :class:`~oxdask.bag.Bag`."""

    __slots__ = ()

    def foldby(
        self,
        key,
        binop,
        initial=no_default,
        combine=None,
        combine_initial=no_default,
        split_every=None,
    ):
        """``(key, fold of the group)`` for every group of elements of equal ``key``:
        ``binop(acc, element)`` from ``initial`` in each partition, then ``combine(acc,
        partial)`` from ``combine_initial`` across partitions."""
        key = _keyfunc(key)
        return foldby(self, key, binop, initial, combine, combine_initial, split_every)

    def groupby(
        self, grouper, method=None, npartitions=None, blocksize=2**20, max_branch=None, shuffle=None
    ):
        """``(key, [elements])`` for every value of ``grouper(element)`` (a shuffle: all
        elements of a group end in one partition)."""
        if method is not None and shuffle is None:
            shuffle = method
        if shuffle not in (None, "disk", "tasks", "engine", "p2p"):
            raise NotImplementedError(f"Unknown shuffle method {shuffle!r}")
        return groupby(self, grouper, npartitions, (shuffle, max_branch, blocksize))

    def join(self, other, on_self, on_other=None):
        """``(other_element, element)`` for every pair whose keys ``on_self(element)`` and
        ``on_other(other_element)`` are equal; ``other`` is an iterable, a Delayed or a
        one-partition bag."""
        from collections.abc import Iterable

        from oxdask.bag._more import _Join
        from oxdask.bag.core import Bag, Item
        from oxdask.delayed import Delayed

        if on_other is None:
            on_other = on_self
        items = []
        if isinstance(other, Bag):
            if other.npartitions != 1:
                raise NotImplementedError(
                    "Multi-bag joins are not implemented. "
                    "We recommend Dask dataframe if appropriate"
                )
            items.append(Item(other.dask, (other.name, 0), other.name))
            step = _Join(on_self, on_other, None)
        elif isinstance(other, Delayed):
            items.append(Item.from_delayed(other))
            step = _Join(on_self, on_other, None)
        elif isinstance(other, Iterable):
            step = _Join(on_self, on_other, list(other))
        else:
            raise TypeError(
                "Joined argument must be single-partition Bag, delayed object, or "
                f"Iterable, got {type(other).__name__}"
            )
        return self._step("join", step, other, on_self, on_other, items=items)

    def product(self, other):
        """Every pair ``(a, b)`` of an element of this bag and one of ``other``."""
        from oxdask.bag.core import Bag, _graph

        if not isinstance(other, Bag):
            raise TypeError(f"product expects a Bag, got {type(other).__name__}")
        name = f"product-{tokenize(self, other)}"
        n, m = self.npartitions, other.npartitions
        layer = {
            (name, i * m + j): (_product, (self.name, i), (other.name, j))
            for i in range(n)
            for j in range(m)
        }
        return type(self)(_graph(name, MaterializedLayer(layer), [self, other]), name, n * m)


def _product(a, b):
    import itertools

    return list(itertools.product(a, b))
