"""Profilers of local computations: tasks, resources and the results held (``dask.diagnostics``).

All three are :class:`~oxdask.callbacks.Callback` objects: use them in a ``with`` block (the
computations inside it are recorded) or with :meth:`~oxdask.callbacks.Callback.register`
(every computation until ``unregister``; clear old results with ``clear()``). They work with the
``sync``, ``threads`` and ``processes`` schedulers. While a :class:`Profiler` or
:class:`CacheProfiler` is active, the engine does not fuse linear chains of tasks
(``optimization.fuse.active`` is ``False``), so that every task of the graph is recorded, as in
Dask.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from timeit import default_timer

from oxdask import _core
from oxdask.callbacks import Callback
from oxdask.core import get_dependencies, istask, literal
from oxdask.diagnostics._sampler import _Tracker

__all__ = [
    "CacheData",
    "CacheProfiler",
    "Profiler",
    "ResourceData",
    "ResourceProfiler",
    "TaskData",
]

TaskData = namedtuple("TaskData", ("key", "task", "start_time", "end_time", "worker_id"))
ResourceData = namedtuple("ResourceData", ("time", "mem", "cpu"))
CacheData = namedtuple("CacheData", ("key", "task", "metric", "cache_time", "free_time"))


_unfused_lock = threading.Lock()
_unfused_users = 0
_unfused_setting = None


def _hold_unfused() -> None:
    """Turn the engine's task fusion off until the matching :func:`_release_unfused`."""
    global _unfused_users, _unfused_setting
    from oxdask import config

    with _unfused_lock:
        if _unfused_users == 0:
            _unfused_setting = config.set({"optimization.fuse.active": False})
        _unfused_users += 1


def _release_unfused() -> None:
    global _unfused_users, _unfused_setting
    with _unfused_lock:
        if _unfused_users == 0:
            return
        _unfused_users -= 1
        if _unfused_users == 0:
            setting, _unfused_setting = _unfused_setting, None
            setting.__exit__(None, None, None)


class _PerTask(Callback):
    """A callback that needs every task reported on its own (no fused chains); it records
    the graphs it sees and when its ``with`` block starts and ends."""

    def __enter__(self):
        self.clear()
        self.start_time = default_timer()
        _hold_unfused()
        return super().__enter__()

    def __exit__(self, *args):
        self.end_time = default_timer()
        _release_unfused()
        return super().__exit__(*args)

    def _start(self, dsk):
        self._dsk.update(dsk)

    def register(self) -> None:
        """Activate for all later computations (turning task fusion off meanwhile)."""
        if self._callback not in Callback.active:
            _hold_unfused()
        super().register()

    def unregister(self) -> None:
        """Deactivate (after :meth:`register`)."""
        super().unregister()
        _release_unfused()


def _is_task(key, dsk) -> bool:
    """Whether ``key`` names a computation, not data given in the graph (which the engine
    also reports, but Dask's schedulers do not)."""
    try:
        value = dsk[key]
    except (KeyError, TypeError):
        return True  # a task of a compact layer
    if istask(value):
        return not (len(value) == 1 and isinstance(value[0], literal))
    if isinstance(value, (list, tuple, set, dict)):
        try:
            return bool(get_dependencies(dsk, task=value))
        except Exception:
            return False
    return False


def _graph_tasks(dsk, keys):
    """``{key: (task, dependencies)}`` of the tasks run for ``keys``, compact layers expanded.

    Empty when the graph cannot be expanded (the run itself then reports the problem).
    """
    layers = tuple(getattr(dsk, "__oxdask_layers__", None) or ())
    try:
        rows = _core.graph_tasks(dsk, list(keys), layers=layers)
    except Exception:
        return {}
    return {key: (task, deps) for key, task, deps in rows}


class Profiler(_PerTask):
    """Record the start and end time of every task.

    ``results`` is a list of :class:`TaskData` ``(key, task, start_time, end_time,
    worker_id)``, one per task run (times from :func:`timeit.default_timer`, in seconds); a
    failed run keeps the tasks that finished. ``start_time`` and ``end_time`` are those of the
    ``with`` block.

    Examples
    --------
    >>> from operator import add, mul
    >>> from oxdask.threaded import get
    >>> dsk = {"x": 1, "y": (add, "x", 10), "z": (mul, "y", 2)}
    >>> with Profiler() as prof:
    ...     get(dsk, "z")
    22
    >>> sorted(row.key for row in prof.results)
    ['y', 'z']
    """

    def __init__(self):
        self._results = {}
        self.results = []
        self._dsk = {}
        self._keys = []
        self.start_time = None
        self.end_time = None

    def _start_state(self, dsk, state):
        self._keys = state.get("keys", [])

    def _pretask(self, key, dsk, state):
        self._results[key] = [key, None, default_timer()]

    def _posttask(self, key, value, dsk, state, worker_id):
        end = default_timer()
        row = self._results.get(key)
        if row is not None:
            row += (end, worker_id)

    def _finish(self, dsk, state, errored):
        rows = [row for row in self._results.values() if len(row) == 5]
        self._results.clear()
        rows = [row for row in rows if _is_task(row[0], dsk)]
        missing = False
        for row in rows:
            try:
                row[1] = dsk[row[0]]
            except (KeyError, TypeError):
                missing = True
        if missing:
            # Tasks of compact layers are not in the dict: rebuild them.
            tasks = _graph_tasks(dsk, self._keys)
            for row in rows:
                if row[0] in tasks:
                    row[1] = tasks[row[0]][0]
        self.results.extend(TaskData(*row) for row in rows)

    def _plot(self, **kwargs):
        from oxdask.diagnostics.profile_visualize import plot_tasks

        return plot_tasks(self.results, self._dsk, self.start_time, self.end_time, **kwargs)

    def visualize(self, **kwargs):
        """Plot the results with bokeh; see :func:`oxdask.diagnostics.visualize`."""
        from oxdask.diagnostics.profile_visualize import visualize

        return visualize(self, **kwargs)

    def clear(self):
        """Forget the recorded results."""
        self._results.clear()
        del self.results[:]
        self._dsk = {}
        self.start_time = None
        self.end_time = None


class ResourceProfiler(Callback):
    """Sample the memory (MB, resident) and CPU use (%) of this process and its children.

    ``results`` is a list of :class:`ResourceData` ``(time, mem, cpu)``, one every ``dt``
    seconds. Used as a ``with`` block it samples during the whole block (results appear at its
    end); registered, during each computation (results appear when it finishes). Needs
    ``psutil``; a small Python process samples (so that busy tasks holding the GIL do not delay
    it), started when first needed and stopped by :meth:`close` or at the end of the block.

    Parameters
    ----------
    dt : float, optional
        Seconds between samples.

    Examples
    --------
    >>> from operator import add
    >>> from oxdask.threaded import get
    >>> with ResourceProfiler(dt=0.01) as rprof:
    ...     get({"x": (add, 1, 2)}, "x")
    3
    >>> len(rprof.results) > 0
    True
    """

    def __init__(self, dt=1):
        self._dt = dt
        self._entered = False
        self._tracker = None
        self.results = []
        self.start_time = None
        self.end_time = None

    def _is_running(self):
        return self._tracker is not None and self._tracker.is_alive()

    def _start_collect(self):
        if not self._is_running():
            self._tracker = _Tracker(self._dt)
        self._tracker.collect()

    def _stop_collect(self):
        if self._is_running():
            self.results.extend(ResourceData(*row) for row in self._tracker.take())

    def __enter__(self):
        self._entered = True
        self.clear()
        self.start_time = default_timer()
        self._start_collect()
        return super().__enter__()

    def __exit__(self, *args):
        self._entered = False
        self._stop_collect()
        self.close()
        self.end_time = default_timer()
        super().__exit__(*args)

    def _start(self, dsk):
        self._start_collect()

    def _finish(self, dsk, state, errored):
        if not self._entered:
            self._stop_collect()

    def close(self):
        """Stop the sampling process (it restarts when needed)."""
        tracker, self._tracker = self._tracker, None
        if tracker is not None:
            tracker.shutdown()

    def __del__(self):
        tracker = getattr(self, "_tracker", None)
        if tracker is not None:
            tracker.shutdown()

    def clear(self):
        """Forget the recorded results."""
        self.results = []
        self.start_time = None
        self.end_time = None

    def _plot(self, **kwargs):
        from oxdask.diagnostics.profile_visualize import plot_resources

        return plot_resources(self.results, self.start_time, self.end_time, **kwargs)

    def visualize(self, **kwargs):
        """Plot the results with bokeh; see :func:`oxdask.diagnostics.visualize`."""
        from oxdask.diagnostics.profile_visualize import visualize

        return visualize(self, **kwargs)


def _count(value):
    return 1


class CacheProfiler(_PerTask):
    """Record how long each task result is held in memory, and a size metric of it.

    ``results`` is a list of :class:`CacheData` ``(key, task, metric, cache_time,
    free_time)``: a result enters when its task finishes and leaves when its last dependent
    finished (requested results stay until the end of the computation).

    Parameters
    ----------
    metric : callable, optional
        Size of a result (``metric(value)``); every result counts 1 by default.
    metric_name : str, optional
        Name of the metric in plots (the function's name, or ``"count"``, by default).

    Examples
    --------
    >>> from operator import add, mul
    >>> from oxdask.threaded import get
    >>> dsk = {"x": 1, "y": (add, "x", 10), "z": (mul, "y", 2)}
    >>> with CacheProfiler() as cprof:
    ...     get(dsk, "z")
    22
    >>> [(row.key, row.metric) for row in cprof.results]
    [('y', 1), ('z', 1)]
    """

    def __init__(self, metric=None, metric_name=None):
        self.clear()
        self._metric = metric or _count
        if metric_name:
            self._metric_name = metric_name
        elif metric:
            self._metric_name = getattr(metric, "__name__", type(metric).__name__)
        else:
            self._metric_name = "count"

    def _start_state(self, dsk, state):
        graph = _graph_tasks(dsk, state.get("keys", []))
        waiting = dict.fromkeys(graph, 0)
        for _, deps in graph.values():
            for dep in deps:
                if dep in waiting:
                    waiting[dep] += 1
        self._graph = graph
        self._waiting = waiting
        self._wanted = set(state.get("keys", []))
        self._done = set()

    def _task(self, key, dsk):
        entry = self._graph.get(key)
        if entry is not None:
            return entry[0]
        return dsk.get(key)

    def _posttask(self, key, value, dsk, state, worker_id):
        metric = self._metric(value) if _is_task(key, dsk) else None
        with self._lock:
            now = default_timer()
            if metric is not None:
                self._cache[key] = (metric, now)
            # A finished task implies its dependencies finished: those the engine fused into
            # it are never reported on their own.
            stack = [key]
            while stack:
                k = stack.pop()
                if k in self._done:
                    continue
                self._done.add(k)
                for dep in self._graph.get(k, ((), ()))[1]:
                    if dep not in self._waiting:
                        continue
                    self._waiting[dep] -= 1
                    if self._waiting[dep] == 0 and dep not in self._wanted:
                        self._release(dep, dsk, now)
                    if dep not in self._done:
                        stack.append(dep)

    def _release(self, key, dsk, now):
        entry = self._cache.pop(key, None)
        if entry is not None:
            metric, start = entry
            self.results.append(CacheData(key, self._task(key, dsk), metric, start, now))

    def _finish(self, dsk, state, errored):
        now = default_timer()
        with self._lock:
            for key in list(self._cache):
                self._release(key, dsk, now)
            self._graph, self._waiting, self._done = {}, {}, set()

    def _plot(self, **kwargs):
        from oxdask.diagnostics.profile_visualize import plot_cache

        return plot_cache(
            self.results,
            self._dsk,
            self.start_time,
            self.end_time,
            self._metric_name,
            **kwargs,
        )

    def visualize(self, **kwargs):
        """Plot the results with bokeh; see :func:`oxdask.diagnostics.visualize`."""
        from oxdask.diagnostics.profile_visualize import visualize

        return visualize(self, **kwargs)

    def clear(self):
        """Forget the recorded results."""
        self.results = []
        self._cache = {}
        self._dsk = {}
        self._graph, self._waiting, self._wanted, self._done = {}, {}, set(), set()
        self._lock = threading.Lock()
        self.start_time = None
        self.end_time = None
