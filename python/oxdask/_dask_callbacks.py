"""Callbacks of the real ``dask.callbacks`` module run by oxdask's local schedulers.

Dask's callbacks (``tqdm.dask.TqdmCallback``, ``dask.diagnostics.ProgressBar``...) read
Dask's scheduler state: the sizes of ``state["ready"]``, ``["waiting"]``, ``["running"]`` and
``["finished"]``. They get a copy of oxdask's state where these four are live counters over the
engine's progress (their length is right; they hold no keys), plus an empty ``"released"``
set and ``"cache"`` dict. As the engine counts the tasks once it has optimized the graph,
their ``start_state`` runs just before the first task (or at the end when no task ran).
"""

from __future__ import annotations

import sys
import threading

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
        self.start, self.start_state, self.pretask, self.posttask, self.finish = cb
        self._lock = threading.Lock()
        self._dsk = None
        self._state = None
        self._dstate = None

    def _begin(self, dsk, state):
        self._dsk, self._state, self._dstate = dsk, state, None

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
            self.pretask(key, dsk, ds)

    def _post(self, key, result, dsk, state, worker_id):
        self.posttask(key, result, dsk, self._ready(), worker_id)

    def _end(self, dsk, state, errored):
        ds = self._ready()
        if self.finish is not None:
            self.finish(dsk, ds, errored)

    def as_tuple(self) -> tuple:
        # The per-task hook is only installed when the callback needs it.
        pre = self._pre if (self.pretask is not None or self.start_state is not None) else None
        post = self._post if self.posttask is not None else None
        return (self.start, self._begin, pre, post, self._end)


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
