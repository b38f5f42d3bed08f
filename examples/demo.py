"""What a Dask user comes for, on oxdask: a DataFrame groupby over Parquet files and an Array
reduction over an on-disk array larger than the cluster's memory, on a ``LocalCluster``.

Run with ``bash scripts/demo.sh`` (it builds oxdask first). The demo

1. generates the data once (cached in ``target/demo``, or ``$OXDASK_DEMO_DIR``): Parquet
   files of random rows and a zarr array, uncompressed, bigger than the workers' memory limits
   together, and reads them once, so that both libraries find them in the page cache;
2. starts a ``LocalCluster`` and prints its dashboard link (open it while the demo runs);
3. loads the Parquet files into the cluster's memory with a progress bar, then groups by key;
4. computes the mean of every row of the on-disk array with a progress bar (the blocks stream
   through the workers: they never hold the whole array);
5. checks both results against pandas and NumPy;
6. runs the same code on Dask (``dask.distributed``) when it is installed and prints the
   timings side by side.

``--small`` uses small data (a smoke test); ``--no-dask`` skips the comparison.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SIZES = {
    # rows per Parquet file, files, array shape, array chunks, worker memory limit
    "full": (1_250_000, 16, (40_000, 8_000), (1_000, 8_000), "1GiB"),
    "small": (20_000, 4, (2_000, 500), (250, 500), "1GiB"),
}
KEYS = 1_000


def generate(data: Path, scale: str) -> tuple[Path, Path]:
    """Parquet files and a zarr array under ``data`` (made once per scale)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zarr

    rows, files, shape, chunks, _ = SIZES[scale]
    parquet, array = data / f"{scale}-parquet", data / f"{scale}-array.zarr"
    done = data / f"{scale}.done"
    if done.exists():
        return parquet, array
    t0 = time.perf_counter()
    parquet.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    for i in range(files):
        table = pa.table(
            {
                "key": rng.integers(0, KEYS, rows),
                "x": rng.random(rows),
                "y": rng.standard_normal(rows),
            }
        )
        pq.write_table(table, parquet / f"part-{i:03d}.parquet")
    z = zarr.create_array(
        store=str(array), shape=shape, chunks=chunks, dtype="f8", compressors=None,
        overwrite=True,
    )  # fmt: skip
    for start in range(0, shape[0], chunks[0]):
        stop = min(start + chunks[0], shape[0])
        z[start:stop] = rng.random((stop - start, shape[1]))
    done.touch()
    mb = sum(f.stat().st_size for f in parquet.iterdir()) / 1e6
    print(
        f"generated {files} Parquet files ({files * rows:,} rows, {mb:,.0f} MB) and a "
        f"{shape[0]:,} x {shape[1]:,} array on disk ({8 * shape[0] * shape[1] / 1e9:.2f} GB) "
        f"in {time.perf_counter() - t0:.1f} s, under {data}"
    )
    return parquet, array


def run(lib: str, parquet: Path, array: Path, scale: str) -> dict:
    """The same Dask code on ``lib`` (``"oxdask"`` or ``"dask"``): timings and results."""
    dd = importlib.import_module(f"{lib}.dataframe")
    da = importlib.import_module(f"{lib}.array")
    distributed = importlib.import_module(f"{lib}.distributed")
    memory_limit = SIZES[scale][4]

    times = {}
    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, memory_limit=memory_limit, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    times["start a cluster"] = time.perf_counter() - t0
    print(f"[{lib}] dashboard: {client.dashboard_link}  (2 workers x {memory_limit})")
    try:
        t0 = time.perf_counter()
        df = dd.read_parquet(str(parquet)).persist()
        distributed.progress(df)
        distributed.wait(df)
        times["load Parquet (persist)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        groups = df.groupby("key").agg({"x": "mean", "y": "sum"}).compute()
        times["groupby-agg"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        x = da.from_zarr(str(array))
        row_means = x.mean(axis=1).persist()  # one block per row block of the array
        distributed.progress(row_means)
        means = row_means.compute()
        times["array row means"] = time.perf_counter() - t0
    finally:
        client.close()
        cluster.close()
    return {"times": times, "groups": groups, "means": means}


def check(out: dict, parquet: Path, array: Path) -> None:
    import zarr

    pdf = pd.read_parquet(parquet)
    expected = pdf.groupby("key").agg({"x": "mean", "y": "sum"})
    pd.testing.assert_frame_equal(out["groups"].sort_index(), expected, rtol=1e-9)
    z = zarr.open_array(str(array), mode="r")
    step = z.chunks[0]
    rows = [z[i : i + step].mean(axis=1) for i in range(0, z.shape[0], step)]
    np.testing.assert_allclose(out["means"], np.concatenate(rows), rtol=1e-12)


def warm(*paths: Path) -> None:
    """Reads every data file once, so that both libraries find them in the page cache (the
    first to run would otherwise pay for reading from disk alone)."""
    for root in paths:
        for f in sorted(p for p in root.rglob("*") if p.is_file()):
            with open(f, "rb") as fh:
                while fh.read(8 << 20):
                    pass


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--small", action="store_true", help="small data: a smoke test")
    p.add_argument("--no-dask", action="store_true", help="skip the comparison with Dask")
    args = p.parse_args()
    scale = "small" if args.small else "full"
    data = Path(os.environ.get("OXDASK_DEMO_DIR", ROOT / "target" / "demo"))
    data.mkdir(parents=True, exist_ok=True)

    import oxdask

    print(f"oxdask {oxdask.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    parquet, array = generate(data, scale)
    warm(parquet, array)
    results = {"oxdask": run("oxdask", parquet, array, scale)}
    check(results["oxdask"], parquet, array)
    print("oxdask: results match pandas and NumPy")

    if not args.no_dask:
        try:
            import dask

            import distributed  # noqa: F401
        except ImportError:
            print("Dask is not installed: no comparison (pip install 'dask[complete]')")
        else:
            print(f"the same code on Dask {dask.__version__}:")
            results["dask"] = run("dask", parquet, array, scale)
            check(results["dask"], parquet, array)
            print("dask: results match pandas and NumPy")

    ox = results["oxdask"]["times"]
    dk = results.get("dask", {}).get("times", {})
    print()
    print(f"{'step':<24}{'oxdask':>10}" + (f"{'dask':>10}{'dask/oxdask':>13}" if dk else ""))
    for step, t in ox.items():
        line = f"{step:<24}{t:>9.2f}s"
        if dk:
            line += f"{dk[step]:>9.2f}s{dk[step] / t:>12.1f}x"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
