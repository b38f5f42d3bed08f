"""Callbacks of the real ``dask.callbacks`` module run by oxdask's local schedulers.

Dask's callbacks (``tqdm.dask.TqdmCallback``, ``dask.diagnostics.ProgressBar``...) read
Dask's scheduler state: the sizes of ``state["ready"]``, ``["waiting"]``, ``["running"]`` and
``["finished"]``. They get a copy of oxdask's state where these four are live counters over the
engine's progress (their length is right; they hold no keys), plus an empty ``"released"``
set and ``"cache"`` dict. As the engine counts the tasks once it has optimized the graph,
their ``start_state`` runs just before the first task (or at the end when no task ran). The
graph they receive also answers for the tasks of compact (Blockwise...) layers, which the
graph's dict does not hold.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping

__all__ = ["adapt", "take_active"]


class _Count:
    """A container that only knows its length, read from the engine's progress."""

    __slots__ = ("_progress", "_what")

    def __init__(self, progress, what: str):
        self._progress = progress
        self._what = what

    def __len__(self) -> int:
        p = self._progress
        if p is None:
            return 0
        if self._what == "finished":
            return p.done
        if self._what == "waiting":
            return max(p.total - p.done, 0)
        return 0

    def __iter__(self):
        return iter(())

    def __contains__(self, key) -> bool:
        return False

    def __bool__(self) -> bool:
        return len(self) > 0

    def __repr__(self) -> str:
        return f"<{self._what}: {len(self)} tasks>"


class _GraphView(Mapping):
    """The graph's dict, plus the tasks of its compact layers once one is asked for."""

    def __init__(self, dsk):
        self._dsk = dsk
        self._keys = None
        self._more = None
        self._lock = threading.Lock()

    def _expanded(self) -> dict:
        if self._more is None:
            with self._lock:
                if self._more is None:
                    from oxdask import _core

                    layers = tuple(getattr(self._dsk, "__oxdask_layers__", None) or ())
                    more = {}
                    if layers and self._keys:
                        try:
                            rows = _core.graph_tasks(self._dsk, list(self._keys), layers=layers)
                        except Exception:  # the run itself reports a bad graph
                            rows = ()
                        more = {k: task for k, task, _ in rows if k not in self._dsk}
                    self._more = more
        return self._more

    def __getitem__(self, key):
        try:
            return self._dsk[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable key
            raise KeyError(key) from None
        return self._expanded()[key]

    def __contains__(self, key) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __iter__(self):
        yield from self._dsk
        if self._more:
            yield from self._more

    def __len__(self) -> int:
        return len(self._dsk) + len(self._more or ())


def _dask_state(state: dict) -> dict:
    progress = state.get("progress")
    out = dict(state)
    for name in ("ready", "waiting", "running", "finished"):
        out[name] = _Count(progress, name)
    out["released"] = set()
    out["cache"] = {}
    return out


class _Adapter:
    def __init__(self, cb: tuple):
        self.start_, self.start_state, self.pretask, self.posttask, self.finish = cb
        self._lock = threading.Lock()
        self._dsk = None
        self._state = None
        self._dstate = None

    def _view(self, dsk) -> _GraphView:
        if self._dsk is None or self._dsk._dsk is not dsk:
            self._dsk = _GraphView(dsk)
        return self._dsk

    def _start(self, dsk):
        self._dsk = None
        if self.start_ is not None:
            self.start_(self._view(dsk))

    def _begin(self, dsk, state):
        self._view(dsk)._keys = state.get("keys")
        self._state, self._dstate = state, None

    def _ready(self) -> dict:
        ds = self._dstate
        if ds is None:
            with self._lock:
                ds = self._dstate
                if ds is None:
                    ds = _dask_state(self._state or {})
                    if self.start_state is not None:
                        self.start_state(self._dsk, ds)
                    self._dstate = ds
        return ds

    def _pre(self, key, dsk, state):
        ds = self._ready()
        if self.pretask is not None:
            self.pretask(key, self._dsk, ds)

    def _post(self, key, result, dsk, state, worker_id):
        self.posttask(key, result, self._dsk, self._ready(), worker_id)

    def _end(self, dsk, state, errored):
        ds = self._ready()
        if self.finish is not None:
            self.finish(self._dsk, ds, errored)

    def as_tuple(self) -> tuple:
        # The per-task hook is only installed when the callback needs it.
        pre = self._pre if (self.pretask is not None or self.start_state is not None) else None
        post = self._post if self.posttask is not None else None
        return (self._start, self._begin, pre, post, self._end)


def adapt(cb: tuple) -> tuple:
    """The oxdask callback tuple running Dask's ``(start, ..., finish)`` tuple ``cb``."""
    return _Adapter(cb).as_tuple()


def is_dask_callback(cb) -> bool:
    """Whether ``cb`` is an instance of the real ``dask.callbacks.Callback``."""
    mod = sys.modules.get("dask.callbacks")
    return mod is not None and isinstance(cb, mod.Callback)


def take_active() -> tuple[set, object]:
    """Dask's active callbacks, deactivated for the run: ``(callbacks, restore)``.

    ``restore()`` activates them again. Without ``dask.callbacks`` imported, nothing.
    """
    mod = sys.modules.get("dask.callbacks")
    if mod is None or not mod.Callback.active:
        return set(), None
    active, mod.Callback.active = mod.Callback.active, set()

    def restore():
        mod.Callback.active = active

    return active, restore
