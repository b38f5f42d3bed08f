"""``progress``: a progress bar over futures and persisted collections.

In a terminal one text line, redrawn until everything has finished (blocking). In a Jupyter
kernel an ipywidgets bar, returned at once and updated by a timer thread (as Dask's: make the
call the last expression of the cell, or pass the result to ``display``).
"""

from __future__ import annotations

import html
import sys
import threading
import time
from collections import Counter

from oxdask.distributed.future import futures_of
from oxdask.utils import format_time, key_split, parse_timedelta

__all__ = ["MultiProgressWidget", "ProgressWidget", "progress"]


def _in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (where widgets can be shown)."""
    if "IPython" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def _grouper(group_by):
    if group_by in ("prefix", "spans"):  # no spans in oxdask: tasks group by key prefix
        return key_split
    if callable(group_by):
        return group_by
    raise ValueError("`group_by` should be 'spans', 'prefix', or a Callable")


def progress(*futures, notebook=None, multi=True, complete=True, group_by="prefix",
             interval=0.1, file=None, width: int = 40, **kwargs):  # fmt: skip
    """Show the progress of futures (or persisted collections) until they finish.

    Parameters
    ----------
    *futures : Future, collections of futures, or persisted collections
    notebook : bool, optional
        Draw an ipywidgets bar (default: when running in a Jupyter kernel and ipywidgets is
        installed, else the text bar). The widget is returned at once; the call must be the
        last expression of its cell to be shown (or pass the widget to ``display``).
    multi : bool
        In a notebook, one bar per group of keys (their prefix, e.g. ``inc``).
    complete : bool
        Accepted for compatibility: the futures given are tracked, finished or not.
    group_by : {"prefix", "spans"} or callable
        How keys are grouped by ``multi`` (``key -> name``); ``"spans"`` groups by prefix.
    interval : float or str
        Time between redraws (seconds, or a string such as ``"100ms"``).
    file : file, optional
        Terminal only: where the text bar goes (standard error by default).
    width : int
        Terminal only: width of the text bar.

    Returns
    -------
    None in a terminal (after everything finished); in a notebook the
    :class:`MultiProgressWidget` or :class:`ProgressWidget`.

    Failed and cancelled futures count as finished, as in Dask.
    """
    group = _grouper(group_by)
    interval = parse_timedelta(interval)
    unique = futures_of(list(futures))
    if notebook is None:
        notebook = _in_kernel() and _have_widgets()
    if notebook:
        if multi:
            return MultiProgressWidget(unique, interval=interval, group_by=group)
        return ProgressWidget(unique, interval=interval)
    _text_bar(unique, interval, file, width)
    return None


def _text_bar(unique, interval, file, width) -> None:
    out = file if file is not None else sys.stderr
    start = time.monotonic()
    while True:
        done = sum(1 for f in unique if f.done())
        frac = done / len(unique) if unique else 1.0
        bar = "#" * int(width * frac)
        elapsed = time.monotonic() - start
        out.write(f"\r[{bar:<{width}}] | {frac:4.0%} Completed | {elapsed:.1f}s")
        out.flush()
        if done == len(unique):
            break
        time.sleep(interval)
    out.write("\n")
    out.flush()


def _have_widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _widgets():
    try:
        import ipywidgets
    except ImportError as e:
        raise ImportError(
            "progress(notebook=True) needs ipywidgets: pip install ipywidgets "
            "(or oxdask[diagnostics])"
        ) from e
    return ipywidgets


def _div(body: str, align: str = "left") -> str:
    return f'<div style="padding: 0px 10px 0px 10px; text-align: {align}">{body}</div>'


class _WidgetBar:
    """A widget redrawn by a timer thread until every future has finished."""

    def __init__(self, futures, interval=0.1):
        self.futures = list(futures)
        self.interval = float(interval)
        self._start = time.monotonic()
        self.status = _widgets().HTML("")
        self._build()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="oxdask-progress")
        self._thread.start()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def _run(self) -> None:
        while True:
            finished = self._draw()
            if finished:
                break
            time.sleep(self.interval)
        self._draw_stop()
        self._done.set()

    def _draw_stop(self) -> None:
        failed = [f for f in self.futures if f.status == "error"]
        if failed:
            try:
                exc = failed[0].exception(timeout=0)
            except Exception as e:  # pragma: no cover - the exception is not retrievable
                exc = e
            text = f"<b>Exception</b> <tt>{html.escape(repr(exc))}</tt>: "
            self.status.value = _div(text + format_time(self.elapsed))
        else:
            self.status.value = _div(f"<b>Finished:</b> {format_time(self.elapsed)}")

    def _computing(self) -> None:
        self.status.value = _div(f"<b>Computing:</b> {format_time(self.elapsed)}")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the bar has drawn its final state; whether it has."""
        return self._done.wait(timeout)

    def _ipython_display_(self, **kwargs) -> None:
        from IPython.display import display

        display(self.widget, **kwargs)


class ProgressWidget(_WidgetBar):
    """One ipywidgets bar for all the futures (``progress(..., multi=False)``)."""

    def _build(self) -> None:
        w = _widgets()
        self.bar = w.FloatProgress(min=0, max=1, description="")
        self.bar_text = w.HTML("")
        self.widget = w.VBox([self.status, w.HBox([self.bar_text, self.bar])])

    def _draw(self) -> bool:
        total = len(self.futures)
        done = sum(1 for f in self.futures if f.done())
        self.bar.value = done / total if total else 1.0
        self.bar_text.value = _div(f"{done} / {total}", "right")
        if done < total:
            self._computing()
            return False
        failed = any(f.status != "finished" for f in self.futures)
        self.bar.bar_style = "danger" if failed else "success"
        return True


class MultiProgressWidget(_WidgetBar):
    """One ipywidgets bar per group of keys (``progress(..., multi=True)``)."""

    def __init__(self, futures, interval=0.1, group_by=key_split):
        futures = list(futures)
        self._groups = [str(group_by(f.key)) for f in futures]
        super().__init__(futures, interval)

    def _build(self) -> None:
        w = _widgets()
        counts = Counter(self._groups)
        # most numerous groups first, then by name
        order = sorted(counts, key=lambda g: (-counts[g], g))
        self.counts = {g: counts[g] for g in order}
        self.bars = {g: w.FloatProgress(min=0, max=1, description="") for g in order}
        self.bar_texts = {g: w.HTML("") for g in order}
        self.bar_labels = {g: w.HTML(_div(html.escape(g))) for g in order}
        rows = [w.HBox([self.bar_texts[g], self.bars[g], self.bar_labels[g]]) for g in order]
        self.widget = w.VBox([self.status, w.VBox(rows)])

    def _draw(self) -> bool:
        done: Counter = Counter()
        failed: set = set()
        for f, g in zip(self.futures, self._groups, strict=True):
            if f.done():
                done[g] += 1
                if f.status != "finished":
                    failed.add(g)
        for g, total in self.counts.items():
            self.bars[g].value = done[g] / total if total else 1.0
            self.bar_texts[g].value = _div(f"{done[g]} / {total}", "right")
        if sum(done.values()) < len(self.futures):
            self._computing()
            return False
        for g, bar in self.bars.items():
            bar.bar_style = "danger" if g in failed else "success"
        return True
