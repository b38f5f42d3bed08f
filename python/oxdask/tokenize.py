"""Deterministic hashing of Python objects (``tokenize``), compatible with ``dask.tokenize``.

A token is the MD5 hex digest of a *normalized* form of the objects: a nest of tuples of
strings, bytes, numbers and ``None`` whose ``repr`` is stable across runs and processes.
:data:`normalize_token` computes that form; register normalizers for your own types with
``normalize_token.register(MyType)``, or give them a ``__dask_tokenize__`` method.

Objects that cannot be normalized (nor pickled) get a random token, unless
``ensure_deterministic=True`` (or config ``tokenize.ensure-deterministic``), in which case
:class:`TokenizationError` is raised.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import enum
import hashlib
import pickle
import threading
import types
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from operator import methodcaller
from typing import Any

from oxdask import config

__all__ = [
    "Dispatch",
    "TokenizationError",
    "normalize_dict",
    "normalize_function",
    "normalize_object",
    "normalize_ordered_dict",
    "normalize_seq",
    "normalize_set",
    "normalize_token",
    "tokenize",
]


class TokenizationError(RuntimeError):
    """An object could not be tokenized deterministically."""


def _md5(data: bytes) -> str:
    try:
        return hashlib.md5(data, usedforsecurity=False).hexdigest()
    except ValueError:  # pragma: no cover - FIPS builds without md5
        return hashlib.sha1(data).hexdigest()[:32]


class Dispatch:
    """Single dispatch on the type of the first argument, with lazy registration.

    Parameters
    ----------
    name : str, optional
        Name shown in error messages.
    """

    def __init__(self, name: str | None = None):
        self.funcname = name
        self._lookup: dict[type, Callable] = {}
        self._lazy: dict[str, Callable[[], None]] = {}

    def register(self, type_or_types, func: Callable | None = None):
        """Register ``func`` for a type or tuple of types (usable as a decorator)."""

        def wrapper(func):
            if isinstance(type_or_types, tuple):
                for t in type_or_types:
                    self.register(t, func)
            else:
                self._lookup[type_or_types] = func
            return func

        return wrapper(func) if func is not None else wrapper

    def register_lazy(self, toplevel: str, func: Callable[[], None] | None = None):
        """Register a function run the first time a type from module ``toplevel`` is seen."""

        def wrapper(func):
            self._lazy[toplevel] = func
            return func

        return wrapper(func) if func is not None else wrapper

    def dispatch(self, cls: type) -> Callable:
        """The implementation for ``cls`` (searching its MRO)."""
        lookup = self._lookup
        try:
            return lookup[cls]
        except KeyError:
            pass
        for base in cls.__mro__:
            toplevel = (getattr(base, "__module__", None) or "").partition(".")[0]
            register = self._lazy.pop(toplevel, None)
            if register is not None:
                register()
                return self.dispatch(cls)
            if base in lookup:
                impl = lookup[base]
                lookup[cls] = impl
                return impl
        raise TypeError(f"No dispatch for {cls}")

    def __call__(self, arg, *args, **kwargs):
        return self.dispatch(type(arg))(arg, *args, **kwargs)


normalize_token = Dispatch("normalize_token")
"""Return a deterministic, ``repr``-stable representation of an object (dispatch on type)."""

_state = threading.local()


def _ensure_deterministic() -> bool:
    return getattr(_state, "ensure_deterministic", False)


def tokenize(*args: object, ensure_deterministic: bool | None = None, **kwargs: object) -> str:
    """Deterministic token of the arguments.

    Equal inputs give equal tokens, in this process and in any other.

    Parameters
    ----------
    *args, **kwargs : object
        The objects to hash.
    ensure_deterministic : bool, optional
        Raise :class:`TokenizationError` instead of returning a random token when an object
        cannot be hashed deterministically. Defaults to config ``tokenize.ensure-deterministic``.

    Returns
    -------
    str
        32 hexadecimal characters.

    Examples
    --------
    >>> tokenize(1, "a", [1.5, None]) == tokenize(1, "a", [1.5, None])
    True
    >>> tokenize({"x": 1, "y": 2}) == tokenize({"y": 2, "x": 1})
    True
    """
    if ensure_deterministic is None:
        ensure_deterministic = config.get("tokenize.ensure-deterministic", False)
    outer = getattr(_state, "seen", None)
    old_flag = getattr(_state, "ensure_deterministic", False)
    _state.seen = {}
    _state.ensure_deterministic = bool(ensure_deterministic)
    try:
        data: Any = tuple(map(normalize_token, args))
        if kwargs:
            data = (data, normalize_token(kwargs))
        return _md5(str(data).encode())
    finally:
        _state.seen = outer
        _state.ensure_deterministic = old_flag


def _identity(x):
    return x


normalize_token.register(
    (
        int,
        float,
        complex,
        bool,
        type(None),
        type(Ellipsis),
        slice,
        range,
        datetime.date,
        datetime.time,
        datetime.timedelta,
    ),
    _identity,
)


@normalize_token.register_lazy("pathlib")
def _register_pathlib():
    import pathlib

    normalize_token.register(pathlib.PurePath, _identity)


@normalize_token.register_lazy("decimal")
def _register_decimal():
    import decimal

    normalize_token.register(decimal.Decimal, _identity)


@normalize_token.register(str)
def _normalize_str(s: str):
    if len(s) > 4096:
        return ("str-md5", _md5(s.encode("utf-8", "surrogatepass")))
    return s


@normalize_token.register((bytes, bytearray, memoryview))
def _normalize_bytes(b):
    if type(b) is bytes and len(b) <= 4096:
        return b
    return (type(b).__name__ + "-md5", _md5(bytes(b)))


def _container(func):
    """Guard a container normalizer against reference cycles."""

    def wrapper(obj):
        seen = getattr(_state, "seen", None)
        top = seen is None
        if top:
            _state.seen = seen = {}
        key = id(obj)
        if key in seen:
            return ("__cycle", seen[key])
        seen[key] = len(seen)
        try:
            return func(obj)
        finally:
            del seen[key]
            if top:
                _state.seen = None

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@normalize_token.register((tuple, list))
@_container
def _normalize_seq(seq):
    return (type(seq).__name__, [normalize_token(x) for x in seq])


@normalize_token.register(dict)
@_container
def _normalize_dict(d):
    items = [(normalize_token(k), normalize_token(v)) for k, v in d.items()]
    items.sort(key=lambda kv: str(kv[0]))
    return (type(d).__name__, items)


@normalize_token.register(OrderedDict)
@_container
def _normalize_ordered_dict(d):
    return (type(d).__name__, [(normalize_token(k), normalize_token(v)) for k, v in d.items()])


@normalize_token.register((set, frozenset))
@_container
def _normalize_set(s):
    return (type(s).__name__, sorted(str(normalize_token(x)) for x in s))


@normalize_token.register(enum.Enum)
def _normalize_enum(e):
    return ("enum", type(e).__module__, type(e).__qualname__, e.name, normalize_token(e.value))


@normalize_token.register(type)
def _normalize_type(t):
    module = getattr(t, "__module__", None)
    qualname = getattr(t, "__qualname__", None)
    if module and qualname and "<locals>" not in qualname and module != "__main__":
        return ("type", module, qualname)
    return ("type", _normalize_pickle(t))


@normalize_token.register(object)
def _normalize_object(o):
    method = getattr(o, "__dask_tokenize__", None)
    if method is not None and not isinstance(o, type):
        return ("__dask_tokenize__", normalize_token(type(o)), normalize_token(method()))
    if callable(o):
        return normalize_function(o)
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return _normalize_dataclass(o)
    return _normalize_pickle(o)


def _normalize_dataclass(o):
    values = [(f.name, normalize_token(getattr(o, f.name, None))) for f in dataclasses.fields(o)]
    return ("dataclass", normalize_token(type(o)), values)


def _random_token(o) -> str:
    if _ensure_deterministic():
        raise TokenizationError(f"Object {o!r} cannot be deterministically hashed")
    import uuid

    return uuid.uuid4().hex


def _normalize_pickle(o):
    """Hash of the pickled object, falling back to cloudpickle, then to a random token."""
    for attempt in range(2):
        try:
            if attempt == 0:
                first = pickle.dumps(o, protocol=5)
                if b"__main__" in first:
                    continue  # pickled by reference to __main__: prefer pickling by value
                second = pickle.dumps(o, protocol=5)
            else:
                import cloudpickle

                first = cloudpickle.dumps(o, protocol=5)
                second = cloudpickle.dumps(o, protocol=5)
        except Exception:
            continue
        if first == second:
            return ("pickle", _md5(first))
    return ("random", _random_token(o))


_function_cache: dict[Any, Any] = {}


def normalize_function(func: Callable):
    """Deterministic representation of a callable.

    Importable functions are represented by their pickle-by-reference (module and name),
    others (lambdas, closures, functions of ``__main__``) by their cloudpickle bytes.
    """
    cacheable = isinstance(func, (types.FunctionType, types.BuiltinFunctionType))
    if cacheable:
        try:
            return _function_cache[func]
        except (KeyError, TypeError):
            pass
    result = _normalize_function(func)
    if cacheable:
        if len(_function_cache) > 1000:
            _function_cache.clear()
        with contextlib.suppress(TypeError):
            _function_cache[func] = result
    return result


def _normalize_function(func: Callable):
    if isinstance(func, partial):
        return (
            "partial",
            normalize_function(func.func),
            normalize_token(func.args),
            normalize_token(func.keywords or {}),
        )
    if isinstance(func, methodcaller):
        return ("methodcaller", normalize_token(func.__reduce__()[1:]))
    module = getattr(type(func), "__module__", "") or ""
    if "toolz" in module and type(func).__name__ == "curry":
        return (
            "curry",
            normalize_function(func.func),
            normalize_token(func.args),
            normalize_token(func.keywords or {}),
        )
    try:
        result = pickle.dumps(func, protocol=5)
        if b"__main__" not in result:
            return ("function", result)
    except Exception:
        pass
    try:
        import cloudpickle

        return ("function-by-value", _md5(cloudpickle.dumps(func, protocol=5)))
    except Exception:
        return ("random", _random_token(func))


# Functions do not reach ``_normalize_object`` through the generic path when registered here.
normalize_token.register(
    (types.FunctionType, types.BuiltinFunctionType, types.MethodType, partial, methodcaller),
    normalize_function,
)


@normalize_token.register_lazy("numpy")
def _register_numpy():
    import numpy as np

    @normalize_token.register(np.ndarray)
    def _normalize_ndarray(x):
        if x.dtype.hasobject:
            try:
                items = normalize_token(x.tolist())
            except Exception:
                items = _normalize_pickle(x)
            return ("ndarray-object", x.shape, items)
        data = np.ascontiguousarray(x)
        try:
            digest = _md5(data.reshape(-1).view(np.uint8).data)
        except (ValueError, TypeError):
            digest = _md5(data.tobytes())
        return ("ndarray", str(x.dtype), x.shape, digest)

    @normalize_token.register(np.ma.MaskedArray)
    def _normalize_masked(x):
        # the mask and fill value are part of the value: equal data, other masks, other token
        return (
            "masked-array",
            _normalize_ndarray(np.ma.getdata(x)),
            _normalize_ndarray(np.ma.getmaskarray(x)),
            normalize_token(x.fill_value),
        )

    @normalize_token.register(np.generic)
    def _normalize_np_scalar(x):
        if x.dtype.hasobject:
            return ("np-scalar-object", normalize_token(x.item()))
        return ("np-scalar", str(x.dtype), x.tobytes())

    @normalize_token.register(np.dtype)
    def _normalize_dtype(dt):
        return ("dtype", str(dt))


@normalize_token.register_lazy("pandas")
def _register_pandas():
    import pandas as pd

    def _hashed(obj, index: bool):
        if not len(obj):  # nothing to hash: type, dtypes, name and length say it all
            return "empty"
        try:
            values = pd.util.hash_pandas_object(obj, index=index).to_numpy()
            return _md5(values.tobytes())
        except Exception:
            return _normalize_pickle(obj)

    @normalize_token.register(pd.Index)
    def _normalize_index(ind):
        return (
            "Index",
            type(ind).__name__,
            str(ind.dtype),
            normalize_token(ind.name),
            len(ind),
            _hashed(ind, index=False),
        )

    @normalize_token.register(pd.Series)
    def _normalize_series(s):
        return (
            "Series",
            str(s.dtype),
            normalize_token(s.name),
            len(s),
            normalize_token(s.index),
            _hashed(s, index=False),
        )

    @normalize_token.register(pd.DataFrame)
    def _normalize_dataframe(df):
        return (
            "DataFrame",
            normalize_token(df.columns),
            [str(t) for t in df.dtypes],
            normalize_token(df.index),
            _hashed(df, index=False),
        )


# Dask's public names of the normalizers (the registered implementations above)
normalize_seq = _normalize_seq
normalize_dict = _normalize_dict
normalize_ordered_dict = _normalize_ordered_dict
normalize_set = _normalize_set
normalize_object = _normalize_object
normalize_partial = normalize_bound_method = normalize_function
normalize_builtin_function_or_method = normalize_function
register_numpy = _register_numpy
register_pandas = _register_pandas
