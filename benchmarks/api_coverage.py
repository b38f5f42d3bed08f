"""Compares the public names of oxdask's namespaces with the installed Dask's and prints the
share that oxdask has, with the names it lacks.

Usage: ``python benchmarks/api_coverage.py [--check]`` (``--check`` exits 1 when a namespace
is below 97%). Needs Dask (``pip install -r benchmarks/requirements.txt``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types

TARGET = 0.97
# (label, module, attribute of the module or None)
NAMESPACES = [
    ("dask", "", None),
    ("dask.array", ".array", None),
    ("dask.array.Array", ".array", "Array"),
    ("dask.dataframe", ".dataframe", None),
    ("dask.dataframe.DataFrame", ".dataframe", "DataFrame"),
    ("dask.dataframe.Series", ".dataframe", "Series"),
    ("dask.diagnostics", ".diagnostics", None),
]
# Methods of Dask's query-expression objects that its collections forward (``df.walk``...).
EXPRESSION = {
    "analyze", "dependencies", "deterministic_token", "enforce_runtime_divisions", "expr",
    "finalize_compute", "find_operations", "fuse", "lower_completely", "lower_once", "operand",
    "optimize", "rewrite", "simplify", "simplify_once", "substitute", "substitute_parameters",
    "tree_repr", "unique_partition_mapping_columns_from_shuffle", "walk",
}  # fmt: skip
# Dask's expression machinery and names that are artefacts of its modules, not API.
INTERNAL = {
    "dask": {"Expr", "HLGExpr", "LLGExpr", "SingletonExpr", "annotations"},
    "dask.array": {"annotations", "ARRAY_EXPR_ENABLED", "array_expr_enabled"},
    "dask.dataframe": {"annotations", "from_graph", "get_collection_type"},
    "dask.dataframe.DataFrame": EXPRESSION,
    "dask.dataframe.Series": EXPRESSION,
    "dask.diagnostics": {"annotations"},
}


def public_names(obj) -> set[str]:
    names = {n for n in dir(obj) if not n.startswith("_")}
    if isinstance(obj, types.ModuleType):  # submodules are not names a user calls
        names = {n for n in names if not isinstance(getattr(obj, n, None), types.ModuleType)}
    return names


def resolve(package: str, module: str, attr: str | None):
    """The module, or an instance of the collection class (instances also show the
    attributes set in ``__init__``)."""
    mod = importlib.import_module(package + module)
    if attr is None:
        return mod
    if attr == "Array":
        return mod.ones((4, 4), chunks=2)
    import pandas as pd

    frame = mod.from_pandas(pd.DataFrame({"x": [1, 2, 3], "y": [1.0, 2.0, 3.0]}), npartitions=2)
    return frame if attr == "DataFrame" else frame["x"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--quiet", action="store_true", help="only the table, no missing names")
    args = parser.parse_args()
    ok = True
    print(f"{'namespace':28} {'dask':>5} {'oxdask':>6} {'share':>7}")
    for label, module, attr in NAMESPACES:
        theirs = public_names(resolve("dask", module, attr)) - INTERNAL.get(label, set())
        try:
            ours = public_names(resolve("oxdask", module, attr))
        except (ImportError, AttributeError):
            ours = set()
        have = theirs & ours
        share = len(have) / len(theirs)
        ok &= share >= TARGET
        print(f"{label:28} {len(theirs):5} {len(have):6} {share:7.1%}")
        if not args.quiet and theirs - ours:
            print("    missing: " + ", ".join(sorted(theirs - ours)))
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
