"""BLAS threads during multi-threaded local computes (``oxdask._blas``): limited once the
program builds a graph calling BLAS, and not looked for before (the search costs a scan of
every loaded library)."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import json, os, sys
import numpy as np
import pandas as pd
import oxdask.array as da
import oxdask.dataframe as dd

def blas_threads(block):
    from threadpoolctl import threadpool_info
    n = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return np.full((1, 1), max(n) if n else -1)

out = {}
pdf = pd.DataFrame({"a": np.arange(1000) % 7, "b": np.arange(1000.0)})
frame = dd.from_pandas(pdf, npartitions=4)
assert frame.groupby("a").b.sum().compute(num_workers=2).equals(pdf.groupby("a").b.sum())
out["scanned_for_dataframes"] = "threadpoolctl" in sys.modules
x = da.ones((8, 8), chunks=4)
out["before"] = int(x.map_blocks(blas_threads, chunks=(1, 1)).max().compute(num_workers=2))
y = x @ x.T  # a graph calling BLAS
assert (y.compute(num_workers=2) == 8).all()
out["after"] = int(x.map_blocks(blas_threads, chunks=(1, 1)).max().compute(num_workers=2))
out["cpus"] = os.cpu_count()
print(json.dumps(out))
"""


def test_blas_limited_once_a_graph_uses_it():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["scanned_for_dataframes"] is False
    if out["before"] == -1:  # NumPy without a BLAS threadpoolctl knows
        return
    assert out["after"] == max(1, out["cpus"] // 2)
    assert out["before"] >= out["after"]
