"""Operators of :class:`oxdask.delayed.Delayed`: every Python operator builds a pure call
(equal expressions share keys)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import partial


def _swap(method, self, other):
    return method(other, self)


def _opname(op) -> str:
    name = op.__name__
    return name[:-1] if name.endswith("_") else name


def install(cls: type, op_call: Callable) -> None:
    """Give ``cls`` the arithmetic, comparison, bitwise and item operators; each calls
    ``op_call(func, *operands)``."""

    def unary(op):
        def method(self):
            return op_call(op, self)

        method.__name__ = f"__{_opname(op)}__"
        return method

    def binary(op):
        def method(self, other):
            return op_call(op, self, other)

        method.__name__ = f"__{_opname(op)}__"
        return method

    def reflected(op):
        swapped = partial(_swap, op)

        def method(self, other):
            return op_call(swapped, self, other)

        method.__name__ = f"__r{_opname(op)}__"
        return method

    for op in (operator.abs, operator.neg, operator.pos, operator.invert):
        setattr(cls, f"__{_opname(op)}__", unary(op))
    for op in (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge):
        setattr(cls, f"__{_opname(op)}__", binary(op))
    cls.__getitem__ = binary(operator.getitem)
    for op in (
        operator.add,
        operator.sub,
        operator.mul,
        operator.matmul,
        operator.floordiv,
        operator.truediv,
        operator.mod,
        operator.pow,
        operator.and_,
        operator.or_,
        operator.xor,
        operator.lshift,
        operator.rshift,
    ):
        setattr(cls, f"__{_opname(op)}__", binary(op))
        setattr(cls, f"__r{_opname(op)}__", reflected(op))
