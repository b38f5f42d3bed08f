"""Which array types oxdask wraps as chunks, and to which it defers (NEP 13's hierarchy, as
Dask's ``register_chunk_type``): in arithmetic and ufuncs with an array of another duck type
that is not registered here, oxdask returns ``NotImplemented`` so that type handles the
operation (an xarray DataArray, a pint Quantity wrap oxdask arrays, not the reverse)."""

from __future__ import annotations

import builtins

import numpy as np

_CHUNK_TYPES: list[type] = [np.ndarray, np.ma.MaskedArray]


def register_chunk_type(type: type) -> None:
    """Let oxdask wrap ``type`` as a chunk and not defer to it in operators and ufuncs."""
    if not isinstance(type, builtins.type):
        raise TypeError(f"register_chunk_type takes a type, not {type!r}")
    if type not in _CHUNK_TYPES:
        _CHUNK_TYPES.append(type)


def is_valid_chunk_type(kind: type) -> bool:
    return any(issubclass(kind, t) for t in _CHUNK_TYPES)


def defers_to(other) -> bool:
    """Whether an operation with ``other`` is left to ``other``'s type: a duck array (it
    overrides ``__array_ufunc__``/``__array_function__``) that is neither a chunk type nor
    a NumPy scalar."""
    kind = builtins.type(other)
    if kind.__module__.startswith("oxdask.") or isinstance(other, np.generic):
        return False
    if getattr(kind, "__array_ufunc__", None) is None and not hasattr(kind, "__array_function__"):
        return False
    return not is_valid_chunk_type(kind)
