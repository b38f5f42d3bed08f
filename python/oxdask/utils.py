"""Small helpers shared by the rest of oxdask (names follow ``dask.utils``)."""

from __future__ import annotations

import functools
import operator
import re
import sys
from collections.abc import Mapping
from typing import Any

from oxdask._units import _BYTE_UNITS, format_bytes, parse_bytes, parse_timedelta
from oxdask._utils_data import (
    build_name_function,
    cached_cumsum,
    cached_max,
    concrete,
    deepmap,
    format_time_ago,
    homogeneous_deepmap,
    insert,
    iter_chunks,
    maybe_pluralize,
    memory_repr,
    natural_sort_key,
    ndeepmap,
    ndimlist,
    pseudorandom,
    random_state_data,
    stringify,
    system_encoding,
    unzip,
)
from oxdask._utils_doc import (
    _deprecated,  # noqa: F401 (Dask's private decorator, used by libraries)
    asciitable,
    derived_from,
    extra_titles,
    ignore_warning,
    put_lines,
    show_versions,
    skip_doctest,
    unsupported_arguments,
)
from oxdask._utils_more import (
    Dispatch,
    IndexCallable,
    M,
    MethodCache,
    OperatorMethodMixin,
    SerializableLock,
    cached_property,
    changed_cwd,
    disable_gc,
    ensure_bytes,
    ensure_not_exists,
    ensure_set,
    ensure_unicode,
    filetext,
    filetexts,
    get_meta_library,
    get_named_args,
    get_scheduler_lock,
    getargspec,
    has_keyword,
    ignoring,
    is_arraylike,
    is_cupy_type,
    is_dataframe_like,
    is_empty,
    is_index_like,
    is_integer,
    is_series_like,
    itemgetter,
    partial_by_order,
    takes_multiple_arguments,
    tmp_cwd,
    tmpdir,
    tmpfile,
    typename,
)

byte_sizes = dict(_BYTE_UNITS)
"""Byte unit names (``"kb"``, ``"kib"``, ``"mb"``...) to their sizes."""

tds2 = {
    f"{unit}{plural}": seconds
    for unit, seconds in (
        ("second", 1), ("minute", 60), ("hour", 3600), ("day", 86400), ("week", 604800),
        ("millisecond", 1e-3), ("microsecond", 1e-6), ("nanosecond", 1e-9),
    )
    for plural in ("", "s")
}  # fmt: skip
"""Long time unit names, singular and plural, to seconds."""

timedelta_sizes = {
    **{k: v for k, v in zip(("s", "ms", "us", "ns", "m", "h", "d", "w"),
                            (1, 1e-3, 1e-6, 1e-9, 60, 3600, 86400, 604800), strict=True)},
    **tds2,
}  # fmt: skip
timedelta_sizes.update({k.upper(): v for k, v in list(timedelta_sizes.items())})
"""Time unit names (short, long, upper case) to seconds."""

__all__ = [
    "Dispatch",
    "IndexCallable",
    "M",
    "MethodCache",
    "OperatorMethodMixin",
    "SerializableLock",
    "apply",
    "asciitable",
    "build_name_function",
    "byte_sizes",
    "cached_cumsum",
    "cached_max",
    "cached_property",
    "changed_cwd",
    "concrete",
    "deepmap",
    "derived_from",
    "disable_gc",
    "ensure_bytes",
    "ensure_dict",
    "ensure_not_exists",
    "ensure_set",
    "ensure_unicode",
    "extra_titles",
    "filetext",
    "filetexts",
    "format_bytes",
    "format_time",
    "format_time_ago",
    "funcname",
    "get_meta_library",
    "get_named_args",
    "get_scheduler_lock",
    "getargspec",
    "has_keyword",
    "homogeneous_deepmap",
    "ignore_warning",
    "ignoring",
    "import_required",
    "insert",
    "is_arraylike",
    "is_cupy_type",
    "is_dataframe_like",
    "is_empty",
    "is_index_like",
    "is_integer",
    "is_series_like",
    "itemgetter",
    "iter_chunks",
    "key_split",
    "maybe_pluralize",
    "memory_repr",
    "methodcaller",
    "natural_sort_key",
    "ndeepmap",
    "ndimlist",
    "parse_bytes",
    "parse_timedelta",
    "partial_by_order",
    "pseudorandom",
    "put_lines",
    "random_state_data",
    "show_versions",
    "skip_doctest",
    "stringify",
    "system_encoding",
    "takes_multiple_arguments",
    "tds2",
    "timedelta_sizes",
    "tmp_cwd",
    "tmpdir",
    "tmpfile",
    "typename",
    "unsupported_arguments",
    "unzip",
]


def apply(func, args, kwargs=None):
    """Call ``func(*args, **kwargs)``.

    Parameters
    ----------
    func : callable
        The function to call.
    args : sequence
        Positional arguments.
    kwargs : dict, optional
        Keyword arguments.

    Returns
    -------
    object
        Whatever ``func`` returns.

    Examples
    --------
    >>> from operator import add
    >>> apply(add, (1, 2))
    3
    """
    if kwargs:
        return func(*args, **kwargs)
    return func(*args)


def ensure_dict(d: Mapping, *, copy: bool = False) -> dict:
    """Return ``d`` as a plain ``dict``.

    High-level graphs (objects with a ``layers`` mapping of mappings) are flattened
    layer by layer; any other mapping is converted with ``dict``.

    Parameters
    ----------
    d : Mapping
        A task graph or any mapping.
    copy : bool, optional
        Return a copy even when ``d`` is already a ``dict``.

    Returns
    -------
    dict
    """
    if type(d) is dict:
        return d.copy() if copy else d
    layers = getattr(d, "layers", None)
    if isinstance(layers, Mapping):
        if getattr(d, "_inline_hidden", False):  # see HighLevelGraph._optimizer_view
            return d.to_dict()
        seen: set[int] = set()
        result: dict = {}
        for layer in layers.values():
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            result.update(layer)
        return result
    return dict(d)


_name_cache: dict[Any, str] = {}


def funcname(func) -> str:
    """Return a short, human-readable name for a callable.

    ``functools.partial`` objects are unwrapped, ``operator.methodcaller`` objects give their
    method name, lambdas give ``"lambda"`` and names are cut to 50 characters.

    Parameters
    ----------
    func : callable

    Returns
    -------
    str
    """
    try:
        return _name_cache[func]
    except (KeyError, TypeError):
        pass
    name = _funcname(func)
    try:
        if len(_name_cache) > 4096:
            _name_cache.clear()
        _name_cache[func] = name
    except TypeError:
        pass
    return name


def _funcname(func) -> str:
    while isinstance(func, functools.partial):
        func = func.func
    if type(func) is methodcaller:
        return func.method[:50]
    if isinstance(func, operator.methodcaller):
        ctor, args = func.__reduce__()[:2]
        name = ctor.args[0] if isinstance(ctor, functools.partial) else args[0]
        return str(name)[:50]
    module = getattr(type(func), "__module__", "") or ""
    tname = type(func).__name__
    if "toolz" in module and tname == "curry":
        return funcname(func.func)
    if "multipledispatch" in module and tname == "Dispatcher":
        return str(func.name)[:50]
    if "numpy" in module and tname == "vectorize":
        return ("vectorize_" + funcname(func.pyfunc))[:50]
    try:
        name = func.__name__
    except AttributeError:
        return str(func)[:50]
    if not isinstance(name, str):
        return str(func)[:50]
    if name == "<lambda>":
        return "lambda"
    return name[:50]


_hex8 = re.compile(r"^[0-9a-f]{8}$")
_hex32 = re.compile(r"^[0-9a-f]{32}$")


@functools.lru_cache(maxsize=100_000)
def _key_split_str(s: str) -> str:
    words = s.split("-")
    first = words[0]
    result = first.split(",")[0].strip("_'()\"") if first and not first[0].isalpha() else first
    for word in words[1:]:
        if word.isalpha() and not (len(word) == 8 and _hex8.match(word)):
            result += "-" + word
        else:
            break
    if len(result) == 32 and _hex32.match(result):
        return "data"
    if result.startswith("<"):
        result = result.strip("<>").split()[0].split(".")[-1]
    return sys.intern(result)


def key_split(s) -> str:
    """The human-readable prefix of a key: its name without tokens or indices.

    Parameters
    ----------
    s : str, bytes or tuple
        A task key.

    Returns
    -------
    str

    Examples
    --------
    >>> key_split("x")
    'x'
    >>> key_split("inc-1f2e3d4c5b6a79881726354453627181")
    'inc'
    >>> key_split(("sum-aggregate-9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49", 0, 1))
    'sum-aggregate'
    """
    if type(s) is bytes:
        s = s.decode()
    if type(s) is tuple:
        if not s:
            return "Other"
        return key_split(s[0])
    try:
        return _key_split_str(s)
    except Exception:
        return "Other"


def format_time(n: float) -> str:
    """Format a duration in seconds for humans (``'1.25 s'``, ``'3.10 ms'``, ``'2m 5s'``).

    Parameters
    ----------
    n : float
        Seconds.

    Returns
    -------
    str
    """
    day = 24 * 3600
    if n > 2 * day:
        days = int(n // day)
        return f"{days}d {int((n - days * day) // 3600)}hr"
    if n > 2 * 3600:
        hours = int(n // 3600)
        return f"{hours}hr {int((n - hours * 3600) // 60)}m"
    if n > 600:
        minutes = int(n // 60)
        return f"{minutes}m {int(n - minutes * 60)}s"
    if n >= 1:
        return f"{n:.2f} s"
    if n >= 1e-3:
        return f"{n * 1e3:.2f} ms"
    return f"{n * 1e6:.2f} us"


def import_required(mod_name: str, error_msg: str):
    """Import a module, raising ``RuntimeError(error_msg)`` when it is not installed.

    Parameters
    ----------
    mod_name : str
    error_msg : str

    Returns
    -------
    module
    """
    import importlib

    try:
        return importlib.import_module(mod_name)
    except ImportError as e:
        raise RuntimeError(error_msg) from e


def is_namedtuple_instance(obj) -> bool:
    """True for instances of classes made by ``collections.namedtuple`` (or alike)."""
    return isinstance(obj, tuple) and hasattr(type(obj), "_fields") and hasattr(obj, "_make")


class methodcaller:
    """Call a method by name: ``methodcaller("f")(obj, *a, **kw)`` is ``obj.f(*a, **kw)``.

    Unlike ``operator.methodcaller``, the arguments are given at call time.

    Parameters
    ----------
    method : str
        Name of the method.
    """

    __slots__ = ("method",)

    def __new__(cls, method: str):
        # one instance per name (as Dask): ``methodcaller("f") is methodcaller("f")``
        try:
            return _method_cache[method]
        except KeyError:
            obj = object.__new__(cls)
            obj.method = method
            _method_cache[method] = obj
            return obj

    @property
    def func(self) -> str:
        return self.method

    def __call__(self, obj, /, *args, **kwargs):
        return getattr(obj, self.method)(*args, **kwargs)

    def __reduce__(self):
        return (methodcaller, (self.method,))

    def __eq__(self, other) -> bool:
        return type(other) is methodcaller and other.method == self.method

    def __hash__(self) -> int:
        return hash((methodcaller, self.method))

    def __dask_tokenize__(self):
        return ("methodcaller", self.method)

    def __repr__(self) -> str:
        return f"<methodcaller: {self.method}>"


_method_cache: dict[str, methodcaller] = {}
