"""Makes ``import dask...`` load oxdask in a test process (``dask.X`` is ``oxdask.X``).

Installed by the conftest that the runner writes next to the copied test files. The names a
test file imports at its top from ``dask.X`` and that oxdask lacks are filled from ``shim``
(test utilities) or with placeholders that raise when used; every placeholder is recorded in
the file named by ``DASK_SUITE_PLACEHOLDERS``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.util
import os
import sys
import types

import shim


def imported_names(paths) -> dict[str, set[str]]:
    """``{module after "dask.": names}`` for the top-level ``from dask.X import ...`` lines."""
    wanted: dict[str, set[str]] = {}
    for path in paths:
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mod = node.module
                if mod == "dask" or mod.startswith("dask."):
                    wanted.setdefault(mod[5:], set()).update(a.name for a in node.names)
    return wanted


class AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, wanted: dict[str, set[str]]):
        self.wanted = wanted
        self.placeholders: list[str] = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "dask" or fullname.startswith("dask."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        rest = spec.name[5:]
        target = "oxdask" + spec.name[4:]
        try:
            return importlib.import_module(target)
        except ModuleNotFoundError as e:
            if not target.startswith(e.name or "\0"):
                raise
            if rest not in shim.SHIM_ONLY and rest not in self.wanted:
                raise ModuleNotFoundError(
                    f"No module named {spec.name!r} (oxdask has no {target!r})", name=spec.name
                ) from None
            return types.ModuleType(target)

    def exec_module(self, module):
        # Runs once the module is in sys.modules as dask.X, so submodules can be imported.
        rest = module.__name__[len("oxdask.") :] if "." in module.__name__ else ""
        for name, value in shim.extras_for(rest).items():
            if not hasattr(module, name):
                setattr(module, name, value)
        for name in sorted(self.wanted.get(rest, ())):
            if hasattr(module, name):
                continue
            try:  # a submodule named in ``from dask.X import sub``
                dask_name = f"dask.{rest}.{name}" if rest else f"dask.{name}"
                setattr(module, name, importlib.import_module(dask_name))
                continue
            except ImportError:
                pass
            setattr(module, name, shim.placeholder(rest, name))
            self.placeholders.append(f"dask.{rest}.{name}" if rest else f"dask.{name}")


def install(test_files) -> AliasFinder:
    for name in [m for m in sys.modules if m == "dask" or m.startswith("dask.")]:
        del sys.modules[name]
    finder = AliasFinder(imported_names(test_files))
    sys.meta_path.insert(0, finder)
    return finder


def record(finder: AliasFinder) -> None:
    out = os.environ.get("DASK_SUITE_PLACEHOLDERS")
    if out:
        with open(out, "w") as f:
            f.write("\n".join(sorted(set(finder.placeholders))) + "\n")
