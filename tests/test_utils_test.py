"""oxdask.utils_test: the get specification holds for every local scheduler of oxdask."""

from __future__ import annotations

import pytest

from oxdask import local, threaded
from oxdask.highlevelgraph import HighLevelGraph
from oxdask.utils_test import GetFunctionTestMixin, hlg_layer, hlg_layer_topological


class TestGetSync(GetFunctionTestMixin):
    get = staticmethod(local.get_sync)


class TestThreadedGet(GetFunctionTestMixin):
    get = staticmethod(threaded.get)


class TestGetAsyncSynchronousExecutor(GetFunctionTestMixin):
    @staticmethod
    def get(dsk, keys):
        return local.get_async(local.synchronous_executor.submit, 1, dsk, keys)


def test_mixin_detects_a_broken_get():
    class Broken(GetFunctionTestMixin):
        @staticmethod
        def get(dsk, keys):
            return None  # never raises KeyError

    with pytest.raises(AssertionError, match="instead of raising KeyError"):
        Broken().test_badkey()


def test_hlg_layer_helpers():
    g = HighLevelGraph({"a-1": {"x": 1}, "b-2": {"y": ("x",)}}, {"a-1": set(), "b-2": {"a-1"}})
    assert hlg_layer(g, "b") is g.layers["b-2"]
    assert hlg_layer_topological(g, 0) is g.layers["a-1"]
    with pytest.raises(KeyError, match="No layer starts with"):
        hlg_layer(g, "zzz")
