"""Out-of-core benchmark: oxdask.distributed vs dask.distributed under worker memory limits.

Both libraries run the same jobs on ``LocalCluster(n_workers=2, threads_per_worker=1,
processes=True, memory_limit=...)``; each (case, library) runs in a fresh subprocess with a
wall-clock timeout, so a crashed or hung cluster cannot affect the next run. Cases:

``parquet_groupby``
    1 GB per worker. A groupby mean over 16 Parquet files of generated taxi-like trips
    (34 M rows, about 390 MB on disk, about 3 GB in memory).
``array_spill``
    300 MB per worker. A 1.2 GB array in 10 MB chunks is persisted and then reduced twice
    (sum, std), so the intermediates must be held or spilled. (With 50 MB chunks Dask's
    workers exceed 95% of their limit and are restarted until KilledWorker.)
``wide_reduce``
    300 MB per worker. 3.6 GB of 50 MB chunks, each produced and at once reduced, then
    tree-summed: root tasks must not all be loaded first.

Every result is checked against pandas / NumPy computed in this process, file by file or chunk
by chunk. Printed per case and library: completed (yes, no with the error, or hung: no result
before the timeout), the job's wall time, the worker restarts the logs report, and the peak RSS
of each worker process, sampled every 0.1 s from ``/proc`` for every descendant of this process
(Dask restarts a worker in a new process, oxdask's worker re-executes itself in the same one).

    python benchmarks/bench_out_of_core.py [case ...] [--scale small] [--timeout 300]

``--scale small`` (or ``OXDASK_BENCH_SCALE=small``) shrinks the data ~10x (same memory limits)
for a smoke test under a minute. The Parquet files are written once, by a separate process,
into the directory named by ``OXDASK_BENCH_DATA`` or a folder of the system's temporary
directory.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
LIBS = ("oxdask", "dask")
CASES = ("parquet_groupby", "array_spill", "wide_reduce")
MEMORY_LIMIT = {"parquet_groupby": "1GB", "array_spill": "300MB", "wide_reduce": "300MB"}
FILES = 16
GROUP_COLUMNS = ["trip_distance", "fare_amount", "tip_amount"]
COLS = 5000  # array chunks are (rows, COLS) float64: 1250 rows are 50 MB
# case -> (seed, chunks, rows per chunk at full scale): 120 x 10 MB and 72 x 50 MB
ARRAYS = {"array_spill": (10_000, 120, 250), "wide_reduce": (20_000, 72, 1250)}


def taxi_rows(scale: str) -> int:
    """Rows per Parquet file (34 M in all at full scale)."""
    return 2_125_000 if scale == "full" else 212_500


def array_spec(case: str, scale: str) -> tuple[int, int, int]:
    """Seed, number of chunks and rows per chunk of the case's array (chunks 10x smaller when
    small)."""
    seed, nchunks, rows = ARRAYS[case]
    return seed, nchunks, rows if scale == "full" else rows // 10


def data_dir(scale: str) -> Path:
    base = os.environ.get("OXDASK_BENCH_DATA") or os.path.join(
        tempfile.gettempdir(), "oxdask-bench-data"
    )
    return Path(base) / f"ooc-taxi-{FILES}x{taxi_rows(scale)}"


# -- data ---------------------------------------------------------------------------------------


def _taxi_frame(seed: int, n: int) -> pd.DataFrame:
    """One file of taxi-like trips: a slice of the year sorted by pickup time, metered fares,
    skewed passenger counts and zones (so that it compresses about as real trip data does)."""
    rng = np.random.default_rng(seed)
    span = 365 * 24 * 3600 // FILES
    start = np.datetime64("2024-01-01T00:00:00") + np.timedelta64(seed * span, "s")
    pickup = start + np.sort(rng.integers(0, span, n)).astype("timedelta64[s]")
    seconds = rng.gamma(2.0, 450.0, n).astype("int64")
    distance = np.round(rng.gamma(1.6, 1.8, n), 2)
    distance[rng.random(n) < 0.01] = 0.0  # bad rows
    fare = np.round(3.0 + 0.7 * np.ceil(distance * 5 + seconds / 120), 2)
    fare[rng.random(n) < 0.005] *= -1  # refunds: bad rows
    card = rng.random(n) < 0.7
    tip_rate = rng.choice([0.0, 0.1, 0.15, 0.2, 0.25, 0.3], n)
    tip = np.where(card, np.round(fare * tip_rate, 2), 0.0)
    zones = np.random.default_rng(265).permutation(265) + 1
    weights = 1.0 / np.arange(1, 266) ** 1.1
    weights /= weights.sum()
    return pd.DataFrame(
        {
            "VendorID": rng.integers(1, 3, n),
            "tpep_pickup_datetime": pickup,
            "tpep_dropoff_datetime": pickup + seconds.astype("timedelta64[s]"),
            "passenger_count": rng.choice(7, n, p=[0.02, 0.72, 0.14, 0.04, 0.02, 0.04, 0.02]),
            "trip_distance": distance,
            "PULocationID": zones[rng.choice(265, n, p=weights)],
            "DOLocationID": zones[rng.choice(265, n, p=weights)],
            "payment_type": np.where(card, 1, 2),
            "fare_amount": fare,
            "tip_amount": tip,
            "total_amount": np.round(fare + tip + 2.5, 2),
        }
    )


def generate(scale: str) -> Path:
    """Write the taxi Parquet files (if missing) and return their directory."""
    root = data_dir(scale)
    if (root / "DONE").exists():
        return root
    (root / "parquet").mkdir(parents=True, exist_ok=True)
    for i in range(FILES):
        frame = _taxi_frame(i, taxi_rows(scale))
        path = root / "parquet" / f"trips-{i:02d}.parquet"
        frame.to_parquet(path, index=False, compression="zstd")
    (root / "DONE").write_text("ok\n")
    return root


def _ensure_data(scale: str) -> Path:
    root = data_dir(scale)
    if not (root / "DONE").exists():  # a separate process: nothing stays in this one
        cmd = [sys.executable, __file__, "--generate", "--scale", scale]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return root


def _block(block_id=None, seed=0, rows=0, cols=0):
    """Chunk ``block_id`` of a deterministic random array (same data in both libraries)."""
    return np.random.default_rng(seed + block_id[0]).random((rows, cols))


def _random_array(da, case: str, scale: str):
    seed, nchunks, rows = array_spec(case, scale)
    return da.map_blocks(
        _block,
        chunks=((rows,) * nchunks, (COLS,)),
        dtype="f8",
        meta=np.empty((0, 0)),
        seed=seed,
        rows=rows,
        cols=COLS,
    )


# -- cases: run in the child process, on one library --------------------------------------------


def _as_dict(frame: pd.DataFrame) -> dict:
    return {str(k): [float(v) for v in row] for k, row in frame.iterrows()}


def parquet_groupby(lib: str, scale: str):
    dd = importlib.import_module(f"{lib}.dataframe")
    df = dd.read_parquet(str(_ensure_data(scale) / "parquet"))
    df = df[(df.fare_amount > 0) & (df.trip_distance > 0)]
    result = df.groupby("passenger_count")[GROUP_COLUMNS].mean().compute()
    return _as_dict(result)


def array_spill(lib: str, scale: str):
    da = importlib.import_module(f"{lib}.array")
    y = (_random_array(da, "array_spill", scale) + 1).persist()
    total = float(y.sum().compute())
    std = float(y.std().compute())
    return {"sum": total, "std": std}


def wide_reduce(lib: str, scale: str):
    da = importlib.import_module(f"{lib}.array")
    x = _random_array(da, "wide_reduce", scale)
    return {"sum": float(x.sum(split_every=8).compute())}


# -- expected results: computed in the parent, a file or a chunk at a time ----------------------


def expected(case: str, scale: str):
    if case == "parquet_groupby":
        import pyarrow.parquet as pq

        sums, counts = None, None
        for path in sorted((_ensure_data(scale) / "parquet").glob("*.parquet")):
            part = pq.read_table(path, columns=["passenger_count", *GROUP_COLUMNS]).to_pandas()
            part = part[(part.fare_amount > 0) & (part.trip_distance > 0)]
            g = part.groupby("passenger_count")[GROUP_COLUMNS]
            s, c = g.sum(), g.count()
            sums = s if sums is None else sums.add(s, fill_value=0)
            counts = c if counts is None else counts.add(c, fill_value=0)
        return _as_dict(sums / counts)
    seed, nchunks, rows = array_spec(case, scale)
    spill = case == "array_spill"
    total = squares = 0.0
    for i in range(nchunks):
        block = _block((i, 0), seed, rows, COLS)
        if spill:
            block += 1
            squares += float(np.dot(block.ravel(), block.ravel()))
        total += float(block.sum())
    if not spill:
        return {"sum": total}
    n = nchunks * rows * COLS
    return {"sum": total, "std": float(np.sqrt(squares / n - (total / n) ** 2))}


def check(case: str, got, want) -> str | None:
    """None when ``got`` matches ``want``, else what differs."""
    rtol = 1e-6 if case == "array_spill" else 1e-9
    if got.keys() != want.keys():
        return f"keys {sorted(got)} != {sorted(want)}"
    for k in want:
        if not np.allclose(got[k], want[k], rtol=rtol, atol=0):
            return f"{k}: {got[k]} != {want[k]}"
    return None


# -- child: one case on one library -------------------------------------------------------------


def child(lib: str, case: str, scale: str) -> None:
    if lib == "dask":
        from dask.distributed import Client, LocalCluster
    else:
        from oxdask.distributed import Client, LocalCluster
    t0 = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit=MEMORY_LIMIT[case],
        dashboard_address=None,
    )
    client = Client(cluster)
    out = {"startup_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    try:
        out["result"] = globals()[case](lib, scale)
        out["completed"] = True
    except Exception as e:
        out["completed"] = False
        out["error"] = f"{type(e).__name__}: {e}"
    out["wall_s"] = time.perf_counter() - t0
    print(json.dumps(out), flush=True)  # before closing, which may hang after a failure
    client.close()
    cluster.close()


# -- parent: runs the children and samples their memory -----------------------------------------


class RssSampler(threading.Thread):
    """Polls ``VmRSS`` of every descendant of this process; keeps the max per pid."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak: dict[int, int] = {}  # pid -> max VmRSS in kB
        self.cmdline: dict[int, str] = {}  # the latest seen (a fork, then an exec)
        self.samples: dict[int, int] = {}
        self._done = threading.Event()

    def _descendants(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        out, todo = [], [os.getpid()]
        while todo:
            for pid in children.get(todo.pop(), ()):
                out.append(pid)
                todo.append(pid)
        return out

    def sample(self) -> None:
        for pid in self._descendants():
            try:
                with open(f"/proc/{pid}/status") as f:
                    line = next((x for x in f if x.startswith("VmRSS:")), None)
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if line is not None and cmd:  # a zombie has neither
                self.cmdline[pid] = cmd
                self.peak[pid] = max(self.peak.get(pid, 0), int(line.split()[1]))
                self.samples[pid] = self.samples.get(pid, 0) + 1

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


# Worker processes: oxdask's, and Dask's (started by its nannies with multiprocessing's spawn).
_WORKERS = ("oxdask.distributed.worker", "multiprocessing.spawn")
# What a nanny logs when it restarts a worker (oxdask's worker re-executes itself: same pid).
_RESTART = re.compile(r"Restarting worker \(|oxdask worker: restarting")


def run_case(lib: str, case: str, scale: str, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="oxdask-ooc-") as tmp:
        out_path, err_path = Path(tmp) / "out", Path(tmp) / "err"
        sampler = RssSampler()
        sampler.start()
        t0 = time.perf_counter()
        with open(out_path, "w") as out, open(err_path, "w") as err:
            proc = subprocess.Popen(
                [sys.executable, __file__, "--child", lib, case, "--scale", scale],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=HERE,
                start_new_session=True,  # its own process group: workers included
            )
            try:
                proc.wait(timeout)
                hung = False
            except subprocess.TimeoutExpired:
                hung = True
            elapsed = time.perf_counter() - t0
            # whatever of the group is left (a hung cluster, orphaned workers)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        sampler.stop()
        lines = out_path.read_text().strip().splitlines()
        stderr = err_path.read_text()
    res = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    if res is None:
        tail = stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        res = {
            "completed": False,
            "hung": hung,
            "wall_s": elapsed,
            "error": f"no result within {timeout:.0f} s" if hung else "crashed: " + tail[0],
        }
    workers = [  # not short-lived helpers (e.g. a fork that runs ldconfig)
        pid
        for pid in sampler.peak
        if any(m in sampler.cmdline[pid] for m in _WORKERS) and sampler.samples[pid] >= 3
    ]
    res["worker_peak_rss_mb"] = [sampler.peak[pid] / 1024 for pid in workers]
    res["restarts"] = len(_RESTART.findall(stderr))
    res["driver_peak_rss_mb"] = sampler.peak.get(proc.pid, 0) / 1024
    return res


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Out-of-core jobs on oxdask.distributed and dask.distributed."
    )
    parser.add_argument("cases", nargs="*", metavar="case", help=", ".join(CASES))
    parser.add_argument(
        "--scale",
        choices=["full", "small"],
        default="small" if os.environ.get("OXDASK_BENCH_SCALE") == "small" else "full",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per case run")
    parser.add_argument("--libs", nargs="+", default=list(LIBS), choices=LIBS)
    parser.add_argument("--child", nargs=2, metavar=("LIB", "CASE"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        print(generate(args.scale))
        return
    if args.child:
        child(*args.child, args.scale)
        return
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}; choose from {', '.join(CASES)}")

    header = (
        f"{'case':<16} {'limit':<6} {'library':<8} {'completed':<9} {'wall s':>8} {'restarts':>8}"
        "  peak RSS per worker process MB"
    )
    print(f"scale={args.scale} timeout={args.timeout:.0f}s; 2 workers x 1 thread, processes")
    print(header)
    print("-" * len(header))
    for case in args.cases or CASES:
        want = expected(case, args.scale)  # also writes the Parquet files when missing
        results = {}
        for lib in args.libs:
            res = run_case(lib, case, args.scale, args.timeout)
            if res["completed"]:
                wrong = check(case, res["result"], want)
                if wrong:
                    res.update(completed=False, error=f"WrongResult: {wrong}")
            results[lib] = res
            status = "yes" if res["completed"] else "hung" if res.get("hung") else "no"
            rss = res["worker_peak_rss_mb"]
            rss_text = ", ".join(f"{mb:.0f}" for mb in rss) or "-"
            name, limit = (case, MEMORY_LIMIT[case]) if lib == args.libs[0] else ("", "")
            row = f"{name:<16} {limit:<6} {lib:<8} {status:<9} {res['wall_s']:>8.2f}"
            print(f"{row} {res['restarts']:>8}  {rss_text}")
            if not res["completed"]:
                print(f"{'':<23} {res['error'][:300]}")
            sys.stdout.flush()
        if all(lib in results and results[lib]["completed"] for lib in LIBS):
            ratio = results["dask"]["wall_s"] / results["oxdask"]["wall_s"]
            print(f"{'':<23} {'dask/oxdask time':<18} {ratio:>8.2f}x")


if __name__ == "__main__":
    main()
