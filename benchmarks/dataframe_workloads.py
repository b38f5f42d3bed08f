"""Dataframe benchmark workloads, written once against the ``dask.dataframe`` API.

Each workload is a function ``(dd) -> dict`` where ``dd`` is ``oxdask.dataframe`` or
``dask.dataframe``; it returns the graph-building time, the compute time and a partition
count, and checks its result so that a fast wrong answer cannot pass.

Data: the taxi workloads read 16 CSV files and the same rows as 16 Parquet files of
generated taxi-like trips (written once, by a separate process, into the directory named by
``OXDASK_BENCH_DATA`` or a folder of the system's temporary directory). The other workloads
generate their partitions in tasks with ``from_map``. ``OXDASK_BENCH_SCALE=full`` selects the
sizes of the issue (about 1.5 GB of CSV, a 20 M-row groupby, a 10 M x 2 M merge, a 10 M-row
``set_index``); the default is small enough for a 2-core machine in a few minutes.

``python benchmarks/dataframe_workloads.py --generate`` writes the taxi files;
``python benchmarks/run.py taxi_csv taxi_parquet groupby_many merge set_index`` runs them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FULL = os.environ.get("OXDASK_BENCH_SCALE", "") == "full"
FILES = 16
TAXI_ROWS = 1_350_000 if FULL else 300_000  # per file: ~1.5 GB of CSV in total when full
GROUPBY_ROWS, GROUPS = (20_000_000, 1_000_000) if FULL else (8_000_000, 800_000)
MERGE_LEFT, MERGE_RIGHT = (10_000_000, 2_000_000) if FULL else (8_000_000, 1_600_000)
SET_INDEX_ROWS = 10_000_000 if FULL else 8_000_000


def data_dir() -> Path:
    base = os.environ.get("OXDASK_BENCH_DATA") or os.path.join(
        tempfile.gettempdir(), "oxdask-bench-data"
    )
    return Path(base) / f"taxi-{FILES}x{TAXI_ROWS}"


# -- data ---------------------------------------------------------------------------------------


def _taxi_frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00")
    pickup = start + rng.integers(0, 365 * 24 * 3600, n).astype("timedelta64[s]")
    duration = rng.gamma(2.0, 450.0, n).astype("int64").astype("timedelta64[s]")
    distance = np.round(rng.gamma(1.6, 1.8, n), 2)
    distance[rng.random(n) < 0.01] = 0.0  # bad rows
    fare = np.round(3.0 + distance * 2.5 + rng.normal(0, 1.5, n), 2)
    fare[rng.random(n) < 0.005] *= -1  # refunds: bad rows
    card = rng.random(n) < 0.7
    tip = np.where(card, np.round(fare * rng.uniform(0.0, 0.3, n), 2), 0.0)
    return pd.DataFrame(
        {
            "VendorID": rng.integers(1, 3, n),
            "tpep_pickup_datetime": pickup,
            "tpep_dropoff_datetime": pickup + duration,
            "passenger_count": rng.integers(0, 7, n),
            "trip_distance": distance,
            "PULocationID": rng.integers(1, 266, n),
            "DOLocationID": rng.integers(1, 266, n),
            "payment_type": np.where(card, 1, 2),
            "fare_amount": fare,
            "tip_amount": tip,
            "total_amount": np.round(fare + tip + 1.0, 2),
        }
    )


def generate() -> Path:
    """Write the taxi CSV and Parquet files (if missing) and return their directory."""
    root = data_dir()
    done = root / "DONE"
    if done.exists():
        return root
    (root / "csv").mkdir(parents=True, exist_ok=True)
    (root / "parquet").mkdir(parents=True, exist_ok=True)
    for i in range(FILES):
        df = _taxi_frame(i, TAXI_ROWS)
        df.to_csv(root / "csv" / f"trips-{i:02d}.csv", index=False)
        df.to_parquet(root / "parquet" / f"trips-{i:02d}.parquet", index=False)
    done.write_text("ok\n")
    return root


def _ensure_data() -> Path:
    root = data_dir()
    if not (root / "DONE").exists():  # a separate process, so that it adds nothing to peak RSS
        subprocess.run([sys.executable, __file__, "--generate"], check=True)
    return root


# -- helpers -----------------------------------------------------------------------------------


def _timed(build, check) -> dict:
    t0 = time.perf_counter()
    expr, parts = build()
    t1 = time.perf_counter()
    result = expr.compute()
    t2 = time.perf_counter()
    check(result)
    return {"build_s": t1 - t0, "compute_s": t2 - t1, "tasks": parts, "calls": parts}


def _taxi_query(df):
    df = df[(df.fare_amount > 0) & (df.trip_distance > 0)]
    df = df.assign(tip_frac=df.tip_amount / df.fare_amount)
    ts = df.tpep_pickup_datetime
    return df.groupby([ts.dt.day_of_week.rename("day"), ts.dt.hour.rename("hour")]).tip_frac.mean()


def _check_taxi(result):
    assert len(result) == 7 * 24, len(result)
    assert 0.05 < float(result.mean()) < 0.15, float(result.mean())


# -- workloads ----------------------------------------------------------------------------------


def taxi_csv(dd) -> dict:
    """The taxi query from 16 CSV files: drop bad rows, tip fraction, mean by day and hour."""
    root = _ensure_data()

    def build():
        df = dd.read_csv(str(root / "csv" / "trips-*.csv"), parse_dates=["tpep_pickup_datetime"])
        return _taxi_query(df), df.npartitions

    return _timed(build, _check_taxi)


def taxi_parquet(dd) -> dict:
    """The taxi query from the same rows as 16 Parquet files."""
    root = _ensure_data()

    def build():
        df = dd.read_parquet(
            str(root / "parquet"),
            columns=["tpep_pickup_datetime", "trip_distance", "fare_amount", "tip_amount"],
        )
        return _taxi_query(df), df.npartitions

    return _timed(build, _check_taxi)


def _groupby_part(i, n, groups):
    rng = np.random.default_rng(1000 + i)
    return pd.DataFrame({"key": rng.integers(0, groups, n), "value": rng.random(n)})


def groupby_many(dd) -> dict:
    """A groupby-sum with many groups (800 k by default, 1 M when full), split_out=16."""
    n = GROUPBY_ROWS // FILES

    def build():
        df = dd.from_map(_groupby_part, range(FILES), args=(n, GROUPS))
        return df.groupby("key").value.sum(split_out=FILES), FILES

    def check(result):
        assert abs(len(result) - GROUPS) < GROUPS * 0.01, len(result)
        assert abs(result.sum() - GROUPBY_ROWS / 2) < GROUPBY_ROWS * 0.01

    return _timed(build, check)


def _left_part(i, n, keys):
    rng = np.random.default_rng(2000 + i)
    return pd.DataFrame({"key": rng.integers(0, keys, n), "x": rng.random(n)})


def _right_part(i, n, parts):
    rng = np.random.default_rng(3000 + i)
    keys = np.arange(i, n * parts, parts)  # unique keys over all partitions
    return pd.DataFrame({"key": keys, "y": rng.random(len(keys))})


def merge(dd) -> dict:
    """An inner merge of a large frame with a smaller one on an integer key (shuffle join)."""
    right_parts = 4

    def build():
        left = dd.from_map(_left_part, range(FILES), args=(MERGE_LEFT // FILES, MERGE_RIGHT))
        right = dd.from_map(
            _right_part, range(right_parts), args=(MERGE_RIGHT // right_parts, right_parts)
        )
        joined = left.merge(right, on="key", how="inner")
        return joined.y.sum(), FILES

    def check(result):
        assert abs(result - MERGE_LEFT / 2) < MERGE_LEFT * 0.01, result

    return _timed(build, check)


def _unsorted_part(i, n):
    rng = np.random.default_rng(4000 + i)
    return pd.DataFrame({"x": rng.random(n), "v": rng.integers(0, 1000, n)})


def set_index(dd) -> dict:
    """``set_index`` on an unsorted float column (divisions from quantiles, then a shuffle)."""
    n = SET_INDEX_ROWS // FILES
    t0 = time.perf_counter()
    df = dd.from_map(_unsorted_part, range(FILES), args=(n,))
    out = df.set_index("x")  # computes the divisions
    t1 = time.perf_counter()
    out = out.persist()
    t2 = time.perf_counter()
    assert out.known_divisions
    first = out.partitions[0].compute()
    assert first.index.is_monotonic_increasing
    assert len(first) > 0
    return {"build_s": t1 - t0, "compute_s": t2 - t1, "tasks": FILES, "calls": FILES}


DATAFRAME_WORKLOADS = {
    "taxi_csv": taxi_csv,
    "taxi_parquet": taxi_parquet,
    "groupby_many": groupby_many,
    "merge": merge,
    "set_index": set_index,
}


if __name__ == "__main__":
    if "--generate" in sys.argv:
        print(generate())
    else:
        sys.exit(__doc__)
