# Shared set-up for the project's scripts: a virtual environment with pinned tools, and oxdask
# built in release mode and installed into it (editable: Python changes apply without rebuild).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${OXDASK_VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
stamp="$VENV/.requirements-dev.stamp"
if [ ! -f "$stamp" ] || ! cmp -s requirements-dev.txt "$stamp"; then
    "$PY" -m pip install --quiet --upgrade pip
    "$PY" -m pip install --quiet -r requirements-dev.txt
    cp requirements-dev.txt "$stamp"
fi
export PATH="$VENV/bin:$PATH"
build_oxdask() {
    echo "building oxdask (release)..."
    "$PY" -m pip install --quiet --no-build-isolation -e .
    # Byte-code now, as pip does for a regular install: with PYTHONDONTWRITEBYTECODE set, an
    # editable install would otherwise compile every module in every worker process it starts.
    "$PY" -m compileall -q python/oxdask
}
