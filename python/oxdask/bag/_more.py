"""More bag methods: ``take``, ``repartition``, ``accumulate``, ``random_sample``,
``to_dataframe``, writers, the ``str`` accessor, and the partition functions they use."""

from __future__ import annotations

import itertools
import operator
import random as _random
import warnings
from functools import partial

from oxdask.bag._parts import Part, _missing, reify
from oxdask.highlevelgraph import BlockwiseLayer, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["MoreMethods", "StringAccessor"]


class _Join:
    """``(other_element, element)`` pairs with equal keys; ``other`` given or an input."""

    __slots__ = ("on_other", "on_self", "other")

    def __init__(self, on_self, on_other, other):
        self.on_self = on_self
        self.on_other = on_other
        self.other = other

    def __reduce__(self):
        return (_Join, (self.on_self, self.on_other, self.other))

    def __call__(self, part, *given):
        other = given[0] if given else self.other
        on_other, on_self = self.on_other, self.on_self
        if not callable(on_other):
            on_other = operator.itemgetter(on_other)
        if not callable(on_self):
            on_self = operator.itemgetter(on_self)
        index: dict = {}
        for o in other:
            index.setdefault(on_other(o), []).append(o)
        for x in part:
            for o in index.get(on_self(x), ()):
                yield (o, x)


def _take(k, part):
    return list(itertools.islice(part, k))


class _SafeTake:
    __slots__ = ("k", "warn")

    def __init__(self, k, warn):
        self.k = k
        self.warn = warn

    def __call__(self, parts):
        out = list(itertools.islice(itertools.chain.from_iterable(parts), self.k))
        if len(out) != self.k and self.warn:
            _warn_short(self.k, len(out))
        return out


def _warn_short(k, n):
    warnings.warn(
        f"Insufficient elements for `take`. {k} elements requested, only {n} elements "
        "available. Try passing larger `npartitions` to `take`.",
        stacklevel=3,
    )


def _concat(parts):
    out = []
    for p in parts:
        out.extend(p)
    return out


def split(seq, n):
    """``seq`` in ``n`` pieces of (nearly) equal length."""
    if not isinstance(seq, (list, tuple)):
        seq = list(seq)
    size = len(seq) / n
    out = [seq[int(size * i) : int(size * (i + 1))] for i in range(n - 1)]
    out.append(seq[int(size * (n - 1)) :])
    return out


def total_mem_usage(partition):
    """Bytes in memory of a partition (iterators made lists first)."""
    from oxdask.sizeof import sizeof

    return sizeof(reify(partition))


def _accumulate_part(binop, seq, initial, is_first=False):
    """``(running values of this partition, the last one)``; ``initial`` is the previous
    partition's last value (missing while every partition before was empty)."""
    if initial is _missing:
        res = list(itertools.accumulate(seq, binop))
        return res, (res[-1] if res else initial)
    res = list(itertools.accumulate(seq, binop, initial=initial))
    if is_first:
        return res, res[-1]
    return res[1:], res[-1]


class _Sample:
    __slots__ = ("prob", "seed")

    def __init__(self, prob, seed):
        self.prob = prob
        self.seed = seed

    def __call__(self, part, i):
        rng = _random.Random(hash((self.seed, i)))
        prob = self.prob
        return [x for x in part if rng.random() < prob]


def to_pandas(seq, columns, dtypes):
    import pandas as pd

    seq = reify(seq)
    if not isinstance(seq, list):
        seq = list(seq)
    return pd.DataFrame(seq, columns=list(columns)).astype(dtypes)


class MoreMethods:
    """Methods of :class:`~oxdask.bag.Bag` beyond element-wise steps and reductions."""

    __slots__ = ()

    def take(self, k, npartitions=1, compute=True, warn=True):
        """The first ``k`` elements of the first ``npartitions`` partitions (-1: all), as a
        tuple (or a one-partition bag if not ``compute``)."""
        from oxdask.bag.core import Bag, _graph

        if npartitions <= -1:
            npartitions = self.npartitions
        if npartitions > self.npartitions:
            raise ValueError(f"only {self.npartitions} partitions, take received {npartitions}")
        token = tokenize(self, k, npartitions)
        name = f"take-{token}"
        layer = {
            (name, 0): (
                _SafeTake(k, warn and not compute),
                [(f"take-partial-{token}", i) for i in range(npartitions)],
            )
        }
        for i in range(npartitions):
            layer[(f"take-partial-{token}", i)] = (_take, k, (self.name, i))
        b = Bag(_graph(name, MaterializedLayer(layer), [self]), name, 1)
        if compute:
            out = tuple(b.compute())
            if warn and len(out) != k:  # here, not in a worker process
                _warn_short(k, len(out))
            return out
        return b

    def accumulate(self, binop, initial=_missing):
        """Running ``binop`` of the elements in order (``initial`` first if given)."""
        from oxdask.bag.core import Bag, _graph

        token = tokenize(self, binop, initial)
        a, b, c = f"accumulate-part-{token}", f"accumulate-{token}", f"accumulate-last-{token}"
        first, second = operator.itemgetter(0), operator.itemgetter(1)
        dsk = {(a, 0): (_accumulate_part, binop, (self.name, 0), initial, True)}
        dsk[(b, 0)] = (first, (a, 0))
        dsk[(c, 0)] = (second, (a, 0))
        for i in range(1, self.npartitions):
            dsk[(a, i)] = (_accumulate_part, binop, (self.name, i), (c, i - 1))
            dsk[(b, i)] = (first, (a, i))
            dsk[(c, i)] = (second, (a, i))
        return Bag(_graph(b, MaterializedLayer(dsk), [self]), b, self.npartitions)

    def random_sample(self, prob, random_state=None):
        """Each element kept with probability ``prob`` (reproducible with
        ``random_state``)."""
        from oxdask.bag.core import _graph

        if not 0 <= prob <= 1:
            raise ValueError("prob must be a number in the interval [0, 1]")
        if isinstance(random_state, _random.Random):
            seed = random_state.getrandbits(64)
        elif random_state is None:
            seed = _random.getrandbits(64)
        else:
            seed = random_state
        name = f"random-sample-{tokenize(self, prob, seed)}"
        iname = f"in-number-{tokenize(self.npartitions)}"
        layer = BlockwiseLayer(
            name,
            Part(_Sample(prob, seed), True),
            [0],
            [(self.name, [0]), (iname, [0])],
            {self.name: (self.npartitions,), iname: (self.npartitions,)},
        )
        nums = MaterializedLayer({(iname, i): i for i in range(self.npartitions)})
        return type(self)(_graph(name, layer, [self], {iname: nums}), name, self.npartitions)

    def repartition(self, npartitions=None, partition_size=None):
        """The same elements in ``npartitions`` partitions (or partitions of about
        ``partition_size`` bytes, which computes the bag to measure it)."""
        if sum([partition_size is not None, npartitions is not None]) != 1:
            raise ValueError(
                "Please provide exactly one ``npartitions`` or ``partition_size`` keyword arguments"
            )
        if npartitions is not None:
            return _repartition_n(self, int(npartitions))
        return _repartition_size(self, partition_size)

    def to_dataframe(self, meta=None, columns=None, optimize_graph=True):
        """A :class:`~oxdask.dataframe.DataFrame` of the elements (dicts, tuples or lists),
        one partition per partition."""
        import pandas as pd

        from oxdask.dataframe.core import new_dd_object
        from oxdask.dataframe.utils import make_meta

        if meta is None:
            head = self.take(1, warn=False)
            if len(head) == 0:
                raise ValueError(
                    "`dask.bag.Bag.to_dataframe` failed to properly infer metadata, "
                    "please pass in metadata via the `meta` keyword"
                )
            meta = pd.DataFrame(list(head), columns=columns)
        elif columns is not None:
            raise ValueError("Can't specify both `meta` and `columns`")
        else:
            meta = make_meta(meta)
        meta = meta.iloc[:0]
        cols = list(meta.columns)
        dtypes = meta.dtypes.to_dict()
        dfs = self.map_partitions(partial(to_pandas, columns=cols, dtypes=dtypes))
        dsk = dfs.dask
        if optimize_graph:
            dsk = self.__dask_optimize__(dsk, dfs.__dask_keys__())
        return new_dd_object(dsk, dfs.name, meta, [None] * (self.npartitions + 1))

    def to_textfiles(
        self,
        path,
        name_function=None,
        compression="infer",
        encoding="utf-8",
        compute=True,
        storage_options=None,
        last_endline=False,
        **kwargs,
    ):
        """Write the elements (strings) to text files, one file per partition."""
        from oxdask.bag.text import to_textfiles

        return to_textfiles(
            self,
            path,
            name_function,
            compression,
            encoding,
            compute,
            storage_options=storage_options,
            last_endline=last_endline,
            **kwargs,
        )

    def to_avro(
        self,
        filename,
        schema,
        name_function=None,
        storage_options=None,
        codec="null",
        sync_interval=16000,
        metadata=None,
        compute=True,
        **kwargs,
    ):
        """Write the elements (dicts) to Avro files, one per partition (needs fastavro)."""
        from oxdask.bag.avro import to_avro

        return to_avro(
            self,
            filename,
            schema,
            name_function,
            storage_options,
            codec,
            sync_interval,
            metadata,
            compute,
            **kwargs,
        )


def _repartition_n(bag, n):
    from oxdask.bag.core import Bag, _graph

    if n == bag.npartitions:
        return bag
    name = f"repartition-{n}-{tokenize(bag, n)}"
    dsk = {}
    if bag.npartitions > n:
        ratio = bag.npartitions / n
        bounds = [int(i * ratio) for i in range(n + 1)]
        for j in range(n):
            dsk[(name, j)] = (_concat, [(bag.name, i) for i in range(bounds[j], bounds[j + 1])])
    else:
        div, mod = divmod(n, bag.npartitions)
        nsplits = [div] * bag.npartitions
        nsplits[-1] += mod
        sname = f"split-{tokenize(bag, nsplits)}"
        j = 0
        for i, k in enumerate(nsplits):
            dsk[(sname, i)] = (split, (bag.name, i), k)
            for jj in range(k):
                dsk[(name, j)] = (operator.getitem, (sname, i), jj)
                j += 1
    return Bag(_graph(name, MaterializedLayer(dsk), [bag]), name, n)


def _repartition_size(bag, size):
    from oxdask.bag.core import Bag, _graph
    from oxdask.bag.utils import parse_bytes

    if isinstance(size, str):
        size = parse_bytes(size)
    size = int(size)
    usages = bag.map_partitions(total_mem_usage).compute()
    name = f"repartition-{tokenize(bag, size)}"
    sname = f"split-{tokenize(bag, size)}"
    pieces = []  # (key, usage)
    dsk = {}
    for i, usage in enumerate(usages):
        k = 1 + usage // size
        if k == 1:
            pieces.append(((bag.name, i), usage))
        else:
            dsk[(sname, i)] = (split, (bag.name, i), k)
            for jj in range(k):
                dsk[(f"{sname}-piece", i, jj)] = (operator.getitem, (sname, i), jj)
                pieces.append(((f"{sname}-piece", i, jj), usage / k))
    groups, current, total = [], [], 0
    for key, usage in pieces:
        if current and total + usage > size:
            groups.append(current)
            current, total = [], 0
        current.append(key)
        total += usage
    if current:
        groups.append(current)
    for j, keys in enumerate(groups):
        dsk[(name, j)] = (_concat, keys)
    return Bag(_graph(name, MaterializedLayer(dsk), [bag]), name, len(groups))


class StringAccessor:
    """``b.str.<method>(...)``: the ``str`` method applied to every element."""

    def __init__(self, bag):
        self._bag = bag

    def __dir__(self):
        return sorted(set(dir(type(self)) + dir(str)))

    def _strmap(self, key, *args, **kwargs):
        return self._bag.map(operator.methodcaller(key, *args, **kwargs))

    def __getattr__(self, key):
        if key.startswith("_") or key not in dir(str):
            raise AttributeError(key)
        return partial(self._strmap, key)

    def match(self, pattern):
        """The elements matching the glob ``pattern`` (``fnmatch``)."""
        from fnmatch import fnmatch

        return self._bag.filter(partial(fnmatch, pat=pattern))
