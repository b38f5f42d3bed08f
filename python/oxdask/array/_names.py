"""Names of ``dask.array`` that are NumPy's own or thin wrappers: the dtype aliases,
``euler_gamma``, ``moment``, ``optimize``, ``atop``, ``register_chunk_type`` and ``assert_eq``."""

from __future__ import annotations

import warnings

import numpy as np

from oxdask.array._chunk_types import register_chunk_type
from oxdask.array.utils import assert_eq

bool = np.bool_  # Dask's names for NumPy's scalar types
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float32, float64 = np.float32, np.float64
complex64, complex128 = np.complex64, np.complex128
euler_gamma = np.euler_gamma

__all__ = [
    "assert_eq",
    "atop",
    "bool",
    "complex64",
    "complex128",
    "euler_gamma",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "moment",
    "optimize",
    "register_chunk_type",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
]


def moment(a, order, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None):
    """The central moment of order ``order`` (``scipy.stats.moment``'s, with ``ddof``)."""
    from oxdask.array.core import asarray
    from oxdask.array.reductions import handle_out

    if not isinstance(order, int) or order < 0:
        raise ValueError(f"Order must be an integer >= 0, not {order!r}")
    result = asarray(a).moment(order, axis, dtype, keepdims, ddof, split_every)
    return handle_out(out, result)


def atop(*args, **kwargs):
    """The old name of :func:`oxdask.array.blockwise` (warns, as Dask's)."""
    from oxdask.array.blockwise import blockwise

    warnings.warn("The da.atop function has moved to da.blockwise", stacklevel=2)
    return blockwise(*args, **kwargs)


def optimize(dsk, keys, **kwargs):
    """The graph of ``keys`` only (culled), as a dict: what an array computation runs.
    Fusion happens in the engine when the graph runs."""
    from oxdask.optimization import cull
    from oxdask.utils import ensure_dict

    keys = keys if isinstance(keys, list | set) else [keys]
    flat = []
    stack = list(keys)
    while stack:
        k = stack.pop()
        if isinstance(k, list):
            stack.extend(k)
        else:
            flat.append(k)
    culled, _ = cull(ensure_dict(dsk), flat)
    return culled
