"""Task functions of bag layers, and how chains of them fuse into one streaming pass.

Every partition-wise layer of a bag calls a :class:`Part`: ``lazy(*inputs)`` builds the
partition, possibly as an iterator, and ``Part`` turns an iterator into a list (``reify``) so
that a stored partition can be read by several consumers. When fusion merges a chain of such
layers into one task (:mod:`oxdask.bag.optimization`), the inner steps hand their iterators
to the outer ones directly: ``read_text -> map -> filter -> pluck -> frequencies`` is one pass
over the lines, with no list in between.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator

from oxdask.utils import funcname

__all__ = ["Chain", "Part", "no_result", "reify"]


class _NoResult:
    """The partial result of an empty partition: left out of aggregations."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "no_result"

    def __reduce__(self):
        return "no_result"


no_result = _NoResult()


def reify(seq):
    """``seq`` as a list when it is an iterator (and its elements too, if they are)."""
    if isinstance(seq, Iterator):
        seq = list(seq)
    if type(seq) is list and seq and isinstance(seq[0], Iterator):
        seq = [list(x) for x in seq]
    return seq


class Part:
    """Task function of a bag layer.

    ``lazy(*inputs)`` computes the output; ``takes_iter`` says whether it accepts iterators
    for its partition inputs (built-in steps do, user functions given to ``map_partitions``
    receive lists); ``reify`` whether the output is a partition (made a list) or a value.
    """

    __slots__ = ("_oxdask_in_caller", "lazy", "reify", "takes_iter")

    def __init__(self, lazy, takes_iter: bool = True, reify: bool = True, in_caller=False):
        self.lazy = lazy
        self.takes_iter = takes_iter
        self.reify = reify
        #: runs in the scheduling process under the processes scheduler (its input, one
        #: reduced partition, is there already)
        self._oxdask_in_caller = in_caller

    def __reduce__(self):
        return (Part, (self.lazy, self.takes_iter, self.reify, self._oxdask_in_caller))

    def __call__(self, *args):
        out = self.lazy(*args)
        return reify(out) if self.reify else out

    @property
    def __name__(self) -> str:
        return _name(self.lazy)

    def __repr__(self) -> str:
        return f"Part({_name(self.lazy)})"


class Chain:
    """``outer(*args[:pos], inner(*args[pos:pos + n]), *args[pos + n:])``: two fused steps
    (see :mod:`oxdask.bag.optimization`)."""

    __slots__ = ("inner", "n", "outer", "pos")

    def __init__(self, outer, pos, inner, n):
        self.outer = outer
        self.pos = pos
        self.inner = inner
        self.n = n

    def __reduce__(self):
        return (Chain, (self.outer, self.pos, self.inner, self.n))

    def __call__(self, *args):
        p, n = self.pos, self.n
        if p == 0 and n == len(args):
            return self.outer(self.inner(*args))
        return self.outer(*args[:p], self.inner(*args[p : p + n]), *args[p + n :])

    @property
    def __name__(self) -> str:
        return f"{_name(self.inner)} -> {_name(self.outer)}"

    def __repr__(self) -> str:
        return f"Chain({self.__name__})"


def _name(func) -> str:
    """A readable name of a step: ``map(loads)``, ``filter(lambda)``, ``a -> b`` for chains."""
    if isinstance(func, (Part, Chain)):
        return func.__name__
    step = getattr(type(func), "_step", None)
    inner = getattr(func, "func", None) or getattr(func, "pred", None)
    if step and inner is not None:
        return f"{step}({funcname(inner)})"
    if step:
        return step
    return funcname(func)


# -- partition steps ------------------------------------------------------------------------


class Args:
    """The arguments of a mapped function: ``spec`` lists, per position, ``("bag", None)``
    (the next partition input, iterated), ``("item", None)`` (the next input, a value) or
    ``("const", value)``; ``kwnames`` names the trailing ones passed by keyword."""

    __slots__ = ("kwnames", "spec")

    def __init__(self, spec, kwnames=()):
        self.spec = tuple(spec)
        self.kwnames = tuple(kwnames)

    def __reduce__(self):
        return (Args, (self.spec, self.kwnames))

    def split(self, inputs, iterate: bool):
        """Positional and keyword streams (``iterate``) or values, from the layer inputs."""
        values = []
        it = iter(inputs)
        for kind, const in self.spec:
            if kind == "bag":
                v = next(it)
                values.append(iter(v) if iterate else v)
            elif kind == "item":
                v = next(it)
                values.append(itertools.repeat(v) if iterate else v)
            else:
                values.append(itertools.repeat(const) if iterate else const)
        k = len(values) - len(self.kwnames)
        return values[:k], dict(zip(self.kwnames, values[k:], strict=True))


class MapStep:
    """``func`` applied element by element across the bag inputs (zipped, equal lengths)."""

    _step = "map"

    __slots__ = ("args", "func")

    def __init__(self, func, args: Args):
        self.func = func
        self.args = args

    def __reduce__(self):
        return (MapStep, (self.func, self.args))

    def __call__(self, *inputs):
        spec = self.args.spec
        if len(spec) == 1 and not self.args.kwnames:
            return map(_fast_path(self.func), inputs[0])
        pos, kw = self.args.split(inputs, True)
        bags = [i for i, (kind, _) in enumerate(spec) if kind == "bag"]
        return _zipped(self.func, pos, kw, bags)


def _fast_path(func):
    """``func``, or an equivalent that calls less Python: ``json.loads`` of a string runs the
    default decoder's C scanner directly (the same values; anything else, leading whitespace
    or an error included, goes through ``json.loads`` itself)."""
    json = sys.modules.get("json")
    if json is not None and func is json.loads:
        return _JsonLoads(json)
    return func


class _JsonLoads:
    __slots__ = ("loads", "scan")

    def __init__(self, json):
        self.loads = json.loads
        self.scan = json._default_decoder.scan_once

    def __call__(self, s):
        if type(s) is str:
            try:
                obj, end = self.scan(s, 0)
            except StopIteration:
                return self.loads(s)
            if end == len(s) or not s[end:].strip(" \t\n\r"):
                return obj
        return self.loads(s)


def _zipped(func, pos, kw, bags):
    """Calls of ``func`` over zipped inputs; bags of different lengths are an error."""
    names = list(kw)
    streams = [*pos, *(kw[n] for n in names)]
    k = len(pos)
    if len(bags) == 1 and not names:
        yield from map(func, *streams)
        return
    sentinel = object()
    for row in itertools.zip_longest(*streams, fillvalue=sentinel):
        ended = [row[i] is sentinel for i in bags]
        if any(ended):
            if not all(ended):
                raise ValueError(
                    "map: the bags given have partitions of different lengths "
                    "(they must be partitioned alike)"
                )
            return
        if names:
            yield func(*row[:k], **dict(zip(names, row[k:], strict=True)))
        else:
            yield func(*row)


class StarmapStep:
    _step = "starmap"
    __slots__ = ("func", "kwargs")

    def __init__(self, func, kwargs: Args):
        self.func = func
        self.kwargs = kwargs

    def __reduce__(self):
        return (StarmapStep, (self.func, self.kwargs))

    def __call__(self, part, *inputs):
        _, kw = self.kwargs.split(inputs, False)
        func = self.func
        if kw:
            return (func(*x, **kw) for x in part)
        return itertools.starmap(func, part)


class PartitionsStep:
    """A user function applied to whole partitions (lists), with bag/item/constant args."""

    _step = "map_partitions"

    __slots__ = ("args", "func")

    def __init__(self, func, args: Args):
        self.func = func
        self.args = args

    def __reduce__(self):
        return (PartitionsStep, (self.func, self.args))

    def __call__(self, *inputs):
        pos, kw = self.args.split(inputs, False)
        return self.func(*pos, **kw)


class FilterStep:
    _step = "filter"
    __slots__ = ("keep", "pred")

    def __init__(self, pred, keep: bool = True):
        self.pred = pred
        self.keep = keep

    def __reduce__(self):
        return (FilterStep, (self.pred, self.keep))

    def __call__(self, part, *items):
        pred = self.pred
        if items:
            pred = _Bound(pred, items)
        if self.keep:
            return filter(pred, part)
        return itertools.filterfalse(pred, part)


class _Bound:
    __slots__ = ("extra", "func")

    def __init__(self, func, extra):
        self.func = func
        self.extra = extra

    def __call__(self, x):
        return self.func(x, *self.extra)


class PluckStep:
    _step = "pluck"
    __slots__ = ("default", "key")

    def __init__(self, key, default):
        self.key = key
        self.default = default

    def __reduce__(self):
        return (PluckStep, (self.key, self.default))

    def __call__(self, part):
        from operator import itemgetter

        key, default = self.key, self.default
        if isinstance(key, list):
            if default is _missing:
                return map(itemgetter(*key), part) if len(key) > 1 else map(_one(key[0]), part)
            return (tuple(_get(x, k, default) for k in key) for x in part)
        if default is _missing:
            return map(itemgetter(key), part)
        return (_get(x, key, default) for x in part)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "no_default"

    def __reduce__(self):
        return "_missing"


_missing = _Missing()


def _one(k):
    def get(x):
        return (x[k],)

    return get


def _get(x, key, default):
    try:
        return x[key]
    except (KeyError, IndexError, TypeError):
        return default


def flatten_step(part):
    return itertools.chain.from_iterable(part)


def identity(part):
    return part


def list_step(part):
    return list(part)
