"""Lazy function calls: :func:`delayed` and :class:`Delayed`, compatible with ``dask.delayed``.

Unlike Dask, a :class:`Delayed` does not carry a merged task graph. It holds its key, its task
and the tuple of :class:`Delayed` objects it depends on; the graph is assembled by one
iterative walk only when it is needed (``.dask``, ``compute``), so building ``n`` calls costs
``O(n)`` whatever their shape, and chains of any length never hit the recursion limit.
"""

from __future__ import annotations

import os
import sys
import types
import warnings
from collections.abc import Iterator
from functools import partial
from itertools import count
from typing import Any

from oxdask import _delayed_unpack, threaded
from oxdask import config as _config
from oxdask._delayed_graph import (
    _build_hlg,
    _finalize,
    optimize,
    to_task_dask,
)
from oxdask._delayed_ops import install as _install_operators
from oxdask._delayed_unpack import (
    _ATOMIC,
    _FUNCTIONS,
    _as_data,
    _build_dataclass,  # noqa: F401 (tasks made by older versions refer to it here)
    _reconstruct_namedtuple,  # noqa: F401
    _unpack,
    unpack_collections,
)
from oxdask.base import (
    DaskMethodsMixin,
    _register_fast_collection,
    is_dask_collection,
    single_key,
)
from oxdask.context import globalmethod
from oxdask.core import quote
from oxdask.highlevelgraph import HighLevelGraph
from oxdask.tokenize import _md5, tokenize
from oxdask.utils import apply, funcname, methodcaller

__all__ = ["Delayed", "delayed", "optimize", "to_task_dask", "unpack_collections"]

# ---------------------------------------------------------------------------------------------
# Unique tokens without uuid4: a random per-process prefix (12 hex characters, renewed after
# fork) and a counter (20 hex characters starting with "1", so that the token always contains
# a digit and ``key_split`` strips it), 32 characters like an MD5 token.

_COUNT_START = 1 << 76  # 20 hex digits, the first one a "1"


def _reseed() -> None:
    global _counter, _prefix, _token_head
    _counter = count(_COUNT_START)
    _prefix = os.urandom(6).hex()
    _token_head = "-" + _prefix


_counter = count(_COUNT_START)
_prefix = ""
_token_head = ""
_reseed()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)


def _unique_token() -> str:
    return _prefix + hex(next(_counter))[2:]


def _default_pure() -> bool:
    cfg = _config.config
    value = cfg.get("delayed_pure")
    if value is None:
        value = cfg.get("delayed-pure")
    return bool(value)


def finalize(collection) -> Delayed:
    """A :class:`Delayed` that computes the finalized value of ``collection``."""
    if isinstance(collection, Delayed):
        return collection
    return _finalize(collection)


# ---------------------------------------------------------------------------------------------
# Delayed


class _DelayedSlots:
    """Storage of :class:`Delayed` (no ``__setattr__`` override, so that stores are fast)."""

    __slots__ = ("_dask", "_deps", "_key", "_layer", "_length", "_task")


class Delayed(_DelayedSlots, DaskMethodsMixin):
    """A lazy value: the result of one key of a task graph.

    Parameters
    ----------
    key : str or tuple
        Its key in the graph.
    dsk : Mapping
        A graph containing ``key`` (and everything it depends on).
    length : int, optional
        Number of elements, enabling iteration and unpacking.
    layer : str, optional
        Name of its graph layer (defaults to the key).
    """

    __slots__ = ()

    def __init__(self, key, dsk, length=None, layer=None):
        if layer is None and isinstance(dsk, HighLevelGraph):
            layer = _default_layer(key, dsk)
        _set_key(self, key)
        _set_dask(self, dsk)
        _set_length(self, length)
        _set_layer(self, layer)
        _set_task(self, None)
        _set_deps(self, ())

    @property
    def key(self):
        """The key of this value in its graph."""
        return self._key

    @property
    def dask(self):
        """The task graph of this value: the graph it was made with, or for the results of
        calls a :class:`~oxdask.highlevelgraph.HighLevelGraph` with one layer per call (built
        on first access, then cached)."""
        g = self._dask
        if g is None:
            g = _build_hlg(self)
            _set_dask(self, g)
            _set_deps(self, ())
        return g

    def __dask_graph__(self):
        return self.dask

    def __dask_keys__(self):
        return [self._key]

    def __dask_layers__(self):
        try:
            layer = self._layer
        except AttributeError:
            layer = None
        return (layer or self._key,)

    def __dask_tokenize__(self):
        return self._key

    __dask_scheduler__ = staticmethod(threaded.get)
    __dask_optimize__ = globalmethod(optimize, key="delayed_optimize")

    def __dask_postcompute__(self):
        return single_key, ()

    def __dask_postpersist__(self):
        return self._rebuild, ()

    def _rebuild(self, dsk, *, rename=None):
        key = self._key
        if rename:
            from oxdask.base import replace_name_in_key

            key = replace_name_in_key(key, rename)
        layer = None
        if isinstance(dsk, HighLevelGraph) and _default_layer(key, dsk, strict=False) is None:
            layer = next(iter(dsk.layers), None)  # an optimized graph: its layer names vary
        return Delayed(key, dsk, self._length, layer=layer)

    def __reduce__(self):
        return (Delayed, (self._key, self.dask, self._length))

    def __repr__(self) -> str:
        return f"Delayed({self._key!r})"

    def __hash__(self) -> int:
        return hash(self._key)

    def __dir__(self):
        return dir(type(self))

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(f"Attribute {attr} not found")
        if attr == "visualise":
            warnings.warn(
                "oxdask.delayed objects have no `visualise` method. Perhaps you meant `visualize`?",
                stacklevel=2,
            )
        return _make_attr(self, attr)

    def __setattr__(self, attr, val):
        try:
            object.__setattr__(self, attr, val)
        except AttributeError:
            raise TypeError("Delayed objects are immutable") from None

    def __setitem__(self, index, val):
        raise TypeError("Delayed objects are immutable")

    def __iter__(self) -> Iterator[Delayed]:
        if self._length is None:
            raise TypeError("Delayed objects of unspecified length are not iterable")
        return iter([self[i] for i in range(self._length)])

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("Delayed objects of unspecified length have no len()")
        return self._length

    def __call__(self, *args, pure=None, dask_key_name=None, **kwargs):
        kw: dict = {}
        if pure is not None:
            kw["pure"] = pure
        if dask_key_name is not None:
            kw["dask_key_name"] = dask_key_name
        return _call(apply, apply, (self, list(args), kwargs), kw, pure, None)

    def __bool__(self):
        raise TypeError("Truth of Delayed objects is not supported")

    def __get__(self, instance, cls):
        if instance is None:
            return self
        return types.MethodType(self, instance)


def _default_layer(key, dsk: HighLevelGraph, strict: bool = True):
    """The layer of ``key`` in ``dsk`` when none is given: the key itself, or the name of a
    tuple key. A string key that is no layer raises ``ValueError`` (as in Dask)."""
    if key in dsk.layers:
        return key
    if type(key) is tuple and key and key[0] in dsk.layers:
        return key[0]
    if strict and isinstance(key, str):
        raise ValueError(f"Layer {key} not in the HighLevelGraph's layers: {list(dsk.layers)}")
    return None


_new = object.__new__
_set_key = _DelayedSlots._key.__set__  # type: ignore[attr-defined]
_set_dask = _DelayedSlots._dask.__set__  # type: ignore[attr-defined]
_set_length = _DelayedSlots._length.__set__  # type: ignore[attr-defined]
_set_layer = _DelayedSlots._layer.__set__  # type: ignore[attr-defined]
_set_task = _DelayedSlots._task.__set__  # type: ignore[attr-defined]
_set_deps = _DelayedSlots._deps.__set__  # type: ignore[attr-defined]

_register_fast_collection(Delayed)
_delayed_unpack.Delayed = Delayed


def _make(key, task, deps: tuple, length=None) -> Delayed:
    d = _new(_DelayedSlots)
    d._key = key
    d._task = task
    d._deps = deps
    d._dask = None
    d._length = length
    d.__class__ = Delayed
    return d


class DelayedLeaf(Delayed):
    """A wrapped object (often a function): calling it builds a new :class:`Delayed`."""

    __slots__ = ("_fname", "_obj", "_pure")

    def __init__(self, obj, key, pure=None, nout=None):
        _init_leaf(self, obj, key, pure, nout)

    @property
    def _nout(self):
        return self._length

    def __call__(self, *args, **kwargs):
        obj = self._obj
        if not callable(obj):
            raise TypeError(
                f"{type(obj).__name__} object {_short_repr(obj)} wrapped by delayed is not callable"
            )
        fname = self._fname
        if fname is None:
            fname = funcname(obj)
            _set_fname(self, fname)
        # Pure calls hash the function itself (not this wrapper's possibly random key), so
        # ``delayed(f)(x, pure=True)`` gives the same key every time.
        return _call(obj, obj, args, kwargs, self._pure, self._length, fname)

    @property
    def __name__(self):
        return self._obj.__name__

    @property
    def __doc__(self):  # type: ignore[override]
        return self._obj.__doc__

    @property
    def __wrapped__(self):
        return self._obj

    def __reduce__(self):
        return (DelayedLeaf, (self._obj, self._key, self._pure, self._length))


def _short_repr(obj) -> str:
    try:
        text = repr(obj)
    except Exception:
        text = object.__repr__(obj)
    return text if len(text) <= 60 else text[:57] + "..."


_set_obj = DelayedLeaf._obj.__set__  # type: ignore[attr-defined]
_set_pure = DelayedLeaf._pure.__set__  # type: ignore[attr-defined]
_set_fname = DelayedLeaf._fname.__set__  # type: ignore[attr-defined]


def _init_leaf(d, obj, key, pure, nout):
    _set_key(d, key)
    _set_task(d, _as_data(obj))
    _set_deps(d, ())
    _set_dask(d, None)
    _set_length(d, nout)
    _set_obj(d, obj)
    _set_pure(d, pure)
    _set_fname(d, None)
    return d


class DelayedAttr(Delayed):
    """An attribute of a :class:`Delayed`; calling it builds a method call."""

    __slots__ = ("_attr", "_obj")

    def __getattr__(self, attr):
        # ``np.dtype(delayed_obj)`` probes ``.dtype`` recursively; stop after one level.
        if attr == "dtype" and self._attr == "dtype":
            raise AttributeError("Attribute dtype not found")
        return super().__getattr__(attr)

    def __call__(self, *args, **kwargs):
        return _call(methodcaller(self._attr), self._attr, (self._obj, *args), kwargs, None, None)

    def __reduce__(self):
        return (_make_attr, (self._obj, self._attr))


_set_attr = DelayedAttr._attr.__set__  # type: ignore[attr-defined]
_set_attr_obj = DelayedAttr._obj.__set__  # type: ignore[attr-defined]


def _make_attr(obj: Delayed, attr: str) -> DelayedAttr:
    d = _new(DelayedAttr)
    _set_key(d, f"getattr-{_md5(repr((obj._key, attr)).encode())}")
    _set_task(d, (getattr, obj._key, attr))
    _set_deps(d, (obj,))
    _set_dask(d, None)
    _set_length(d, None)
    _set_attr(d, attr)
    _set_attr_obj(d, obj)
    return d


def _call(func, func_token, args, kwargs, pure, nout, fname=None) -> Delayed:
    """Build the :class:`Delayed` for ``func(*args, **kwargs)``."""
    dask_key_name = None
    if kwargs and ("dask_key_name" in kwargs or "pure" in kwargs):
        kwargs = dict(kwargs)
        dask_key_name = kwargs.pop("dask_key_name", None)
        pure = kwargs.pop("pure", pure)
    deps: list = []
    task = [func]
    append = task.append
    for a in args:
        if type(a) in _ATOMIC:
            append(a)
        elif isinstance(a, Delayed):
            deps.append(a)
            append(a._key)
        else:
            append(_unpack(a, deps))
    if dask_key_name is not None:
        key = dask_key_name
    else:
        if pure is None:
            cfg = _config.config
            pure = cfg.get("delayed_pure") or cfg.get("delayed-pure")
        if fname is None:
            fname = funcname(func)
        if pure:
            if isinstance(func_token, Delayed):
                func_token = func_token._key
            if kwargs:
                key = f"{fname}-{tokenize(func_token, *args, **kwargs)}"
            else:
                key = f"{fname}-{tokenize(func_token, *args)}"
        else:
            key = fname + _token_head + hex(next(_counter))[2:]
    d = _new(_DelayedSlots)
    d._key = key
    if kwargs:
        d._task = (apply, func, task[1:], _unpack(kwargs, deps))
    else:
        d._task = tuple(task)
    d._deps = tuple(deps)
    d._dask = None
    d._length = nout
    d.__class__ = Delayed
    return d


class _NoObj:
    pass


_NO_OBJ: Any = _NoObj()
_last_leaf: tuple = (_NO_OBJ, None)


def delayed(obj=_NO_OBJ, name=None, pure=None, nout=None, traverse=True):
    """Wrap a function or a value so that operations on it are lazy.

    Parameters
    ----------
    obj : object
        A function (calls to the result build tasks) or any value. ``delayed(...)`` without
        ``obj`` returns a decorator with the given options.
    name : key, optional
        Key of the wrapped object in the graph. Only used for the wrapped object itself, not
        for the results of calling it (use ``dask_key_name=`` on the call for that).
    pure : bool, optional
        Calls are pure: their keys are hashes of the function and the arguments, so equal calls
        share a key. Defaults to config ``delayed_pure`` (``False``: every call gets a new key).
    nout : int, optional
        Number of outputs of calls, allowing ``a, b = f(x)``.
    traverse : bool, optional
        Look for collections inside lists, tuples, sets, dicts, slices, named tuples and
        dataclasses. Set ``False`` to skip the search for big containers.

    Returns
    -------
    Delayed

    Examples
    --------
    >>> import oxdask
    >>> @oxdask.delayed
    ... def inc(x):
    ...     return x + 1
    >>> inc(inc(1)).compute()
    3
    >>> (oxdask.delayed([1, 2, 3])[1] * 10).compute()
    20
    """
    global _last_leaf
    if obj is _NO_OBJ:
        return partial(delayed, name=name, pure=pure, nout=nout, traverse=traverse)
    last = _last_leaf
    if last[0] is obj and name is None and pure is None and nout is None:
        # ``delayed(f)(x)`` in a loop: reuse the wrapper of ``f`` (its own key is only used
        # if the function itself is passed as a value, and stays unique to ``f``).
        cfg = _config.config
        if not (cfg.get("delayed_pure") or cfg.get("delayed-pure")):
            return last[1]
    if isinstance(obj, Delayed):
        return obj
    if not (nout is None or (type(nout) is int and nout >= 0)):
        raise ValueError(f"nout must be None or a non-negative integer, got {nout}")
    typ = type(obj)
    deps: list = []
    if typ in _ATOMIC or isinstance(obj, _FUNCTIONS):
        task = obj
    elif traverse or is_dask_collection(obj):
        task = _unpack(obj, deps)
    else:
        task = quote(obj)
    if not deps:
        _given_name = bool(name)
        if not name:
            prefix = getattr(obj, "__name__", None)
            if not isinstance(prefix, str):
                prefix = typ.__name__
            if pure if pure is not None else _default_pure():
                token = tokenize(obj, nout)
            else:
                token = _prefix + hex(next(_counter))[2:]
            name = f"{prefix}-{token}"
        leaf = _init_leaf(_new(DelayedLeaf), obj, name, pure, nout)
        if pure is None and nout is None and isinstance(obj, _FUNCTIONS) and not _given_name:
            _last_leaf = (obj, leaf)
        return leaf
    if not name:
        token = (
            tokenize(task) if (pure if pure is not None else _default_pure()) else (_unique_token())
        )
        name = f"{typ.__name__}-{token}"
    return _make(name, task, tuple(deps), nout)


def _op_call(func, *args) -> Delayed:
    return _call(func, func, args, None, True, None)


_install_operators(Delayed, _op_call)

# ``oxdask.delayed`` is the function (as in Dask); let its attributes reach this module's API.
for _name in (
    "Delayed",
    "DelayedAttr",
    "DelayedLeaf",
    "finalize",
    "optimize",
    "single_key",
    "to_task_dask",
    "tokenize",
    "unpack_collections",
):
    setattr(delayed, _name, globals()[_name])
delayed.delayed = delayed  # type: ignore[attr-defined]
del _name


class _DelayedModule(types.ModuleType):
    """This module, callable like the :func:`delayed` function.

    ``oxdask.delayed`` is the function, but importing the submodule again under another name
    (``sys.modules["dask"] = oxdask`` and similar aliasing of a drop-in replacement) makes
    Python set the attribute to the module; calls then still reach the function.
    """

    def __call__(self, *args, **kwargs):
        return delayed(*args, **kwargs)


sys.modules[__name__].__class__ = _DelayedModule
