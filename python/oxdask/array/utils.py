"""Testing helpers of ``oxdask.array`` (as ``dask.array.utils``): :func:`assert_eq`,
:func:`allclose` and :func:`same_keys`.

:func:`assert_eq` computes both sides and compares values, and for every oxdask Array it also
checks that what the array declares before computing -- ``shape``, ``dtype``, ``chunks`` and
the block type of ``_meta`` (NumPy or masked array) -- is what computing it gives.
"""

from __future__ import annotations

import math

import numpy as np

from oxdask.array.reductions import validate_axis
from oxdask.base import is_dask_collection

__all__ = ["allclose", "assert_eq", "meta_from_array", "same_keys", "validate_axis"]


def _as_array(x):
    if isinstance(x, np.ndarray):
        return x
    return np.asanyarray(x) if hasattr(x, "dtype") or np.isscalar(x) else np.array(x, dtype="O")


def allclose(a, b, equal_nan=False, **kwargs):
    """Whether ``a`` and ``b`` are equal within tolerances (masked elements compare equal;
    object arrays element by element, NaN equal to NaN when ``equal_nan``)."""
    a = _as_array(a)
    b = _as_array(b)
    if a.dtype != object and b.dtype != object:
        if isinstance(a, np.ma.MaskedArray) or isinstance(b, np.ma.MaskedArray):
            # masked elements compare equal; the others as plain arrays
            a, b = np.broadcast_arrays(a, b, subok=True)
            mask = np.ma.getmaskarray(a) | np.ma.getmaskarray(b)
            a = np.where(mask, 0, np.ma.getdata(a))
            b = np.where(mask, 0, np.ma.getdata(b))
        if a.dtype.kind not in "biufcmM" or b.dtype.kind not in "biufcmM":
            return a.shape == b.shape and bool(np.all(a == b))
        return bool(np.allclose(a, b, equal_nan=equal_nan, **kwargs))
    if a.shape != b.shape:
        return False
    for x, y in zip(a.flat, b.flat, strict=True):
        if equal_nan and _isnan(x) and _isnan(y):
            continue
        if x != y:
            return False
    return True


def _isnan(x) -> bool:
    try:
        return bool(x != x)
    except Exception:
        return False


def meta_from_array(x, ndim=None, dtype=None):
    """An empty array (no elements) of the type of ``x``, with ``ndim`` dimensions and
    ``dtype`` (by default those of ``x``).

    ``x`` may be an array (NumPy, masked, an oxdask Array: its meta), an array type, a
    scalar, or a list/tuple of those (converted item by item). Objects that are not
    array-like are returned unchanged.
    """
    if is_dask_collection(x) and hasattr(x, "_meta"):
        x = x._meta
    if x is None:
        if dtype is None:
            raise ValueError("You must specify the meta or dtype of the array")
        x = np.ndarray
    if np.isscalar(x):
        x = np.array(x)
    if isinstance(x, type):
        shape = (0,) * (ndim or 0)
        if issubclass(x, np.ma.MaskedArray):
            return np.ma.empty(shape, dtype=dtype)
        if issubclass(x, np.ndarray):
            return np.empty(shape, dtype=dtype)
        return x(shape=shape, dtype=dtype)
    if isinstance(x, (list, tuple)):
        out = [a if np.ndim(a) == 0 else meta_from_array(a, np.ndim(a)) for a in x]
        return out if isinstance(x, list) else tuple(out)
    if not (hasattr(x, "shape") and hasattr(x, "dtype") and isinstance(x.shape, tuple)):
        return x
    ndim = x.ndim if ndim is None else ndim
    dtype = x.dtype if dtype is None else np.dtype(dtype)
    try:
        meta = x[(slice(0, 0),) * x.ndim]
        if np.ndim(meta) != ndim:
            meta = meta.sum() if ndim == 0 else meta.reshape((0,) * ndim)
    except Exception:
        empty = np.ma.empty if isinstance(x, np.ma.MaskedArray) else np.empty
        meta = empty((0,) * ndim, dtype=dtype)
    if np.isscalar(meta):
        meta = np.array(meta)
    if meta.dtype != dtype:
        try:
            meta = meta.astype(dtype)
        except (ValueError, TypeError):
            if meta.dtype.kind not in "SU":
                raise
            meta = np.empty((0,) * ndim, dtype=dtype)  # a text literal of another dtype
    return meta


def same_keys(a, b) -> bool:
    """Whether the graphs of ``a`` and ``b`` have the same keys."""

    def order(k):
        return (k, -1, -1, -1) if isinstance(k, str) else k

    return sorted(a.dask, key=order) == sorted(b.dask, key=order)


def _shapes_match(declared, actual, check_ndim=True) -> bool:
    if check_ndim and len(declared) != len(actual):
        return False
    return all(
        math.isnan(d) or math.isnan(a) or d == a for d, a in zip(declared, actual, strict=False)
    )


def _check_graph(x):
    graph = x.__dask_graph__()
    layers = getattr(graph, "layers", None)
    if layers is None:
        return
    deps = graph.dependencies
    for name, d in deps.items():
        missing = set(d) - set(layers)
        assert not missing, f"layer {name!r} depends on missing layers {sorted(missing)}"
    assert x.name in layers, f"the array's layer {x.name!r} is not in its graph"


def _check_chunks(x, check_ndim, scheduler):
    """Persist ``x`` and check every block's shape and dtype against its declaration (blocks
    of mixed arrays may be masked or not; the computed whole is checked against the meta)."""
    x = x.persist(scheduler=scheduler)
    graph = x.__dask_graph__()
    for idx in np.ndindex(*x.numblocks):
        block = graph[(x.name, *idx)]
        if hasattr(block, "result"):
            block = block.result()
        expected = tuple(c[i] for c, i in zip(x.chunks, idx, strict=True))
        shape = np.shape(block)
        assert _shapes_match(expected, shape, check_ndim), (
            f"block {idx} has shape {shape}, its declared chunks say {expected}"
        )
        if not hasattr(block, "dtype"):
            block = np.array(block, dtype="O")
        assert block.dtype == x.dtype, (
            f"block {idx} has dtype {block.dtype}, the array declares {x.dtype}"
        )
    return x


def _compute(x, check_shape, check_graph, check_chunks, check_ndim, check_meta, scheduler):
    """``(value as an array, dtype, computed value)`` with the checks of an oxdask Array."""
    if not (is_dask_collection(x) and hasattr(x, "chunks") and hasattr(x, "dtype")):
        arr = x if hasattr(x, "dtype") else np.array(x, dtype="O")
        return arr, getattr(arr, "dtype", None), x
    declared = x
    if check_graph:
        _check_graph(x)
    if check_chunks:
        x = _check_chunks(x, check_ndim, scheduler)
    computed = x.compute(scheduler=scheduler)
    arr = computed
    if hasattr(arr, "todense"):
        arr = arr.todense()
    if not hasattr(arr, "dtype"):
        arr = np.array(arr, dtype="O")
    if np.shape(arr) and 0 not in np.shape(arr):
        assert arr.dtype == declared.dtype, (
            f"computed dtype {arr.dtype} differs from the declared dtype {declared.dtype}"
        )
    if check_shape:
        assert _shapes_match(declared.shape, np.shape(arr), check_ndim), (
            f"computed shape {np.shape(arr)} differs from the declared shape {declared.shape}"
        )
    if check_meta:
        meta = declared._meta
        assert meta.ndim == np.ndim(arr), (
            f"compute() changes the number of dimensions (meta: {meta.ndim}, "
            f"computed: {np.ndim(arr)})"
        )
        if isinstance(computed, np.ndarray) and computed.ndim:
            masked = isinstance(computed, np.ma.MaskedArray)
            assert masked == isinstance(meta, np.ma.MaskedArray), (
                f"compute() gives a {type(computed).__name__} where the meta is a "
                f"{type(meta).__name__}"
            )
    return arr, declared.dtype, computed


def assert_eq(
    a,
    b,
    check_shape=True,
    check_graph=True,
    check_meta=True,
    check_chunks=True,
    check_ndim=True,
    check_type=True,
    check_dtype=True,
    equal_nan=True,
    scheduler="sync",
    **kwargs,
):
    """Assert that ``a`` and ``b`` (oxdask Arrays, NumPy arrays or scalars) are equal.

    Arrays are computed; what an Array declares (``shape``, ``dtype``, ``chunks``, the type
    of ``_meta``) must agree with what it computes. ``check_type`` also compares the result
    types (a masked array with a masked array; 0-d results of any kind compare, as in
    Dask). ``kwargs`` (``rtol``, ``atol``) go to
    :func:`allclose`. Returns True.
    """
    opts = (check_shape, check_graph, check_chunks, check_ndim, check_meta, scheduler)
    a_given, b_given = a, b
    if isinstance(a, (list, int, float)) and not isinstance(a, np.generic):
        a = np.array(a)
    if isinstance(b, (list, int, float)) and not isinstance(b, np.generic):
        b = np.array(b)
    a, adt, a_value = _compute(a, *opts)
    b, bdt, b_value = _compute(b, *opts)
    if check_dtype and str(adt) != str(bdt):
        raise AssertionError(f"a and b have different dtypes: (a: {adt}, b: {bdt})")
    try:
        a_shape, b_shape = np.shape(a), np.shape(b)
    except Exception:
        a_shape = b_shape = None
    if a_shape is not None:
        assert a_shape == b_shape, f"a and b have different shapes (a: {a_shape}, b: {b_shape})"
    if check_type:
        _check_types(a_given, b_given, a_value, b_value)
    try:
        ok = allclose(a, b, equal_nan=equal_nan, **kwargs)
    except TypeError:
        ok = bool(np.all(a == b))
    assert ok, "found values in 'a' and 'b' which differ by more than the allowed amount"
    if isinstance(a, np.ma.MaskedArray) and isinstance(b, np.ma.MaskedArray):
        np.testing.assert_array_equal(
            np.ma.getmaskarray(a), np.ma.getmaskarray(b), err_msg="a and b have different masks"
        )
    return True


def _kind(value):
    if value is np.ma.masked:
        return "masked"
    if isinstance(value, np.ma.MaskedArray):
        return "masked array" if np.ndim(value) else "masked"
    if isinstance(value, np.ndarray):
        return "array" if value.ndim else "0-d array"
    if isinstance(value, np.generic):
        return "scalar"
    return None


def _check_types(a_given, b_given, a_value, b_value):
    # values the caller wrote as Python objects (lists, floats) say nothing about types
    if not all(
        isinstance(g, (np.ndarray, np.generic)) or is_dask_collection(g) for g in (a_given, b_given)
    ):
        return
    ka, kb = _kind(a_value), _kind(b_value)
    if ka is None or kb is None:
        return
    if {ka, kb} <= {"scalar", "0-d array", "masked"}:
        return  # 0-d results: NumPy scalars, 0-d arrays and np.ma.masked compare (as Dask)
    assert ka == kb, f"a and b have different types (a: {ka}, b: {kb})"
