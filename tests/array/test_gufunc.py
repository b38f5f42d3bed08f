"""apply_gufunc, gufunc and as_gufunc."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


def test_apply_gufunc_reduce_core(rng):
    a = rng.random((6, 5, 4))
    x = da.from_array(a, chunks=(2, 3, 4))
    got = da.apply_gufunc(lambda b: b.mean(axis=-1), "(i)->()", x, output_dtypes=float)
    assert_eq(got, a.mean(axis=-1))
    with pytest.raises(ValueError, match="consists of multiple chunks"):
        da.apply_gufunc(np.sum, "(i)->()", da.from_array(a, chunks=2))
    ok = da.apply_gufunc(
        lambda b: b.sum(-1),
        "(i)->()",
        da.from_array(a, chunks=2),
        allow_rechunk=True,
        output_dtypes=float,
    )
    assert_eq(ok, a.sum(-1))


def test_apply_gufunc_two_inputs_and_outputs(rng):
    a, b = rng.random((5, 3)), rng.random((5, 3))
    x, y = da.from_array(a, chunks=(2, 3)), da.from_array(b, chunks=(3, 3))
    with pytest.raises(ValueError, match="different chunksize"):  # as Dask
        da.apply_gufunc(lambda p, q: p, "(i),(i)->()", x, y, output_dtypes=float)
    y = y.rechunk(x.chunks)
    inner = da.apply_gufunc(
        lambda p, q: np.einsum("...i,...i->...", p, q), "(i),(i)->()", x, y, output_dtypes=float
    )
    assert_eq(inner, (a * b).sum(-1))
    mn, mx = da.apply_gufunc(
        lambda p: (p.min(-1), p.max(-1)), "(i)->(),()", x, output_dtypes=(float, float)
    )
    assert_eq(mn, a.min(-1))
    assert_eq(mx, a.max(-1))
    outer = da.apply_gufunc(
        lambda p: p[..., None] * np.ones(4),
        "(i)->(i,j)",
        x,
        output_sizes={"j": 4},
        output_dtypes=float,
    )
    assert_eq(outer, a[..., None] * np.ones(4))


def test_gufunc_decorators(rng):
    a = rng.random((4, 6))

    @da.as_gufunc(signature="(i)->()", output_dtypes=float, vectorize=True)
    def spread(v):
        return v.max() - v.min()

    x = da.from_array(a, chunks=(2, 6))
    assert_eq(spread(x), a.max(-1) - a.min(-1))
    g = da.gufunc(np.linalg.norm, signature="(i)->()", output_dtypes=float, vectorize=True)
    assert_eq(g(x), np.linalg.norm(a, axis=-1))
    with pytest.raises(ValueError, match="Not a valid gufunc signature"):
        da.apply_gufunc(np.sum, "(i->)", x)
