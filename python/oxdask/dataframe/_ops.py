"""Arithmetic, comparison and logical operators of frames, and their named forms (``add``...).

Every operator is one partition-wise layer (:func:`oxdask.dataframe.partitionwise.elemwise`);
frames with different known divisions are aligned first.
"""

from __future__ import annotations

import operator

from oxdask.dataframe import _pushdown, methods

_BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
}
_LOGICAL = {"and": operator.and_, "or": operator.or_, "xor": operator.xor}
_COMPARE = ("lt", "le", "gt", "ge", "eq", "ne")
_UNARY = {"neg": operator.neg, "pos": operator.pos, "invert": operator.invert}


class _Reversed:
    """``op(b, a)``: the reflected form of a binary operator."""

    def __init__(self, op):
        self.op = op
        self.__name__ = "r" + getattr(op, "__name__", "op").strip("_")

    def __call__(self, a, b):
        return self.op(b, a)

    def __dask_tokenize__(self):
        return ("Reversed", self.op)


def _binary(op, reflected=False):
    def method(self, other):
        from oxdask.dataframe.core import _Frame
        from oxdask.dataframe.partitionwise import elemwise

        if isinstance(other, _Frame) and _priority(other) > _priority(self):
            return NotImplemented
        if reflected:
            return elemwise(_Reversed(op), self, other)
        return _pushdown.tag(op, self, other, elemwise(op, self, other))

    method.__name__ = getattr(op, "__name__", "op")
    return method


def _priority(x) -> int:
    from oxdask.dataframe.core import DataFrame

    return 1 if isinstance(x, DataFrame) else 0


def _unary(op):
    def method(self):
        from oxdask.dataframe.partitionwise import elemwise

        return elemwise(op, self)

    return method


def _named(name):
    def method(self, other, axis="columns", level=None, fill_value=None):
        from oxdask.dataframe.partitionwise import elemwise

        kwargs = {}
        if axis not in ("columns", 1) or getattr(self, "ndim", 1) == 1:
            kwargs["axis"] = axis
        if level is not None:
            kwargs["level"] = level
        if fill_value is not None:
            kwargs["fill_value"] = fill_value
        if getattr(self, "ndim", 2) == 1:
            kwargs.pop("axis", None)
        return elemwise(methods.NamedOp(name), self, other, **kwargs)

    method.__name__ = name
    method.__doc__ = f"Partition-wise ``{name}`` (see ``pandas.DataFrame.{name}``)."
    return method


def bind_operators(cls) -> None:
    """Attach the operators and named arithmetic methods to ``cls``."""
    for name, op in {**_BINARY, **_LOGICAL}.items():
        setattr(cls, f"__{name}__", _binary(op))
        setattr(cls, f"__r{name}__", _binary(op, reflected=True))
    for name in _COMPARE:
        setattr(cls, f"__{name}__", _binary(getattr(operator, name)))
    for name, op in _UNARY.items():
        setattr(cls, f"__{name}__", _unary(op))
    cls.__abs__ = _unary(operator.abs)
    cls.__hash__ = object.__hash__
    named = [*_BINARY, *_COMPARE, "div", "rdiv"]
    named += [f"r{n}" for n in _BINARY]
    for name in named:
        target = {"div": "truediv", "rdiv": "rtruediv"}.get(name, name)
        setattr(cls, name, _named(target))
