#!/usr/bin/env bash
# Builds oxdask in release mode and runs a demo computation.
source "$(dirname "$0")/_env.sh"
build_oxdask
"$PY" examples/demo.py "$@"
