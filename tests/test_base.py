"""oxdask.base: the collection protocol, compute/persist/optimize and scheduler selection."""

from __future__ import annotations

import operator
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass
from operator import add

import pytest

import oxdask
from oxdask import _core, compute, delayed, persist
from oxdask.base import (
    DaskMethodsMixin,
    annotate,
    collections_to_dsk,
    compute_as_if_collection,
    get_annotations,
    get_collection_names,
    get_name_from_key,
    get_scheduler,
    is_dask_collection,
    named_schedulers,
    replace_name_in_key,
    unpack_collections,
)


def inc(x):
    return x + 1


def concat(parts):
    return [x for p in parts for x in p]


class Bag(DaskMethodsMixin):
    """A minimal third-party collection: ``npartitions`` lists, finalized by concatenation."""

    def __init__(self, dsk, name, npartitions):
        self.dsk, self.name, self.npartitions = dsk, name, npartitions

    def __dask_graph__(self):
        return self.dsk

    def __dask_keys__(self):
        return [(self.name, i) for i in range(self.npartitions)]

    def __dask_postcompute__(self):
        return concat, ()

    def __dask_postpersist__(self):
        return Bag._rebuild, (self.name, self.npartitions)

    @staticmethod
    def _rebuild(dsk, name, npartitions):
        return Bag(dsk, name, npartitions)

    def __dask_tokenize__(self):
        return self.name

    __dask_scheduler__ = staticmethod(oxdask.threaded.get)

    def map(self, func):
        name = f"map-{func.__name__}-{self.name}"
        dsk = dict(self.dsk)
        for i in range(self.npartitions):
            dsk[(name, i)] = (_map_part, func, (self.name, i))
        return Bag(dsk, name, self.npartitions)


def _map_part(func, part):
    return [func(x) for x in part]


def make_bag():
    dsk = {("b", 0): [1, 2], ("b", 1): (list, (range, 3, 5))}
    return Bag(dsk, "b", 2)


class Layered(Mapping):
    """A HighLevelGraph-like mapping: ``layers`` of plain dicts."""

    def __init__(self, layers):
        self.layers = layers

    def _all(self):
        out = {}
        for layer in self.layers.values():
            out.update(layer)
        return out

    def __getitem__(self, key):
        return self._all()[key]

    def __iter__(self):
        return iter(self._all())

    def __len__(self):
        return len(self._all())


def test_third_party_collection_computes():
    b = make_bag()
    assert is_dask_collection(b)
    assert b.compute() == [1, 2, 3, 4]
    assert b.map(inc).compute(scheduler="sync") == [2, 3, 4, 5]
    assert compute(b, b.map(inc)) == ([1, 2, 3, 4], [2, 3, 4, 5])


def test_third_party_collection_with_layered_graph():
    layers = {
        "a": {("a", 0): 1, ("a", 1): 2},
        "b": {("b", 0): (inc, ("a", 0)), ("b", 1): (inc, ("a", 1))},
    }
    coll = Bag(Layered(layers), "b", 2)
    coll.__dask_postcompute__ = lambda: (list, ())
    assert compute(coll)[0] == [2, 3]


def test_blockwise_layers_through_graph_attribute():
    class LayerGraph(dict):
        pass

    g = LayerGraph({("x", i): i * 10 for i in range(4)})
    g.__oxdask_layers__ = [_core.Blockwise("y", inc, [0], [("x", [0])], {"x": (4,)})]
    coll = Bag(g, "y", 4)
    coll.__dask_postcompute__ = lambda: (list, ())
    assert compute(coll)[0] == [1, 11, 21, 31]
    assert (delayed(sum)(coll)).compute() == 64
    merged = collections_to_dsk([coll])
    assert merged.__oxdask_layers__ == g.__oxdask_layers__


def test_tree_reduce_layer_through_graph_attribute():
    class LayerGraph(dict):
        pass

    g = LayerGraph({("x", i): i for i in range(10)})
    g.__oxdask_layers__ = [_core.TreeReduce("s", "x", [10], [0], [3], sum, sum)]
    coll = Bag(g, "s", 1)
    coll.__dask_keys__ = lambda: [("s",)]
    coll.__dask_postcompute__ = lambda: (operator.itemgetter(0), ())
    assert compute(coll)[0] == 45
    assert (delayed(inc)(coll)).compute() == 46


def test_compute_traverses_containers():
    a = delayed(inc)(1)
    b = delayed(inc)(a)
    Point = namedtuple("Point", "x y")

    @dataclass
    class DC:
        u: object
        v: object

    out = compute(
        a,
        [a, b, 5],
        (b,),
        {"a": a, "nested": {"b": [b]}},
        {a, 10},
        Point(a, 0),
        DC(a, [b]),
        "plain",
    )
    assert out == (
        2,
        [2, 3, 5],
        (3,),
        {"a": 2, "nested": {"b": [3]}},
        {2, 10},
        Point(2, 0),
        DC(2, [3]),
        "plain",
    )
    assert compute([a], traverse=False)[0][0] is not None
    assert compute() == ()
    assert compute(1, "x") == (1, "x")


def test_compute_traverse_false_returns_containers_untouched():
    a = delayed(inc)(1)
    lst = [a]
    assert compute(lst, traverse=False)[0] is lst


def test_compute_uses_one_engine_call(monkeypatch):
    calls = []
    real = _core.get

    def spy(dsk, keys, **kw):
        calls.append(list(keys))
        return real(dsk, keys, **kw)

    monkeypatch.setattr(_core, "get", spy)
    a = delayed(inc)(1)
    b = make_bag()
    out = compute([a, a + 1], {"bag": b, "mapped": b.map(inc)}, scheduler="threads")
    assert out == ([2, 3], {"bag": [1, 2, 3, 4], "mapped": [2, 3, 4, 5]})
    assert len(calls) == 1


def test_shared_dependencies_run_once():
    counter = []

    def count(x):
        counter.append(x)
        return x

    a = delayed(count)(1)
    compute(a + 1, a + 2, [a * 3])
    assert counter == [1]


def test_persist_delayed():
    calls = []

    def record(x):
        calls.append(x)
        return x * 2

    a = delayed(record)(3)
    (p,) = persist(a)
    assert calls == [3]
    assert p.key == a.key
    assert len(p.dask) == 1
    assert p.compute() == 6
    assert (p + 1).compute() == 7
    assert calls == [3]
    # Containers and strings survive the round trip through the graph.
    t = delayed(lambda: (inc, 1))()
    s = delayed(lambda: "some-key")()
    pt, ps = persist(t, s)
    assert pt.compute() == (inc, 1)
    assert ps.compute() == "some-key"


def test_persist_traverses_and_method():
    a = delayed(inc)(1)
    out = persist({"a": a, "b": [a + 1]}, 5)
    assert out[1] == 5
    assert isinstance(out[0]["a"], oxdask.delayed.Delayed)
    assert compute(out[0]) == ({"a": 2, "b": [3]},)
    b = make_bag().map(inc)
    pb = b.persist()
    assert isinstance(pb, Bag)
    assert len(pb.__dask_graph__()) == 2
    assert pb.compute() == [2, 3, 4, 5]


def test_optimize_culls_merged_graph():
    a = delayed(inc)(1)
    b = delayed(inc)(a)
    junk = Bag({("junk", 0): (inc, 1), ("b", 0): [1], ("b", 1): [2]}, "b", 2)
    ob, ojunk = oxdask.optimize(b, junk)
    assert set(ob.dask) == {a.key, b.key, ("b", 0), ("b", 1)}
    assert ob.compute() == 3
    assert ojunk.compute() == [1, 2]
    assert oxdask.optimize(5) == (5,)


def test_is_dask_collection():
    assert is_dask_collection(delayed(1))
    assert not is_dask_collection(1)
    assert not is_dask_collection(Bag)
    assert not is_dask_collection([delayed(1)])

    class NoneGraph:
        def __dask_graph__(self):
            return None

    assert not is_dask_collection(NoneGraph())


def test_unpack_collections_repack():
    a = delayed(1)
    colls, repack = unpack_collections([a, {"k": a}], 3)
    assert colls == [a]
    assert repack([10]) == ([10, {"k": 10}], 3)


def test_get_scheduler_names_and_errors():
    from oxdask import local, multiprocessing, threaded

    assert get_scheduler(scheduler="threads") is threaded.get
    assert get_scheduler(scheduler="threading") is threaded.get
    assert get_scheduler(scheduler="sync") is local.get_sync
    assert get_scheduler(scheduler="Synchronous") is local.get_sync
    assert get_scheduler(scheduler="single-threaded") is local.get_sync
    assert get_scheduler(scheduler="processes") is multiprocessing.get
    assert get_scheduler(scheduler="multiprocessing") is multiprocessing.get
    assert set(named_schedulers) >= {"threads", "sync", "processes"}
    with pytest.raises(ValueError, match="Expected one of"):
        get_scheduler(scheduler="nope")
    with pytest.raises(RuntimeError, match="no Client"):
        get_scheduler(scheduler="distributed")
    with pytest.raises(TypeError, match="get= keyword has been removed"):
        compute(delayed(1), get=local.get_sync)
    with oxdask.config.set(scheduler="sync"):
        assert get_scheduler() is local.get_sync
    with oxdask.config.set(get=local.get_sync), pytest.raises(ValueError, match="removed"):
        get_scheduler()
    assert get_scheduler(collections=[delayed(1)]) is threaded.get
    assert get_scheduler() is None


def test_custom_get_callable():
    seen = []

    def my_get(dsk, keys, **kwargs):
        seen.append(keys)
        return oxdask.get(dsk, keys)

    a = delayed(inc)(1)
    assert a.compute(scheduler=my_get) == 2
    assert seen == [[a.key]]  # as in Dask: a Delayed is asked for by its bare key
    with oxdask.config.set(scheduler=my_get):
        assert compute(a + 1) == (3,)
    assert len(seen) == 2


def test_executor_scheduler():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as ex:
        xs = [delayed(inc)(i) for i in range(20)]
        assert compute(xs, scheduler=ex)[0] == list(range(1, 21))


def test_compute_as_if_collection():
    dsk = {"x": 1, "y": (inc, "x")}
    assert compute_as_if_collection(oxdask.delayed.Delayed, dsk, ["y"]) == (2,)


def test_annotate():
    assert get_annotations() == {}
    with annotate(priority=1), annotate(retries=2, workers="w1"):
        assert get_annotations() == {"priority": 1, "retries": 2, "workers": ["w1"]}
        assert delayed(inc)(1).compute() == 2
    assert get_annotations() == {}
    with pytest.raises(TypeError, match="priority"), annotate(priority="high"):
        pass
    with pytest.raises(TypeError, match="resources"), annotate(resources=3):
        pass


def test_key_name_helpers():
    assert get_name_from_key("x") == "x"
    assert get_name_from_key(("x", 1)) == "x"
    assert replace_name_in_key(("x", 1), {"x": "y"}) == ("y", 1)
    assert replace_name_in_key("x", {"z": "y"}) == "x"
    with pytest.raises(TypeError):
        get_name_from_key(1)
    assert get_collection_names(make_bag()) == {"b"}


def test_top_level_namespace_matches_dask():
    dask = pytest.importorskip("dask")
    for name in (
        "delayed",
        "compute",
        "persist",
        "visualize",
        "optimize",
        "is_dask_collection",
        "config",
        "base",
        "annotate",
        "get_annotations",
        "istask",
        "get",
    ):
        assert hasattr(oxdask, name), name
        assert hasattr(dask, name), name
    assert oxdask.get is oxdask.local.get_sync
    assert dask.get is dask.local.get_sync
    assert oxdask.__version__ == _cargo_version()


def _cargo_version() -> str:
    import pathlib
    import tomllib

    cargo = pathlib.Path(__file__).resolve().parents[1] / "Cargo.toml"
    return tomllib.loads(cargo.read_text())["workspace"]["package"]["version"]


def test_compute_matches_dask_on_nested_structures():
    dask = pytest.importorskip("dask")
    results = []
    for mod in (dask, oxdask):
        a = mod.delayed(inc)(1)
        b = mod.delayed(add)(a, 10)
        results.append(mod.compute({"a": [a, (b, 3)], "s": {a}}, [b], 7, traverse=True))
    assert results[0] == results[1]


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, oxdask; print('numpy' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
