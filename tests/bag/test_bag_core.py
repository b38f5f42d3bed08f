"""Bag methods against plain Python, on several partitionings (empty partitions, more
partitions than elements) and on every local scheduler."""

from __future__ import annotations

import heapq
import json
import math
import operator
from collections import Counter
from functools import reduce

import pytest

import oxdask
import oxdask.bag as db
from oxdask.local import last_run_stats

DATA = list(range(23))
RECORDS = [
    {"name": f"u{i % 5}", "amount": i * 1.5, "kind": "purchase" if i % 3 else "view", "n": i}
    for i in range(40)
]
PARTITIONINGS = [1, 3, 7, 50]


def bags(seq, empty=True):
    """The same elements in several partitionings, one with empty partitions."""
    out = [db.from_sequence(seq, npartitions=n) for n in PARTITIONINGS]
    if empty:
        parts = [[], list(seq[: len(seq) // 2]), [], list(seq[len(seq) // 2 :]), []]
        out.append(db.from_delayed([oxdask.delayed(p) for p in parts]))
    return out


def inc(x):
    return x + 1


def iseven(x):
    return x % 2 == 0


@pytest.mark.parametrize("b", bags(DATA))
def test_elementwise(b):
    assert b.map(inc).compute(scheduler="sync") == [inc(x) for x in DATA]
    assert b.filter(iseven).compute(scheduler="sync") == [x for x in DATA if iseven(x)]
    assert b.remove(iseven).compute(scheduler="sync") == [x for x in DATA if not iseven(x)]
    pairs = b.map(lambda x: (x, -x))
    assert pairs.pluck(1).compute(scheduler="sync") == [-x for x in DATA]
    assert pairs.starmap(operator.add).compute(scheduler="sync") == [0] * len(DATA)
    assert b.map(lambda x: [x, x]).flatten().compute(scheduler="sync") == [
        y for x in DATA for y in (x, x)
    ]
    assert b.map_partitions(len).compute(scheduler="sync") == [len(p) for p in _partitions(b)]


def _partitions(b):
    return [list(p) for p in oxdask.compute(*b.to_delayed(), scheduler="sync")]


@pytest.mark.parametrize("b", bags(DATA))
def test_reductions(b):
    c = oxdask.compute
    got = c(
        b.sum(), b.count(), b.min(), b.max(), b.mean(), b.var(), b.std(ddof=1), scheduler="sync"
    )
    n = len(DATA)
    mean = sum(DATA) / n
    var = sum((x - mean) ** 2 for x in DATA) / n
    assert got[:4] == (sum(DATA), n, min(DATA), max(DATA))
    assert got[4] == pytest.approx(mean)
    assert got[5] == pytest.approx(var)
    assert got[6] == pytest.approx(math.sqrt(var * n / (n - 1)))
    assert b.any().compute(scheduler="sync") is True
    assert b.all().compute(scheduler="sync") is False
    assert b.fold(operator.add).compute(scheduler="sync") == sum(DATA)
    assert b.fold(operator.add, initial=10).compute(scheduler="sync") >= sum(DATA) + 10
    assert b.reduction(sum, sum).compute(scheduler="sync") == sum(DATA)
    assert b.accumulate(operator.add).compute(scheduler="sync") == list(
        __import__("itertools").accumulate(DATA)
    )


@pytest.mark.parametrize("b", bags([x % 7 for x in DATA]))
def test_frequencies_topk_distinct(b):
    seq = [x % 7 for x in DATA]
    assert dict(b.frequencies().compute(scheduler="sync")) == dict(Counter(seq))
    top = b.frequencies(sort=True).compute(scheduler="sync")
    assert [c for _, c in top] == sorted(Counter(seq).values(), reverse=True)
    assert b.topk(4).compute(scheduler="sync") == heapq.nlargest(4, seq)
    assert b.topk(2, key=lambda x: -x).compute(scheduler="sync") == heapq.nsmallest(2, seq)
    assert sorted(b.distinct().compute(scheduler="sync")) == sorted(set(seq))
    assert b.distinct().count().compute(scheduler="sync") == len(set(seq))


@pytest.mark.parametrize("b", bags(RECORDS))
def test_foldby_groupby(b):
    expect = {}
    for r in RECORDS:
        expect[r["name"]] = expect.get(r["name"], 0) + r["amount"]
    got = b.foldby("name", lambda acc, r: acc + r["amount"], 0, operator.add, 0)
    assert dict(got.compute(scheduler="sync")) == pytest.approx(expect)
    # without combine: binop is used for both (elements and partials are numbers)
    nums = b.pluck("n")
    got = nums.foldby(iseven, operator.add).compute(scheduler="sync")
    assert dict(got) == {True: sum(range(0, 40, 2)), False: sum(range(1, 40, 2))}
    for scheduler in ("sync", "processes"):
        groups = b.groupby(lambda r: r["kind"]).compute(scheduler=scheduler)
        assert sorted(k for k, _ in groups) == ["purchase", "view"]
        for k, members in groups:
            assert sorted(members, key=lambda r: r["n"]) == [r for r in RECORDS if r["kind"] == k]


def test_groupby_engine_and_files_agree():
    b = db.from_sequence([f"w{i % 13}" for i in range(300)], npartitions=6)
    g = b.groupby(lambda w: w, npartitions=4)
    with oxdask.config.set(scheduler="threads"):
        threads = sorted((k, sorted(v)) for k, v in b.groupby(lambda w: w, npartitions=4))
    processes = sorted((k, sorted(v)) for k, v in g.compute(scheduler="processes"))
    assert threads == processes
    assert len(threads) == 13
    assert sum(len(v) for _, v in threads) == 300


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_schedulers(scheduler):
    b = db.from_sequence(DATA, npartitions=4)
    assert b.map(inc).filter(iseven).sum().compute(scheduler=scheduler) == sum(
        x for x in map(inc, DATA) if iseven(x)
    )
    assert b.map(inc).compute(scheduler=scheduler) == [inc(x) for x in DATA]


def test_default_scheduler_is_processes():
    from oxdask.base import get_scheduler

    b = db.from_sequence(DATA)
    get = get_scheduler(collections=[b])
    assert get(dict(x=(inc, 1)), "x") == 2
    assert "multiprocessing" in get.__code__.co_consts or get.__module__ == "oxdask.bag.core"
    with oxdask.config.set(scheduler="sync"):
        assert b.sum().compute() == sum(DATA)


def test_compute_with_arrays_together():
    da = pytest.importorskip("oxdask.array")
    b = db.from_sequence(DATA, npartitions=3)
    x = da.arange(10, chunks=5)
    # as in Dask: the default schedulers differ (processes, threads), so one must be named
    with pytest.raises(ValueError, match="differing default schedulers"):
        oxdask.compute(b.sum(), x.sum())
    with pytest.raises(ValueError, match="differing default schedulers"):
        oxdask.persist(b, x)
    for scheduler in ("threads", "sync"):
        total, s, lst = oxdask.compute(b.sum(), x.sum(), b.map(inc), scheduler=scheduler)
        assert (total, int(s), lst) == (sum(DATA), 45, [inc(v) for v in DATA])
    with oxdask.config.set(scheduler="threads"):
        assert oxdask.compute(b.count(), x.max())[0] == len(DATA)


def test_chain_is_one_task_per_partition():
    lines = [json.dumps(r) for r in RECORDS]
    b = db.from_sequence(lines, npartitions=4)
    out = b.map(json.loads).filter(lambda r: r["kind"] == "purchase").pluck("name")
    freq = out.frequencies().topk(2, key=1)
    expect = Counter(r["name"] for r in RECORDS if r["kind"] == "purchase")
    assert freq.compute(scheduler="sync") == heapq.nlargest(2, expect.items(), key=lambda kv: kv[1])
    stats = last_run_stats()
    # 4 partition tasks (source, map, filter, pluck, counting: fused) + the aggregations
    assert stats["tasks"] <= 4 + 4
    opt = freq.__dask_optimize__(freq.dask, freq.__dask_keys__())
    blockwise = [n for n, layer in opt.layers.items() if type(layer).__name__ == "BlockwiseLayer"]
    assert len(blockwise) == 2  # frequencies' part (whole chain) and topk's part


def test_chain_streams_without_lists():
    seen = []

    class Probe:
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            for i in range(self.n):
                seen.append(("read", i))
                yield i

    def record(x):
        seen.append(("map", x))
        return x

    b = db.from_delayed([oxdask.delayed(Probe)(3)]).map(record).filter(lambda x: True)
    assert b.count().compute(scheduler="sync") == 3
    # one pass: each element is mapped right after it is read
    assert seen == [("read", 0), ("map", 0), ("read", 1), ("map", 1), ("read", 2), ("map", 2)]


def test_map_with_bags_items_and_kwargs():
    a = db.from_sequence(DATA, npartitions=3)
    b = db.from_sequence([x * 10 for x in DATA], npartitions=3)

    def f(x, y, z=0):
        return x + y + z

    assert db.map(f, a, b).compute(scheduler="sync") == [x + 10 * x for x in DATA]
    assert a.map(f, a.sum(), z=b).compute(scheduler="sync") == [
        x + sum(DATA) + 10 * x for x in DATA
    ]
    assert a.map(f, oxdask.delayed(5)).compute(scheduler="sync") == [x + 5 for x in DATA]
    assert db.zip(a, b).compute(scheduler="sync") == list(
        zip(DATA, [x * 10 for x in DATA], strict=True)
    )
    with pytest.raises(ValueError, match="same number of partitions"):
        db.map(f, a, db.from_sequence(DATA, npartitions=2))


def test_pluck_forms():
    recs = [{"a": {"b": i}, "c": i} for i in range(5)] + [{"c": 9}]
    b = db.from_sequence(recs, npartitions=2)
    assert b.pluck("a", default=None).compute(scheduler="sync")[-1] is None
    assert b.pluck(["c", "c"]).compute(scheduler="sync") == [(r["c"], r["c"]) for r in recs]
    assert b.pluck("a", {}).pluck("b", -1).compute(scheduler="sync") == [0, 1, 2, 3, 4, -1]


def test_item_api():
    b = db.from_sequence(DATA, npartitions=3)
    s = b.sum()
    assert isinstance(s, db.Item)
    assert (s + 1).compute(scheduler="sync") == sum(DATA) + 1
    assert (2 * s - b.count()).compute(scheduler="sync") == 2 * sum(DATA) - len(DATA)
    assert s.apply(str).compute(scheduler="sync") == str(sum(DATA))
    assert s.to_delayed().compute(scheduler="sync") == sum(DATA)
    assert db.Item.from_delayed(oxdask.delayed(3)).compute(scheduler="sync") == 3


def test_take_join_product_unzip_str():
    b = db.from_sequence(DATA, npartitions=4)
    assert b.take(3) == (0, 1, 2)
    with pytest.warns(UserWarning, match="Insufficient"):
        b.take(100)
    assert b.take(100, npartitions=-1, warn=False) == tuple(DATA)
    other = [(i, str(i)) for i in range(0, 30, 5)]
    joined = b.join(other, on_self=lambda x: x, on_other=operator.itemgetter(0))
    assert joined.compute(scheduler="sync") == [((x, str(x)), x) for x in DATA if x % 5 == 0]
    small = db.from_sequence([1, 2], npartitions=2)
    assert sorted(small.product(small).compute(scheduler="sync")) == [
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    ]
    _, y = b.map(lambda v: (v, -v)).unzip(2)
    assert y.compute(scheduler="sync") == [-v for v in DATA]
    words = db.from_sequence(["Alice Smith", "Bob Jones", "Carol Smith"], npartitions=2)
    assert words.str.lower().compute(scheduler="sync") == [
        "alice smith",
        "bob jones",
        "carol smith",
    ]
    assert words.str.match("*Smith").compute(scheduler="sync") == ["Alice Smith", "Carol Smith"]


@pytest.mark.parametrize("n", [1, 2, 5, 30])
def test_repartition(n):
    b = db.from_sequence(DATA, npartitions=4)
    c = b.repartition(npartitions=n)
    assert c.npartitions == n
    assert c.compute(scheduler="sync") == DATA


def test_range_and_concat():
    assert db.range(10, npartitions=3).compute(scheduler="sync") == list(range(10))
    a = db.from_sequence([1, 2], npartitions=2)
    assert db.concat([a, a]).compute(scheduler="sync") == [1, 2, 1, 2]
    assert db.from_sequence([]).compute(scheduler="sync") == []


def test_random_sample_reproducible():
    b = db.from_sequence(range(1000), npartitions=5)
    s1 = b.random_sample(0.1, random_state=42).compute(scheduler="sync")
    s2 = b.random_sample(0.1, random_state=42).compute(scheduler="sync")
    assert s1 == s2
    assert 30 < len(s1) < 200
    assert set(s1) <= set(range(1000))


def test_errors():
    b = db.from_sequence(DATA, npartitions=3)
    with pytest.raises(TypeError, match="callable"):
        b.map(5)
    with pytest.raises(TypeError, match="callable"):
        b.filter("x")

    def boom(x):
        raise KeyError(f"bad {x}")

    for scheduler in ("sync", "processes"):
        with pytest.raises(KeyError, match=r"bad \d+[\s\S]*while computing task \('boom-"):
            b.map(boom).compute(scheduler=scheduler)
    with pytest.raises(ValueError, match="empty"):
        db.from_sequence([], npartitions=1).max().compute(scheduler="sync")


def test_unpicklable_function_on_processes():
    import threading

    lock = threading.Lock()
    b = db.from_sequence(DATA, npartitions=2).map(lambda x: (lock, x)[1])
    with pytest.raises(TypeError, match=r"serialize task function 'map\(lambda\)'.*lock"):
        b.compute(scheduler="processes")
    assert b.compute(scheduler="threads") == DATA


def test_to_dataframe():
    pd = pytest.importorskip("pandas")
    b = db.from_sequence(RECORDS, npartitions=3)
    df = b.to_dataframe()
    expect = pd.DataFrame(RECORDS)
    got = df.compute(scheduler="sync").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expect)


def test_fold_matches_reduce():
    b = db.from_sequence(DATA, npartitions=5)
    assert b.fold(max).compute(scheduler="sync") == reduce(max, DATA)


def test_groupby_partitions_like_dask():
    dask_bag = pytest.importorskip("dask.bag")
    seq = [f"w{i % 17}" for i in range(200)] + list(range(30))
    ours = db.from_sequence(seq, npartitions=5).groupby(str, npartitions=4)
    theirs = dask_bag.from_sequence(seq, npartitions=5).groupby(str, npartitions=4)
    ours_parts = oxdask.compute(*ours.to_delayed(), scheduler="sync")
    theirs_parts = theirs.to_delayed()
    theirs_parts = [d.compute(scheduler="sync") for d in theirs_parts]
    # the same keys in the same output partitions (the order inside one may differ)
    assert [sorted(k for k, _ in p) for p in ours_parts] == [
        sorted(k for k, _ in p) for p in theirs_parts
    ]
    assert sorted(ours.compute(scheduler="sync")) == sorted(theirs.compute(scheduler="sync"))


JSON_CASES = [
    '{"a": 1}',
    ' {"a": 1}',
    '{"a": 1}\n',
    '{"a": {"b": [1, 2.5, null, true]}}  \t\r\n',
    '{"a": 1, "a": 2}',
    "1e400",
    "NaN",
    b'{"a": 1}',
]
JSON_ERRORS = ['{"a": 1} x', "", "\ufeff{}", "[1, 2"]


def test_map_json_loads_same_values_and_errors():
    b = db.from_sequence(JSON_CASES, npartitions=3)
    assert b.map(json.loads).compute(scheduler="sync") == [json.loads(c) for c in JSON_CASES]
    for bad in JSON_ERRORS:
        with pytest.raises(json.JSONDecodeError) as got:
            db.from_sequence([bad]).map(json.loads).compute(scheduler="sync")
        with pytest.raises(json.JSONDecodeError) as want:
            json.loads(bad)
        assert got.value.msg == want.value.msg
        assert got.value.pos == want.value.pos


def _pid(*_):
    import os

    return os.getpid()


def test_processes_aggregate_in_the_calling_process():
    import os

    b = db.from_sequence(DATA, npartitions=4)
    # the per-partition step runs in a worker, the aggregation where the partials are
    assert b.reduction(_pid, _pid).compute(scheduler="processes") == os.getpid()
    workers = b.map_partitions(lambda p: [os.getpid()]).compute(scheduler="processes")
    assert os.getpid() not in workers
    # a step on a reduction's result (one partition) runs there too
    after = b.distinct().map_partitions(_pid).compute(scheduler="processes")
    assert after == [os.getpid()]
    assert b.distinct().count().compute(scheduler="processes") == len(set(DATA))


def test_groupby_files_are_removed(tmp_path):
    b = db.from_sequence([f"k{i % 5}" for i in range(100)], npartitions=4)
    with oxdask.config.set({"temporary-directory": str(tmp_path)}):
        groups = b.groupby(lambda x: x).compute(scheduler="processes")
    assert sorted((k, len(v)) for k, v in groups) == [(f"k{i}", 20) for i in range(5)]
    assert list(tmp_path.iterdir()) == []
