"""Configuration, compatible with ``dask.config``.

The configuration is one global nested ``dict`` (:data:`config`). Keys are addressed with dots
(``"optimization.fuse.active"``); hyphens and underscores are interchangeable (whichever spelling
is already present wins). Values come from built-in defaults and from ``DASK_*`` and
``OXDASK_*`` environment variables (``OXDASK_NUM_WORKERS=4``,
``DASK_OPTIMIZATION__FUSE__ACTIVE=False``; a double underscore separates nesting levels;
``OXDASK_`` wins over ``DASK_``).

Built-in defaults
-----------------
scheduler : None
    Name or get-function of the default scheduler (``None``: each collection's own default).
num_workers : None
    Threads (or processes) of the local schedulers (``None``: ``os.cpu_count()``).
optimization.fuse.active : None
    Fuse linear chains of tasks before running (``None`` means on).
temporary-directory : None
    Where spilled or shuffled data and scratch files go (``None``: the system's temporary
    directory); a distributed worker's default ``local_directory``.
visualization.engine : None
    Accepted for Dask compatibility; ``visualize`` draws with graphviz (its only engine).
multiprocessing.context : "spawn"
    Start method of the ``processes`` scheduler's worker processes.
local.tune-malloc : True
    oxdask only: on glibc, keep chunk-sized memory resident between the local schedulers'
    tasks and trim the heap after each long compute (see ``oxdask._malloc``).
dataframe.shuffle.method : None
    ``"engine"`` (a Rust store of pieces in this process, spilling to disk) or ``"tasks"``;
    None: engine on the local threads/sync schedulers, tasks otherwise.
dataframe.shuffle.memory-limit : None
    Bytes of shuffle pieces the engine shuffle keeps in memory (None: a quarter of RAM).
local.limit-blas-threads : True
    oxdask only: while array or dataframe graphs run on several threads, BLAS libraries use
    ``cpu_count // num_workers`` threads each, once the program has built a graph calling
    BLAS (see ``oxdask._blas``).
array.chunk-size : "128MiB"
    The size of a block that ``chunks="auto"`` aims at.
tokenize.ensure-deterministic : False
    Raise instead of falling back to a random token for objects that cannot be hashed.
distributed.worker.memory.target / spill / pause / terminate : 0.6 / 0.7 / 0.8 / 0.95
    A distributed worker's memory thresholds, as fractions of its memory limit: spill least
    recently used results to disk when they exceed ``target``; spill by process memory above
    ``spill``; start no task above ``pause``; restart the worker process above ``terminate``.
    False turns one off.
distributed.worker.memory.buffer-pool : 0.2
    oxdask only: a worker process keeps freed NumPy buffers of 256 KiB and more, up to this
    fraction of its memory limit (256 MiB without a limit), and gives them to the next arrays
    of about their size, which then skip the page faults of fresh memory. Kept buffers are
    freed after a second unused, when the worker is idle, and when its process memory passes
    the spill threshold; memory readings leave them out. False turns it off.
distributed.scheduler.allowed-failures : 3
    How many workers may die while running a task before it fails with ``KilledWorker``.
distributed.scheduler.active-memory-manager.interval : "2s"
    How often the active memory manager runs once started (``Client.amm.start()``): each run
    drops the surplus replicas of results held by several workers.
distributed.scheduler.locks.lease-timeout : "30s"
    A ``Semaphore``/``Lock`` lease not refreshed for this long ends (holders refresh theirs
    in the background); ``"inf"`` keeps leases until released or their client leaves.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "PATH",
    "canonical_name",
    "check_deprecations",
    "collect",
    "collect_env",
    "collect_yaml",
    "config",
    "config_lock",
    "defaults",
    "deprecations",
    "deserialize",
    "ensure_file",
    "expand_environment_variables",
    "get",
    "global_config",
    "interpret_value",
    "merge",
    "paths",
    "paths_containing_key",
    "pop",
    "refresh",
    "rename",
    "serialize",
    "set",
    "update",
    "update_defaults",
]


class _NoDefault:
    def __repr__(self) -> str:
        return "<no_default>"


no_default: Any = _NoDefault()

config: dict = {}
"""The global configuration dictionary."""

defaults: list[Mapping] = []
"""The default configurations, applied in order by :func:`refresh`."""

config_lock = threading.Lock()

_BUILTIN_DEFAULTS: dict = {
    "scheduler": None,
    "num_workers": None,
    "temporary-directory": None,
    "tokenize": {"ensure-deterministic": False},
    "optimization": {"fuse": {"active": None}},
    "multiprocessing": {"context": "spawn"},
    "local": {"tune-malloc": True, "limit-blas-threads": True},
    "dataframe": {"shuffle": {"method": None, "memory-limit": None}},
    "array": {"chunk-size": "128MiB"},
    "visualization": {"engine": None},
    "distributed": {
        "scheduler": {
            "allowed-failures": 3,
            "active-memory-manager": {"interval": "2s"},
            "locks": {"lease-timeout": "30s"},
        },
        "worker": {
            "memory": {
                "target": 0.6,
                "spill": 0.7,
                "pause": 0.8,
                "terminate": 0.95,
                "buffer-pool": 0.2,
            },
        },
    },
}


def canonical_name(k: str, config: Mapping) -> str:
    """The spelling of ``k`` to use in ``config``.

    If ``k`` or its hyphen/underscore variant is already a key of ``config``, that spelling is
    returned; otherwise ``k`` itself.

    Parameters
    ----------
    k : str
    config : Mapping

    Returns
    -------
    str
    """
    try:
        if k in config:
            return k
    except TypeError:
        return k
    if not isinstance(k, str):
        return k
    alt = k.replace("_", "-") if "_" in k else k.replace("-", "_")
    if alt in config:
        return alt
    return k


def update(old: dict, new: Mapping, priority: str = "new", defaults: Mapping | None = None) -> dict:
    """Merge the nested mapping ``new`` into ``old`` in place.

    Parameters
    ----------
    old : dict
        Updated in place and returned.
    new : Mapping
    priority : {"new", "old", "new-defaults"}
        Which side wins on conflicts. ``"new-defaults"`` only overwrites values of ``old`` that
        still equal the matching entry of ``defaults``.
    defaults : Mapping, optional
        Used with ``priority="new-defaults"``.

    Returns
    -------
    dict
        ``old``.
    """
    for k, v in new.items():
        k = canonical_name(k, old)
        if isinstance(v, Mapping):
            if not isinstance(old.get(k), dict):
                old[k] = {}
            update(
                old[k],
                v,
                priority=priority,
                defaults=defaults.get(k) if isinstance(defaults, Mapping) else None,
            )
        elif (
            priority == "new"
            or k not in old
            or (
                priority == "new-defaults"
                and isinstance(defaults, Mapping)
                and k in defaults
                and defaults[k] == old[k]
            )
        ):
            old[k] = v
    return old


def merge(*dicts: Mapping) -> dict:
    """Merge nested mappings, later ones winning.

    Parameters
    ----------
    *dicts : Mapping

    Returns
    -------
    dict
    """
    result: dict = {}
    for d in dicts:
        update(result, d)
    return result


def _expand_dotted(flat: Mapping[str, Any]) -> dict:
    result: dict = {}
    for key, value in flat.items():
        d = result
        parts = key.split(".")
        for part in parts[:-1]:
            d = d.setdefault(canonical_name(part, d), {})
        d[canonical_name(parts[-1], d)] = value
    return result


def collect_env(env: Mapping[str, str] | None = None) -> dict:
    """Configuration from ``DASK_*`` and ``OXDASK_*`` environment variables.

    Values are parsed as Python literals when possible (``"4"`` -> ``4``, ``"None"`` -> ``None``).

    Parameters
    ----------
    env : Mapping, optional
        Defaults to ``os.environ``.

    Returns
    -------
    dict
        A nested configuration dict.
    """
    if env is None:
        env = os.environ
    flat: dict = {}
    if "DASK_INTERNAL_INHERIT_CONFIG" in env:
        inherited = deserialize(env["DASK_INTERNAL_INHERIT_CONFIG"])
        flat.update(inherited)
    for prefix in ("DASK_", "OXDASK_"):
        for name, value in env.items():
            if name == "DASK_INTERNAL_INHERIT_CONFIG":
                continue
            if name.startswith(prefix) and len(name) > len(prefix):
                key = name[len(prefix) :].lower().replace("__", ".")
                flat[key] = interpret_value(value)
    return _expand_dotted(flat)


def refresh(
    config: dict | None = None, defaults: Sequence[Mapping] | None = None, **kwargs
) -> None:
    """Reset the configuration to the defaults, then the YAML files of :data:`paths`, then
    the environment (highest priority).

    Parameters
    ----------
    config : dict, optional
        The dict to reset in place (the global :data:`config` by default).
    defaults : sequence of Mapping, optional
        The defaults to apply (the module's :data:`defaults` by default).
    **kwargs
        Passed to :func:`collect` (``paths=``, ``env=``).
    """
    if config is None:
        config = globals()["config"]
    if defaults is None:
        defaults = globals()["defaults"]
    config.clear()
    for d in defaults:
        update(config, d, priority="old")
    update(config, collect(**kwargs))


def _split(key: str) -> list[str]:
    if not isinstance(key, str):
        return [key]
    return key.split(".")


def get(
    key: str,
    default: Any = no_default,
    config: dict | None = None,
    override_with: Any = None,
) -> Any:
    """Look up a value by its dotted key.

    Parameters
    ----------
    key : str
        Dotted key such as ``"optimization.fuse.active"``.
    default : object, optional
        Returned when the key is absent; without it a ``KeyError`` is raised.
    config : dict, optional
        The configuration to search (the global one by default).
    override_with : object, optional
        Returned as is when not ``None`` (handy for keyword arguments defaulting to config).

    Returns
    -------
    object

    Examples
    --------
    >>> import oxdask
    >>> with oxdask.config.set({"foo.bar": 1}):
    ...     oxdask.config.get("foo.bar")
    1
    >>> oxdask.config.get("foo.missing", 123)
    123
    """
    if override_with is not None:
        return override_with
    if config is None:
        config = globals()["config"]
    result: Any = config
    for part in _split(key):
        if not isinstance(result, Mapping):
            if default is not no_default:
                return default
            raise KeyError(key)
        part = canonical_name(part, result)
        try:
            result = result[part]
        except (KeyError, TypeError):
            if default is not no_default:
                return default
            raise
    return result


def pop(key: str, default: Any = no_default, config: dict | None = None) -> Any:
    """Remove a dotted key and return its value.

    Parameters
    ----------
    key : str
    default : object, optional
        Returned when the key is absent; without it a ``KeyError`` is raised.
    config : dict, optional

    Returns
    -------
    object
    """
    if config is None:
        config = globals()["config"]
    parts = _split(key)
    d: Any = config
    try:
        for part in parts[:-1]:
            d = d[canonical_name(part, d)]
        return d.pop(canonical_name(parts[-1], d))
    except (KeyError, TypeError, AttributeError):
        if default is not no_default:
            return default
        raise KeyError(key) from None


class set:
    """Set configuration values, globally or temporarily.

    Used as a plain call, the values stay set. Used as a context manager, the previous values
    are restored on exit.

    Parameters
    ----------
    arg : Mapping, optional
        Dotted keys (or nested dicts) to values.
    config : dict, optional
        The configuration to modify (the global one by default).
    lock : threading.Lock, optional
        Lock held while modifying.
    **kwargs
        More keys; a double underscore stands for a dot (``foo__bar=1`` sets ``"foo.bar"``).

    Examples
    --------
    >>> import oxdask
    >>> with oxdask.config.set(scheduler="sync", num_workers=2):
    ...     oxdask.config.get("scheduler")
    'sync'
    """

    def __init__(
        self,
        arg: Mapping | None = None,
        config: dict | None = None,
        lock: threading.Lock = config_lock,
        _check: bool = True,
        **kwargs,
    ):
        if config is None:
            config = globals()["config"]
        self.config = config
        self._record: list[tuple[str, tuple, Any]] = []
        items = list(arg.items()) if arg is not None else []
        items += [(key.replace("__", "."), value) for key, value in kwargs.items()]
        if _check and deprecations:
            # renamed keys warn and go to their new name; removed keys raise ValueError
            items = [(check_deprecations(k) if isinstance(k, str) else k, v) for k, v in items]
        with lock:
            for key, value in items:
                self._assign(_split(key), value, config)

    def __enter__(self) -> dict:
        return self.config

    def __exit__(self, *exc) -> None:
        for op, path, value in reversed(self._record):
            d = self.config
            if op == "replace":
                for part in path[:-1]:
                    d = d.setdefault(part, {})
                d[path[-1]] = value
            else:
                for part in path[:-1]:
                    try:
                        d = d[part]
                    except (KeyError, TypeError):
                        break
                else:
                    d.pop(path[-1], None)

    def _assign(self, keys: list, value: Any, d: dict, path: tuple = (), record: bool = True):
        key = canonical_name(keys[0], d)
        path = (*path, key)
        if len(keys) == 1:
            if record:
                if key in d:
                    self._record.append(("replace", path, d[key]))
                else:
                    self._record.append(("insert", path, None))
            d[key] = value
            return
        if not isinstance(d.get(key), dict):
            if record:
                if key in d:
                    self._record.append(("replace", path, d[key]))
                else:
                    self._record.append(("insert", path, None))
            d[key] = {}
            record = False
        self._assign(keys[1:], value, d[key], path, record=record)


def update_defaults(new: Mapping, config: dict | None = None, defaults: list | None = None) -> None:
    """Add new default values (libraries call this at import time).

    Values the user has not changed from the previous defaults take the new defaults.

    Parameters
    ----------
    new : Mapping
    config : dict, optional
    defaults : list, optional
    """
    if config is None:
        config = globals()["config"]
    if defaults is None:
        defaults = globals()["defaults"]
    current = merge(*defaults)
    defaults.append(new)
    update(config, new, priority="new-defaults", defaults=current)


global_config = config  # Dask's alias of the global configuration

from oxdask._config_more import (  # noqa: E402  (they use this module's functions)
    PATH,
    _get_paths,  # noqa: F401 (used by tests of the search path)
    check_deprecations,
    collect,
    collect_yaml,
    deprecations,
    deserialize,
    ensure_file,
    expand_environment_variables,
    interpret_value,
    paths,
    paths_containing_key,
    rename,
    serialize,
)


def _initialize() -> None:
    defaults.append(_BUILTIN_DEFAULTS)
    refresh()


_initialize()
