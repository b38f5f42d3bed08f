"""Tasks whose arguments are plain values and keys travel without pickle (payload tag ``N``):
the written values, the cases that must fall back to pickle, malformed payloads, and graphs
mixing both kinds on a LocalCluster of processes."""

from __future__ import annotations

import enum
import math
import pickle
from collections import namedtuple
from operator import add

import pytest

from oxdask import _core, delayed
from oxdask.distributed import Client, LocalCluster
from oxdask.distributed.serialize import FunctionTable, dumps_task, loads_body
from oxdask.utils import funcname

PLAIN = [
    None,
    True,
    False,
    0,
    -(2**63),
    2**63 - 1,
    1.5,
    -0.0,
    math.inf,
    "",
    "x-1",
    "héllo ✓",
    b"",
    b"\x00\xff",
    (),
    ("x", 0, 3),
    [],
    [1, [2, (3, "a")], None],
    ((("deep",),),),
]


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_plain_values_round_trip_with_their_types(value):
    payload = _core.dumps_plain(value)
    assert payload is not None
    assert payload[:1] == b"N"
    back = loads_body(payload)
    assert back == value
    assert type(back) is type(value)
    assert repr(back) == repr(value)  # -0.0, nested tuple vs list


def test_nan_keeps_its_bits():
    back = _core.loads_plain(_core.dumps_plain(float("nan")))
    assert math.isnan(back)


class Color(enum.IntEnum):
    RED = 1


class Text(str):
    pass


Point = namedtuple("Point", "x y")


@pytest.mark.parametrize(
    "value",
    [
        2**63,
        -(2**63) - 1,
        Color.RED,
        Text("a"),
        Point(1, 2),
        {"a": 1},
        {1},
        1j,
        bytearray(b"x"),
        "\ud800",
        (1, object()),
        [add],
    ],
    ids=repr,
)
def test_anything_else_is_not_plain(value):
    assert _core.dumps_plain(value) is None


def test_nesting_beyond_the_limit_is_not_plain():
    value: object = 1
    for _ in range(40):
        value = (value,)
    assert _core.dumps_plain(value) is None
    shallow = (((1,),),)
    assert _core.loads_plain(_core.dumps_plain(shallow)) == shallow


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"P",
        b"N",
        b"N\x03\x01",
        b"N\x05\xff\x00\x00\x00ab",
        b"N\x07\x05\x00\x00\x00\x00",
        b"N\x09",
        b"N\x00\x00",
        b"N\x05\x02\x00\x00\x00\xff\xfe",
    ],
)
def test_malformed_payloads_raise_value_error(payload):
    with pytest.raises(ValueError, match="payload"):
        _core.loads_plain(payload)


def _encode(tasks):
    table = FunctionTable()
    wire = _core.encode_tasks(
        tasks,
        lambda f: (table.fid(f), funcname(f)),
        lambda t: dumps_task(t, table),
        (0, None, False, [], 0),
    )
    return wire, table


def test_encode_tasks_asks_for_each_function_once():
    asked = []
    table = FunctionTable()

    def head(f):
        asked.append(f)
        return table.fid(f), funcname(f)

    tasks = [(f"k-{i}", (add, i, 1), []) for i in range(100)]
    tasks += [("s", (sum, ["k-0", "k-1"]), ["k-0", "k-1"]), ("lit", 7, [])]
    wire = _core.encode_tasks(tasks, head, lambda t: dumps_task(t, table), (0, None, False, [], 0))
    assert len(wire) == 102
    assert asked == [add, sum]


def test_encode_tasks_rejects_bad_keys_and_shapes():
    with pytest.raises(TypeError, match="unexpected key type"):
        _encode([({"a"}, (add, 1, 2), [])])
    with pytest.raises(ValueError, match="length 3"):
        _encode([("a", (add, 1, 2))])  # no dependency list


def test_unpicklable_arguments_still_name_the_task():
    import threading

    with pytest.raises(TypeError, match="add"):
        _encode([("a", (add, threading.Lock(), 1), [])])


def _kind(x):
    return type(x).__name__, x


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as c:  # fmt: skip
        yield c


def test_plain_and_pickled_arguments_arrive_as_sent(client):
    values = [*PLAIN, Color.RED, Point(1, 2), 2**70, {"a": [1]}, Text("t")]
    futures = [client.submit(_kind, v, pure=False) for v in values]
    got = client.gather(futures)
    assert got == [(type(v).__name__, v) for v in values]


def test_keys_inside_plain_arguments_are_substituted(client):
    a = delayed(add, pure=True)(1, 2)
    b = delayed(add, pure=True)(10, 20)
    total = delayed(sum)([a, b, 100])
    pair = delayed(lambda t: t)((a, "not-a-key", b))
    assert client.compute([total, pair], sync=True) == [133, (3, "not-a-key", 30)]


def test_a_large_plain_graph_matches_python(client):
    level = [delayed(int)(i) for i in range(2000)]
    while len(level) > 1:
        level = [delayed(add)(x, y) for x, y in zip(level[::2], level[1::2], strict=False)] + (
            level[-1:] if len(level) % 2 else []
        )
    assert client.compute(level[0], sync=True) == sum(range(2000))


def test_results_and_literals_pickle_as_before(client):
    future = client.submit(pickle.loads, pickle.dumps(("x", 1)), pure=False)
    assert future.result() == ("x", 1)


def _args(*args):
    return args


def test_inputs_replace_arguments_equal_to_their_keys(client):
    dsk = {
        "a": (str.lower, "B"),  # its value "b" is not substituted again
        "b": (int, 7),
        ("x", 0): (float, 2),
        "alias": "b",  # a task that is just a key
        "both": (_args, "a", "b", ["a", ("x", 0)], ("a", "b"), "c-not-a-key"),
        "whole": (_args, "x", 0),  # the argument tuple itself is never a key
        "nested": (_args, [[("x", 0), ["b"]]], {"k": 1}),  # pickled: dict argument
    }
    got = client.get(dsk, ["alias", "both", "whole", "nested"])
    assert got == [
        7,
        ("b", 7, ["b", 2.0], ("b", 7), "c-not-a-key"),
        ("x", 0),
        ([[2.0, [7]]], {"k": 1}),
    ]


def _flaky_sum(path, x):
    from oxdask.distributed import Reschedule

    with open(path, "a") as f:
        f.write("x")
    with open(path) as f:
        if len(f.read()) < 2:
            raise Reschedule()
    return x + 1


def test_a_rescheduled_task_keeps_its_inputs(client, tmp_path):
    x = client.submit(int, 41)
    path = str(tmp_path / "runs")
    assert client.submit(_flaky_sum, path, x, pure=False).result(timeout=30) == 42
