"""The local schedulers (sync, threads, processes) on raw graphs and collections."""

from __future__ import annotations

import _thread
import os
import threading
import time
import traceback
from operator import add

import pytest

import oxdask
from oxdask import compute, delayed
from oxdask.local import get_sync, last_run_stats
from oxdask.multiprocessing import get as mp_get
from oxdask.threaded import get as threaded_get

SCHEDULERS = ["threads", "sync", "processes"]
GETS = {"threads": threaded_get, "sync": get_sync, "processes": mp_get}


def inc(x):
    return x + 1


def double(x):
    return 2 * x


def divide_by_zero(x):
    return x / 0


def raise_custom(x):
    raise CustomError(f"custom failure {x}")


def return_lock():
    return threading.Lock()


def sleep_and_return(i):
    time.sleep(0.01)
    return i


def getpid(_):
    return os.getpid()


def kill_worker(_):
    os._exit(1)


class CustomError(Exception):
    pass


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_raw_graph_nested_structures(scheduler):
    get = GETS[scheduler]
    dsk = {
        "x": 1,
        "y": (inc, "x"),
        "lst": [(inc, "y"), "x", ["y", 10]],
        "tup": (tuple, ["x", (double, "y")]),
        "dct": (dict, [["a", "x"], ["b", (inc, "y")]]),
        "nested": {"k": ["x", "y"], "t": (add, "x", "y")},
        "alias": "y",
    }
    out = get(dsk, ["lst", "tup", "dct", "nested", "alias"])
    assert out == ([3, 1, [2, 10]], (1, 4), {"a": 1, "b": 3}, {"k": [1, 2], "t": 3}, 2)


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_keys_nesting_preserved(scheduler):
    get = GETS[scheduler]
    dsk = {"a": 1, "b": (inc, "a"), ("c", 0): (inc, "b"), ("c", 1): (double, "b")}
    assert get(dsk, "b") == 2
    assert get(dsk, ("c", 0)) == 3
    assert get(dsk, [("c", 0), ("c", 1)]) == (3, 4)
    assert get(dsk, [["a", "b"], [("c", 1)], []]) == ((1, 2), (4,), ())
    assert get(dsk, ["a", "a", ["a"]]) == (1, 1, (1,))
    assert get(dsk, []) == ()


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_delayed_on_every_scheduler(scheduler):
    xs = [delayed(inc)(i) for i in range(10)]
    total = delayed(sum)(xs)
    assert total.compute(scheduler=scheduler) == sum(range(1, 11))
    assert compute(xs[:3], {"t": total}, scheduler=scheduler) == ([1, 2, 3], {"t": 55})


def test_processes_run_in_other_processes():
    pids = compute([delayed(getpid)(i) for i in range(4)], scheduler="processes")[0]
    assert os.getpid() not in pids


def test_processes_lambdas_and_closures():
    offset = 10
    f = delayed(lambda x: x + offset)
    assert compute([f(i) for i in range(3)], scheduler="processes")[0] == [10, 11, 12]


def test_sync_runs_in_calling_thread():
    me = threading.get_ident()
    assert delayed(lambda: threading.get_ident())().compute(scheduler="sync") == me


def test_threads_use_several_threads():
    lock = threading.Lock()
    seen = set()

    def record(i):
        time.sleep(0.01)
        with lock:
            seen.add(threading.get_ident())
        return i

    xs = [delayed(record)(i) for i in range(20)]
    assert compute(xs, scheduler="threads", num_workers=4)[0] == list(range(20))
    assert len(seen) > 1


def test_threaded_get_num_workers_and_cache():
    dsk = {"a": (inc, 1), "b": (inc, "a")}
    assert threaded_get(dsk, "b", num_workers=3) == 3
    assert threaded_get(dsk, "b", cache={"a": 100}) == 101


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_task_exception_type_message_and_traceback(scheduler):
    x = delayed(divide_by_zero)(delayed(1))
    with pytest.raises(ZeroDivisionError, match="division by zero") as info:
        x.compute(scheduler=scheduler)
    if scheduler == "processes":
        cause = info.value.__cause__
        assert cause is not None
        assert "divide_by_zero" in str(cause)
    else:
        names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
        assert "divide_by_zero" in names
    # The same process computes a fresh graph correctly afterwards.
    assert delayed(inc)(41).compute(scheduler=scheduler) == 42


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_custom_exception_is_the_original_object(scheduler):
    with pytest.raises(CustomError, match="custom failure 3"):
        delayed(raise_custom)(3).compute(scheduler=scheduler)


def test_custom_exception_from_processes():
    with pytest.raises(CustomError, match="custom failure 4"):
        delayed(raise_custom)(4).compute(scheduler="processes")


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_cycle_raises_runtime_error_naming_keys(scheduler):
    dsk = {"a": (inc, "b"), "b": (inc, "c"), "c": (inc, "a"), "ok": 1}
    with pytest.raises(RuntimeError) as info:
        GETS[scheduler](dsk, "a")
    message = str(info.value)
    assert all(f"'{k}'" in message for k in "abc")
    assert GETS[scheduler]({"ok": (inc, 1)}, "ok") == 2


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_missing_key_raises_key_error(scheduler):
    with pytest.raises(KeyError, match="missing"):
        GETS[scheduler]({"x": 1}, "missing")
    with pytest.raises(KeyError):
        GETS[scheduler]({"x": 1}, ["x", ["missing"]])
    assert GETS[scheduler]({"x": 1}, ["x"]) == (1,)


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_bad_key_type_raises_type_error(scheduler):
    bad = ("x", frozenset({1}))
    with pytest.raises(TypeError, match="key"):
        GETS[scheduler]({bad: 1, "y": 2}, "y")
    with pytest.raises(TypeError):
        GETS[scheduler]({True: 1}, True)
    assert GETS[scheduler]({"y": 2}, "y") == 2


def test_unpicklable_function_on_processes_gives_clear_error():
    lock = threading.Lock()

    def uses_lock(x):
        with lock:
            return x

    with pytest.raises(Exception, match="uses_lock") as info:
        delayed(uses_lock)(1).compute(scheduler="processes")
    assert "serialize" in str(info.value)
    # Unpicklable argument: the message points at the arguments.
    with pytest.raises(Exception, match="arguments of task function 'inc'"):
        delayed(inc)(lock).compute(scheduler="processes")
    # Unpicklable result.
    with pytest.raises(TypeError, match="result of task function 'return_lock'"):
        delayed(return_lock)().compute(scheduler="processes")
    # The pool is still usable.
    assert compute([delayed(inc)(i) for i in range(4)], scheduler="processes")[0] == [1, 2, 3, 4]


def test_crashed_worker_process_is_replaced():
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool):
        delayed(kill_worker)(1).compute(scheduler="processes")
    assert delayed(inc)(1).compute(scheduler="processes") == 2


def test_processes_func_dumps_loads_and_pool_argument():
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    import cloudpickle

    dsk = {"a": (inc, 1), "b": (double, "a")}
    assert mp_get(dsk, "b", func_dumps=cloudpickle.dumps, func_loads=pickle.loads) == 4
    from oxdask.multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context()) as pool:
        assert mp_get(dsk, ["a", "b"], pool=pool) == (2, 4)


def _tree(leaves, fan_in):
    level = leaves
    while len(level) > 1:
        if fan_in == 2:
            nxt = [delayed(add)(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
        else:
            nxt = [delayed(sum)(level[i : i + fan_in]) for i in range(0, len(level), fan_in)]
        level = nxt
    return level[0]


@pytest.mark.parametrize("fan_in", [2, 8])
def test_tree_reduction_memory(fan_in):
    n = 10_000
    total = _tree([delayed(int)(i) for i in range(n)], fan_in)
    assert total.compute(scheduler="threads") == n * (n - 1) // 2
    stats = last_run_stats()
    # Measured: 15 (pairs) and 31 (fan-in 8); a breadth-first order would hold thousands.
    assert stats["peak_held"] < 64
    assert stats["tasks"] <= stats["graph_tasks"]


def test_last_run_stats_is_per_thread():
    delayed(inc)(1).compute(scheduler="sync")
    mine = last_run_stats()
    assert mine is not None
    assert set(mine) >= {"tasks", "graph_tasks", "peak_held"}
    other = []
    t = threading.Thread(target=lambda: other.append(last_run_stats()))
    t.start()
    t.join()
    assert other == [None]


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_keyboard_interrupt_stops_compute(scheduler):
    xs = [delayed(sleep_and_return)(i) for i in range(2_000)]  # >= 10 s of work
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            compute(xs, scheduler=scheduler, num_workers=2)
    finally:
        timer.cancel()
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0
    # A later computation works.
    assert delayed(inc)(1).compute(scheduler=scheduler) == 2


def test_nested_compute_inside_task():
    def inner(x):
        return delayed(inc)(x).compute(scheduler="sync")

    xs = [delayed(inner)(i) for i in range(5)]
    assert compute(xs, scheduler="threads")[0] == [1, 2, 3, 4, 5]


def test_concurrent_computes_from_threads():
    results = {}

    def work(i):
        x = delayed(0)
        for _ in range(50):
            x = delayed(inc)(x)
        results[i] = (x + i).compute(scheduler="threads")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: 50 + i for i in range(4)}


def test_callbacks_keyword_replaces_active_callbacks():
    from oxdask.callbacks import Callback

    started = []
    active = Callback(start=lambda dsk: started.append("active"))
    explicit = Callback(start=lambda dsk: started.append("explicit"))
    with active:
        delayed(inc)(1).compute(callbacks=[explicit])
        delayed(inc)(1).compute()
    assert started == ["explicit", "active"]


def test_matches_dask_get_on_raw_graph():
    dask = pytest.importorskip("dask")
    dsk = {"x": 1, "y": (inc, "x"), "z": (add, "x", "y"), "w": [(inc, "z"), "y"]}
    for keys in ["z", ["w", "y"], [["x"], ["z", "y"]], []]:
        assert oxdask.get(dsk, keys) == dask.get(dsk, keys)
        assert oxdask.threaded.get(dsk, keys) == dask.threaded.get(dsk, keys)
