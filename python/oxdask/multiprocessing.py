"""The multi-process scheduler (``dask.multiprocessing`` names).

The engine schedules the graph on ``num_workers`` threads of the calling process; each call of
a task function is serialized with cloudpickle and run in a cached
``concurrent.futures.ProcessPoolExecutor`` whose start method is config
``multiprocessing.context`` (``"spawn"`` by default).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from oxdask import config
from oxdask.local import _execute_graph
from oxdask.utils import funcname

__all__ = ["get", "get_context"]

CPU_COUNT = os.cpu_count() or 1

_pool_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_params: tuple | None = None


def get_context():
    """The ``multiprocessing`` context of config ``multiprocessing.context``."""
    name = config.get("multiprocessing.context", "spawn")
    return multiprocessing.get_context(name)


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process (set as ``__cause__``)."""

    def __init__(self, tb: str):
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return self.tb


def _dumps(obj) -> bytes:
    import cloudpickle

    return cloudpickle.dumps(obj, protocol=5)


def _run_payload(payload: bytes, loads: Callable | None = None):
    """Run in a worker: unpickle ``(func, args, kwargs)``, call, pickle the outcome."""
    try:
        func, args, kwargs = (loads or pickle.loads)(payload)
        result = func(*args, **kwargs) if kwargs else func(*args)
    except BaseException as exc:
        tb = traceback.format_exc()
        try:
            return False, _dumps((exc, tb))
        except Exception:
            return False, _dumps((RuntimeError(f"{type(exc).__name__}: {exc}"), tb))
    try:
        return True, _dumps(result)
    except Exception as exc:
        error = TypeError(
            f"The result of task function {funcname(func)!r} could not be serialized to send it "
            f"back from the worker process: {type(exc).__name__}: {exc}"
        )
        return False, _dumps((error, traceback.format_exc()))


def _serialization_error(func, args, kwargs, exc: BaseException, dumps) -> BaseException:
    name = funcname(func)
    try:
        dumps(func)
        what = f"the arguments of task function {name!r}"
    except Exception:
        what = f"task function {name!r} ({func!r})"
    msg = (
        f"Could not serialize {what} to send it to a worker process of the 'processes' "
        f"scheduler: {type(exc).__name__}: {exc}"
    )
    try:
        error = type(exc)(msg)
    except Exception:
        error = pickle.PicklingError(msg)
    if not isinstance(error, Exception) or str(error) != msg:
        error = pickle.PicklingError(msg)
    return error


def _shutdown_pool() -> None:
    global _pool, _pool_params
    with _pool_lock:
        pool, _pool, _pool_params = _pool, None, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _get_pool(num_workers: int, initializer) -> ProcessPoolExecutor:
    global _pool, _pool_params
    context = config.get("multiprocessing.context", "spawn")
    params = (num_workers, context, initializer)
    with _pool_lock:
        if _pool is not None and _pool_params == params and not _is_broken(_pool):
            return _pool
        old = _pool
        _pool = ProcessPoolExecutor(
            num_workers, mp_context=multiprocessing.get_context(context), initializer=initializer
        )
        _pool_params = params
    if old is not None:
        old.shutdown(wait=False, cancel_futures=True)
    return _pool


def _is_broken(pool) -> bool:
    return bool(getattr(pool, "_broken", False))


def _make_submit(pool, dumps: Callable, loads: Callable | None) -> Callable:
    is_executor = isinstance(pool, Executor)

    def submit(func, args, kwargs):
        if getattr(func, "_oxdask_in_caller", False):
            # a cheap step on results already here (e.g. a bag reduction's aggregation):
            # shipping its inputs to a worker and back would cost more than running it
            return func(*args, **kwargs) if kwargs else func(*args)
        try:
            payload = dumps((func, args, kwargs))
        except Exception as exc:
            raise _serialization_error(func, args, kwargs, exc, dumps) from exc
        try:
            if is_executor:
                ok, data = pool.submit(_run_payload, payload, loads).result()
            else:  # multiprocessing.Pool
                ok, data = pool.apply_async(_run_payload, (payload, loads)).get()
        except BrokenProcessPool:
            if pool is _pool:
                _shutdown_pool()
            raise
        value = pickle.loads(data)
        if ok:
            return value
        exc, tb = value
        if isinstance(exc, BaseException):
            exc.__cause__ = RemoteTraceback(tb)
            raise exc
        raise RuntimeError(f"task {funcname(func)!r} failed in a worker process:\n{tb}")

    return submit


def get(
    dsk: Mapping,
    keys,
    num_workers=None,
    func_loads=None,
    func_dumps=None,
    optimize_graph=True,
    pool=None,
    initializer=None,
    chunksize=None,
    **kwargs: Any,
):
    """Run a graph with worker processes (the ``"processes"`` scheduler).

    Parameters
    ----------
    dsk : Mapping
        The task graph.
    keys : key or list
        A key, or nested lists of keys; the result has the same nesting.
    num_workers : int, optional
        Worker processes (and engine threads). Defaults to config ``num_workers``, then
        ``os.cpu_count()``.
    func_loads, func_dumps : callable, optional
        Serialization of ``(func, args, kwargs)``; cloudpickle by default.
    optimize_graph : bool
        Accepted for compatibility (the engine always culls).
    pool : Executor or multiprocessing.Pool, optional
        Run tasks there instead of the cached pool.
    initializer : callable, optional
        Run at the start of each worker process of the cached pool.
    chunksize : int, optional
        Accepted for compatibility and ignored.
    **kwargs
        ``callbacks=``, ``cache=``; other options are accepted and ignored.

    Notes
    -----
    Task functions and their arguments must be serializable with cloudpickle; otherwise a
    ``PicklingError`` (or the serializer's own exception type) naming the function is raised.
    Exceptions raised by tasks are re-raised with their type and message, with the worker's
    traceback as ``__cause__``.
    """
    n = int(num_workers or config.get("num_workers", None) or CPU_COUNT)
    if pool is None:
        pool = _get_pool(n, initializer)
    else:
        n = int(num_workers or getattr(pool, "_max_workers", None) or n)
    submit = _make_submit(pool, func_dumps or _dumps, func_loads)
    kwargs.setdefault("scheduler_name", "processes")
    return _execute_graph(dsk, keys, num_workers=n, submit=submit, **kwargs)
