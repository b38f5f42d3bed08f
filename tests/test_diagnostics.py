"""Callbacks and the progress bar."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import warnings
from html.parser import HTMLParser
from operator import add

import pytest

import oxdask
from oxdask import _core, compute, delayed
from oxdask.diagnostics import (
    CacheProfiler,
    Callback,
    Profiler,
    ProgressBar,
    ResourceProfiler,
    visualize,
)


def inc(x):
    return x + 1


def slow_inc(x):
    time.sleep(0.02)
    return x + 1


def fail(x):
    raise ValueError("no")


def small_graph():
    a = delayed(inc)(1, dask_key_name="a")
    b = delayed(inc)(a, dask_key_name="b")
    return delayed(add)(a, b, dask_key_name="c")


@pytest.mark.parametrize("scheduler", ["threads", "sync", "processes"])
def test_callback_functions_receive_events(scheduler):
    events = []
    lock = threading.Lock()

    def start(dsk):
        events.append(("start", sorted(dsk)))

    def start_state(dsk, state):
        events.append(("start_state", state["keys"], state["scheduler"]))

    def pretask(key, dsk, state):
        with lock:
            events.append(("pre", key))

    def posttask(key, result, dsk, state, worker_id):
        with lock:
            events.append(("post", key, result))

    def finish(dsk, state, errored):
        events.append(("finish", errored, state["stats"]["tasks"]))

    with (
        oxdask.config.set({"optimization.fuse.active": False}),
        Callback(start, start_state, pretask, posttask, finish),
    ):
        assert small_graph().compute(scheduler=scheduler) == 5

    assert events[0] == ("start", ["a", "b", "c"])
    assert events[1] == ("start_state", ["c"], scheduler)
    assert events[-1] == ("finish", False, 3)
    posts = {e[1]: e[2] for e in events if e[0] == "post"}
    assert posts == {"a": 2, "b": 3, "c": 5}
    pres = [e[1] for e in events if e[0] == "pre"]
    assert sorted(pres) == ["a", "b", "c"]
    assert events.index(("pre", "a")) < events.index(("post", "a", 2))
    assert events.index(("post", "a", 2)) < events.index(("pre", "b"))


def test_subclass_methods_and_state():
    class Recorder(Callback):
        def __init__(self):
            self.log = []
            self.workers = set()

        def _start(self, dsk):
            self.log.append("start")

        def _start_state(self, dsk, state):
            self.state = state

        def _posttask(self, key, result, dsk, state, worker_id):
            self.workers.add(worker_id)

        def _finish(self, dsk, state, errored):
            self.log.append(("finish", errored))

    rec = Recorder()
    xs = [delayed(slow_inc)(i) for i in range(8)]
    with rec:
        assert compute(xs, scheduler="threads", num_workers=2)[0] == list(range(1, 9))
    assert rec.log == ["start", ("finish", False)]
    assert rec.state["num_workers"] == 2
    progress = rec.state["progress"]
    assert progress.total == progress.done == 8
    assert rec.workers
    assert all(isinstance(w, int) for w in rec.workers)


def test_finish_reports_errors():
    seen = []
    with (
        Callback(finish=lambda dsk, state, errored: seen.append(errored)),
        pytest.raises(ValueError, match="no"),
    ):
        delayed(fail)(1).compute()
    assert seen == [True]


def test_register_unregister_and_active_set():
    starts = []
    cb = Callback(start=lambda dsk: starts.append(1))
    assert cb._callback not in Callback.active
    cb.register()
    try:
        assert cb._callback in Callback.active
        delayed(inc)(1).compute()
        delayed(inc)(2).compute()
    finally:
        cb.unregister()
    assert cb._callback not in Callback.active
    delayed(inc)(3).compute()
    assert starts == [1, 1]


def test_context_manager_removes_on_exit():
    cb = Callback(start=lambda dsk: None)
    with cb:
        assert cb._callback in Callback.active
    assert cb._callback not in Callback.active


def test_callbacks_inactive_during_their_run():
    nested_seen = []

    def inner(x):
        nested_seen.append(len(Callback.active))
        return delayed(inc)(x).compute(scheduler="sync")

    starts = []
    with Callback(start=lambda dsk: starts.append(1)):
        assert delayed(inner)(1).compute(scheduler="sync") == 2
    assert starts == [1]
    assert nested_seen == [0]


def test_per_task_hooks_only_when_needed(monkeypatch):
    seen = []
    real = _core.get

    def spy(dsk, keys, **kwargs):
        seen.append((kwargs["pretask"] is None, kwargs["posttask"] is None))
        return real(dsk, keys, **kwargs)

    monkeypatch.setattr(_core, "get", spy)
    x = delayed(inc)(1)
    x.compute()
    with ProgressBar(out=io.StringIO()):
        x.compute()
    with Callback(posttask=lambda *a: None):
        x.compute()
    with Callback(pretask=lambda *a: None):
        x.compute()
    assert seen == [(True, True), (True, True), (True, False), (False, True)]


def _lines(text):
    return [line for line in text.split("\r") if line]


def test_progress_bar_output():
    out = io.StringIO()
    xs = [delayed(slow_inc)(i) for i in range(20)]
    with ProgressBar(out=out, dt=0.01, width=20) as pbar:
        assert compute(xs, scheduler="threads", num_workers=2)[0] == list(range(1, 21))
    text = out.getvalue()
    assert text.endswith("\n")
    final = _lines(text)[-1].rstrip("\n")
    assert re.fullmatch(r"\[#{20}\] \| 100% Completed \| \d+\.\d\d (s|ms)", final)
    percents = [int(m) for m in re.findall(r"\| (\d+)% Completed", text)]
    assert percents == sorted(percents)
    assert any(0 < p < 100 for p in percents)
    assert pbar.last_duration > 0.1


def test_progress_bar_minimum_hides_fast_runs():
    out = io.StringIO()
    with ProgressBar(minimum=10, out=out):
        delayed(inc)(1).compute()
    assert out.getvalue() == ""


def test_progress_bar_on_error_stops_short():
    out = io.StringIO()

    def late_fail(x):
        time.sleep(0.05)
        raise ValueError("late")

    xs = [delayed(slow_inc)(i) for i in range(5)] + [delayed(late_fail)(0)]
    with ProgressBar(out=out, dt=0.01), pytest.raises(ValueError, match="late"):
        compute(xs, scheduler="sync")
    text = out.getvalue()
    assert "100% Completed" not in text
    assert text.endswith("\n")


def test_progress_bar_register():
    out = io.StringIO()
    pbar = ProgressBar(out=out)
    pbar.register()
    try:
        delayed(inc)(1).compute()
    finally:
        pbar.unregister()
    assert "100% Completed" in out.getvalue()
    before = out.getvalue()
    delayed(inc)(1).compute()
    assert out.getvalue() == before


def test_progress_bar_matches_dask_format():
    dask = pytest.importorskip("dask")
    from dask.diagnostics import ProgressBar as DaskProgressBar

    outs = []
    for mod, cls in ((dask, DaskProgressBar), (oxdask, ProgressBar)):
        out = io.StringIO()
        with cls(out=out, width=10):
            mod.delayed(inc)(1).compute(scheduler="sync")
        outs.append(re.sub(r"\d+\.\d+ (s|ms|us)", "T", _lines(out.getvalue())[-1]))
    assert outs[0] == outs[1]


def test_progress_format_time_deprecated_as_dask():
    from oxdask.diagnostics.progress import format_time

    cases = {1.4: " 1.4s", 10.4: "10.4s", 100.4: " 1min 40.4s", 1000.4: "16min 40.4s"}
    cases[10000.4] = " 2hr 46min 40.4s"
    for t, text in cases.items():
        with pytest.warns(FutureWarning, match="dask.utils.format_time"):
            got = format_time(t)
        assert got == text


# --- visualize (bokeh) ---------------------------------------------------------------------


class _Scripts(HTMLParser):
    """The ``<script>`` elements of an HTML page: (attributes, text)."""

    def __init__(self):
        super().__init__()
        self.scripts = []
        self.tags = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "script":
            self._current = [dict(attrs), ""]
            self.scripts.append(self._current)

    def handle_endtag(self, tag):
        if tag == "script":
            self._current = None

    def handle_data(self, data):
        if self._current is not None:
            self._current[1] += data


def _data_sources(html_text):
    """The ``data`` of every ColumnDataSource in a bokeh HTML file, as dicts of lists."""
    parser = _Scripts()
    parser.feed(html_text)
    parser.close()
    docs = [
        json.loads(text)
        for attrs, text in parser.scripts
        if attrs.get("type") == "application/json"
    ]
    assert len(docs) == 1
    found = []

    def walk(obj):
        if isinstance(obj, dict):
            if obj.get("name") == "ColumnDataSource":
                found.append(dict(obj["attributes"]["data"]["entries"]))
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(docs)
    return parser, found


def _profiled_run():
    xs = [delayed(slow_inc)(i, dask_key_name=f"inc-{i}") for i in range(6)]
    total = delayed(sum)(xs, dask_key_name="total")
    with Profiler() as prof, ResourceProfiler(dt=0.01) as rprof, CacheProfiler() as cprof:
        assert total.compute(scheduler="threads", num_workers=2) == sum(range(1, 7))
    return prof, rprof, cprof


def test_visualize_writes_offline_html(tmp_path):
    pytest.importorskip("bokeh")
    prof, rprof, cprof = _profiled_run()
    assert len(prof.results) == 7
    fn = tmp_path / "profile.html"
    p = visualize([prof, rprof, cprof], filename=str(fn), show=False)
    assert len(p.children) == 3
    text = fn.read_text()
    parser, sources = _data_sources(text)
    assert parser.tags[0] == "html"
    # Offline: bokeh's JavaScript is inlined, nothing is loaded from elsewhere.
    assert all("src" not in attrs for attrs, _ in parser.scripts)
    assert "Bokeh" in parser.scripts[0][1]
    # One rectangle per task, at its time and worker row.
    (tasks,) = [s for s in sources if "key" in s]
    assert sorted(tasks["key"]) == sorted(str(r.key) for r in prof.results)
    assert len(tasks["x"]) == len(tasks["width"]) == len(tasks["y"]) == 7
    widths = dict(zip(tasks["key"], tasks["width"], strict=True))
    for r in prof.results:
        assert widths[r.key] == pytest.approx(r.end_time - r.start_time)
    assert set(tasks["y"]) <= {1, 2}
    # CPU and memory lines, one point per sample.
    lines = [s for s in sources if "label" not in s and "key" not in s]
    assert any(len(s["x"]) == len(rprof.results) for s in lines)
    # Cache lines, one per task name.
    labels = {s["label"][0] for s in sources if "label" in s}
    assert labels == {"inc", "total"}


def test_profiler_plot_options_as_dask():
    bokeh = pytest.importorskip("bokeh")
    prof, rprof, cprof = _profiled_run()
    for profiler in (prof, rprof, cprof):
        p = profiler.visualize(
            width=500, height=300, tools="hover", title="Not the default", show=False, save=False
        )
        assert (p.width, p.height) == (500, 300)
        assert len(p.tools) == 1
        assert isinstance(p.tools[0], bokeh.models.HoverTool)
        assert p.title.text == "Not the default"
    assert cprof.visualize(show=False, save=False).axis[1].axis_label == "Cache Size (count)"
    with pytest.raises(AttributeError, match="foo_bar"):
        cprof.visualize(foo_bar="fake", show=False, save=False)
    # Empty profilers plot too, without warnings.
    for profiler in (prof, rprof, cprof):
        profiler.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = visualize([prof, rprof, cprof], show=False, save=False)
    assert p.children[0][0].title.text == "Profile Results"
    assert p.children[1][0].title is None


def test_resource_plot_bounds():
    pytest.importorskip("bokeh")
    rprof = ResourceProfiler()
    for results in [[], [(1.0, 0, 0)]]:
        rprof.results, rprof.start_time, rprof.end_time = results, 0.0, 1.0
        p = rprof.visualize(show=False, save=False)
        assert (p.x_range.start, p.x_range.end) == (0, 1)
        assert (p.y_range.start, p.y_range.end) == (0, 100)
        memory = p.extra_y_ranges["memory"]
        assert (memory.start, memory.end) == (0, 100)


def test_visualize_file_path_deprecated(tmp_path):
    pytest.importorskip("bokeh")
    prof, _, _ = _profiled_run()
    fn = tmp_path / "old.html"
    with pytest.warns(FutureWarning, match="file_path keyword argument is deprecated"):
        prof.visualize(show=False, file_path=str(fn))
    assert "<html" in fn.read_text().lower()


def test_get_colors_and_unquote():
    pytest.importorskip("bokeh")
    from bokeh.palettes import Blues5, Blues256

    from oxdask.diagnostics.profile_visualize import get_colors, unquote

    assert set(get_colors("Blues", list(range(11)))) < set(Blues256)
    assert len(set(get_colors("Blues", list(range(11))))) == 11
    assert get_colors("Blues", list(range(5))) == list(Blues5)
    assert len(set(get_colors("BrBG", [0, 1, 0, 1]))) == 2
    assert len(set(get_colors("Viridis", list(range(100))))) == 100
    assert unquote((dict, [["a", 1], ["b", [1, 2]]])) == {"a": 1, "b": [1, 2]}
    assert unquote((tuple, [1, 2])) == (1, 2)
    assert unquote([1, 2, 3]) == [1, 2, 3]


def test_visualize_without_bokeh(monkeypatch):
    for name in [m for m in sys.modules if m == "bokeh" or m.startswith("bokeh.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "bokeh", None)
    prof = Profiler()
    with prof:
        delayed(inc)(1).compute()
    with pytest.raises(ImportError, match="`bokeh`"):
        prof.visualize(show=False, save=False)
    with pytest.raises(ImportError, match="pip install bokeh"):
        visualize([prof], show=False, save=False)


@pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"),
    reason="needs chromium (.ci/run installs it; under CI a missing one fails)",
)
def test_visualize_renders_in_headless_chromium(tmp_path):
    pytest.importorskip("bokeh")
    prof, rprof, cprof = _profiled_run()
    fn = tmp_path / "profile.html"
    visualize([prof, rprof, cprof], filename=str(fn), show=False)
    proc = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            fn.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert any("document idle" in line for line in console), proc.stderr[-2000:]
    assert not [line for line in console if "error" in line.lower()], console
    # bokeh built the plot's elements
    assert "bk-GridPlot" in proc.stdout
