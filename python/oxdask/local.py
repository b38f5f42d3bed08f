"""Local execution of task graphs through the native engine (``dask.local`` names).

Every scheduler of oxdask (``sync``, ``threads``, ``processes``) ends in
:func:`_execute_graph`, which makes exactly one call of :func:`oxdask._core.get`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor, Future
from contextlib import nullcontext
from typing import Any

from oxdask import _blas, _core, _malloc
from oxdask.callbacks import local_callbacks, normalize_callback, unpack_callbacks
from oxdask.core import literal
from oxdask.utils import ensure_dict

__all__ = [
    "SynchronousExecutor",
    "default_get_id",
    "get_async",
    "get_sync",
    "identity",
    "last_run_stats",
    "nested_get",
    "reraise",
    "sortkey",
    "synchronous_executor",
]

_local = threading.local()


def last_run_stats() -> dict[str, int] | None:
    """Counters of the last successful run started by the calling thread (oxdask-specific).

    Returns
    -------
    dict or None
        ``{"tasks": ..., "graph_tasks": ..., "peak_held": ...}``: tasks run (after culling
        and fusion), tasks in the graph given, and the largest number of task results held in
        memory at once. ``None`` before the first run of this thread.
    """
    stats = getattr(_local, "stats", None)
    return dict(stats) if stats is not None else None


def _flatten_keys(keys) -> tuple[list, bool]:
    """Flat list of the keys nested in lists, and whether ``keys`` was a list at all."""
    if not isinstance(keys, list):
        return [keys], False
    flat: list = []
    stack = [iter(keys)]
    while stack:
        for k in stack[-1]:
            if isinstance(k, list):
                stack.append(iter(k))
                break
            flat.append(k)
        else:
            stack.pop()
    return flat, True


def _nest(keys: list, values: Iterator, kind: type = tuple) -> Any:
    """Rebuild the nesting of ``keys`` as tuples (like Dask's local schedulers; ``kind=list``:
    as lists, like ``Client.get``) from the next ``values``."""
    root: list = []
    stack = [(iter(keys), root)]
    while stack:
        it, target = stack[-1]
        for k in it:
            if isinstance(k, list):
                child: list = []
                target.append(child)
                stack.append((iter(k), child))
                break
            target.append(next(values))
        else:
            stack.pop()
            if stack:
                parent = stack[-1][1]
                parent[-1] = kind(target)
    return kind(root)


def _thread_id() -> int:
    return threading.get_ident()


def _execute_graph(
    dsk: Mapping,
    keys,
    *,
    num_workers: int = 1,
    submit=None,
    callbacks=None,
    cache: Mapping | None = None,
    scheduler_name: str = "threads",
    get_id=None,
    **kwargs,
):
    """Run ``dsk`` for ``keys`` (a key or nested lists of keys) with one engine call.

    Parameters
    ----------
    dsk : Mapping
        The graph; an ``__oxdask_layers__`` attribute supplies Blockwise layers.
    keys : key or list
        Wanted keys; the result has the same nesting.
    num_workers : int
        Engine threads.
    submit : callable, optional
        ``submit(func, args, kwargs)`` replacing every call (process pools).
    callbacks : sequence, optional
        Callbacks used instead of the active ones.
    cache : Mapping, optional
        Known results, used instead of running the matching tasks.
    scheduler_name : str
        Reported in the callbacks' ``state``.
    **kwargs
        Accepted for compatibility (Dask's ``get_async`` options) and ignored.
    """
    from oxdask import config

    layers = tuple(getattr(dsk, "__oxdask_layers__", None) or ())
    if not isinstance(dsk, dict):
        dsk = ensure_dict(dsk)
    if cache:
        dsk = dict(dsk)
        for k, v in cache.items():
            dsk[k] = (literal(v),)
    flat, nested = _flatten_keys(keys)
    uniq = flat
    if len(flat) > 1:
        try:
            distinct = list(dict.fromkeys(flat))
        except TypeError:  # unhashable key: let the engine report it
            distinct = flat
        if len(distinct) != len(flat):
            uniq = distinct
    fuse = config.get("optimization.fuse.active", None) is not False
    if get_id is None:
        get_id = _thread_id

    with local_callbacks(callbacks) as cbs:
        cbs = [normalize_callback(c) for c in cbs]
        starts, start_states, pretasks, posttasks, finishes = unpack_callbacks(cbs)
        for f in starts:
            f(dsk)
        progress = _core.Progress()
        state: dict[str, Any] = {
            "keys": uniq,
            "num_workers": num_workers,
            "progress": progress,
            "scheduler": scheduler_name,
        }
        for f in start_states:
            f(dsk, state)
        pretask = posttask = None
        if pretasks:

            def pretask(key):
                for f in pretasks:
                    f(key, dsk, state)

        if posttasks:

            def posttask(key, result):
                wid = get_id()
                for f in posttasks:
                    f(key, result, dsk, state, wid)

        _malloc.tune_for_local()
        blas = _blas.limited(num_workers) if layers and submit is None else nullcontext()
        started = time.perf_counter()
        try:
            with blas:
                results, stats = _core.get(
                    dsk,
                    uniq,
                    layers=layers,
                    num_workers=num_workers,
                    fuse=fuse,
                    pretask=pretask,
                    posttask=posttask,
                    progress=progress,
                    submit=submit,
                )
        except BaseException:
            for f in finishes:
                f(dsk, state, True)
            raise
        _malloc.release_after(time.perf_counter() - started)
        _local.stats = stats
        state["stats"] = stats
        for f in finishes:
            f(dsk, state, False)

    if uniq is not flat:
        by_key = dict(zip(uniq, results, strict=True))
        results = [by_key[k] for k in flat]
    if not nested:
        return results[0]
    return _nest(keys, iter(results))


def get_sync(dsk: Mapping, keys, **kwargs):
    """Run a graph in the calling thread (the ``"sync"`` scheduler).

    Parameters
    ----------
    dsk : Mapping
        The task graph.
    keys : key or list
        A key, or nested lists of keys; the result has the same nesting, with tuples in
        place of lists (as in Dask).
    **kwargs
        ``callbacks=``, ``cache=``; other options are accepted and ignored.

    Examples
    --------
    >>> from operator import add
    >>> get_sync({"x": 1, "y": (add, "x", 1)}, ["y", ["x"]])
    (2, (1,))
    """
    kwargs.pop("num_workers", None)
    kwargs.setdefault("scheduler_name", "sync")
    return _execute_graph(dsk, keys, num_workers=1, get_id=_sync_id, **kwargs)


def _sync_id() -> int:
    return 0


class SynchronousExecutor(Executor):
    """A ``concurrent.futures.Executor`` that runs each submitted call at once, in the
    calling thread (``scheduler=synchronous_executor`` computes like ``"sync"``)."""

    _max_workers = 1

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Run ``fn(*args, **kwargs)`` now; the returned future holds its result or error."""
        future: Future = Future()
        try:
            result = fn(*args, **kwargs)
        except BaseException as e:
            future.set_exception(e)
        else:
            future.set_result(result)
        return future


synchronous_executor = SynchronousExecutor()


def default_get_id() -> int:
    """The worker id reported to callbacks by default: ``0``."""
    return 0


def identity(x):
    """``x`` unchanged (the default ``dumps``/``loads`` of :func:`get_async`)."""
    return x


def get_async(submit, num_workers: int, dsk: Mapping, result, cache=None, get_id=None, **kwargs):
    """Run a graph with an executor-style ``submit`` (Dask's generic scheduler entry point).

    Parameters
    ----------
    submit : callable
        ``submit(func, *args, **kwargs)`` returning a ``concurrent.futures.Future`` (e.g. an
        executor's ``submit``); every task is run through it.
    num_workers : int
        Tasks run at the same time.
    dsk : Mapping
    result : key or list
        Wanted keys, nested like the result.
    cache : Mapping, optional
        Known results.
    get_id : callable, optional
        Worker id reported to callbacks.
    **kwargs
        ``callbacks=``; Dask's other options (``pack_exception``, ``dumps``...) are
        accepted and ignored.
    """
    for name in ("rerun_exceptions_locally", "pack_exception", "raise_exception", "dumps",
                 "loads", "chunksize"):  # fmt: skip
        kwargs.pop(name, None)

    def run(func, args, kw):
        return submit(func, *args, **(kw or {})).result()

    return _execute_graph(
        dsk, result, num_workers=max(1, int(num_workers)), submit=run, cache=cache,
        get_id=get_id, **kwargs,
    )  # fmt: skip


def nested_get(ind, coll):
    """``coll[ind]``, or for a (nested) list of indices the (nested) tuple of the elements.

    >>> nested_get([1, [0, 2]], "abc")
    ('b', ('a', 'c'))
    """
    if isinstance(ind, list):
        return tuple(nested_get(i, coll) for i in ind)
    return coll[ind]


def reraise(exc, tb=None):
    """Raise ``exc`` with the traceback ``tb``."""
    if exc.__traceback__ is not tb:
        raise exc.with_traceback(tb)
    raise exc


def sortkey(item):
    """A sort key under which keys of different types compare: ``(type name, item)``."""
    return (type(item).__name__, item)
