"""Runs one workload on one library in this process and prints a JSON line (used by run.py)."""

from __future__ import annotations

import importlib
import json
import resource
import sys

from array_workloads import ARRAY_WORKLOADS
from dataframe_workloads import DATAFRAME_WORKLOADS
from workloads import WORKLOADS


def main() -> None:
    lib_name, workload = sys.argv[1], sys.argv[2]
    sys.setrecursionlimit(100_000)
    if workload in ARRAY_WORKLOADS:  # array workloads take the array module
        func = ARRAY_WORKLOADS[workload]
        lib = importlib.import_module(f"{lib_name}.array")
    elif workload in DATAFRAME_WORKLOADS:  # dataframe workloads take the dataframe module
        func = DATAFRAME_WORKLOADS[workload]
        name = "pandas_shim" if lib_name == "pandas" else f"{lib_name}.dataframe"
        lib = importlib.import_module(name)
    else:
        func = WORKLOADS[workload]
        lib = importlib.import_module(lib_name)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = func(lib)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["baseline_rss_mb"] = before / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
