#!/usr/bin/env bash
# Style and static checks that CI runs before the tests.
source "$(dirname "$0")/_env.sh"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# State machines stay pure: no IO, threads, clocks or randomness inside them.
if grep -rnE 'tokio|std::net|std::thread|Instant::now|SystemTime|rand::' crates/*/src/state* 2>/dev/null; then
    echo "state machines must not touch IO, threads, clocks or randomness" >&2
    exit 1
fi
ruff check python tests benchmarks examples docs/hooks
ruff format --check python tests benchmarks examples docs/hooks
# The type stub must match the compiled extension.
build_oxdask
"$PY" -m mypy.stubtest oxdask._core
# The documentation site, strict: warnings (broken links or anchors, an undocumented public
# name or configuration default) are errors. Its hooks import the built package.
NO_MKDOCS_2_WARNING=1 "$PY" -m mkdocs build --strict --quiet --site-dir "$ROOT/target/site"
