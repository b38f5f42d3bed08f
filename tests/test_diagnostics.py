"""Callbacks and the progress bar."""

from __future__ import annotations

import io
import re
import threading
import time
from operator import add

import pytest

import oxdask
from oxdask import _core, compute, delayed
from oxdask.diagnostics import Callback, ProgressBar


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
