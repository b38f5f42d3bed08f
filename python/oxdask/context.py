"""Methods that configuration can replace, compatible with ``dask.context``.

``__dask_optimize__ = globalmethod(optimize, key="delayed_optimize")`` on a collection class
makes ``oxdask.config.set(delayed_optimize=f)`` swap the optimization of every instance.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from oxdask import config

__all__ = ["GlobalMethod", "globalmethod"]

_MISSING: Any = object()


def globalmethod(default: Callable | None = None, key: str | None = None, falsey=None):
    """A class attribute whose value can be replaced through the configuration.

    Parameters
    ----------
    default : callable
        The value when the configuration does not set ``key``.
    key : str
        Configuration key, e.g. ``"delayed_optimize"``.
    falsey : callable, optional
        The value when the configuration sets ``key`` to a false value (``None``...);
        without it the default is used then.

    Returns
    -------
    GlobalMethod
        Or, when ``default`` is omitted, a decorator building one.

    Examples
    --------
    >>> import oxdask
    >>> class Foo:
    ...     @globalmethod(key="foo_method", falsey=lambda: "falsey")
    ...     def method():
    ...         return "default"
    >>> Foo.method()
    'default'
    >>> with oxdask.config.set(foo_method=lambda: "configured"):
    ...     Foo.method()
    'configured'
    >>> with oxdask.config.set(foo_method=None):
    ...     Foo.method()
    'falsey'
    """
    if default is None:
        return partial(globalmethod, key=key, falsey=falsey)
    if key is None:
        raise TypeError("globalmethod needs a configuration key")
    return GlobalMethod(default=default, key=key, falsey=falsey)


class GlobalMethod:
    """Descriptor built by :func:`globalmethod` (looks the configuration up on every access)."""

    __slots__ = ("_default", "_falsey", "_key")

    def __init__(self, default: Callable, key: str, falsey=None):
        self._default = default
        self._key = key
        self._falsey = falsey

    def __get__(self, instance, owner=None):
        value = config.get(self._key, _MISSING)
        if value is _MISSING:
            return self._default
        if value:
            return value
        if self._falsey is not None:
            return self._falsey
        return self._default
