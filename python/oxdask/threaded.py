"""The multi-threaded scheduler (``dask.threaded`` names)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from oxdask import config
from oxdask.local import _execute_graph

__all__ = ["get"]

CPU_COUNT = os.cpu_count() or 1


def _num_workers(num_workers, pool=None) -> int:
    if num_workers:
        return int(num_workers)
    if pool is not None:
        size = getattr(pool, "_max_workers", None) or getattr(pool, "_processes", None)
        if size:
            return int(size)
    return int(config.get("num_workers", None) or CPU_COUNT)


def get(dsk: Mapping, keys, cache=None, num_workers=None, pool=None, **kwargs):
    """Run a graph with a pool of threads (the ``"threads"`` scheduler).

    Parameters
    ----------
    dsk : Mapping
        The task graph.
    keys : key or list
        A key, or nested lists of keys; the result has the same nesting.
    cache : Mapping, optional
        Known results, used instead of running the matching tasks.
    num_workers : int, optional
        Number of threads. Defaults to config ``num_workers``, then ``os.cpu_count()``.
    pool : Executor, optional
        Only its size is used (tasks run on the engine's own threads).
    **kwargs
        ``callbacks=``; other options are accepted and ignored.

    Examples
    --------
    >>> from operator import add
    >>> get({"x": 1, "y": (add, "x", 1)}, "y")
    2
    """
    kwargs.setdefault("scheduler_name", "threads")
    return _execute_graph(
        dsk, keys, num_workers=_num_workers(num_workers, pool), cache=cache, **kwargs
    )
