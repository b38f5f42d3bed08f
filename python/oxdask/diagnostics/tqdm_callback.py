"""``TqdmCallback``: a tqdm progress bar for local computations (``tqdm.dask``'s interface)."""

from __future__ import annotations

import threading
from functools import partial

from oxdask.callbacks import Callback

__all__ = ["TqdmCallback"]


def _default_tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "TqdmCallback needs tqdm: pip install tqdm (or oxdask[diagnostics])"
        ) from e
    return tqdm


class TqdmCallback(Callback):
    """Show a `tqdm <https://tqdm.github.io>`_ bar for each local computation.

    The interface of ``tqdm.dask.TqdmCallback``: activate with a ``with`` block or
    :meth:`~oxdask.callbacks.Callback.register`. In a notebook ``tqdm.auto`` draws an ipywidgets
    bar, in a terminal a text bar. The bar counts the tasks the engine runs (a fused chain is
    one task). A timer thread reads the engine's counters, so the bar adds no work per task.

    Parameters
    ----------
    start, pretask : callable, optional
        As for :class:`~oxdask.callbacks.Callback`.
    tqdm_class : class, optional
        The tqdm class drawing the bars (``tqdm.auto.tqdm`` by default).
    **tqdm_kwargs
        Passed to every bar (``desc=``, ``leave=``, ``file=``, ``mininterval=``...);
        ``mininterval`` (0.1 s by default) is also the time between two reads of the counters.

    Examples
    --------
    >>> import io, oxdask
    >>> out = io.StringIO()
    >>> with TqdmCallback(file=out, desc="sum"):
    ...     oxdask.delayed(sum)([oxdask.delayed(1), 2]).compute()
    3
    >>> "sum: 100%" in out.getvalue()
    True
    """

    def __init__(self, start=None, pretask=None, tqdm_class=None, **tqdm_kwargs):
        super().__init__(start=start, pretask=pretask)
        if tqdm_class is None:
            tqdm_class = _default_tqdm()
        self._interval = float(tqdm_kwargs.get("mininterval", 0.1))
        if tqdm_kwargs:
            tqdm_class = partial(tqdm_class, **tqdm_kwargs)
        self.tqdm_class = tqdm_class
        self.pbar = None
        self._timer = None

    def _start_state(self, dsk, state):
        self._progress = state.get("progress")
        self._sized = False
        self.pbar = self.tqdm_class(total=None)
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._poll, daemon=True, name="oxdask-tqdm")
        self._timer.start()

    def _poll(self):
        # Short waits until the engine has counted the tasks, then one read per interval.
        wait = min(0.005, self._interval)
        while not self._stop.wait(wait):
            self._update()
            wait = min(wait * 2, self._interval) if self._sized else wait

    def _update(self):
        progress, pbar = self._progress, self.pbar
        if progress is None or pbar is None:
            return
        total = progress.total
        if not total:
            return
        if not self._sized:
            self._sized = True
            started = getattr(pbar, "start_t", None)
            pbar.reset(total=total)  # sets the widget's maximum too
            if started is not None:  # the elapsed time counts from the start
                pbar.start_t = started
        done = progress.done
        if done > pbar.n:
            pbar.update(done - pbar.n)

    def _finish(self, dsk, state, errored):
        if self._timer is None:  # start_state did not run
            return
        self._stop.set()
        self._timer.join()
        self._timer = None
        self._update()
        self.pbar.close()

    def display(self):
        """Display the bar in the current notebook cell (the widget of ``tqdm.notebook``)."""
        container = getattr(self.pbar, "container", None)
        if container is None:
            return
        from IPython.display import display

        display(container)
