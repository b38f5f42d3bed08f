"""oxdask: Dask-compatible task graphs with a native (Rust) scheduling engine.

Use it as ``import oxdask as dask``: :func:`delayed`, :func:`compute`, :func:`persist`,
:func:`visualize`, :func:`optimize` and ``config`` behave like Dask's.
"""

from oxdask import config
from oxdask.base import (
    annotate,
    compute,
    get_annotations,
    is_dask_collection,
    optimize,
    persist,
    visualize,
)
from oxdask.core import istask
from oxdask.delayed import delayed
from oxdask.local import get_sync as get


def _version() -> str:
    # One place: the workspace version in Cargo.toml, which maturin writes into the package's
    # metadata (pyproject.toml's version is dynamic).
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("oxdask")
    except PackageNotFoundError:  # run from a source tree without installing
        return "0+unknown"


__version__ = _version()

__all__ = [
    "__version__",
    "annotate",
    "base",
    "compute",
    "config",
    "delayed",
    "get",
    "get_annotations",
    "is_dask_collection",
    "istask",
    "optimize",
    "persist",
    "visualize",
]

_LAZY_SUBMODULES = frozenset(
    {
        "callbacks",
        "datasets",
        "diagnostics",
        "dot",
        "exceptions",
        "hashing",
        "multiprocessing",
        "optimization",
        "order",
        "sizeof",
        "system",
        "tokenize",
        "typing",
    }
)


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"oxdask.{name}")
    raise AttributeError(f"module 'oxdask' has no attribute {name!r}")
