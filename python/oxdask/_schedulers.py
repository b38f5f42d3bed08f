"""Choosing the scheduler of a computation: names, executors, clients and defaults.

Part of :mod:`oxdask.base` (which re-exports every public name here).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

from oxdask import config


def _named(name: str):
    if name in ("sync", "synchronous", "single-threaded"):
        from oxdask.local import get_sync

        return get_sync
    if name in ("threads", "threading"):
        from oxdask.threaded import get

        return get
    if name in ("processes", "multiprocessing"):
        from oxdask.multiprocessing import get

        return get
    return None


class _NamedSchedulers(MutableMapping):
    """Scheduler names to get-functions, like Dask's ``named_schedulers`` dict.

    The built-in names import their scheduler module on first use; names can be added
    (``named_schedulers["mine"] = get``), replaced and removed.
    """

    _builtin = (
        "sync",
        "synchronous",
        "single-threaded",
        "threads",
        "threading",
        "processes",
        "multiprocessing",
    )

    def __init__(self):
        self._added: dict = {}
        self._removed: set = set()

    def __getitem__(self, name):
        if name in self._added:
            return self._added[name]
        get = _named(name) if isinstance(name, str) and name not in self._removed else None
        if get is None:
            raise KeyError(name)
        return get

    def __setitem__(self, name, get) -> None:
        self._added[name] = get
        self._removed.discard(name)

    def __delitem__(self, name) -> None:
        if name in self._added:
            del self._added[name]
        elif name in self._builtin and name not in self._removed:
            self._removed.add(name)
        else:
            raise KeyError(name)

    def __iter__(self):
        builtin = [n for n in self._builtin if n not in self._removed and n not in self._added]
        return iter([*builtin, *self._added])

    def __len__(self) -> int:
        return len(list(iter(self)))

    def __contains__(self, name) -> bool:
        if name in self._added:
            return True
        return name in self._builtin and name not in self._removed


named_schedulers: MutableMapping[str, Callable] = _NamedSchedulers()

_get_err_msg = """
The get= keyword has been removed.

Please use the scheduler= keyword instead with the name of
the desired scheduler like 'threads' or 'processes'

    x.compute(scheduler='single-threaded')
    x.compute(scheduler='threads')
    x.compute(scheduler='processes')

or with a function that takes the graph and keys

    x.compute(scheduler=my_scheduler_function)

or with a Dask client

    x.compute(scheduler=client)
""".strip()


def _executor_get(executor):
    from oxdask.local import _execute_graph

    num_workers = getattr(executor, "_max_workers", None) or config.get("num_workers", None)

    def submit(func, args, kwargs):
        return executor.submit(func, *args, **(kwargs or {})).result()

    def get(dsk, keys, **kwargs):
        return _execute_graph(
            dsk, keys, num_workers=num_workers or _cpu_count(), submit=submit, **kwargs
        )

    return get


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1


def get_scheduler(get=None, scheduler=None, collections=None, cls=None):
    """The get-function to run a graph with.

    In order of precedence: ``scheduler=`` (a name, a get-function, an
    ``concurrent.futures.Executor`` or a client object with a ``get`` method), config
    ``scheduler``, ``cls.__dask_scheduler__``, the default scheduler of the collections.

    Parameters
    ----------
    get : None
        Removed in Dask; passing it raises ``TypeError``.
    scheduler : str, callable or Executor, optional
    collections : list, optional
    cls : type, optional

    Returns
    -------
    callable or None
    """
    if get:
        raise TypeError(_get_err_msg)
    if scheduler is not None:
        if callable(scheduler):
            return scheduler
        if "Client" in type(scheduler).__name__ and hasattr(scheduler, "get"):
            return scheduler.get
        if isinstance(scheduler, str):
            name = scheduler.lower()
            if name in named_schedulers:
                return named_schedulers[name]
            if scheduler in named_schedulers:
                return named_schedulers[scheduler]
            if name in ("dask.distributed", "distributed"):
                raise RuntimeError(f"Requested {scheduler} scheduler but no Client active.")
            raise ValueError(
                "Expected one of [distributed, {}]".format(", ".join(sorted(named_schedulers)))
            )
        from concurrent.futures import Executor

        if isinstance(scheduler, Executor):
            return _executor_get(scheduler)
        raise ValueError(f"Unexpected scheduler: {scheduler!r}")
    configured = config.get("scheduler", None)
    if configured:
        return get_scheduler(scheduler=configured)
    if config.get("get", None):
        raise ValueError(_get_err_msg)
    if cls is not None:
        return _default_scheduler(cls)
    if collections:
        collections = [c for c in collections if c is not None]
    if collections:
        on_worker = _worker_client_get(collections)
        if on_worker is not None:
            return on_worker
        first = _default_scheduler(collections[0])
        if not all(_default_scheduler(c) == first for c in collections[1:]):
            # e.g. bags (processes) with arrays (threads)
            raise ValueError(
                "Compute called on multiple collections with differing default schedulers "
                "(bags run on processes, arrays, dataframes and delayed values on threads). "
                "Pass scheduler= to compute or set one with oxdask.config.set(scheduler=...)."
            )
        return first
    return None


def _worker_client_get(collections):
    """Inside a task on a distributed worker, collections holding futures (a published
    dataset, say) run on the worker's client, as in Dask: no local scheduler can compute
    them. None otherwise."""
    import sys

    context = sys.modules.get("oxdask.distributed._context")
    if context is None or not context.worker:
        return None
    from oxdask.distributed.future import futures_of

    if not futures_of(collections):
        return None
    from oxdask.distributed.client import get_client

    return get_client().get


def _default_scheduler(collection):
    get = getattr(type(collection), "__dask_scheduler__", None)
    if get is not None and not callable(get):  # a property (xarray's): ask the instance
        get = getattr(collection, "__dask_scheduler__", None)
    if get is None:
        get = getattr(collection, "__dask_scheduler__", None)
    if get is None:
        from oxdask.threaded import get
    return get
