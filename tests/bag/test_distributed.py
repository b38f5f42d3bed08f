"""Bags on a LocalCluster: the client is the scheduler, groupby uses the engine shuffle."""

from __future__ import annotations

import json
import operator
from collections import Counter

import pytest

import oxdask
import oxdask.bag as db
from oxdask.distributed import Client, LocalCluster

RECORDS = [{"user": f"u{i % 11}", "kind": "buy" if i % 3 else "view", "n": i} for i in range(300)]


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        yield c


def test_chain_reductions_on_cluster(client):
    lines = db.from_sequence([json.dumps(r) for r in RECORDS], npartitions=6)
    recs = lines.map(json.loads)
    freq = recs.filter(lambda r: r["kind"] == "buy").pluck("user").frequencies()
    expect = Counter(r["user"] for r in RECORDS if r["kind"] == "buy")
    assert dict(freq.compute()) == dict(expect)
    assert recs.pluck("n").sum().compute() == sum(range(300))
    folded = recs.foldby("user", lambda acc, r: acc + r["n"], 0, operator.add, 0)
    want = {}
    for r in RECORDS:
        want[r["user"]] = want.get(r["user"], 0) + r["n"]
    assert dict(folded.compute()) == want


def test_groupby_on_cluster(client):
    b = db.from_sequence(RECORDS, npartitions=5)
    groups = b.groupby("user", npartitions=3).compute()
    assert sorted(k for k, _ in groups) == sorted({r["user"] for r in RECORDS})
    for k, members in groups:
        assert sorted(m["n"] for m in members) == [r["n"] for r in RECORDS if r["user"] == k]


def test_persist_and_mixed_compute(client):
    b = db.from_sequence(range(100), npartitions=4).map(operator.neg).persist()
    assert b.compute() == [-i for i in range(100)]
    total, items = oxdask.compute(b.sum(), b.take(3, compute=False))
    assert total == -sum(range(100))
    assert items == [0, -1, -2]
