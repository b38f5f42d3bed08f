"""Chains and reductions stream: memory stays at about one block, whatever the data size."""

from __future__ import annotations

import gzip
import json
import tracemalloc

import oxdask.bag as db

LINE = json.dumps({"user": "u00001", "kind": "purchase", "amount": 12.5, "pad": "x" * 60})


def _peak(func):
    tracemalloc.start()
    try:
        out = func()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_blocksize_reads_stream(tmp_path):
    path = tmp_path / "big.json"
    n = 200_000  # ~20 MB
    path.write_text((LINE + "\n") * n)
    b = db.read_text(str(path), blocksize="1MB").map(json.loads).pluck("amount")
    total, peak = _peak(lambda: b.sum().compute(scheduler="sync"))
    assert total == 12.5 * n
    assert peak < 12_000_000, peak  # the file is 20 MB; its parsed records far more


def test_whole_file_partition_streams(tmp_path):
    """One gzip file is one partition, read in chunks: the records never all exist."""
    path = tmp_path / "big.json.gz"
    n = 150_000
    with gzip.open(path, "wt") as f:
        f.write((LINE + "\n") * n)
    b = db.read_text(str(path)).map(json.loads).filter(lambda r: r["kind"] == "purchase")
    count, peak = _peak(lambda: b.count().compute(scheduler="sync"))
    assert count == n
    assert peak < 40_000_000, peak  # the records as dicts would take ~100 MB


def test_large_elements_stream_through_a_chain():
    b = db.range(150_000, npartitions=3).map(lambda i: [i] * 100).map(sum)
    total, peak = _peak(lambda: b.sum().compute(scheduler="sync"))
    assert total == 100 * sum(range(150_000))
    assert peak < 20_000_000, peak  # 150,000 lists of 100 ints would be ~130 MB
