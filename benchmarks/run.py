"""Runs every workload on oxdask and on Dask in one run and prints the ratios.

Each (library, workload) pair runs in a fresh subprocess so that peak memory (max RSS) is
measured per library. Usage: ``python benchmarks/run.py [workload ...] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from array_workloads import ARRAY_WORKLOADS
from dataframe_workloads import DATAFRAME_WORKLOADS
from workloads import WORKLOADS

HERE = Path(__file__).resolve().parent


def run_one(lib: str, workload: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(HERE / "_one.py"), lib, workload],
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} {workload} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best(lib: str, workload: str, repeat: int) -> dict:
    runs = [run_one(lib, workload) for _ in range(repeat)]
    return {
        "build_s": min(r["build_s"] for r in runs),
        "compute_s": min(r["compute_s"] for r in runs),
        "peak_rss_mb": min(r["peak_rss_mb"] for r in runs),
        "tasks": runs[0]["tasks"],
        "calls": runs[0]["calls"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "workloads", nargs="*", default=[*WORKLOADS, *ARRAY_WORKLOADS, *DATAFRAME_WORKLOADS]
    )
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    header = f"{'workload':<24} {'metric':<18} {'oxdask':>12} {'dask':>12} {'dask/oxdask':>12}"
    print(header)
    print("-" * len(header))
    for workload in args.workloads:
        ox = best("oxdask", workload, args.repeat)
        dk = best("dask", workload, args.repeat)

        def per(r, what, unit):
            return 1e6 * r[what] / r[unit]

        if workload in ARRAY_WORKLOADS or workload in DATAFRAME_WORKLOADS:  # whole seconds
            rows = [
                ("build s", ox["build_s"], dk["build_s"]),
                ("compute s", ox["compute_s"], dk["compute_s"]),
                ("total s", ox["build_s"] + ox["compute_s"], dk["build_s"] + dk["compute_s"]),
                ("peak RSS MB", ox["peak_rss_mb"], dk["peak_rss_mb"]),
            ]
        else:
            rows = [
                ("compute us/task", per(ox, "compute_s", "tasks"), per(dk, "compute_s", "tasks")),
                ("build us/call", per(ox, "build_s", "calls"), per(dk, "build_s", "calls")),
                ("peak RSS MB", ox["peak_rss_mb"], dk["peak_rss_mb"]),
            ]
        for metric, o, d in rows:
            ratio = d / o if o else float("inf")
            print(f"{workload:<24} {metric:<18} {o:>12.2f} {d:>12.2f} {ratio:>11.1f}x")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
