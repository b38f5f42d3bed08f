"""The taxi query from Parquet on oxdask, Dask, pandas, Polars and DuckDB, in one run.

The query (the one of ``dataframe_workloads.taxi_parquet``): drop rows with no fare or no
distance, a tip fraction, its mean by day of week and hour of pickup, over the 16 Parquet files
``dataframe_workloads`` generates (``OXDASK_BENCH_SCALE=full``: 21.6 M rows). Each engine runs
in a fresh process per repetition (file reading included, the interpreter start and imports
not); the medians are printed with each engine's time over oxdask's. Every engine's answer is
checked against pandas' before it counts.

    pip install -r benchmarks/requirements.txt   # Dask, Polars and DuckDB
    python benchmarks/bench_engines.py [--repeat 5] [engines ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from dataframe_workloads import _ensure_data

ENGINES = ("oxdask", "dask", "pandas", "polars", "duckdb")
COLUMNS = ["tpep_pickup_datetime", "trip_distance", "fare_amount", "tip_amount"]


def _frame_query(df):
    """The query on a pandas-like frame (pandas, oxdask, Dask)."""
    df = df[(df.fare_amount > 0) & (df.trip_distance > 0)]
    df = df.assign(tip_frac=df.tip_amount / df.fare_amount)
    ts = df.tpep_pickup_datetime
    return df.groupby([ts.dt.day_of_week.rename("day"), ts.dt.hour.rename("hour")]).tip_frac.mean()


def run(engine: str, root: Path) -> tuple[float, pd.Series]:
    """Runs the query once on ``engine``; returns the seconds and the answer as a Series
    indexed by (day, hour)."""
    files = str(root / "parquet")
    if engine in ("oxdask", "dask"):
        dd = __import__(f"{engine}.dataframe", fromlist=["dataframe"])
        # imports are not timed: dask.dataframe imports its reader's modules, oxdask on first use
        for module in ("fsspec", "pyarrow.dataset", "pyarrow.parquet"):
            __import__(module)

        t0 = time.perf_counter()
        out = _frame_query(dd.read_parquet(files, columns=COLUMNS)).compute()
    elif engine == "pandas":
        t0 = time.perf_counter()
        out = _frame_query(pd.read_parquet(files, columns=COLUMNS))
    elif engine == "polars":
        import polars as pl

        t0 = time.perf_counter()
        ts = pl.col("tpep_pickup_datetime")
        frame = (
            pl.scan_parquet(f"{files}/*.parquet")
            .filter((pl.col("fare_amount") > 0) & (pl.col("trip_distance") > 0))
            .group_by((ts.dt.weekday() - 1).alias("day"), ts.dt.hour().alias("hour"))
            .agg((pl.col("tip_amount") / pl.col("fare_amount")).mean().alias("tip_frac"))
            .collect()
        )
        out = frame.to_pandas().set_index(["day", "hour"]).tip_frac
    elif engine == "duckdb":
        import duckdb

        t0 = time.perf_counter()
        frame = duckdb.sql(
            "SELECT isodow(tpep_pickup_datetime) - 1 AS day, hour(tpep_pickup_datetime) AS hour,"
            " avg(tip_amount / fare_amount) AS tip_frac"
            f" FROM read_parquet('{files}/*.parquet')"
            " WHERE fare_amount > 0 AND trip_distance > 0 GROUP BY ALL"
        ).df()
        out = frame.set_index(["day", "hour"]).tip_frac
    else:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    seconds = time.perf_counter() - t0
    return seconds, out.sort_index()


def _one(engine: str) -> None:
    """In a subprocess: one timed run; prints the seconds and the answer as JSON."""
    root = _ensure_data()
    seconds, out = run(engine, root)
    values = [[int(d), int(h), float(v)] for (d, h), v in out.items()]
    print(json.dumps({"s": seconds, "values": values}))


def _measure(engine: str, repeat: int) -> tuple[list[float], list] | None:
    times, values = [], None
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, __file__, "--one", engine],
            capture_output=True, text=True, timeout=1800, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or ["?"]
            print(f"  {engine}: not run ({tail[0]})", flush=True)
            return None
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        times.append(got["s"])
        values = got["values"]
    return times, values


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("engines", nargs="*", default=list(ENGINES))
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        return _one(args.one)
    root = _ensure_data()
    rows = sum(pd.read_parquet(f, columns=["fare_amount"]).shape[0]
               for f in sorted((root / "parquet").glob("*.parquet")))  # fmt: skip
    print(f"taxi query over {rows:,} rows in 16 Parquet files, median of {args.repeat} runs")
    reference = run("pandas", root)[1]
    results = {}
    for engine in args.engines:
        measured = _measure(engine, args.repeat)
        if measured is None:
            continue
        times, values = measured
        got = pd.Series({(d, h): v for d, h, v in values}).sort_index()
        assert len(got) == len(reference) == 7 * 24, (engine, len(got))
        np.testing.assert_allclose(got.to_numpy(), reference.to_numpy(), rtol=1e-9)
        results[engine] = (statistics.median(times), min(times), max(times))
    base = results.get("oxdask", (None,))[0]
    print(f"{'engine':<8} {'median s':>9} {'range s':>15} {'time / oxdask':>14}")
    for engine, (median, low, high) in results.items():
        ratio = f"{median / base:.2f}" if base else "-"
        print(f"{engine:<8} {median:>9.3f} {f'{low:.3f}-{high:.3f}':>15} {ratio:>14}")
    return None


if __name__ == "__main__":
    main()
