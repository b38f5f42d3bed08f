"""A text progress bar for local computations."""

from __future__ import annotations

import contextlib
import sys
import threading
import warnings
from timeit import default_timer

from oxdask.callbacks import Callback
from oxdask.utils import format_time as _format_elapsed

__all__ = ["ProgressBar"]


def format_time(t):
    """Deprecated: ``" 1min 40.4s"``-style duration; use :func:`oxdask.utils.format_time`.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     format_time(100.4)
    ' 1min 40.4s'
    """
    warnings.warn(
        "oxdask.diagnostics.progress.format_time is deprecated; "
        "use oxdask.utils.format_time (as dask.utils.format_time) instead",
        FutureWarning,
        stacklevel=2,
    )
    minutes, seconds = divmod(t, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours:2.0f}hr {minutes:2.0f}min {seconds:4.1f}s"
    if minutes:
        return f"{minutes:2.0f}min {seconds:4.1f}s"
    return f"{seconds:4.1f}s"


class ProgressBar(Callback):
    """Print a progress bar while computations run.

    A timer thread redraws ``[####      ] | 40% Completed | 1.20 s`` every ``dt`` seconds
    from the engine's task counters; a final line shows 100% (or the progress reached when the
    computation failed). It costs nothing per task.

    Parameters
    ----------
    minimum : float, optional
        Show nothing for computations shorter than this many seconds.
    width : int, optional
        Width of the bar in characters.
    dt : float, optional
        Seconds between redraws.
    out : file, optional
        Where to write (``sys.stdout`` by default).

    Attributes
    ----------
    last_duration : float
        Duration of the last computation in seconds.

    Examples
    --------
    >>> import io, oxdask
    >>> buf = io.StringIO()
    >>> with ProgressBar(out=buf):
    ...     (oxdask.delayed(1) + 1).compute()
    2
    >>> "100% Completed" in buf.getvalue()
    True
    """

    def __init__(self, minimum=0, width=40, dt=0.1, out=None):
        if out is None:
            out = sys.stdout
        self._minimum = minimum
        self._width = width
        self._dt = dt
        self._file = out
        self.last_duration = 0.0
        self._progress = None

    def _start(self, dsk):
        self._progress = None
        self._start_time = default_timer()
        self._running = True
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._timer_func, daemon=True)
        self._timer.start()

    def _start_state(self, dsk, state):
        self._progress = state.get("progress")

    def _finish(self, dsk, state, errored):
        self._running = False
        self._stop.set()
        self._timer.join()
        elapsed = default_timer() - self._start_time
        self.last_duration = elapsed
        if elapsed < self._minimum:
            return
        if errored:
            self._update_bar(elapsed)
        else:
            self._draw_bar(1.0, elapsed)
        if self._file is not None:
            with contextlib.suppress(ValueError):
                self._file.write("\n")
                self._file.flush()

    def _timer_func(self):
        while self._running:
            elapsed = default_timer() - self._start_time
            if elapsed > self._minimum:
                self._update_bar(elapsed)
            if self._stop.wait(self._dt):
                break

    def _update_bar(self, elapsed):
        progress = self._progress
        if progress is None:
            self._draw_bar(0.0, elapsed)
            return
        done, total = progress.done, progress.total
        if done < total or not total:
            self._draw_bar(done / total if total else 0.0, elapsed)

    def _draw_bar(self, frac, elapsed):
        bar = "#" * int(self._width * frac)
        percent = int(100 * frac)
        msg = f"\r[{bar:<{self._width}}] | {percent}% Completed | {_format_elapsed(elapsed)}"
        if self._file is not None:
            with contextlib.suppress(ValueError):
                self._file.write(msg)
                self._file.flush()
