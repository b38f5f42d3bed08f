"""Helpers for testing code built on oxdask, compatible with ``dask.utils_test``.

:class:`GetFunctionTestMixin` checks that a scheduler ``get`` function meets the get
specification: subclass it in a pytest class and set ``get = staticmethod(my_get)``.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from typing import Any

__all__ = [
    "GetFunctionTestMixin",
    "add",
    "dec",
    "hlg_layer",
    "hlg_layer_topological",
    "import_or_none",
    "inc",
    "slowadd",
]


def inc(x):
    return x + 1


def dec(x):
    return x - 1


def add(x, y):
    return x + y


def slowadd(a, b, delay=0.1):
    time.sleep(delay)
    return a + b


def _expect_key_error(get, dsk, keys) -> None:
    try:
        result = get(dsk, keys)
    except KeyError:
        return
    raise AssertionError(
        f"{getattr(get, '__name__', get)} returned {result!r} for missing keys {keys!r} "
        "instead of raising KeyError"
    )


class GetFunctionTestMixin:
    """Tests of the get specification for ``self.get`` (a ``staticmethod``)."""

    get: Any

    def test_get(self):
        dsk = {":x": 1, ":y": (inc, ":x"), ":z": (add, ":x", ":y")}
        assert [self.get(dsk, k) for k in (":x", ":y", ":z")] == [1, 2, 3]

    def test_badkey(self):
        _expect_key_error(self.get, {":x": 1, ":y": (inc, ":x")}, "badkey")

    def test_nested_badkey(self):
        _expect_key_error(self.get, {"x": 1, "y": 2, "z": (sum, ["x", "y"])}, [["badkey"], "y"])

    def test_data_not_in_dict_is_ok(self):
        assert self.get({"x": 1, "y": (add, "x", 10)}, "y") == 11

    def test_get_with_list(self):
        dsk = {"x": 1, "y": 2, "z": (sum, ["x", "y"])}
        assert self.get(dsk, ["x", "y"]) == (1, 2)
        assert self.get(dsk, "z") == 3

    def test_get_with_list_top_level(self):
        dsk = {
            "a": [1, 2, 3],
            "b": "a",
            "c": [1, (inc, 1)],
            "d": [(sum, "a")],
            "e": ["a", "b"],
            "f": [[[(sum, "a"), "c"], (sum, "b")], 2],
        }
        expected = {
            "a": [1, 2, 3],
            "b": [1, 2, 3],
            "c": [1, 2],
            "d": [6],
            "e": [[1, 2, 3], [1, 2, 3]],
            "f": [[[6, [1, 2]], 6], 2],
        }
        for key, value in expected.items():
            assert self.get(dsk, key) == value, key

    def test_get_with_nested_list(self):
        dsk = {"x": 1, "y": 2, "z": (sum, ["x", "y"])}
        assert self.get(dsk, [["x"], "y"]) == ((1,), 2)
        assert self.get(dsk, "z") == 3

    def test_get_works_with_unhashables_in_values(self):
        dsk = {"x": 1, "y": (lambda x, y: x + len(y), "x", {1})}
        assert self.get(dsk, "y") == 2

    def test_nested_tasks(self):
        dsk = {"x": 1, "y": (inc, "x"), "z": (add, (inc, "x"), "y")}
        assert self.get(dsk, "z") == 4

    def test_get_stack_limit(self):
        n = 10_000
        dsk: dict = {f"x{i + 1}": (inc, f"x{i}") for i in range(n)}
        dsk["x0"] = 0
        assert self.get(dsk, f"x{n}") == n

    def test_with_HighLevelGraph(self):
        from oxdask.highlevelgraph import HighLevelGraph

        graph = HighLevelGraph(
            {"a": {"x": 1, "y": (inc, "x")}, "b": {"z": (add, (inc, "x"), "y")}},
            {"a": set(), "b": {"a"}},
        )
        assert self.get(graph, "z") == 4


def import_or_none(name: str):
    """The module ``name``, or ``None`` if it cannot be imported."""
    try:
        return importlib.import_module(name)
    except (ImportError, AttributeError):
        return None


def hlg_layer(hlg, prefix: str):
    """The first layer of a high-level graph whose name starts with ``prefix``."""
    for name, layer in hlg.layers.items():
        if name.startswith(prefix):
            return layer
    raise KeyError(f"No layer starts with {prefix!r}: {list(hlg.layers)}")


def hlg_layer_topological(hlg, i: int):
    """The ``i``-th layer of a high-level graph in topological order."""
    return hlg.layers[hlg._toposort_layers()[i]]


@contextlib.contextmanager
def _check_warning(condition: bool, category: type[Warning], message: str):
    """Context: expect a warning of ``category`` matching ``message`` if ``condition``."""
    if condition:
        import pytest

        with pytest.warns(category, match=message) as record:
            yield record
    else:
        yield None
