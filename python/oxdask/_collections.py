"""Finding collections: the collection test, unpacking nested arguments, key names.

Part of :mod:`oxdask.base` (which re-exports every public name here).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterator, Mapping

from oxdask.core import flatten
from oxdask.tokenize import tokenize
from oxdask.utils import is_namedtuple_instance, key_split


class _GraphDict(dict):
    """A plain graph dict that can also carry ``__oxdask_layers__``."""

    __slots__ = ("__oxdask_layers__",)


# Collection classes whose graphs oxdask knows how to assemble itself (Delayed).
_fast_types: tuple[type, ...] = ()


def _register_fast_collection(cls: type) -> None:
    global _fast_types
    _fast_types = (*_fast_types, cls)


def single_key(seq):
    """The only element of a one-element list of results."""
    return seq[0]


def is_dask_collection(x) -> bool:
    """True if ``x`` is a dask collection (has a callable ``__dask_graph__`` returning a graph).

    Parameters
    ----------
    x : object

    Returns
    -------
    bool
    """
    if isinstance(x, _fast_types):
        return True
    if isinstance(x, type):
        return False
    try:
        method = x.__dask_graph__
    except Exception:
        return False
    if not callable(method):
        return False
    return method() is not None


def unpack_collections(*args, traverse: bool = True):
    """Find the collections in ``args``.

    Parameters
    ----------
    *args : object
    traverse : bool
        Also look inside lists, tuples, sets, dicts, named tuples and dataclasses.

    Returns
    -------
    collections : list
        The distinct collections found.
    repack : callable
        ``repack(results)`` rebuilds ``args`` (as a tuple) with every collection replaced by the
        matching element of ``results``.
    """
    unpacker = _Unpacker(traverse)
    builders = [unpacker.unpack(a) for a in args]
    return unpacker.collections, _Repack(builders)


def _xarray_collection(obj):
    """An xarray Dataset/DataArray/Variable holding oxdask arrays, as one oxdask collection
    (xarray's own graph methods speak to Dask only); None for anything else."""
    if not type(obj).__module__.startswith("xarray."):
        return None
    variables = getattr(obj, "variables", None)
    if variables is None:
        variable = getattr(obj, "variable", obj)
        coords = getattr(getattr(obj, "coords", None), "variables", {})
        variables = {None: variable, **coords}
    from oxdask.array.core import Array

    try:
        if not any(isinstance(getattr(v, "_data", None), Array) for v in variables.values()):
            return None
    except Exception:
        return None
    from oxdask.xarray import as_collection

    return as_collection(obj)


class _Unpacker:
    """Finds collections in nested containers (iterative helper of ``unpack_collections``).

    A builder is an ``int`` (index of a collection's result), a :class:`_Const` (value returned
    as is), or ``(kind, type, parts)`` for a container to rebuild.
    """

    __slots__ = ("collections", "index", "traverse")

    def __init__(self, traverse: bool):
        self.collections: list = []
        self.index: dict = {}
        self.traverse = traverse

    def add(self, c) -> int:
        ident = ("k", c._key) if isinstance(c, _fast_types) else ("i", id(c))
        i = self.index.get(ident)
        if i is None:
            i = self.index[ident] = len(self.collections)
            self.collections.append(c)
        return i

    def unpack(self, expr):
        if isinstance(expr, _fast_types):
            return self.add(expr)
        wrapped = _xarray_collection(expr)  # before xarray's own graph methods (Dask's)
        if wrapped is not None:
            return self.add(wrapped)
        if is_dask_collection(expr):
            return self.add(expr)
        if not self.traverse:
            return _Const(expr)
        typ = type(expr)
        unpack = self.unpack
        if isinstance(expr, Iterator):  # consumed here: comes back as a list
            expr = list(expr)
            typ = list
        if typ is list or typ is tuple or typ is set or typ is frozenset:
            parts = [unpack(e) for e in expr]
            if all(type(p) is _Const for p in parts):
                return _Const(expr)
            return ("seq", typ, parts)
        if typ is dict or typ is OrderedDict:
            items = [(unpack(k), unpack(v)) for k, v in expr.items()]
            if all(type(k) is _Const and type(v) is _Const for k, v in items):
                return _Const(expr)
            return ("dict", typ, items)
        if is_namedtuple_instance(expr):
            parts = [unpack(e) for e in expr]
            if all(type(p) is _Const for p in parts):
                return _Const(expr)
            return ("namedtuple", typ, parts)
        if dataclasses.is_dataclass(expr) and not isinstance(expr, type):
            names = [f.name for f in dataclasses.fields(expr) if hasattr(expr, f.name)]
            items = [(n, unpack(getattr(expr, n))) for n in names]
            if all(type(p) is _Const for _, p in items):
                return _Const(expr)
            return ("dataclass", type(expr), items)
        return _Const(expr)


class _Repack:
    """``repack(results)``: the arguments rebuilt with the collections' results."""

    __slots__ = ("builders",)

    def __init__(self, builders: list):
        self.builders = builders

    def __call__(self, results) -> tuple:
        return tuple(_build(b, results) for b in self.builders)


def _build(b, results):
    if type(b) is int:
        return results[b]
    if type(b) is _Const:
        return b.value
    kind, typ, parts = b
    if kind == "seq":
        return typ(_build(p, results) for p in parts)
    if kind == "dict":
        return typ((_build(k, results), _build(v, results)) for k, v in parts)
    if kind == "namedtuple":
        return typ(*(_build(p, results) for p in parts))
    return typ(**{n: _build(p, results) for n, p in parts})


class _Const:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def get_name_from_key(key) -> str:
    """The name part of a key: the key itself or the first element of a tuple key."""
    if isinstance(key, tuple) and key and isinstance(key[0], str):
        return key[0]
    if isinstance(key, str):
        return key
    raise TypeError(f"Expected str or a tuple starting with str; got {key!r}")


def replace_name_in_key(key, rename: Mapping[str, str]):
    """Rename a key's name part according to ``rename`` (other keys unchanged)."""
    if isinstance(key, tuple) and key and isinstance(key[0], str):
        return (rename.get(key[0], key[0]), *key[1:])
    if isinstance(key, str):
        return rename.get(key, key)
    raise TypeError(f"Expected str or a tuple starting with str; got {key!r}")


def get_collection_names(collection) -> set[str]:
    """The names of the output keys of a collection."""
    if not is_dask_collection(collection):
        raise TypeError(f"Expected Dask collection; got {type(collection)}")
    return {get_name_from_key(k) for k in flatten(collection.__dask_keys__())}


def clone_key(key, seed):
    """A new key with the same name prefix and indices as ``key``, and a token derived from
    ``key`` and ``seed`` (equal inputs give equal keys).

    Parameters
    ----------
    key : str or tuple
        A key: a string, or a tuple starting with a string.
    seed : hashable

    Returns
    -------
    str or tuple

    Examples
    --------
    >>> clone_key(("sum-cbb1eca3bafafbb3e8b2419c4eebb387", 4, 3), 123)  # doctest: +SKIP
    ('sum-c053f3774e09bd0f7de6044dbc40e71d', 4, 3)
    """
    if isinstance(key, tuple) and key and isinstance(key[0], str):
        return (clone_key(key[0], seed), *key[1:])
    if isinstance(key, str):
        return f"{key_split(key)}-{tokenize(key, seed)}"
    raise TypeError(f"Expected str or a tuple starting with str; got {key!r}")
