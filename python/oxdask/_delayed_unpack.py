"""Task forms of the arguments of delayed calls (part of :mod:`oxdask.delayed`).

Collections become their keys; builtin containers holding collections become tasks that
rebuild them; everything else is passed as data.
"""

from __future__ import annotations

import dataclasses
import types
from functools import partial
from typing import Any

from oxdask._delayed_graph import _ITER_TYPES, _finalize
from oxdask.base import is_dask_collection
from oxdask.core import literal
from oxdask.utils import apply, is_namedtuple_instance

Delayed: Any = None  # set by oxdask.delayed once the class exists

# Types whose instances are never collections, never contain one, and are never read as tasks.
_ATOMIC = frozenset(
    {
        int,
        float,
        str,
        bytes,
        bool,
        complex,
        type(None),
        range,
        type(Ellipsis),
        type(len),
        types.FunctionType,
    }
)
_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, partial)


def _reconstruct_namedtuple(typ, fields):
    return typ(*fields)


def _build_dataclass(typ, items):
    return typ(**dict(items))


def _as_data(value):
    """Protect a literal value so that the engine returns it unchanged."""
    if isinstance(value, (tuple, list, dict)):
        return (literal(value),)
    return value


def _unpack(expr, deps: list) -> Any:
    """Task form of ``expr``: collections become keys (appended to ``deps``).

    Builtin containers holding collections are rebuilt by tasks; containers without any
    collection are quoted, so that the engine neither copies nor misreads them.
    """
    if isinstance(expr, Delayed):
        deps.append(expr)
        return expr._key
    typ = type(expr)
    if typ in _ATOMIC:
        return expr
    if is_dask_collection(expr):
        fin = _finalize(expr)
        deps.append(fin)
        return fin._key
    if typ in _ITER_TYPES:
        expr = _ITER_TYPES[typ](expr)
        typ = type(expr)
    n = len(deps)
    if typ is list or typ is tuple or typ is set or typ is frozenset:
        items = [_unpack(e, deps) for e in expr]
        if len(deps) == n:
            return _as_data(expr)
        if typ is list:
            return items
        return (typ, items)
    if typ is dict:
        items = [[_unpack(k, deps), _unpack(v, deps)] for k, v in expr.items()]
        if len(deps) == n:
            return (literal(expr),)
        return (dict, items)
    if typ is slice:
        items = [_unpack(e, deps) for e in (expr.start, expr.stop, expr.step)]
        if len(deps) == n:
            return expr
        return (apply, slice, items)
    if is_namedtuple_instance(expr):
        items = [_unpack(e, deps) for e in expr]
        if len(deps) == n:
            return (literal(expr),)
        return (_reconstruct_namedtuple, typ, items)
    if dataclasses.is_dataclass(expr) and not isinstance(expr, type):
        fields = [f for f in dataclasses.fields(expr) if hasattr(expr, f.name)]
        items = [[f.name, _unpack(getattr(expr, f.name), deps)] for f in fields]
        if len(deps) == n:
            return expr
        _check_rebuildable(expr, fields)
        return (_build_dataclass, typ, items)
    if isinstance(expr, (tuple, list, dict)):
        return (literal(expr),)
    return expr


def _check_rebuildable(expr, fields) -> None:
    """Raise unless the dataclass ``expr`` can be rebuilt from its set fields by its ``__init__``.

    A field declared with ``init=False`` that has a value raises ``ValueError``; a custom
    ``__init__`` that does not take the fields raises ``TypeError``.
    """
    try:
        dataclasses.replace(expr, **{f.name: getattr(expr, f.name) for f in fields})
    except (TypeError, ValueError) as e:
        typ = type(expr)
        if isinstance(e, ValueError) or "init=False" in str(e):
            raise ValueError(
                f"Failed to unpack {typ} instance. "
                "Note that using fields with `init=False` are not supported."
            ) from e
        raise TypeError(
            f"Failed to unpack {typ} instance. Note that using a custom __init__ is not supported."
        ) from e


def unpack_collections(expr):
    """Replace the collections inside ``expr`` by their keys.

    Parameters
    ----------
    expr : object

    Returns
    -------
    task : object
        The task form of ``expr``.
    collections : tuple
        The :class:`Delayed` objects it refers to.
    """
    deps: list = []
    task = _unpack(expr, deps)
    return task, tuple(deps)
