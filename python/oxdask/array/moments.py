"""Moments as tree reductions: ``mean``, ``var``, ``std`` and their ``nan`` forms.

Each block gives a dict of partial results -- element count ``n``, ``total`` and, for
variances, ``M2`` (sum of squared deviations from the block's mean) -- combined with Chan's
formula, so results are as accurate as NumPy's two-pass ones. Masked blocks count their
unmasked elements only; results of masked arrays are masked where nothing was counted.
"""

from __future__ import annotations

import math

import numpy as np

from oxdask.array.core import asarray
from oxdask.array.reductions import _scalar, reduction

__all__ = ["mean", "nanmean", "nanstd", "nanvar", "std", "var"]


def _valid(x, nan):
    """Which elements count (not masked; not NaN when ``nan``), or None when all do."""
    mask = None
    if isinstance(x, np.ma.MaskedArray):
        mask = ~np.ma.getmaskarray(x)
    if nan:
        notnan = (x == x) if x.dtype == object else ~np.isnan(np.ma.getdata(x))
        mask = notnan if mask is None else mask & notnan
    return mask


def _div(total, n):
    """``total / n``, zero where ``n`` is zero."""
    if total.dtype == object:
        return np.where(n > 0, total / np.maximum(n, 1), 0)
    dtype = total.dtype if total.dtype.kind in "fc" else float
    return np.divide(total, n, out=np.zeros(total.shape, dtype=dtype), where=n > 0)


def _moment_chunk(x, axis, keepdims, nan=False, order=2, dtype=None):
    mask = _valid(x, nan)
    x = np.ma.getdata(x)
    if mask is not None:
        n = np.sum(mask, axis=axis, keepdims=True)
        x = np.where(mask, x, 0)
    else:
        n = np.full(
            tuple(1 if i in axis else s for i, s in enumerate(x.shape)),
            math.prod(x.shape[i] for i in axis),
            dtype=np.int64,
        )
    total = np.sum(x, axis=axis, keepdims=True, dtype=dtype)
    out = {"n": n, "total": total}
    if order >= 2:
        mu = _div(total, n)
        d = x - mu  # a new array: squared in place, one chunk-sized temporary instead of two
        if mask is not None:
            d = np.where(mask, d, 0)
        if np.iscomplexobj(d) or not isinstance(d, np.ndarray):
            sq = d * np.conj(d)
        else:
            sq = np.multiply(d, d, out=d)
        out["M2"] = np.sum(sq, axis=axis, keepdims=True).real
    return out


def _moment_combine(p, axis, keepdims, order=2, **kwargs):
    n = np.sum(p["n"], axis=axis, keepdims=True)
    total = np.sum(p["total"], axis=axis, keepdims=True)
    out = {"n": n, "total": total}
    if order >= 2:
        mu = _div(total, n)
        mus = _div(p["total"], p["n"])
        d = mus - mu
        sq = (d * np.conj(d)).real if np.iscomplexobj(d) else d * d
        out["M2"] = np.sum(p["M2"] + p["n"] * sq, axis=axis, keepdims=True)
    return out


def _finish(r, n, axis, keepdims, dtype, masked):
    if dtype is not None:
        r = r.astype(dtype, copy=False)
    if masked:
        # as np.ma: masked where no element counted, and (results along axes: np.ma's
        # array division) where the result is not finite
        mask = n == 0
        if keepdims or r.ndim > len(axis):
            mask = mask | ~np.isfinite(r)
        r = np.ma.masked_array(r, mask=mask)
    if not keepdims:
        r = _scalar(np.squeeze(r, axis=axis))
    return r


def _mean_agg(p, axis, keepdims, dtype=None, masked=False, **kwargs):
    c = _moment_combine(p, axis, True, order=1)
    with np.errstate(all="ignore"):
        r = c["total"] / c["n"]
    return _finish(r, c["n"], axis, keepdims, dtype, masked)


def _var_agg(p, axis, keepdims, ddof=0, sqrt=False, dtype=None, masked=False, **kwargs):
    c = _moment_combine(p, axis, True, order=2)
    with np.errstate(all="ignore"):
        r = c["M2"] / np.where(c["n"] - ddof > 0, c["n"] - ddof, np.nan)
    if sqrt:
        r = np.sqrt(r)
    return _finish(r, c["n"], axis, keepdims, dtype, masked)


def _mean_dtype(a, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    if a.dtype == object:
        return np.dtype(object)
    return np.dtype(getattr(np.mean(np.ones((1,), dtype=a.dtype)), "dtype", object))


def _moment(name, a, axis, dtype, keepdims, split_every, nan, order, agg, agg_kwargs, out=None):
    a = asarray(a)
    rdtype = _mean_dtype(a, dtype)
    if order >= 2 and rdtype.kind == "c":
        rdtype = np.empty(0, rdtype).real.dtype
    return reduction(
        a,
        _moment_chunk,
        agg,
        axis=axis,
        keepdims=keepdims,
        dtype=rdtype,
        split_every=split_every,
        combine=_moment_combine,
        name=name,
        out=out,
        chunk_kwargs={"nan": nan, "order": order, "dtype": dtype},
        combine_kwargs={"order": order},
        aggregate_kwargs={**agg_kwargs, "dtype": rdtype, "masked": a._masked},
    )


def mean(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
    """Arithmetic mean over ``axis`` (see :func:`numpy.mean`)."""
    return _moment("mean", a, axis, dtype, keepdims, split_every, False, 1, _mean_agg, {}, out)


def nanmean(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
    """Mean ignoring NaN; NaN (without a warning) for all-NaN slices."""
    return _moment("nanmean", a, axis, dtype, keepdims, split_every, True, 1, _mean_agg, {}, out)


def var(a, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None):
    """Variance over ``axis`` (see :func:`numpy.var`), combined with Chan's formula."""
    return _moment(
        "var", a, axis, dtype, keepdims, split_every, False, 2, _var_agg, {"ddof": ddof}, out
    )


def nanvar(a, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None):
    """Variance ignoring NaN."""
    return _moment(
        "nanvar", a, axis, dtype, keepdims, split_every, True, 2, _var_agg, {"ddof": ddof}
    )


def std(a, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None):
    """Standard deviation over ``axis`` (see :func:`numpy.std`)."""
    return _moment(
        "std",
        a,
        axis,
        dtype,
        keepdims,
        split_every,
        False,
        2,
        _var_agg,
        {"ddof": ddof, "sqrt": True},
        out,
    )


def nanstd(a, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None):
    """Standard deviation ignoring NaN."""
    return _moment(
        "nanstd",
        a,
        axis,
        dtype,
        keepdims,
        split_every,
        True,
        2,
        _var_agg,
        {"ddof": ddof, "sqrt": True},
        out,
    )
