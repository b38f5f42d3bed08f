"""Order statistics and counting: ``topk``, ``argtopk``, ``unique``, ``histogram``,
``bincount``, ``percentile``, ``quantile``, ``median`` (and ``nan*`` forms).

``topk``, ``unique``, ``histogram`` and ``bincount`` are tree reductions. ``percentile`` and
``median`` along an axis gather that axis into one block and are exact.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from oxdask.array.core import Array, _new, asarray
from oxdask.array.histogram import _unmasked, bincount, histogram
from oxdask.array.reductions import leaves, reduction, validate_axis
from oxdask.highlevelgraph import MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = [
    "argtopk",
    "bincount",
    "histogram",
    "median",
    "nanmedian",
    "nanpercentile",
    "nanquantile",
    "percentile",
    "quantile",
    "topk",
    "unique",
]


def _topk_chunk(x, axis, keepdims, k):
    (ax,) = axis
    n = x.shape[ax]
    if abs(k) >= n:
        return x
    if k > 0:
        return np.partition(x, n - k, axis=ax)[(slice(None),) * ax + (slice(n - k, None),)]
    return np.partition(x, -k - 1, axis=ax)[(slice(None),) * ax + (slice(None, -k),)]


def _topk_agg(x, axis, keepdims, k):
    (ax,) = axis
    x = _topk_chunk(x, axis, keepdims, k)
    x = np.sort(x, axis=ax)
    return np.flip(x, axis=ax) if k > 0 else x


def topk(a, k, axis=-1, split_every=None):
    """The ``k`` largest elements along ``axis``, sorted (``k < 0``: the smallest).

    Parameters
    ----------
    a : Array
    k : int
    axis : int
    split_every : int, optional

    Returns
    -------
    Array
    """
    a = _unmasked(asarray(a), "topk")
    axis = validate_axis(axis, a.ndim)
    kk = min(abs(k), a.shape[axis])
    out = reduction(
        a,
        _topk_chunk,
        _topk_agg,
        axis=axis,
        keepdims=True,
        dtype=a.dtype,
        split_every=split_every,
        name="topk",
        chunk_kwargs={"k": k},
        combine_kwargs={"k": k},
        aggregate_kwargs={"k": k},
        concatenate=True,
        output_size=kk,
    )
    chunks = list(out.chunks)
    chunks[axis] = (kk,)
    out._chunks = tuple(chunks)
    return out


def _argtopk_chunk(x, axis, keepdims, k, loc):
    (ax,) = axis
    idx = np.broadcast_to(
        np.arange(loc.start, loc.stop).reshape([-1 if d == ax else 1 for d in range(x.ndim)]),
        x.shape,
    )
    return _argtopk_combine({"v": x, "i": idx}, axis, keepdims, k)


def _argtopk_combine(p, axis, keepdims, k):
    (ax,) = axis
    v, i = p["v"], p["i"]
    n = v.shape[ax]
    if abs(k) >= n:
        return {"v": v, "i": i}
    o = np.argpartition(v, n - k, axis=ax) if k > 0 else np.argpartition(v, -k - 1, axis=ax)
    sel = (slice(None),) * ax + ((slice(n - k, None),) if k > 0 else (slice(None, -k),))
    o = o[sel]
    return {"v": np.take_along_axis(v, o, axis=ax), "i": np.take_along_axis(i, o, axis=ax)}


def _argtopk_agg(p, axis, keepdims, k):
    (ax,) = axis
    p = _argtopk_combine(p, axis, keepdims, k)
    o = np.argsort(p["v"], axis=ax, kind="stable")
    if k > 0:
        o = np.flip(o, axis=ax)
    return np.take_along_axis(p["i"], o, axis=ax)


def argtopk(a, k, axis=-1, split_every=None):
    """Indices of the ``k`` largest elements along ``axis`` (``k < 0``: the smallest)."""
    a = _unmasked(asarray(a), "argtopk")
    axis = validate_axis(axis, a.ndim)
    kk = min(abs(k), a.shape[axis])
    kw = {"k": k}
    out = reduction(
        a,
        _argtopk_chunk,
        _argtopk_agg,
        axis=axis,
        keepdims=True,
        dtype=np.intp,
        split_every=split_every,
        combine=_argtopk_combine,
        name="argtopk",
        chunk_kwargs=kw,
        combine_kwargs=kw,
        aggregate_kwargs=kw,
        _loc=True,
        output_size=kk,
    )
    chunks = list(out.chunks)
    chunks[axis] = (kk,)
    out._chunks = tuple(chunks)
    return out


def _unique_chunk(x, axis, keepdims, counts):
    if counts:
        u, c = np.unique(x, return_counts=True)
        return {"u": u, "c": c}
    return {"u": np.unique(x)}


def _unique_combine(p, axis, keepdims, counts, final=False):
    parts = leaves(p)
    u = np.concatenate([q["u"] for q in parts])
    if counts:
        c = np.concatenate([q["c"] for q in parts])
        uu, inv = np.unique(u, return_inverse=True)
        cc = np.bincount(inv.ravel(), weights=c, minlength=len(uu)).astype(np.intp)
        return (uu, cc) if final else {"u": uu, "c": cc}
    uu = np.unique(u)
    return uu if final else {"u": uu}


def unique(ar, return_index=False, return_inverse=False, return_counts=False):
    """Sorted unique values (a 1-D array of unknown size), optionally with their counts.

    ``return_index`` and ``return_inverse`` are not supported.
    """
    if return_index or return_inverse:
        raise NotImplementedError("unique supports return_counts only")
    a = _unmasked(asarray(ar), "unique")
    kw = {"counts": return_counts}
    agg = {"counts": return_counts, "final": True}
    red = reduction(
        a,
        _unique_chunk,
        _unique_combine,
        axis=None,
        dtype=object,
        name="unique",
        combine=_unique_combine,
        concatenate=False,
        chunk_kwargs=kw,
        combine_kwargs=kw,
        aggregate_kwargs=agg,
    )
    name = "unique-values-" + tokenize(red.name)
    if not return_counts:
        layer = MaterializedLayer({(name, 0): (red.name,)})
        return _new(name, layer, [red], ((math.nan,),), a.dtype)
    cname = "unique-counts-" + tokenize(red.name)
    u = _new(
        name,
        MaterializedLayer({(name, 0): (_item, (red.name,), 0)}),
        [red],
        ((math.nan,),),
        a.dtype,
    )
    c = _new(
        cname,
        MaterializedLayer({(cname, 0): (_item, (red.name,), 1)}),
        [red],
        ((math.nan,),),
        np.intp,
    )
    return u, c


def _item(t, i):
    return t[i]


def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, Integral):
        axis = (axis,)
    out = tuple(validate_axis(ax, ndim) for ax in axis)
    if len(set(out)) != len(out):
        raise ValueError("duplicate value in 'axis'")
    return out


def _weights_like(w, a, axes):
    """The weights as an Array that broadcasts against ``a`` block by block: of ``a``'s shape
    and chunks, or 1-D along the one reduced axis (then shaped to broadcast)."""
    w = asarray(w)
    if w.shape == a.shape:
        return w.rechunk(a.chunks)
    if w.ndim == 1 and len(axes) == 1 and w.shape[0] == a.shape[axes[0]]:
        index = tuple(slice(None) if i == axes[0] else None for i in range(a.ndim))
        return w.rechunk(-1)[index]
    raise ValueError("Shape of weights must be consistent with shape of a along specified axis.")


def _along_axis(func, a, q, axis, keepdims, kwargs, weights=None, out=None):
    from oxdask.array.reductions import handle_out

    a = asarray(a)
    q_arr = np.asarray(q)
    axes = _norm_axes(axis, a.ndim)
    if any(a.numblocks[ax] > 1 for ax in axes):
        a = a.rechunk({ax: -1 for ax in axes})
    out_chunks = []
    for i, c in enumerate(a.chunks):
        if i not in axes:
            out_chunks.append(c)
        elif keepdims:
            out_chunks.append((1,))
    out_chunks = tuple((n,) for n in q_arr.shape) + tuple(out_chunks)
    probe = {}
    if weights is not None:
        probe["weights"] = np.ones(2)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sample = func(np.ones(2, a.dtype), q_arr, axis=0, keepdims=False, **kwargs, **probe)
    dtype = np.asarray(sample).dtype
    args = [] if weights is None else [_weights_like(weights, a, axes)]
    result = a.map_blocks(
        _Along(func, q_arr, axes, keepdims, kwargs),
        *args,
        chunks=out_chunks,
        drop_axis=[] if keepdims else list(axes),
        new_axis=list(range(q_arr.ndim)),
        dtype=dtype,
    )
    if func is not _median and func is not _nanmedian:
        result._masked = False  # quantiles of masked arrays: plain arrays
    return handle_out(out, result)


class _Along:
    def __init__(self, func, q, axis, keepdims, kwargs):
        self.func = func
        self.q = q
        self.axis = axis
        self.keepdims = keepdims
        self.kwargs = kwargs

    def __call__(self, x, w=None):
        import warnings

        kw = self.kwargs
        func = self.func
        if isinstance(x, np.ma.MaskedArray):
            if func is _median or func is _nanmedian:
                return np.ma.median(x, axis=self.axis, keepdims=self.keepdims)
            # quantiles of the unmasked values: masked elements become NaN, skipped
            x = np.ma.filled(x.astype(np.result_type(x.dtype, np.float64)), np.nan)
            func = _NAN_FORM.get(func, func)
        if w is not None:
            kw = {**kw, "weights": np.broadcast_to(w, x.shape)}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
            warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
            return func(x, self.q, axis=self.axis, keepdims=self.keepdims, **kw)


def _method(method, interpolation, what):
    if interpolation is None:
        return method
    import warnings

    warnings.warn(
        f"The `interpolation` argument to {what} was renamed to `method`.",
        FutureWarning,
        stacklevel=3,
    )
    if method != "linear":
        raise TypeError("Cannot pass interpolation and method keywords!")
    return interpolation


def percentile(
    a, q, method="linear", internal_method="default", *, axis=None, keepdims=False, **kwargs
):
    """Exact percentiles along ``axis`` (the flattened array by default).

    .. note:: oxdask gathers the reduced axis into one block and computes exact
       percentiles; Dask approximates them from per-block percentiles.
    """
    weights = kwargs.pop("weights", None)
    a = asarray(a)
    if a.dtype.kind not in "biufc":
        method = "nearest"  # strings, dates: the nearest element, as Dask
    return _along_axis(np.percentile, a, q, axis, keepdims, {"method": method}, weights)


def nanpercentile(a, q, method="linear", *, axis=None, keepdims=False, **kwargs):
    """Exact percentiles ignoring NaN (see :func:`percentile`)."""
    weights = kwargs.pop("weights", None)
    return _along_axis(np.nanpercentile, a, q, axis, keepdims, {"method": method}, weights)


def quantile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    *,
    weights=None,
    interpolation=None,
):
    """Exact quantiles (``q`` in [0, 1]) along ``axis``, as :func:`numpy.quantile` (the
    reduced axes are gathered into one block)."""
    method = _method(method, interpolation, "quantile")
    if overwrite_input:
        raise NotImplementedError("da.quantile does not support overwrite_input=True")
    kw = {"method": method}
    return _along_axis(np.quantile, a, q, axis, keepdims, kw, weights, out)


def nanquantile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    *,
    weights=None,
    interpolation=None,
):
    """Exact quantiles ignoring NaN, as :func:`numpy.nanquantile`."""
    method = _method(method, interpolation, "nanquantile")
    if overwrite_input:
        raise NotImplementedError("da.nanquantile does not support overwrite_input=True")
    kw = {"method": method}
    return _along_axis(np.nanquantile, a, q, axis, keepdims, kw, weights, out)


_NAN_FORM = {np.quantile: np.nanquantile, np.percentile: np.nanpercentile}


def _median(x, q, axis, keepdims):
    return np.median(x, axis=axis, keepdims=keepdims)


def _nanmedian(x, q, axis, keepdims):
    return np.nanmedian(x, axis=axis, keepdims=keepdims)


def median(a, axis=None, keepdims=False, out=None):
    """Median along ``axis`` (the reduced axes are gathered into one block)."""
    return _along_axis(_median, a, None, axis, keepdims, {}, out=out)


def nanmedian(a, axis=None, keepdims=False, out=None):
    """Median ignoring NaN (no warning for all-NaN slices: NaN)."""
    return _along_axis(_nanmedian, a, None, axis, keepdims, {}, out=out)


_ = Array
