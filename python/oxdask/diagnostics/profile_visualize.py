"""Bokeh plots of profiler results (``dask.diagnostics.profile_visualize`` names).

Needs the optional ``bokeh`` package (``pip install oxdask[diagnostics]``). Files are written
with bokeh's JavaScript inlined, so they open offline.
"""

from __future__ import annotations

import random
import warnings
from bisect import bisect_left
from itertools import accumulate, cycle

from oxdask.core import istask
from oxdask.utils import key_split

__all__ = [
    "fix_bounds",
    "get_colors",
    "plot_cache",
    "plot_resources",
    "plot_tasks",
    "unquote",
    "visualize",
]

_BOKEH_MISSING = (
    "Diagnostics plots require the `bokeh` package: pip install bokeh (or oxdask[diagnostics])"
)


def _bokeh(module="bokeh.plotting"):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(_BOKEH_MISSING) from e


def BOKEH_VERSION():
    """The installed bokeh version (a ``packaging`` ``Version``)."""
    from packaging.version import Version

    return Version(_bokeh("bokeh").__version__)


def unquote(expr):
    """Turn ``(dict, [[k, v], ...])`` and ``(list|tuple|set, [...])`` tasks into their values."""
    if istask(expr):
        func = expr[0]
        if func in (tuple, list, set):
            return func(map(unquote, expr[1]))
        if func is dict and isinstance(expr[1], list) and expr[1] and isinstance(expr[1][0], list):
            return dict(map(unquote, expr[1]))
    return expr


def _unique(items):
    return list(dict.fromkeys(items))


def get_colors(palette, funcs):
    """One color of the bokeh palette named ``palette`` per item of ``funcs`` (equal items,
    equal colors), from the smallest variant of the palette with enough colors."""
    palettes = _bokeh("bokeh.palettes")
    names = sorted(_unique(funcs))
    variants = palettes.all_palettes[palette]
    sizes = sorted(variants)
    size = sizes[min(bisect_left(sizes, len(names)), len(sizes) - 1)]
    colors = _unique(variants[size])
    if len(colors) > len(names):
        # A fixed shuffle spreads few names over the whole palette.
        random.Random(42).shuffle(colors)
    lookup = dict(zip(names, cycle(colors)))
    return [lookup[f] for f in funcs]


def visualize(profilers, filename="profile.html", show=True, save=None, mode=None, **kwargs):
    """Plot the results of one profiler, or of several stacked vertically, with bokeh.

    Parameters
    ----------
    profilers : profiler or list of profilers
    filename : str, optional
        HTML file written when ``save``.
    show : bool, optional
        Open the plot in a browser.
    save : bool, optional
        Write ``filename`` (default: unless in a notebook).
    mode : str, optional
        bokeh's resources mode for the file; ``"inline"`` (works offline) by default.
    **kwargs
        Passed to ``bokeh.plotting.figure``, overriding the defaults.

    Returns
    -------
    The bokeh figure (or grid of figures).
    """
    bp = _bokeh()
    from bokeh.io import state

    if "file_path" in kwargs:
        warnings.warn(
            "The file_path keyword argument is deprecated and will be removed in a future "
            "release. Please use filename instead.",
            FutureWarning,
            stacklevel=2,
        )
        filename = kwargs.pop("file_path")
    if save is None:
        save = not state.curstate().notebook
    if not isinstance(profilers, list):
        profilers = [profilers]
    figs = [prof._plot(**kwargs) for prof in profilers]
    if len(figs) == 1:
        p = figs[0]
    else:
        top = figs[0]
        for f in figs[1:]:
            f.x_range = top.x_range
            f.title = None
            f.min_border_top = 20
            f.height -= 30
        for f in figs[:-1]:
            f.xaxis.axis_label = None
            f.min_border_bottom = 20
            f.height -= 30
        for f in figs:
            f.min_border_left = 75
            f.min_border_right = 75
        p = bp.gridplot([[f] for f in figs])
    if show:
        bp.show(p)
    if save:
        bp.output_file(filename, title="Profile Results", mode=mode or "inline")
        bp.save(p)
    return p


def _figure_defaults(tools, kwargs):
    defaults = {
        "title": "Profile Results",
        "tools": tools,
        "toolbar_location": "above",
        "width": 800,
        "height": 300,
    }
    for old, new in (("plot_width", "width"), ("plot_height", "height")):
        if old in kwargs:
            warnings.warn(f"Use {new} instead of {old} with Bokeh >= 3", stacklevel=3)
            kwargs[new] = kwargs.pop(old)
    defaults.update(kwargs)
    return defaults


def _label(task, size):
    text = repr(task)
    return text if len(text) <= size else text[: size - 3] + "..."


def plot_tasks(results, dsk, start_time, end_time, palette="Viridis", label_size=60, **kwargs):
    """Gantt chart of :class:`~oxdask.diagnostics.Profiler` results: one bar per task, one
    row per worker (the busiest first), colored by the task's name (its key's prefix).

    Parameters
    ----------
    results : list of TaskData
    dsk : dict
        The graph profiled (unused; kept for Dask's signature).
    start_time, end_time : float
        The profile's bounds (seconds).
    palette : str, optional
        Name of a bokeh palette.
    label_size : int, optional
        Longest task label shown in the tooltip.
    **kwargs
        Passed to ``bokeh.plotting.figure``.
    """
    bp = _bokeh()
    from bokeh.models import HoverTool

    defaults = _figure_defaults("hover,save,reset,xwheel_zoom,xpan", kwargs)
    if results:
        if start_time is None:
            start_time = min(r.start_time for r in results)
        if end_time is None:
            end_time = max(r.end_time for r in results)
        busy: dict = {}
        for r in results:
            busy[r.worker_id] = busy.get(r.worker_id, 0.0) + (r.end_time - r.start_time)
        order = sorted(busy, key=busy.__getitem__, reverse=True)
        row_of = {w: i for i, w in enumerate(order)}
        p = bp.figure(
            y_range=[str(i) for i in range(len(row_of))],
            x_range=[0, end_time - start_time],
            **defaults,
        )
        widths = [r.end_time - r.start_time for r in results]
        starts = [r.start_time - start_time for r in results]
        labels = [_label(r.task, label_size) for r in results]
        source = bp.ColumnDataSource(
            data={
                "x": [s + w / 2 for s, w in zip(starts, widths, strict=True)],
                "y": [row_of[r.worker_id] + 1 for r in results],
                "width": widths,
                "function": labels,
                "color": get_colors(palette, [key_split(r.key) for r in results]),
                "key": [str(r.key) for r in results],
            }
        )
        p.rect(
            source=source,
            x="x",
            y="y",
            height=1,
            width="width",
            color="color",
            line_color="gray",
        )
    else:
        p = bp.figure(y_range=[str(i) for i in range(8)], x_range=[0, 10], **defaults)
    p.grid.grid_line_color = None
    p.axis.axis_line_color = None
    p.axis.major_tick_line_color = None
    p.yaxis.axis_label = "Worker ID"
    p.xaxis.axis_label = "Time (s)"
    hover = p.select(HoverTool)
    hover.tooltips = [("Key", "@key"), ("Task", "@function")]
    hover.point_policy = "follow_mouse"
    return p


def fix_bounds(start, end, min_span):
    """``(start, end)`` widened so that the span is at least ``min_span``."""
    return start, max(end, start + min_span)


def plot_resources(results, start_time, end_time, palette="Viridis", **kwargs):
    """CPU (%) and memory (MB, right axis) over time from
    :class:`~oxdask.diagnostics.ResourceProfiler` results.

    Parameters
    ----------
    results : list of ResourceData
    start_time, end_time : float
        The profile's bounds (seconds).
    palette : str, optional
        Name of a bokeh palette.
    **kwargs
        Passed to ``bokeh.plotting.figure``.
    """
    bp = _bokeh()
    from bokeh import palettes
    from bokeh.models import LinearAxis, Range1d

    kwargs.pop("label_size", None)
    defaults = _figure_defaults("save,reset,xwheel_zoom,xpan", kwargs)
    if results:
        times, mem, cpu = (list(col) for col in zip(*results, strict=True))
        if start_time is None:
            start_time = times[0]
        if end_time is None:
            end_time = times[-1]
        times = [t - start_time for t in times]
        p = bp.figure(
            y_range=fix_bounds(0, max(cpu), 100),
            x_range=fix_bounds(0, end_time - start_time, 1),
            **defaults,
        )
    else:
        times, mem, cpu = [], [], []
        p = bp.figure(y_range=(0, 100), x_range=(0, 1), **defaults)
    colors = palettes.all_palettes[palette][6]
    p.line(times, cpu, color=colors[0], line_width=4, legend_label="% CPU")
    p.yaxis.axis_label = "% CPU"
    low, high = (min(mem), max(mem)) if mem else (0, 100)
    p.extra_y_ranges = {"memory": Range1d(*fix_bounds(low, high, 100))}
    p.line(times, mem, color=colors[2], y_range_name="memory", line_width=4, legend_label="Memory")
    p.add_layout(LinearAxis(y_range_name="memory", axis_label="Memory (MB)"), "right")
    p.xaxis.axis_label = "Time (s)"
    return p


def plot_cache(
    results,
    dsk,
    start_time,
    end_time,
    metric_name,
    palette="Viridis",
    label_size=60,
    **kwargs,
):
    """Size of the results held over time, one line per task name (key prefix), from
    :class:`~oxdask.diagnostics.CacheProfiler` results.

    Parameters
    ----------
    results : list of CacheData
    dsk : dict
        The graph profiled (unused; kept for Dask's signature).
    start_time, end_time : float
        The profile's bounds (seconds).
    metric_name : str
        Name of the size metric (y axis label).
    palette : str, optional
        Name of a bokeh palette.
    label_size : int, optional
        Longest task label shown in the tooltip.
    **kwargs
        Passed to ``bokeh.plotting.figure``.
    """
    bp = _bokeh()
    from bokeh.models import HoverTool

    defaults = _figure_defaults("hover,save,reset,wheel_zoom,xpan", kwargs)
    if results:
        if start_time is None:
            start_time = min(r.cache_time for r in results)
        if end_time is None:
            end_time = max(r.free_time for r in results)
        tics = sorted({r.cache_time for r in results} | {r.free_time for r in results})
        groups: dict = {}
        for r in results:
            groups.setdefault(key_split(r.key)[:label_size], []).append(r)
        p = bp.figure(x_range=[0, end_time - start_time], **defaults)
        xs = [0] + [t - start_time for t in tics]
        colors = get_colors(palette, list(groups))
        for (label, rows), color in zip(groups.items(), colors, strict=True):
            change = dict.fromkeys(tics, 0)
            for r in rows:
                change[r.cache_time] += r.metric
                change[r.free_time] -= r.metric
            ys = [0, *accumulate(change[t] for t in tics)]
            source = bp.ColumnDataSource({"x": xs, "y": ys, "label": [label] * len(ys)})
            p.line("x", "y", line_color=color, line_width=3, source=source)
    else:
        p = bp.figure(y_range=[0, 10], x_range=[0, 10], **defaults)
    p.yaxis.axis_label = f"Cache Size ({metric_name})"
    p.xaxis.axis_label = "Time (s)"
    hover = p.select(HoverTool)
    hover.tooltips = [("Task", "@label")]
    return p
