#!/usr/bin/env bash
# Builds oxdask in release mode and runs the demo: a DataFrame groupby over Parquet files and an
# Array reduction over an on-disk array larger than the workers' memory, on a LocalCluster,
# checked against pandas/NumPy and timed next to Dask (installed with the pinned dev tools).
# The data is generated once, under target/demo ($OXDASK_DEMO_DIR). Options: --small, --no-dask.
source "$(dirname "$0")/_env.sh"
build_oxdask
"$PY" examples/demo.py "$@"
