"""Profiler, ResourceProfiler and CacheProfiler on real computations, compared with Dask."""

from __future__ import annotations

import contextlib
import itertools
import sys
import time
from operator import add, mul
from timeit import default_timer

import pytest

import oxdask
from oxdask import compute, delayed
from oxdask.diagnostics import CacheProfiler, Callback, Profiler, ResourceProfiler
from oxdask.diagnostics.profile import CacheData, ResourceData, TaskData
from oxdask.threaded import get

DSK = {"a": 1, "b": 2, "c": (add, "a", "b"), "d": (mul, "a", "b"), "e": (mul, "c", "d")}
SCHEDULERS = ["threads", "sync", "processes"]


def slow_add(x, y):
    time.sleep(0.02)
    return x + y


def slow_inc(x):
    time.sleep(0.03)
    return x + 1


def busy(n):
    total = 0
    end = time.perf_counter() + n
    while time.perf_counter() < end:
        total += 1
    return total


def run(scheduler, dsk=DSK, key="e"):
    return oxdask.get(dsk, key) if scheduler == "sync" else compute_raw(dsk, key, scheduler)


def compute_raw(dsk, key, scheduler):
    if scheduler == "threads":
        return get(dsk, key)
    from oxdask.multiprocessing import get as mp_get

    return mp_get(dsk, key)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_profiler_one_row_per_task(scheduler):
    with Profiler() as prof:
        inside = default_timer()
        assert run(scheduler) == 6
    assert prof.start_time < inside < prof.end_time
    rows = sorted(prof.results, key=lambda r: r.key)
    assert all(isinstance(r, TaskData) for r in rows)
    # Data ("a", "b") is not a task, as in Dask.
    assert [r.key for r in rows] == ["c", "d", "e"]
    assert [r.task for r in rows] == [DSK["c"], DSK["d"], DSK["e"]]
    by_key = {r.key: r for r in rows}
    for r in rows:
        assert prof.start_time <= r.start_time <= r.end_time <= prof.end_time
        assert isinstance(r.worker_id, int)
    assert by_key["e"].start_time >= max(by_key["c"].end_time, by_key["d"].end_time)
    prof.clear()
    assert prof.results == []


def test_profiler_keys_match_dask():
    from dask.diagnostics import Profiler as DaskProfiler
    from dask.threaded import get as dask_get

    dsk = {"x": 1, "y": (add, "x", 10), "z": (mul, "y", 2), "w": [1, "x"], "v": [1, 2]}
    with DaskProfiler() as dprof:
        expected = dask_get(dsk, ["z", "w", "v"])
    with Profiler() as prof:
        assert get(dsk, ["z", "w", "v"]) == expected
    assert sorted(r.key for r in prof.results) == sorted(r.key for r in dprof.results)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_profiler_array_blocks(scheduler):
    da = pytest.importorskip("oxdask.array")
    np = pytest.importorskip("numpy")
    x = da.arange(64, chunks=8).reshape((8, 8)).rechunk(4)
    y = (x + 1).sum(axis=0)
    with Profiler() as prof:
        result = y.compute(scheduler=scheduler)
    np.testing.assert_array_equal(result, (np.arange(64).reshape(8, 8) + 1).sum(axis=0))
    keys = [r.key for r in prof.results]
    assert len(keys) == len(set(keys))
    assert all(r.task is not None for r in prof.results)
    # Every output block comes from a task that was recorded.
    assert sorted(k for k in keys if isinstance(k, tuple) and k[0] == y.name) == [
        (y.name, 0),
        (y.name, 1),
    ]


def test_profiler_threads_records_workers_and_overlap():
    xs = [delayed(slow_inc)(i) for i in range(8)]
    with Profiler() as prof:
        assert compute(xs, scheduler="threads", num_workers=2)[0] == list(range(1, 9))
    assert len(prof.results) == 8
    workers = {r.worker_id for r in prof.results}
    assert len(workers) == 2
    rows = sorted(prof.results, key=lambda r: r.start_time)
    assert any(b.start_time < a.end_time for a, b in itertools.pairwise(rows))
    for r in rows:
        assert r.end_time - r.start_time >= 0.025


def test_profilers_see_every_task_of_a_chain():
    a = delayed(slow_inc)(1, dask_key_name="a")
    b = delayed(slow_inc)(a, dask_key_name="b")
    seen = []
    with Callback(posttask=lambda key, *args: seen.append(key)):
        assert b.compute(scheduler="sync") == 3
    assert seen == ["b"]  # the engine fused the chain
    with Profiler() as prof:
        assert b.compute(scheduler="sync") == 3
    assert sorted(r.key for r in prof.results) == ["a", "b"]
    for r in prof.results:
        assert r.end_time - r.start_time >= 0.025
    with CacheProfiler() as cprof:
        assert b.compute(scheduler="sync") == 3
    rows = {r.key: r for r in cprof.results}
    assert sorted(rows) == ["a", "b"]
    assert rows["a"].free_time == rows["b"].cache_time


def test_profilers_restore_fusion_setting():
    key = "optimization.fuse.active"
    assert oxdask.config.get(key, None) is None
    with Profiler():
        assert oxdask.config.get(key) is False
        with CacheProfiler():
            assert oxdask.config.get(key) is False
        assert oxdask.config.get(key) is False
    assert oxdask.config.get(key, None) is None
    p, c = Profiler(), CacheProfiler()
    p.register()
    c.register()
    p.register()  # already active: no change
    try:
        assert oxdask.config.get(key) is False
        p.unregister()
        assert oxdask.config.get(key) is False
    finally:
        c.unregister()
    assert oxdask.config.get(key, None) is None
    with oxdask.config.set({key: True}):
        with Profiler():
            assert oxdask.config.get(key) is False
        assert oxdask.config.get(key) is True


def test_profiler_works_under_error():
    def div(x, y):
        return x / y

    dsk = {"x": (div, 1, 1), "y": (div, "x", 2), "z": (div, "y", 0)}
    with Profiler() as prof, pytest.raises(ZeroDivisionError):
        get(dsk, "z")
    assert sorted(r.key for r in prof.results) == ["x", "y"]
    assert all(len(r) == 5 for r in prof.results)


def test_profiler_two_gets_and_register():
    with Profiler() as prof:
        get(DSK, "e")
        get(DSK, "e")
    assert len(prof.results) == 6

    prof = Profiler()
    prof.register()
    try:
        get(DSK, "e")
        assert len(prof.results) == 3
        oxdask.get(DSK, "e")
        assert len(prof.results) == 6
    finally:
        prof.unregister()
    get(DSK, "e")
    assert len(prof.results) == 6


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_resource_profiler_samples(scheduler):
    xs = [delayed(busy)(0.3) for _ in range(2)]
    with ResourceProfiler(dt=0.01) as rprof:
        inside = default_timer()
        compute(xs, scheduler=scheduler)
    results = rprof.results
    assert len(results) >= 3, results
    assert all(isinstance(r, ResourceData) for r in results)
    times = [r.time for r in results]
    assert times == sorted(times)
    assert rprof.start_time <= times[0]
    assert times[-1] <= rprof.end_time
    assert rprof.start_time < inside < rprof.end_time
    assert all(r.mem > 1 for r in results)  # MB of resident memory
    assert all(r.cpu >= 0 for r in results)
    assert max(r.cpu for r in results) > 5, results
    assert not rprof._is_running()


def test_resource_profiler_context_collects_at_exit():
    dsk = {"c": (slow_add, 1, 2)}
    with ResourceProfiler(dt=0.01) as rprof:
        get(dsk, "c")
        assert rprof.results == []
        get(dsk, "c")
    assert len(rprof.results) > 0
    rprof.clear()
    assert rprof.results == []
    rprof.close()
    rprof.close()  # idempotent
    assert not rprof._is_running()
    with rprof:  # restarts the tracker
        get(dsk, "c")
    assert len(rprof.results) > 0


def test_resource_profiler_register():
    dsk = {"c": (slow_add, 1, 2)}
    rprof = ResourceProfiler(dt=0.01)
    rprof.register()
    try:
        get(dsk, "c")
        n = len(rprof.results)
        assert n > 0
        time.sleep(0.05)  # not sampled: no computation runs
        assert len(rprof.results) == n
        get(dsk, "c")
        assert len(rprof.results) > n
    finally:
        rprof.unregister()
        rprof.close()
    assert not rprof._is_running()
    assert rprof._tracker is None


def test_resource_profiler_without_psutil(monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)
    rprof = ResourceProfiler(dt=0.01)
    with pytest.raises(ImportError, match="psutil"), rprof:
        pass


def reference_cache_rows(cls, get_fn, dsk, key, **kwargs):
    with cls(**kwargs) as cprof:
        get_fn(dsk, key)
    return cprof


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_cache_profiler_matches_dask(scheduler):
    from dask.diagnostics import CacheProfiler as DaskCacheProfiler
    from dask.threaded import get as dask_get

    dsk = {
        "a": 1,
        "b": 2,
        "c": (add, "a", "b"),
        "d": (mul, "a", "b"),
        "e": (mul, "c", "d"),
        "f": (add, "e", 1),
        "g": (add, "e", "c"),
    }
    dprof = reference_cache_rows(DaskCacheProfiler, dask_get, dsk, ["f", "g"])
    with CacheProfiler() as cprof:
        assert run(scheduler, dsk, ["f", "g"]) == (7, 9)
    rows = {r.key: r for r in cprof.results}
    assert all(isinstance(r, CacheData) for r in cprof.results)
    assert sorted(rows) == sorted(r.key for r in dprof.results) == ["c", "d", "e", "f", "g"]
    assert all(r.metric == 1 for r in rows.values())
    assert rows["c"].task == dsk["c"]
    for r in rows.values():
        assert cprof.start_time <= r.cache_time <= r.free_time <= cprof.end_time
    # A result is freed once its last dependent finished; requested results at the end.
    assert rows["d"].free_time == rows["e"].cache_time
    assert rows["c"].free_time == rows["g"].cache_time
    assert rows["e"].free_time == max(rows["f"].cache_time, rows["g"].cache_time)
    assert (
        rows["f"].free_time == rows["g"].free_time > max(rows["f"].cache_time, rows["g"].cache_time)
    )


def test_cache_profiler_metric_and_name():
    np = pytest.importorskip("numpy")

    def nbytes(value):
        return value.nbytes

    dsk = {"x": (np.ones, 10), "y": (np.ones, 20), "z": (np.add, "x", 1)}
    with CacheProfiler(nbytes) as cprof:
        get(dsk, ["y", "z"])
    assert {r.key: r.metric for r in cprof.results} == {"x": 80, "y": 160, "z": 80}
    assert cprof._metric_name == "nbytes"
    assert CacheProfiler(metric=nbytes, metric_name="foo")._metric_name == "foo"
    assert CacheProfiler()._metric_name == "count"


def test_cache_profiler_fused_chain_frees_its_input():
    a = delayed(slow_inc)(1, dask_key_name="a")
    b = delayed(slow_inc)(a, dask_key_name="b")
    c = delayed(add)(a, b, dask_key_name="c")
    d = delayed(slow_inc)(c, dask_key_name="d")
    e = delayed(slow_inc)(d, dask_key_name="e")
    with CacheProfiler() as cprof, oxdask.config.set({"optimization.fuse.active": True}):
        assert e.compute(scheduler="threads") == 7
    rows = {r.key: r for r in cprof.results}
    assert sorted(rows) == ["a", "b", "e"]  # "c" and "d" fused into "e"
    # "a" and "b" are freed when "c" has run (within "e"), before the end of the run.
    assert rows["a"].free_time == rows["b"].free_time == rows["e"].cache_time
    assert rows["e"].free_time > rows["e"].cache_time


@pytest.mark.parametrize(
    "make",
    [Profiler, lambda: ResourceProfiler(dt=0.01), CacheProfiler],
    ids=["profiler", "resources", "cache"],
)
def test_register_accumulates(make):
    prof = make()
    prof.register()
    try:
        get({"c": (slow_add, 1, 2)}, "c")
        n = len(prof.results)
        assert n > 0
        get({"c": (slow_add, 1, 2)}, "c")
        assert len(prof.results) > n
    finally:
        prof.unregister()
        with contextlib.suppress(AttributeError):
            prof.close()


def test_profilers_together_on_dataframe():
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("oxdask.dataframe")
    pdf = pd.DataFrame({"x": range(100), "y": [i % 7 for i in range(100)]})
    ddf = dd.from_pandas(pdf, npartitions=4)
    with Profiler() as prof, ResourceProfiler(dt=0.01) as rprof, CacheProfiler() as cprof:
        result = ddf.groupby("y").x.sum().compute()
    pd.testing.assert_series_equal(result.sort_index(), pdf.groupby("y").x.sum())
    assert len(prof.results) >= 4
    assert len(rprof.results) > 0
    assert {r.key for r in cprof.results} == {r.key for r in prof.results}
