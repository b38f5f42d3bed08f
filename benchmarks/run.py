"""Runs every workload on oxdask and on Dask in one run and prints the ratios (dataframe
workloads also on plain pandas in one process, for reference).

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
# Seconds a workload may take in one process. The million-chunk array case takes Dask several
# minutes (about a minute only to build its graph): it is stopped and reported as "> limit".
TIME_LIMITS = {"array_million_chunks": 150}


def _peak_rss_mb(pid: int) -> float:
    """The peak resident size of a running process (``VmHWM``), in MB; 0 if unknown."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_one(lib: str, workload: str) -> dict:
    """One run in a fresh process; ``{"timeout": peak RSS so far}`` when it ran out of its
    time limit."""
    limit = TIME_LIMITS.get(workload, 1800)
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_one.py"), lib, workload],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=HERE,
    )
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        peak = _peak_rss_mb(proc.pid)
        proc.kill()
        proc.communicate()
        return {"timeout": peak}
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} {workload} failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def best(lib: str, workload: str, repeat: int) -> dict:
    runs = [run_one(lib, workload) for _ in range(repeat)]
    late = [r for r in runs if "timeout" in r]
    if late:
        return late[0]
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
        if "timeout" in ox or "timeout" in dk:
            limit = TIME_LIMITS[workload]
            late, finished = ("dask", "oxdask") if "timeout" in dk else ("oxdask", "dask")
            done, stopped = (ox, dk) if finished == "oxdask" else (dk, ox)
            if "timeout" in done:
                print(f"{workload:<24} neither library finished within {limit} s")
                continue
            total = done["build_s"] + done["compute_s"]
            ratio = limit / total if finished == "oxdask" else total / limit
            print(
                f"{workload:<24} {'total s':<18} {finished} {total:.2f}, {late} did not finish "
                f"within {limit} s ({ratio:.1f}x{'+' if finished == 'oxdask' else ''})"
            )
            print(
                f"{workload:<24} {'peak RSS MB':<18} {finished} {done['peak_rss_mb']:.0f}, "
                f"{late} {stopped['timeout']:.0f} when stopped"
            )
            sys.stdout.flush()
            continue

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
        if workload in DATAFRAME_WORKLOADS:  # plain pandas in one process, for reference
            pd_run = best("pandas", workload, args.repeat)
            pd_total = pd_run["build_s"] + pd_run["compute_s"]
            ox_total = ox["build_s"] + ox["compute_s"]
            print(
                f"{workload:<24} {'pandas total s':<18} {pd_total:>12.2f} "
                f"{'(pandas/oxdask':>12} {pd_total / ox_total:>5.1f}x), "
                f"peak RSS {pd_run['peak_rss_mb']:.0f} MB"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
