"""More NumPy routines for drop-in compatibility with ``dask.array``: ``array``, ``cov``,
``corrcoef``, ``delete``, ``insert``, ``digitize``, ``ediff1d``, ``extract``, ``rot90``,
``apply_along_axis``, ``apply_over_axes``, index helpers (``ravel_multi_index``,
``unravel_index``, ``tril_indices``...), ``union1d``, ``isnull``/``notnull``,
``broadcast_arrays`` and ``unify_chunks``.

Index arguments that are small (``obj`` of ``delete``/``insert``, bins) are NumPy values; the
data stays lazy.
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np

from oxdask.array._chunks import _isnan, common_chunks
from oxdask.array.blockwise import broadcast_shapes, elemwise, unify_for_broadcast
from oxdask.array.core import Array, asarray, from_array
from oxdask.array.reductions import validate_axis
from oxdask.base import is_dask_collection

__all__ = [
    "apply_along_axis",
    "apply_over_axes",
    "array",
    "broadcast_arrays",
    "corrcoef",
    "cov",
    "delete",
    "digitize",
    "ediff1d",
    "extract",
    "insert",
    "iscomplexobj",
    "isnull",
    "ndim",
    "notnull",
    "ravel_multi_index",
    "rot90",
    "shape",
    "tril_indices",
    "tril_indices_from",
    "triu_indices",
    "triu_indices_from",
    "unify_chunks",
    "union1d",
    "unravel_index",
]


def array(x, dtype=None, ndmin=None, *, like=None):
    """Convert ``x`` to an :class:`Array` with at least ``ndmin`` dimensions."""
    x = asarray(x, dtype=dtype)
    while ndmin is not None and x.ndim < ndmin:
        x = x[None]
    return x


def ndim(a):
    """Number of dimensions of ``a``."""
    return a.ndim if isinstance(a, Array) else np.ndim(a)


def shape(array):
    """Shape of ``array``."""
    return array.shape if isinstance(array, Array) else np.shape(array)


def _isnull(block):
    import pandas as pd

    return np.asarray(pd.isnull(block))


def _notnull(block):
    import pandas as pd

    return np.asarray(pd.notnull(block))


def iscomplexobj(x):
    """Whether ``x`` has a complex dtype (without computing it)."""
    dtype = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype
    return issubclass(dtype.type, np.complexfloating)


def isnull(values):
    """``pandas.isnull`` of every element."""
    return elemwise(_isnull, asarray(values), dtype=bool)


def notnull(values):
    """``pandas.notnull`` of every element."""
    return elemwise(_notnull, asarray(values), dtype=bool)


# -- statistics ---------------------------------------------------------------------------------


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """Covariance matrix (as :func:`numpy.cov`)."""
    from oxdask.array.linalg import dot
    from oxdask.array.routines import average, concatenate

    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    m = asarray(m)
    if m.ndim > 2:
        raise ValueError("m has more than 2 dimensions")
    if dtype is None:
        dtype = np.result_type(m.dtype, np.float64) if y is None else None
        if dtype is None:
            dtype = np.result_type(m.dtype, asarray(y).dtype, np.float64)
    X = array(m, ndmin=2, dtype=dtype)
    if not rowvar and m.ndim != 1:
        X = X.T
    if X.shape[0] == 0:
        return asarray(np.array([]).reshape(0, 0))
    if y is not None:
        y = asarray(y)
        if y.ndim > 2:
            raise ValueError("y has more than 2 dimensions")
        y = array(y, ndmin=2, dtype=dtype)
        if not rowvar and y.shape[0] != 1:
            y = y.T
        X = concatenate((X, y), axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        fw = np.asarray(fweights)
        if not np.all(fw == np.around(fw)):
            raise TypeError("fweights must be integer")
        if fw.ndim > 1:
            raise RuntimeError("cannot handle multidimensional fweights")
        if fw.shape[0] != X.shape[1]:
            raise RuntimeError("incompatible numbers of samples and fweights")
        if np.any(fw < 0):
            raise ValueError("fweights cannot be negative")
        w = fw.astype(float)
    if aweights is not None:
        aw = np.asarray(aweights, dtype=float)
        if aw.ndim > 1:
            raise RuntimeError("cannot handle multidimensional aweights")
        if aw.shape[0] != X.shape[1]:
            raise RuntimeError("incompatible numbers of samples and aweights")
        if np.any(aw < 0):
            raise ValueError("aweights cannot be negative")
        w = aw if w is None else w * aw
    if w is None:
        avg = X.mean(axis=1)
        fact = X.shape[1] - ddof
    else:
        avg = average(X, axis=1, weights=w)
        w_sum = w.sum()
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * np.sum(w * np.asarray(aweights, dtype=float)) / w_sum
    if fact <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    X = X - avg[:, None]
    X_T = (X if w is None else X * w).T
    with np.errstate(divide="ignore", invalid="ignore"):
        c = dot(X, X_T.conj()) * np.true_divide(1, fact)
    return c.squeeze()


def corrcoef(x, y=None, rowvar=True):
    """Pearson correlation coefficients (as :func:`numpy.corrcoef`)."""
    from oxdask.array.routines import clip, diag

    c = cov(x, y, rowvar)
    if c.ndim == 0:
        return c / c
    d = diag(c)
    sd = d**0.5
    c = c / sd[:, None]
    c = c / sd[None, :]
    if not np.issubdtype(c.dtype, np.complexfloating):
        c = clip(c, -1, 1)
    return c


# -- editing ------------------------------------------------------------------------------------


def _axis_and_array(arr, axis):
    arr = asarray(arr)
    if axis is None:
        return arr.ravel(), 0
    return arr, validate_axis(axis, arr.ndim)


def _take(arr, index, axis):
    idx = [slice(None)] * arr.ndim
    idx[axis] = np.asarray(index, dtype=np.intp)
    return arr[tuple(idx)]


def delete(arr, obj, axis):
    """``arr`` without the entries ``obj`` (ints, slice or booleans) along ``axis``."""
    arr, axis = _axis_and_array(arr, axis)
    n = arr.shape[axis]
    keep = np.delete(np.arange(n), obj)
    if len(keep) == n:
        return arr
    return _take(arr, keep, axis)


def insert(arr, obj, values, axis):
    """``values`` inserted before the indices ``obj`` along ``axis`` (as :func:`numpy.insert`)."""
    from oxdask.array.reshape import broadcast_to, moveaxis
    from oxdask.array.routines import concatenate

    arr, axis = _axis_and_array(arr, axis)
    n = arr.shape[axis]
    if isinstance(obj, slice):
        indices = np.arange(*obj.indices(n))
    else:
        indices = np.asarray(obj)
        if indices.dtype == bool:
            raise IndexError("boolean indices are not supported by insert")
        if indices.size and indices.dtype.kind not in "iu":
            raise IndexError("index array argument obj to insert must be one dimensional or scalar")
        indices = indices.astype(np.intp)
    if indices.ndim > 1:
        raise ValueError("index array argument obj to insert must be one dimensional or scalar")
    if indices.size and ((indices < -n).any() or (indices > n).any()):
        raise IndexError(f"index {indices.max()} is out of bounds for axis {axis} with size {n}")
    values = asarray(values)
    if values.dtype != arr.dtype:
        values = values.astype(arr.dtype)
    target = list(arr.shape)
    if indices.size == 1:
        while values.ndim < arr.ndim:
            values = values[None]
        if indices.ndim == 0:
            values = moveaxis(values, 0, axis)
        numnew = values.shape[axis]
        where = int(indices.reshape(()))
        new_ids = np.arange(n, n + numnew)
    else:
        numnew = len(indices)
        where = indices
        new_ids = np.arange(n, n + numnew)
    target[axis] = numnew
    values = broadcast_to(values, tuple(target))
    order = np.insert(np.arange(n), where, new_ids)
    return _take(concatenate([arr, values], axis=axis), order, axis)


def extract(condition, arr):
    """Elements of ``arr`` where ``condition`` holds (both flattened)."""
    from oxdask.array.routines import compress

    condition = asarray(condition)
    return compress(condition.ravel() if isinstance(condition, Array) else condition, arr)


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences between consecutive elements of the flattened ``ary``."""
    from oxdask.array.routines import concatenate

    a = asarray(ary).ravel()
    parts = [a[1:] - a[:-1]]
    for v, before in ((to_begin, True), (to_end, False)):
        if v is None:
            continue
        v = asarray(v).ravel()
        if not np.can_cast(v.dtype, a.dtype, casting="same_kind"):
            raise TypeError(
                f"dtype of `{'to_begin' if before else 'to_end'}` must be compatible with "
                "input `ary` under the `same_kind` rule."
            )
        v = v.astype(a.dtype)
        parts.insert(0, v) if before else parts.append(v)
    return concatenate(parts) if len(parts) > 1 else parts[0]


def digitize(a, bins, right=False):
    """Index of the bin of every element (``bins``: a 1-D NumPy array)."""
    if isinstance(bins, Array):
        bins = bins.compute()
    bins = np.asarray(bins)
    if bins.ndim != 1:
        raise ValueError("bins must be a 1-dimensional array-like object")
    return elemwise(np.digitize, asarray(a), kwargs={"bins": bins, "right": right}, dtype=np.intp)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (as :func:`numpy.rot90`)."""
    from oxdask.array.reshape import transpose
    from oxdask.array.routines import flip

    m = asarray(m)
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == m.ndim:
        raise ValueError("Axes must be different.")
    if not (-m.ndim <= axes[0] < m.ndim and -m.ndim <= axes[1] < m.ndim):
        raise ValueError(f"Axes={axes} out of range for array of ndim={m.ndim}.")
    k %= 4
    if k == 0:
        return m[:]
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    perm = list(range(m.ndim))
    a0, a1 = axes[0] % m.ndim, axes[1] % m.ndim
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, axes[1]), perm)
    return flip(transpose(m, perm), axes[1])


# -- functions along axes -----------------------------------------------------------------------


class _AlongAxis:
    def __init__(self, func1d, axis, args, kwargs):
        self.func1d = func1d
        self.axis = axis
        self.args = args
        self.kwargs = kwargs

    def __call__(self, block):
        return np.apply_along_axis(self.func1d, self.axis, block, *self.args, **self.kwargs)


def apply_along_axis(func1d, axis, arr, *args, dtype=None, shape=None, **kwargs):
    """Apply ``func1d`` to 1-D slices along ``axis`` (the axis becomes one block).

    ``dtype`` and ``shape`` of ``func1d``'s result are found by calling it on ones of the
    axis' length when not given.
    """
    arr = asarray(arr)
    axis = validate_axis(axis, arr.ndim)
    if shape is None or dtype is None:
        test = np.asarray(
            func1d(np.ones(max(arr.shape[axis], 1), dtype=arr.dtype), *args, **kwargs)
        )
        shape = test.shape if shape is None else shape
        dtype = test.dtype if dtype is None else dtype
    shape = tuple(shape)
    arr = arr.rechunk({axis: arr.shape[axis]})
    chunks = arr.chunks[:axis] + tuple((s,) for s in shape) + arr.chunks[axis + 1 :]
    return arr.map_blocks(
        _AlongAxis(func1d, axis, args, kwargs),
        drop_axis=axis,
        new_axis=list(range(axis, axis + len(shape))),
        chunks=chunks,
        dtype=dtype,
    )


def apply_over_axes(func, a, axes):
    """Apply ``func(a, axis)`` repeatedly over ``axes``, keeping the dimensions."""
    from oxdask.array.reshape import expand_dims

    a = asarray(a)
    axes = [axes] if isinstance(axes, Integral) else list(axes)
    for axis in axes:
        axis = validate_axis(axis, a.ndim)
        b = func(a, axis)
        b = asarray(b)
        if b.ndim == a.ndim - 1:
            b = expand_dims(b, axis)
        elif b.ndim != a.ndim:
            raise ValueError("function is not returning an array of the correct shape")
        a = b
    return a


# -- index helpers ------------------------------------------------------------------------------


class _RavelMultiIndex:
    def __init__(self, dims, mode, order, stacked=False):
        self.dims = dims
        self.mode = mode
        self.order = order
        self.stacked = stacked

    def __call__(self, *idx):
        if self.stacked:  # one array whose first axis lists the index arrays
            idx = tuple(idx[0])
        return np.ravel_multi_index(idx, self.dims, mode=self.mode, order=self.order)


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """Flat indices of the index arrays ``multi_index`` into an array of shape ``dims``."""
    if np.isscalar(dims):
        dims = (dims,)
    if is_dask_collection(dims) or any(is_dask_collection(d) for d in dims):
        raise NotImplementedError(f"Dask types are not supported in the `dims` argument: {dims!r}")
    dims = tuple(int(d) for d in dims)
    f = _RavelMultiIndex(dims, mode, order)
    if isinstance(multi_index, (Array, np.ndarray)) and multi_index.ndim:
        multi_index = asarray(multi_index)
        if multi_index.dtype.kind not in "iu":
            raise TypeError("only int indices permitted")
        if not _isnan(multi_index.shape[0]) and multi_index.shape[0] != len(dims):
            raise ValueError(f"parameter multi_index must be a sequence of length {len(dims)}")
        mi = multi_index.rechunk({0: -1})
        f = _RavelMultiIndex(dims, mode, order, stacked=True)
        return mi.map_blocks(f, drop_axis=0, dtype=np.intp)
    multi_index = [asarray(i) for i in multi_index]
    if len(multi_index) != len(dims):
        raise ValueError(f"parameter multi_index must be a sequence of length {len(dims)}")
    if any(i.dtype.kind not in "iu" for i in multi_index):
        raise TypeError("only int indices permitted")
    return elemwise(f, *multi_index, dtype=np.intp)


class _Unravel:
    def __init__(self, shape, order, k):
        self.shape = shape
        self.order = order
        self.k = k

    def __call__(self, idx):
        return np.unravel_index(idx, self.shape, order=self.order)[self.k]


def unravel_index(indices, shape, order="C"):
    """Tuple of index arrays of the flat ``indices`` into an array of ``shape``."""
    shape = (shape,) if isinstance(shape, Integral) else tuple(shape)
    indices = asarray(indices)
    if indices.dtype.kind not in "iu" and indices.size:
        raise TypeError("only int indices permitted")
    if not shape and indices.size:
        return ()
    return tuple(
        elemwise(_Unravel(shape, order, k), indices, dtype=np.intp) for k in range(len(shape))
    )


def _indices_pair(pair, chunks):
    return tuple(from_array(np.asarray(p, dtype=np.intp), chunks=chunks) for p in pair)


def tril_indices(n, k=0, m=None, chunks="auto"):
    """Indices of the lower triangle of an ``n`` x ``m`` array."""
    return _indices_pair(np.tril_indices(n, k, m), chunks)


def triu_indices(n, k=0, m=None, chunks="auto"):
    """Indices of the upper triangle of an ``n`` x ``m`` array."""
    return _indices_pair(np.triu_indices(n, k, m), chunks)


def tril_indices_from(arr, k=0):
    """Indices of the lower triangle of the 2-D ``arr``."""
    if arr.ndim != 2:
        raise ValueError("input array must be 2-d")
    return tril_indices(arr.shape[-2], k=k, m=arr.shape[-1])


def triu_indices_from(arr, k=0):
    """Indices of the upper triangle of the 2-D ``arr``."""
    if arr.ndim != 2:
        raise ValueError("input array must be 2-d")
    return triu_indices(arr.shape[-2], k=k, m=arr.shape[-1])


def union1d(ar1, ar2):
    """Sorted unique values of both arrays."""
    from oxdask.array.percentile import unique
    from oxdask.array.routines import concatenate

    return unique(concatenate([asarray(ar1).ravel(), asarray(ar2).ravel()]))


# -- chunk alignment ----------------------------------------------------------------------------


def broadcast_arrays(*args, subok=False):
    """Broadcast arrays against each other (common chunks); a list of arrays."""
    from oxdask.array.reshape import broadcast_to

    arrays = [asarray(a) for a in args]
    shp = broadcast_shapes(*(a.shape for a in arrays))
    arrays = unify_for_broadcast(arrays, shp)
    chunks = [None] * len(shp)
    for a in arrays:
        for d, c in enumerate(a.chunks, len(shp) - a.ndim):
            if a.shape[d - len(shp) + a.ndim] == shp[d] and (chunks[d] is None or shp[d] != 1):
                chunks[d] = c
    chunks = tuple(c if c is not None else (s,) for c, s in zip(chunks, shp, strict=True))
    return [broadcast_to(a, shp, chunks=chunks) for a in arrays]


def unify_chunks(*args, **kwargs):
    """Rechunk arrays given as ``array, index`` pairs so that shared indices have the same
    chunks; returns ``(chunkss, arrays)`` as Dask does."""
    if not args:
        return {}, []
    pairs = list(zip(args[::2], args[1::2], strict=True))
    arrays = [
        (asarray(a) if ind is not None and not isinstance(a, Array) else a, ind) for a, ind in pairs
    ]
    by_label: dict = {}
    for a, ind in arrays:
        if ind is None:
            continue
        for label, c, s in zip(ind, a.chunks, a.shape, strict=True):
            if s == 1 and len(c) == 1:
                by_label.setdefault(label, [])
                continue
            by_label.setdefault(label, []).append(c)
    chunkss = {}
    for label, cs in by_label.items():
        if not cs:
            chunkss[label] = ((1,),)[0]
            continue
        sizes = {sum(c) for c in cs}
        if len(sizes) > 1:
            raise ValueError(f"Dimension {label!r} has inconsistent sizes {sorted(sizes)}")
        chunkss[label] = cs[0] if all(c == cs[0] for c in cs) else common_chunks(*cs)
    out = []
    for a, ind in arrays:
        if ind is None:
            out.append(a)
            continue
        target = tuple(
            chunkss[label] if not (s == 1 and len(c) == 1) else c
            for label, c, s in zip(ind, a.chunks, a.shape, strict=True)
        )
        out.append(a if target == a.chunks else a.rechunk(target))
    return chunkss, out
