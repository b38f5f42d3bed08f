"""Serialization of tasks, results and errors for the distributed scheduler."""

from __future__ import annotations

import pickle
from operator import add

import pytest

from oxdask.distributed.serialize import (
    FunctionTable,
    dumps_error,
    dumps_task,
    dumps_value,
    execute_task,
    loads_error,
    loads_task,
    loads_value,
    sizeof,
)


def _worker_side(table: FunctionTable):
    """A worker's function cache fed from what the client would send."""
    blobs = dict(table.take_unsent())
    cache: dict[int, object] = {}
    loads = []

    def functions(fid):
        if fid not in cache:
            loads.append(fid)
            cache[fid] = pickle.loads(blobs[fid])
        return cache[fid]

    return functions, loads


def test_task_round_trip_with_lambda_and_keys():
    table = FunctionTable()
    offset = 10
    payloads = [dumps_task((lambda x, y: x + y + offset, "a", i), table) for i in range(3)]
    payloads.append(dumps_task((add, (sum, ["a", ("b", 0)]), 1), table))
    payloads.append(dumps_task(["a", ("b", 0)], table))
    functions, loads = _worker_side(table)
    data = {"a": 1, ("b", 0): 2}
    results = [execute_task(loads_task(f, p, functions), data) for f, p in payloads]
    assert results == [11, 12, 13, 4, [1, 2]]
    # Equal functions (same bytes) share one table entry, deserialized once on the worker.
    assert len(set(loads)) == len(loads) == 2
    assert all(len(p) < 100 for _, p in payloads[:3])


def test_function_table_sends_each_function_once():
    table = FunctionTable()
    for i in range(100):
        dumps_task((add, i, 1), table)
    assert len(table.take_unsent()) == 1
    assert table.take_unsent() == []


def test_unpicklable_function_names_it():
    import threading

    lock = threading.Lock()

    def uses_lock():
        return lock

    table = FunctionTable()
    with pytest.raises(TypeError, match="uses_lock"):
        dumps_task((uses_lock,), table)
    with pytest.raises(TypeError, match="arguments of task add"):
        dumps_task((add, lock, 1), table)


def test_execute_task_semantics():
    data = {"x": 1, ("y", 0): 2}
    assert execute_task((add, "x", ("y", 0)), data) == 3
    assert execute_task([("y", 0), "z", {"k": "x"}], data) == [2, "z", {"k": 1}]
    assert execute_task(("lit", 5), data) == ("lit", 5)
    assert execute_task((sum, [[1, 2]][0]), {}) == 3


def test_values_use_out_of_band_buffers():
    np = pytest.importorskip("numpy")
    arr = np.arange(1_000_000, dtype="f8")
    stream, buffers = dumps_value({"a": arr, "n": 3})
    assert len(stream) < 1000
    assert sum(b.nbytes for b in buffers) == arr.nbytes
    back = loads_value(stream, buffers)
    np.testing.assert_array_equal(back["a"], arr)
    assert back["n"] == 3
    assert sizeof(arr) == arr.nbytes


def test_values_fall_back_to_cloudpickle():
    stream, buffers = dumps_value(lambda: 42)
    assert loads_value(stream, buffers)() == 42


def test_errors_round_trip_with_remote_traceback():
    def fails():
        raise ZeroDivisionError("boom")

    try:
        fails()
    except ZeroDivisionError as e:
        blob, tb, text = dumps_error(e)
    exc = loads_error(blob, tb, text)
    assert type(exc) is ZeroDivisionError
    assert str(exc) == "boom"
    assert text == "ZeroDivisionError: boom"
    assert any("fails" in note for note in exc.__notes__)


def test_unpicklable_error_becomes_runtime_error_with_text():
    class Local(Exception):
        def __reduce__(self):
            raise TypeError("no")

    blob, tb, text = dumps_error(Local("x"))
    exc = loads_error(blob, tb, text)
    assert isinstance(exc, RuntimeError)
    assert "Local: x" in str(exc)
