"""The :class:`Scalar` collection: one lazy value (the result of a reduction).

Its single key is ``(name, 0)``, so that it can be broadcast to every partition of a frame in
a Blockwise layer (a one-block input).
"""

from __future__ import annotations

import operator

import numpy as np

from oxdask.base import DaskMethodsMixin
from oxdask.dataframe import methods
from oxdask.highlevelgraph import HighLevelGraph
from oxdask.tokenize import tokenize
from oxdask.utils import key_split

__all__ = ["Scalar"]


class GraphProtocol(DaskMethodsMixin):
    """The parts of the collection protocol that frames and scalars share: a graph in
    ``dask``, a name in ``_name``, dataframe optimizations."""

    __slots__ = ()

    @staticmethod
    def _as_graph(dsk, name):
        if isinstance(dsk, HighLevelGraph):
            return dsk
        return HighLevelGraph({name: dsk}, {name: set()})

    def __dask_graph__(self):
        return self.dask

    def __dask_layers__(self):
        return (self._name,)

    def __dask_tokenize__(self):
        return self._name

    @staticmethod
    def __dask_optimize__(dsk, keys, **kwargs):
        from oxdask.dataframe.optimization import optimize

        return optimize(dsk, keys, **kwargs)

    @staticmethod
    def _renamed(dsk, name, nparts, rename):
        """The graph and name of a collection rebuilt from ``dsk`` (``__dask_postpersist__``).
        As in Dask, the rebuilt collection has a name of its own (or the one in ``rename``),
        whose keys are aliases of the ``nparts`` keys of ``name`` held in ``dsk``."""
        if rename:
            return dsk, rename.get(name, name)
        new = f"{key_split(name)}-{tokenize(name, 'rebuilt')}"
        layer = dict(dsk)
        layer.update({(new, i): (name, i) for i in range(nparts)})
        return layer, new

    def _graph_for_delayed(self, optimize_graph):
        if optimize_graph:
            return self.__dask_optimize__(self.dask, self.__dask_keys__())
        return self.dask


class Scalar(GraphProtocol):
    """A lazy single value (the result of a reduction), as ``dask.dataframe.Scalar``."""

    def __init__(self, dsk, name, meta):
        self.dask = self._as_graph(dsk, name)
        self._name = name
        self._meta = meta

    def __dask_keys__(self):
        return [(self._name, 0)]

    def __dask_postcompute__(self):
        return methods.first, ()

    def __dask_postpersist__(self):
        return self._rebuild, (self._name, self._meta)

    @staticmethod
    def _rebuild(dsk, name, meta, rename=None):
        dsk, name = GraphProtocol._renamed(dsk, name, 1, rename)
        return Scalar(dsk, name, meta)

    @property
    def key(self):
        return (self._name, 0)

    @property
    def npartitions(self) -> int:
        return 1

    @property
    def divisions(self):
        return (None, None)

    @property
    def dtype(self):
        """dtype of the value."""
        meta = self._meta
        if hasattr(meta, "dtype"):
            return meta.dtype
        return np.asarray(meta).dtype if meta is not None else np.dtype(object)

    @property
    def _meta_nonempty(self):
        return self._meta

    def to_delayed(self, optimize_graph=True):
        """The value as a :class:`~oxdask.delayed.Delayed`."""
        from oxdask.delayed import Delayed

        return Delayed(self.key, self._graph_for_delayed(optimize_graph))

    def __repr__(self) -> str:
        return f"dd.Scalar<{self._name.rsplit('-', 1)[0]}, dtype={self.dtype}>"

    def __bool__(self):
        raise TypeError(
            f"Trying to convert {self!r} to a boolean value. Because Dask objects are lazily "
            "evaluated, they cannot be converted to a boolean value or used in boolean "
            "conditions like if statements. Try calling .compute() to force computation "
            "prior to converting to a boolean value or using in a conditional statement."
        )

    def __float__(self):
        return float(self.compute())

    def __int__(self):
        return int(self.compute())


def _scalar_op(op, reverse=False):
    def method(self, other=None):
        from oxdask.dataframe.core import _Frame
        from oxdask.dataframe.partitionwise import elemwise

        if isinstance(other, _Frame):
            return NotImplemented
        if op in _UNARY:
            return elemwise(op, self)
        return elemwise(op, other, self) if reverse else elemwise(op, self, other)

    return method


_UNARY = {operator.neg, operator.pos, operator.invert, operator.abs}


def _bind_scalar_ops():
    binary = {
        "add": operator.add,
        "sub": operator.sub,
        "mul": operator.mul,
        "truediv": operator.truediv,
        "floordiv": operator.floordiv,
        "mod": operator.mod,
        "pow": operator.pow,
        "and": operator.and_,
        "or": operator.or_,
        "xor": operator.xor,
    }
    for n, op in binary.items():
        setattr(Scalar, f"__{n}__", _scalar_op(op))
        setattr(Scalar, f"__r{n}__", _scalar_op(op, reverse=True))
    for n in ("lt", "le", "gt", "ge", "eq", "ne"):
        setattr(Scalar, f"__{n}__", _scalar_op(getattr(operator, n)))
    for n, op in {"neg": operator.neg, "pos": operator.pos, "invert": operator.invert}.items():
        setattr(Scalar, f"__{n}__", _scalar_op(op))
    Scalar.__abs__ = _scalar_op(operator.abs)


_bind_scalar_ops()
