"""Scheduler callbacks, compatible with ``dask.callbacks``.

The local schedulers call, for every run:

- ``start(dsk)`` before anything else;
- ``start_state(dsk, state)`` once the run state exists;
- ``pretask(key, dsk, state)`` before each task;
- ``posttask(key, result, dsk, state, worker_id)`` after each task;
- ``finish(dsk, state, errored)`` at the end, also after a failure.

``state`` is a small dict built by oxdask (it is not Dask's internal scheduler state):

``"keys"``
    The list of requested keys (flattened).
``"num_workers"``
    Number of threads running tasks.
``"progress"``
    The :class:`oxdask._core.Progress` of the run: ``.done`` and ``.total`` task counts,
    readable from any thread while the run goes on.
``"scheduler"``
    ``"sync"``, ``"threads"``, ``"processes"`` or ``"executor"``.
``"stats"``
    Filled in before ``finish`` on success: the engine's counters (``"tasks"``,
    ``"graph_tasks"``, ``"peak_held"``).

Per-task callbacks cost a Python call per task, so the engine only receives them when some
active callback defines ``pretask`` or ``posttask``. Tasks fused into a chain by the engine are
reported as one task under the chain's final key.

Callbacks of the real ``dask.callbacks`` module (``tqdm.dask.TqdmCallback``,
``dask.diagnostics.ProgressBar``), when Dask is installed too, run as well: see
:mod:`oxdask._dask_callbacks` for the state they see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar

from oxdask import _dask_callbacks

__all__ = ["Callback", "add_callbacks", "local_callbacks", "normalize_callback", "unpack_callbacks"]

_FIELDS = ("_start", "_start_state", "_pretask", "_posttask", "_finish")


class Callback:
    """Base class for scheduler callbacks.

    Pass functions to the constructor, or subclass and define any of ``_start(dsk)``,
    ``_start_state(dsk, state)``, ``_pretask(key, dsk, state)``,
    ``_posttask(key, result, dsk, state, worker_id)``, ``_finish(dsk, state, errored)``.
    Activate with a ``with`` block (for the computations inside it) or with :meth:`register`
    (for all computations until :meth:`unregister`).

    Parameters
    ----------
    start, start_state, pretask, posttask, finish : callable, optional

    Examples
    --------
    >>> import oxdask
    >>> seen = []
    >>> with Callback(pretask=lambda key, dsk, state: seen.append(key)):
    ...     (oxdask.delayed(1, name="one") + 1).compute(scheduler="sync")
    2
    """

    active: ClassVar[set[tuple[Callable | None, ...]]] = set()

    def __init__(
        self,
        start: Callable | None = None,
        start_state: Callable | None = None,
        pretask: Callable | None = None,
        posttask: Callable | None = None,
        finish: Callable | None = None,
    ):
        if start:
            self._start = start
        if start_state:
            self._start_state = start_state
        if pretask:
            self._pretask = pretask
        if posttask:
            self._posttask = posttask
        if finish:
            self._finish = finish

    @property
    def _callback(self) -> tuple[Callable | None, ...]:
        return tuple(getattr(self, name, None) for name in _FIELDS)

    def __enter__(self):
        self._cm = add_callbacks(self)
        self._cm.__enter__()
        return self

    def __exit__(self, *args) -> None:
        self._cm.__exit__(*args)

    def register(self) -> None:
        """Activate for all later computations."""
        Callback.active.add(self._callback)

    def unregister(self) -> None:
        """Deactivate (after :meth:`register`)."""
        Callback.active.remove(self._callback)


def normalize_callback(cb) -> tuple:
    """The ``(start, start_state, pretask, posttask, finish)`` tuple of a callback."""
    if isinstance(cb, Callback):
        return cb._callback
    if isinstance(cb, tuple):
        return cb
    if _dask_callbacks.is_dask_callback(cb):
        return _dask_callbacks.adapt(cb._callback)
    raise TypeError("Callbacks must be either `Callback` or `tuple`")


def unpack_callbacks(cbs) -> tuple[list, ...]:
    """Lists of the ``start``, ``start_state``, ``pretask``, ``posttask``, ``finish`` functions."""
    if cbs:
        return tuple([f for f in group if f] for group in zip(*cbs, strict=True))
    return ([], [], [], [], [])


@contextmanager
def local_callbacks(callbacks=None) -> Iterator:
    """Callbacks for one run.

    With ``callbacks=None`` the active callbacks are used and deactivated during the run (so
    that computations started by tasks do not report to them); otherwise only the given ones.
    """
    use_global = callbacks is None
    restore = None
    run = callbacks
    if use_global:
        callbacks, Callback.active = Callback.active, set()
        foreign, restore = _dask_callbacks.take_active()
        run = [*callbacks, *map(_dask_callbacks.adapt, foreign)] if foreign else callbacks
    try:
        yield run or ()
    finally:
        if use_global:
            Callback.active = callbacks
            if restore is not None:
                restore()


class add_callbacks:
    """Context manager activating callbacks (``Callback`` objects or tuples)."""

    def __init__(self, *callbacks):
        self.callbacks = [normalize_callback(c) for c in callbacks]
        Callback.active.update(self.callbacks)

    def __enter__(self):
        return

    def __exit__(self, *args) -> None:
        for c in self.callbacks:
            Callback.active.discard(c)
