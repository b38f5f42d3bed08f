"""TqdmCallback, Dask's own callbacks on oxdask computations, and what callbacks cost."""

from __future__ import annotations

import io
import re
import threading
import time
from operator import add
from typing import ClassVar

import pytest

import oxdask
from oxdask import _core, delayed
from oxdask.callbacks import Callback
from oxdask.diagnostics import TqdmCallback

tqdm = pytest.importorskip("tqdm").tqdm


def inc(x):
    return x + 1


def slow_inc(x):
    time.sleep(0.01)
    return x + 1


def tree(n, func=inc):
    level = [delayed(func)(i) for i in range(n)]
    while len(level) > 1:
        nxt = [delayed(add)(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


class Recorder:
    """A tqdm stand-in recording what the callback does with it."""

    made: ClassVar[list[Recorder]] = []

    def __init__(self, total=None, **kwargs):
        self.total, self.kwargs, self.n = total, kwargs, 0
        self.resets, self.updates, self.closed = [], [], False
        self.thread = threading.current_thread()
        Recorder.made.append(self)

    def reset(self, total=None):
        self.resets.append(total)
        self.total, self.n = total, 0

    def update(self, k=1):
        self.updates.append(k)
        self.n += k

    def close(self):
        self.closed = True


@pytest.fixture
def recorder():
    Recorder.made = []
    return Recorder


def _tqdm_threads():
    return [t for t in threading.enumerate() if t.name == "oxdask-tqdm"]


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_bar_counts_every_task(scheduler):
    out = io.StringIO()
    with TqdmCallback(tqdm_class=tqdm, file=out, desc="tree"):
        result = tree(500).compute(scheduler=scheduler)
    assert result == sum(range(1, 501))
    text = out.getvalue()
    # 500 leaves + 499 additions, none fused (every add has two inputs)
    assert re.search(r"tree: 100%.*\b999/999\b", text), text[-300:]
    assert not _tqdm_threads()


def test_kwargs_and_register(recorder):
    cb = TqdmCallback(tqdm_class=recorder, desc="x", leave=False)
    cb.register()
    try:
        assert oxdask.compute(tree(40), tree(8, slow_inc)) == (820, 36)
    finally:
        cb.unregister()
    (bar,) = recorder.made
    assert bar.kwargs == {"desc": "x", "leave": False}
    assert bar.resets == [79 + 15]
    assert bar.n == 94
    assert bar.closed
    assert all(k > 0 for k in bar.updates)
    # unregistered: no more bars
    assert tree(4).compute() == 10
    assert len(recorder.made) == 1


def test_error_closes_bar_before_the_end(recorder):
    def boom(x):
        raise ZeroDivisionError("boom")

    level = [delayed(inc)(i) for i in range(20)] + [delayed(boom)(0)]
    total = delayed(sum)(level)
    with pytest.raises(ZeroDivisionError, match="boom"), TqdmCallback(tqdm_class=recorder):
        total.compute(scheduler="sync")
    (bar,) = recorder.made
    assert bar.closed
    assert bar.n < bar.total
    assert not _tqdm_threads()


def test_bar_moves_during_a_long_run(recorder):
    with TqdmCallback(tqdm_class=recorder, mininterval=0.01):
        assert tree(30, slow_inc).compute(scheduler="sync") == sum(range(1, 31))
    (bar,) = recorder.made
    assert bar.n == 59
    assert len(bar.updates) > 3  # updated while running, not only at the end


def test_empty_graph_and_cached_results(recorder):
    x = oxdask.delayed(5)
    with TqdmCallback(tqdm_class=recorder):
        assert oxdask.compute(x) == (5,)
    assert all(bar.closed for bar in recorder.made)


class _SpyGet:
    def __init__(self, monkeypatch):
        self.calls = []
        real = _core.get

        def spy(*args, **kwargs):
            self.calls.append(kwargs)
            return real(*args, **kwargs)

        monkeypatch.setattr(_core, "get", spy)


def test_no_per_task_hook_without_a_callback(monkeypatch):
    spy = _SpyGet(monkeypatch)
    assert tree(10).compute() == 55
    with TqdmCallback(file=io.StringIO(), tqdm_class=tqdm):
        assert tree(10).compute() == 55
    assert [(c["pretask"], c["posttask"]) for c in spy.calls] == [(None, None)] * 2
    with Callback(posttask=lambda *a: None):
        assert tree(10).compute() == 55
    assert spy.calls[-1]["posttask"] is not None


# -- callbacks of the real dask.callbacks module -------------------------------------------


@pytest.fixture
def dask_callbacks():
    mod = pytest.importorskip("dask.callbacks")
    before = set(mod.Callback.active)
    yield mod
    assert mod.Callback.active == before


def test_tqdm_dask_callback_on_oxdask(dask_callbacks):
    from tqdm.dask import TqdmCallback as DaskTqdm

    out = io.StringIO()
    with DaskTqdm(tqdm_class=tqdm, file=out, desc="dask"):
        assert tree(300).compute() == sum(range(1, 301))
    assert re.search(r"dask: 100%.*\b599/599\b", out.getvalue()), out.getvalue()[-300:]


def test_dask_progressbar_on_oxdask(dask_callbacks):
    from dask.diagnostics import ProgressBar as DaskProgressBar

    out = io.StringIO()
    with DaskProgressBar(out=out, dt=0.01):
        assert tree(20, slow_inc).compute(scheduler="sync") == sum(range(1, 21))
    text = out.getvalue()
    assert "100% Completed" in text
    fractions = [int(p) for p in re.findall(r"\| *(\d+)% Completed", text)]
    assert any(0 < p < 100 for p in fractions), text


def test_dask_callback_sees_state_and_keys(dask_callbacks):
    seen = {"pre": [], "post": [], "finish": []}
    lock = threading.Lock()

    def start_state(dsk, state):
        seen["sizes"] = {k: len(state[k]) for k in ("ready", "waiting", "running", "finished")}
        seen["pre_before_start"] = list(seen["pre"])

    def pretask(key, dsk, state):
        with lock:
            seen["pre"].append(key)

    def posttask(key, result, dsk, state, worker_id):
        with lock:
            seen["post"].append((key, result))

    def finish(dsk, state, errored):
        seen["finish"].append((errored, len(state["finished"]), len(state["waiting"])))

    x = tree(16)
    cb = dask_callbacks.Callback(
        start_state=start_state, pretask=pretask, posttask=posttask, finish=finish
    )
    # passed explicitly, not only activated
    assert oxdask.compute(x, callbacks=[cb]) == (sum(range(1, 17)),)
    assert seen["pre_before_start"] == []
    assert seen["sizes"] == {"ready": 0, "waiting": 31, "running": 0, "finished": 0}
    assert len(seen["pre"]) == len(seen["post"]) == 31
    assert (x.key, sum(range(1, 17))) in seen["post"]
    assert seen["finish"] == [(False, 31, 0)]


def test_dask_callbacks_not_seen_by_nested_computations(dask_callbacks):
    starts = []

    def inner(i):
        return delayed(inc)(i).compute(scheduler="sync")

    with dask_callbacks.Callback(start=lambda dsk: starts.append(len(dsk))):
        assert delayed(inner)(1).compute(scheduler="sync") == 2
        assert dask_callbacks.Callback.active
    assert len(starts) == 1


def test_dask_callback_errored(dask_callbacks):
    finished = []

    def boom():
        raise ValueError("no")

    cb = dask_callbacks.Callback(finish=lambda dsk, state, errored: finished.append(errored))
    with pytest.raises(ValueError, match="no"), cb:
        delayed(boom)().compute()
    assert finished == [True]


def test_without_tqdm(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="pip install tqdm"):
        TqdmCallback()
    TqdmCallback(tqdm_class=Recorder)  # a class of one's own needs no tqdm


def test_dask_profilers_on_oxdask_arrays(dask_callbacks):
    np = pytest.importorskip("numpy")
    da = pytest.importorskip("oxdask.array")
    from dask.diagnostics import CacheProfiler, Profiler

    x = da.arange(64, chunks=8).reshape((8, 8)).rechunk(4)
    y = (x + 1).sum(axis=0)
    with Profiler() as prof, CacheProfiler() as cprof:
        result = y.compute()
    np.testing.assert_array_equal(result, (np.arange(64).reshape(8, 8) + 1).sum(axis=0))
    keys = [r.key for r in prof.results]
    # the tasks of compact layers are looked up too (they are not in the graph's dict)
    assert {(y.name, 0), (y.name, 1)} <= set(keys)
    assert all(r.task is not None for r in prof.results)
    assert sorted(map(str, keys)) == sorted(str(r.key) for r in cprof.results)
