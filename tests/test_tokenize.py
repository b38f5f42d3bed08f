"""oxdask.tokenize: deterministic tokens."""

from __future__ import annotations

import enum
import subprocess
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from operator import add

import pytest

from oxdask.base import normalize_token, tokenize
from oxdask.tokenize import TokenizationError


def inc(x):
    return x + 1


class Color(enum.Enum):
    RED = 1
    BLUE = 2


@dataclass
class DC:
    a: int
    b: list


class WithToken:
    def __init__(self, v):
        self.v = v

    def __dask_tokenize__(self):
        return self.v


class Plain:
    def __init__(self, v):
        self.v = v


def test_basic_determinism_and_distinctness():
    values = [
        1,
        1.0,
        "1",
        b"1",
        True,
        None,
        (1,),
        [1],
        {1},
        frozenset([1]),
        {"a": 1},
        1j,
        slice(1, 2),
        range(3),
        Ellipsis,
    ]
    tokens = [tokenize(v) for v in values]
    assert tokens == [tokenize(v) for v in values]
    assert len(set(tokens)) == len(values)
    assert all(len(t) == 32 for t in tokens)
    assert tokenize(1, 2) != tokenize((1, 2))
    assert tokenize(a=1) != tokenize(1)
    assert tokenize(a=1, b=2) == tokenize(b=2, a=1)


def test_containers_normalized():
    assert tokenize({"x": 1, "y": 2}) == tokenize({"y": 2, "x": 1})
    assert tokenize({3, 1, 2}) == tokenize({1, 2, 3})
    assert tokenize(OrderedDict(a=1, b=2)) != tokenize(OrderedDict(b=2, a=1))
    assert tokenize([1, [2, {"a": (3,)}]]) == tokenize([1, [2, {"a": (3,)}]])
    assert tokenize([1, [2]]) != tokenize([1, [3]])
    shared = [1]
    assert tokenize([shared, shared]) == tokenize([[1], [1]])


def test_paths_decimals_dates():
    import datetime
    import decimal
    import pathlib

    assert tokenize(pathlib.Path("/a")) == tokenize(pathlib.Path("/a"))
    assert tokenize(pathlib.Path("/a")) != tokenize(pathlib.Path("/b"))
    assert tokenize(decimal.Decimal("1.1")) != tokenize(decimal.Decimal("1.2"))
    day = datetime.date(2024, 1, 2)
    assert tokenize(day) == tokenize(datetime.date(2024, 1, 2))
    assert tokenize(day) != tokenize(datetime.date(2024, 1, 3))


def test_cycles():
    a = [1]
    a.append(a)
    assert tokenize(a) == tokenize(a)
    d = {}
    d["self"] = d
    assert tokenize(d) == tokenize(d)


def test_large_strings_and_bytes():
    s = "x" * 100_000
    assert tokenize(s) == tokenize("x" * 100_000)
    assert tokenize(s) != tokenize(s + "y")
    assert tokenize(bytearray(b"ab")) == tokenize(bytearray(b"ab"))
    assert tokenize(memoryview(b"ab")) == tokenize(memoryview(b"ab"))


def test_functions():
    assert tokenize(inc) == tokenize(inc)
    assert tokenize(inc) != tokenize(add)
    assert tokenize(partial(add, 1)) == tokenize(partial(add, 1))
    assert tokenize(partial(add, 1)) != tokenize(partial(add, 2))
    f = lambda x: x + 1  # noqa: E731
    g = lambda x: x + 2  # noqa: E731
    assert tokenize(f) == tokenize(f)
    assert tokenize(f) != tokenize(g)
    assert tokenize(Plain) == tokenize(Plain)
    assert tokenize(Plain) != tokenize(WithToken)
    assert tokenize(len) == tokenize(len)
    assert tokenize([].append) != tokenize({}.get)


def test_objects():
    assert tokenize(WithToken(1)) == tokenize(WithToken(1))
    assert tokenize(WithToken(1)) != tokenize(WithToken(2))
    assert tokenize(Plain(1)) == tokenize(Plain(1))
    assert tokenize(Plain(1)) != tokenize(Plain(2))
    assert tokenize(Color.RED) != tokenize(Color.BLUE)
    assert tokenize(DC(1, [2])) == tokenize(DC(1, [2]))
    assert tokenize(DC(1, [2])) != tokenize(DC(1, [3]))


def test_unpicklable_objects_get_random_tokens():
    lock = threading.Lock()
    assert tokenize(lock) != tokenize(lock)
    with pytest.raises(TokenizationError):
        tokenize(lock, ensure_deterministic=True)
    from oxdask import config

    with config.set({"tokenize.ensure-deterministic": True}), pytest.raises(TokenizationError):
        tokenize(lock)


def test_register_custom_normalizer():
    class Custom:
        def __init__(self, x):
            self.x = x
            self.cache = object()

    @normalize_token.register(Custom)
    def _(obj):
        return ("Custom", obj.x)

    assert tokenize(Custom(1)) == tokenize(Custom(1))
    assert tokenize(Custom(1)) != tokenize(Custom(2))


def test_stable_across_processes():
    code = (
        "from oxdask.base import tokenize; from operator import add; "
        "print(tokenize(1, 'a', [1.5, None], {'k': (2, b'x')}, {3, 4}, add))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(outs) == 1
    assert outs == {tokenize(1, "a", [1.5, None], {"k": (2, b"x")}, {3, 4}, add)}


def test_numpy_arrays():
    np = pytest.importorskip("numpy")
    x = np.arange(12).reshape(3, 4)
    assert tokenize(x) == tokenize(x.copy())
    assert tokenize(x) != tokenize(x + 1)
    assert tokenize(x) != tokenize(x.astype("f8"))
    assert tokenize(x) != tokenize(x.reshape(4, 3))
    assert tokenize(x.T) == tokenize(np.ascontiguousarray(x.T))
    assert tokenize(x[:, 1]) == tokenize(np.array([1, 5, 9]))
    assert tokenize(np.array(["a", None], dtype=object)) == tokenize(
        np.array(["a", None], dtype=object)
    )
    assert tokenize(np.float64(1.5)) == tokenize(np.float64(1.5))
    assert tokenize(np.float64(1.5)) != tokenize(np.float32(1.5))
    assert tokenize(np.dtype("i4")) != tokenize(np.dtype("i8"))


def test_pandas_objects():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    assert tokenize(df) == tokenize(df.copy())
    df2 = df.copy()
    df2.loc[1, "a"] = 5
    assert tokenize(df) != tokenize(df2)
    assert tokenize(df) != tokenize(df.rename(columns={"a": "c"}))
    assert tokenize(df["a"]) == tokenize(df["a"].copy())
    assert tokenize(df["a"]) != tokenize(df["a"].rename("z"))
    assert tokenize(df.index) == tokenize(pd.RangeIndex(3))


def test_public_normalizer_names_match_normalize_token():
    from collections import OrderedDict
    from functools import partial

    from oxdask import tokenize as tk

    cases = [
        (tk.normalize_seq, [1, "a", (2,)]),
        (tk.normalize_dict, {"a": 1, "b": [2]}),
        (tk.normalize_ordered_dict, OrderedDict(a=1)),
        (tk.normalize_set, {3, 1, 2}),
        (tk.normalize_partial, partial(max, 1)),
        (tk.normalize_function, len),
    ]
    for func, value in cases:
        assert func(value) == tk.normalize_token(value)
    assert callable(tk.register_numpy)
    assert callable(tk.register_pandas)


def test_empty_pandas_objects_tokenize_by_their_schema():
    import pandas as pd

    s = pd.Series([], dtype="float64", name="a")
    assert tokenize(s) == tokenize(pd.Series([], dtype="float64", name="a"))
    assert tokenize(s) != tokenize(pd.Series([], dtype="int64", name="a"))
    assert tokenize(s) != tokenize(pd.Series([], dtype="float64", name="b"))
    assert tokenize(s) != tokenize(pd.Series([1.0], name="a"))
    df = pd.DataFrame({"x": pd.Series([], dtype="int64")})
    assert tokenize(df) == tokenize(pd.DataFrame({"x": pd.Series([], dtype="int64")}))
    assert tokenize(df) != tokenize(pd.DataFrame({"y": pd.Series([], dtype="int64")}))
    assert tokenize(df) != tokenize(pd.DataFrame({"x": pd.Series([], dtype="float64")}))
    assert tokenize(pd.Index([], dtype="int64")) != tokenize(pd.Index([], dtype="object"))
