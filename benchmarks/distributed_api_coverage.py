"""Compares the public names of ``oxdask.distributed`` (the module, ``Client``, ``Future``,
``LocalCluster``) with the installed Dask's ``distributed`` and prints the share oxdask has,
with the names it lacks.

Dask's side is read from its classes (its instances need a running cluster); oxdask's from
live objects of a small in-process cluster, so attributes set in ``__init__`` count too.
Names that are Dask's event-loop machinery or module artefacts, not API, are left out.

Usage: ``python benchmarks/distributed_api_coverage.py [--check] [--quiet] [--untested]``
(``--check`` exits 1 when a namespace is below 95%; ``--untested`` lists the shared names that
no file under ``tests/`` mentions, a first sign of a name without a behavioural test).
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
import types

TARGET = 0.95

#: Dask internals: its tornado/asyncio plumbing (``loop``, ``sync``, ``start``), RPC helpers,
#: the adaptive-scaling bookkeeping of SpecCluster, and ``from __future__ import annotations``.
INTERNAL = {
    "distributed": {"annotations", "connect", "rpc", "sync", "Status"},
    "Client": {"loop", "sync", "start"},
    "Future": {"bind_client"},
    "LocalCluster": {
        "loop", "sync", "called_from_running_loop", "new_worker_spec", "observed", "plan",
        "requested",
    },
}  # fmt: skip


def public_names(obj) -> set[str]:
    names = {n for n in dir(obj) if not n.startswith("_")}
    if isinstance(obj, types.ModuleType):  # submodules are not names a user calls
        names = {n for n in names if not isinstance(getattr(obj, n, None), types.ModuleType)}
    return names


def dask_objects() -> dict:
    import distributed

    return {
        "distributed": distributed,
        "Client": distributed.Client,
        "Future": distributed.Future,
        "LocalCluster": distributed.LocalCluster,
    }


def coverage(ours: dict, theirs: dict) -> list[tuple[str, int, set[str], list[str]]]:
    """``(label, dask's count, shared names, missing names)`` per namespace."""
    rows = []
    for label, obj in theirs.items():
        want = public_names(obj) - INTERNAL.get(label, set())
        have = public_names(ours[label]) & want
        rows.append((label, len(want), have, sorted(want - have)))
    return rows


def untested(names: set[str]) -> list[str]:
    """The names no test file mentions (as a whole word)."""
    tests = pathlib.Path(__file__).resolve().parent.parent / "tests"
    text = "\n".join(p.read_text(errors="replace") for p in tests.rglob("*.py"))
    return sorted(n for n in names if not re.search(rf"\b{re.escape(n)}\b", text))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help=f"exit 1 below {TARGET:.0%}")
    parser.add_argument("--quiet", action="store_true", help="only the table, no missing names")
    parser.add_argument("--untested", action="store_true", help="names no test mentions")
    args = parser.parse_args()

    import oxdask.distributed as ox

    with (
        ox.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        ox.Client(cluster, set_as_default=False) as client,
    ):
        future = client.submit(abs, -1)
        future.result()
        ours = {"distributed": ox, "Client": client, "Future": future, "LocalCluster": cluster}
        rows = coverage(ours, dask_objects())
        del future
    ok = True
    print(f"{'namespace':14} {'dask':>5} {'oxdask':>6} {'share':>7}")
    for label, want, have, missing in rows:
        share = len(have) / want if want else 1.0
        ok &= share >= TARGET
        print(f"{label:14} {want:5} {len(have):6} {share:7.1%}")
        if missing and not args.quiet:
            print("    missing: " + ", ".join(missing))
        if args.untested:
            names = untested(have)
            if names:
                print("    not in any test: " + ", ".join(names))
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
