#!/usr/bin/env bash
# Runs every test: the Rust workspace, then the Python suite against a release build.
source "$(dirname "$0")/_env.sh"
echo "== cargo test"
cargo test --workspace --quiet
build_oxdask
echo "== pytest"
"$PY" -m pytest "$@"
