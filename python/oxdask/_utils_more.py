"""More helpers of ``dask.utils``: temporary files, type tests, dispatch, nested data, locks.

Re-exported by :mod:`oxdask.utils`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import os
import threading
import weakref
from collections.abc import Callable, Hashable, Iterator
from typing import Any, ClassVar

# ---------------------------------------------------------------------------------------------
# Temporary files and directories


@contextlib.contextmanager
def tmpfile(extension: str = "", dir: str | None = None) -> Iterator[str]:
    """Context: the name of a file that does not exist yet; removed (file or directory) after.

    Parameters
    ----------
    extension : str
        Suffix of the name, with or without the leading dot.
    dir : str, optional
        Where the name is made (the temporary directory by default).
    """
    import tempfile

    extension = extension.lstrip(".")
    if extension:
        extension = "." + extension
    fd, name = tempfile.mkstemp(suffix=extension, dir=dir)
    os.close(fd)
    os.remove(name)
    try:
        yield name
    finally:
        _remove(name)


@contextlib.contextmanager
def tmpdir(dir: str | None = None) -> Iterator[str]:
    """Context: the name of a new empty directory, removed with its content after."""
    import tempfile

    name = tempfile.mkdtemp(dir=dir)
    try:
        yield name
    finally:
        _remove(name)


def _remove(name: str) -> None:
    import shutil

    if os.path.isdir(name):
        shutil.rmtree(name, ignore_errors=True)
    elif os.path.exists(name):
        with contextlib.suppress(OSError):
            os.remove(name)


@contextlib.contextmanager
def filetext(text, extension: str = "", open=open, mode: str = "w") -> Iterator[str]:
    """Context: the name of a temporary file holding ``text``."""
    with tmpfile(extension=extension) as name:
        with open(name, mode=mode) as f:
            f.write(text)
        yield name


@contextlib.contextmanager
def filetexts(d: dict, open=open, mode: str = "t", use_tmpdir: bool = True) -> Iterator[list]:
    """Context: files named by the keys of ``d`` holding its values (in a temporary working
    directory by default); yields the names and removes the files after."""
    with tmp_cwd() if use_tmpdir else contextlib.nullcontext():
        for name, text in d.items():
            folder = os.path.dirname(name)
            if folder:
                os.makedirs(folder, exist_ok=True)
            with open(name, "w" + mode) as f:
                f.write(text)
        try:
            yield list(d)
        finally:
            for name in d:
                _remove(name)


@contextlib.contextmanager
def changed_cwd(new_cwd: str) -> Iterator[None]:
    """Context: run in the working directory ``new_cwd``, then come back."""
    old = os.getcwd()
    os.chdir(new_cwd)
    try:
        yield
    finally:
        os.chdir(old)


@contextlib.contextmanager
def tmp_cwd(dir: str | None = None) -> Iterator[str]:
    """Context: run in a new temporary working directory (yielded), removed after."""
    with tmpdir(dir) as name, changed_cwd(name):
        yield name


def ensure_not_exists(filename: str) -> None:
    """Remove ``filename`` if it exists (no error if it does not)."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(filename)


# ---------------------------------------------------------------------------------------------
# Types and values


def typename(typ: Any, short: bool = False) -> str:
    """``"module.Name"`` of a type (of the object's type if not given a type).

    ``short=True`` keeps only the top-level package: ``"pandas.DataFrame"``.
    """
    if not isinstance(typ, type):
        return typename(type(typ), short)
    name = typ.__qualname__
    module = typ.__module__ or ""
    if module == "builtins":
        return name
    if short:
        module = module.split(".", 1)[0]
    return f"{module}.{name}"


def ensure_bytes(s) -> bytes:
    """``s`` as ``bytes`` (strings are UTF-8 encoded); raises ``TypeError`` otherwise."""
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode()
    try:
        return bytes(memoryview(s).cast("B"))  # any buffer: bytearray, array, ndarray...
    except TypeError:
        pass
    to_bytes = getattr(s, "to_pybytes", None)  # pyarrow buffers
    if to_bytes is not None:
        return to_bytes()
    raise TypeError(f"Object {s!r} is neither a bytes object nor can be encoded to bytes")


def ensure_unicode(s) -> str:
    """``s`` as ``str`` (bytes-like are UTF-8 decoded); raises ``TypeError`` otherwise."""
    if isinstance(s, str):
        return s
    try:
        return ensure_bytes(s).decode()
    except TypeError:
        raise TypeError(f"Object {s!r} is neither a str object nor can be decoded to str") from None


def ensure_set(s, *, copy: bool = False) -> set:
    """``s`` as a ``set`` (itself if it already is one and ``copy`` is false)."""
    if type(s) is set:
        return s.copy() if copy else s
    return set(s)


def is_integer(i) -> bool:
    """True for Python and NumPy integers and for floats with an integral value."""
    if isinstance(i, bool):
        return False
    if isinstance(i, int):
        return True
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return isinstance(i, float) and i.is_integer()
    if isinstance(i, np.integer):
        return True
    return isinstance(i, (float, np.floating)) and float(i).is_integer()


def is_arraylike(x) -> bool:
    """True for objects that already are arrays (``shape`` tuple and ``dtype``): NumPy
    arrays, oxdask arrays, sparse or GPU arrays; not lists or scalars."""
    from oxdask.base import is_dask_collection

    shape = getattr(x, "shape", None)
    if not isinstance(shape, tuple) or not hasattr(x, "dtype"):
        return False
    if any(is_dask_collection(n) for n in shape):
        return False
    if type(x).__module__.split(".")[0] in ("scipy", "cupyx"):
        return True  # sparse matrices implement only part of the array protocols
    return hasattr(x, "__array_function__") or hasattr(x, "__array_ufunc__")


def is_dataframe_like(df) -> bool:
    """True for pandas DataFrames and objects that look like one."""
    typ = type(df)
    if typ.__name__ == "DataFrame" and typ.__module__ == "pandas.core.frame":
        return True
    return (
        all(hasattr(typ, n) for n in ("groupby", "head", "merge", "mean"))
        and all(hasattr(df, n) for n in ("dtypes", "columns"))
        and not any(hasattr(typ, n) for n in ("name", "dtype"))
    )


def is_series_like(s) -> bool:
    """True for pandas Series and objects that look like one."""
    typ = type(s)
    return (
        all(hasattr(typ, n) for n in ("groupby", "head", "mean"))
        and all(hasattr(s, n) for n in ("dtype", "name"))
        and "index" not in typ.__name__.lower()
    )


def is_index_like(s) -> bool:
    """True for pandas Index objects and objects that look like one."""
    return all(hasattr(s, n) for n in ("name", "dtype")) and "index" in type(s).__name__.lower()


def is_cupy_type(x) -> bool:
    """True if ``x`` comes from the ``cupy`` package."""
    return type(x).__module__.split(".")[0] == "cupy"


def is_empty(obj) -> bool:
    """True if ``obj`` has no element (works for sized objects and sparse matrices)."""
    try:
        return len(obj) == 0
    except (TypeError, NotImplementedError):
        pass
    nnz = getattr(obj, "nnz", None)
    if nnz is not None:
        return nnz == 0
    shape = getattr(obj, "shape", None)
    if isinstance(shape, tuple):
        return 0 in shape
    return not bool(obj)


def get_meta_library(like) -> Any:
    """The module of the library that ``like`` (or its ``_meta``) comes from."""
    import importlib

    like = getattr(like, "_meta", like)
    typ = like if isinstance(like, type) else type(like)
    return importlib.import_module(typ.__module__.split(".")[0])


# ---------------------------------------------------------------------------------------------
# Functions


def has_keyword(func, keyword: str) -> bool:
    """True if ``func`` takes a parameter named ``keyword``."""
    try:
        return keyword in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def get_named_args(func) -> list[str]:
    """The names of the parameters of ``func`` that can be passed by name (in order)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [n for n, p in inspect.signature(func).parameters.items() if p.kind in kinds]


def takes_multiple_arguments(func, varargs: bool = True) -> bool:
    """True if ``func`` takes more than one positional argument (or ``*args`` when
    ``varargs``); classes are judged by their ``__init__``."""
    if isinstance(func, type):
        func = func.__init__
        skip = 1
    else:
        skip = 0
    try:
        params = list(inspect.signature(func).parameters.values())[skip:]
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if varargs and any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    return len(positional) > 1


def getargspec(func):
    """``inspect.getfullargspec`` of ``func``: of its ``__init__`` for a class, of the
    wrapped function for partials and decorated functions (``__wrapped__``)."""
    if isinstance(func, type):
        return inspect.getfullargspec(func.__init__)
    while True:
        if isinstance(func, functools.partial):
            func = func.func
        elif hasattr(func, "__wrapped__"):
            func = func.__wrapped__
        else:
            return inspect.getfullargspec(func)


def partial_by_order(*args, **kwargs):
    """Call ``function(*args)`` with ``other=[(position, value), ...]`` inserted.

    >>> from operator import add
    >>> partial_by_order(5, function=add, other=[(1, 10)])
    15
    """
    function = kwargs.pop("function")
    args = list(args)
    for position, value in kwargs.pop("other"):
        args.insert(position, value)
    return function(*args, **kwargs)


class itemgetter:
    """Picklable ``x -> x[index]``."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __call__(self, x):
        return x[self.index]

    def __reduce__(self):
        return (itemgetter, (self.index,))

    def __eq__(self, other):
        return type(self) is type(other) and self.index == other.index

    def __hash__(self):
        return hash(("itemgetter", self.index))


class MethodCache:
    """``M.name(obj, *args)`` calls ``obj.name(*args)`` (``M.count([1, 3, 3], 3) == 2``)."""

    def __getattr__(self, name: str):
        from oxdask.utils import methodcaller

        if name.startswith("__"):
            raise AttributeError(name)
        return methodcaller(name)

    def __dir__(self):
        from oxdask.utils import _method_cache

        return list(_method_cache)


M = MethodCache()


class IndexCallable:
    """``IndexCallable(f)[key]`` is ``f(key)``: gives a function the indexing syntax."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable):
        self.fn = fn

    def __getitem__(self, key):
        return self.fn(key)


class OperatorMethodMixin:
    """Base for classes that define their operators from two class methods:
    ``_get_unary_operator(op)`` and ``_get_binary_operator(op, inv=False)``;
    ``_bind_operator(operator.add)`` then installs ``__add__`` and ``__radd__``."""

    __slots__ = ()

    @classmethod
    def _bind_operator(cls, op) -> None:
        name = op.__name__.rstrip("_")
        if name == "inv":
            name = "invert"
        if name in ("abs", "invert", "neg", "pos"):
            setattr(cls, f"__{name}__", cls._get_unary_operator(op))
            return
        setattr(cls, f"__{name}__", cls._get_binary_operator(op))
        if name not in ("eq", "ne", "lt", "le", "gt", "ge", "getitem"):
            setattr(cls, f"__r{name}__", cls._get_binary_operator(op, inv=True))

    @classmethod
    def _get_unary_operator(cls, op):
        raise NotImplementedError

    @classmethod
    def _get_binary_operator(cls, op, inv=False):
        raise NotImplementedError


class Dispatch:
    """Single dispatch on the type of the first argument, with lazy registration.

    ``register(type, func)`` (or as a decorator) adds an implementation;
    ``register_lazy("pandas", f)`` calls ``f`` the first time an object of a type from the
    ``pandas`` package is dispatched on (so that registering does not import pandas).
    """

    def __init__(self, name: str | None = None):
        self._lookup: dict = {}
        self._lazy: dict = {}
        if name:
            self.__name__ = name

    def register(self, type, func=None):
        def add(func):
            for t in type if isinstance(type, tuple) else (type,):
                self._lookup[t] = func
            return func

        return add if func is None else add(func)

    def register_lazy(self, toplevel: str, func=None):
        def add(func):
            self._lazy[toplevel] = func
            return func

        return add if func is None else add(func)

    def dispatch(self, cls: type):
        """The implementation for ``cls`` (the nearest registered class in its MRO)."""
        lookup = self._lookup
        if cls in lookup:
            return lookup[cls]
        for base in cls.__mro__:
            toplevel = (getattr(base, "__module__", None) or "").split(".")[0]
            register = self._lazy.pop(toplevel, None)
            if register is not None:
                register()
                found = self.dispatch(cls)
                lookup[cls] = found
                return found
            if base in lookup:
                lookup[cls] = lookup[base]
                return lookup[base]
        raise TypeError(f"No dispatch for {cls}")

    def __call__(self, arg, *args, **kwargs):
        return self.dispatch(type(arg))(arg, *args, **kwargs)

    @property
    def __doc__(self):  # type: ignore[override]
        try:
            return self.dispatch(object).__doc__
        except TypeError:
            return f"Single Dispatch for {getattr(self, '__name__', 'objects')}"


class SerializableLock:
    """A ``threading.Lock`` that pickles: copies unpickled in one process share one lock
    (found by the token), so that a lock put in a graph still locks."""

    _locks: ClassVar[weakref.WeakValueDictionary] = weakref.WeakValueDictionary()

    def __init__(self, token: Hashable | None = None):
        import uuid

        self.token = token or str(uuid.uuid4())
        lock = SerializableLock._locks.get(self.token)
        if lock is None:
            lock = threading.Lock()
            SerializableLock._locks[self.token] = lock
        self.lock = lock

    def acquire(self, *args, **kwargs):
        return self.lock.acquire(*args, **kwargs)

    def release(self, *args, **kwargs):
        return self.lock.release(*args, **kwargs)

    def locked(self) -> bool:
        return self.lock.locked()

    def __enter__(self):
        self.lock.acquire()
        return self

    def __exit__(self, *args):
        self.lock.release()

    def __getstate__(self):
        return self.token

    def __setstate__(self, token):
        self.__init__(token)

    def __repr__(self) -> str:
        return f"<SerializableLock: {self.token}>"


def get_scheduler_lock(collection=None, scheduler=None):
    """A lock suited to the scheduler that would run ``collection``: a manager lock for
    processes, else a :class:`SerializableLock`."""
    from oxdask import multiprocessing
    from oxdask.base import get_scheduler

    get = get_scheduler(collections=[collection], scheduler=scheduler)
    if get is multiprocessing.get:
        return multiprocessing.get_context().Manager().Lock()
    return SerializableLock()


ignoring = contextlib.suppress


class cached_property(functools.cached_property):
    """``functools.cached_property`` that cannot be assigned (read-only like a property)."""

    def __set__(self, instance, value):
        raise AttributeError(f"Cannot set attribute {self.attrname!r}")


@contextlib.contextmanager
def disable_gc() -> Iterator[None]:
    """Context: the cyclic garbage collector is off (restored after)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
