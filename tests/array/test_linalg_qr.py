"""tsqr/sfqr/qr shapes and checks, cholesky of integers, lstsq residuals, unknown sizes."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


@pytest.mark.parametrize(
    ("m", "n", "chunks"),
    [(20, 10, 10), (40, 10, ((15, 5, 5, 8, 7), 10)), (5, 10, 10), (10, 10, 10)],
)
def test_tsqr_and_its_svd(m, n, chunks, rng):
    a = rng.random((m, n))
    x = da.from_array(a, chunks=chunks)
    q, r = da.linalg.tsqr(x)
    assert_eq(da.dot(q, r), a)
    u, s, vh = da.linalg.tsqr(x, compute_svd=True)
    k = min(m, n)
    assert vh.shape == (n, n)  # square, as Dask
    assert_eq(s, np.linalg.svd(a)[1])
    assert_eq(da.dot(da.dot(u, da.diag(s)), vh[:k]), a)


@pytest.mark.parametrize(
    ("m", "n", "chunks"), [(10, 40, (10, 10)), (10, 40, (10, (15, 5, 5, 8, 7))), (5, 10, 10)]
)
def test_sfqr_and_qr_of_short_fat(m, n, chunks, rng):
    a = rng.random((m, n))
    x = da.from_array(a, chunks=chunks)
    q, r = da.linalg.sfqr(x)
    assert q.shape == (m, min(m, n))
    assert_eq(da.dot(q, r), a)
    assert_eq(da.dot(q.T, q), np.eye(min(m, n)))
    assert_eq(r, np.triu(r.compute()))
    q2, r2 = da.linalg.qr(x)
    assert_eq(da.dot(q2, r2), a)
    with pytest.raises(ValueError, match="one column of blocks"):
        da.linalg.tsqr(x.rechunk((m, 10)) if n > 10 else da.ones((4, 4), chunks=2))
    with pytest.raises(ValueError, match="one row of blocks"):
        da.linalg.sfqr(da.ones((20, 20), chunks=10))


def test_cholesky_of_integers_and_lstsq_residuals(rng):
    a = np.array([[4, 2], [2, 3]])
    c = da.linalg.cholesky(da.from_array(a, chunks=2))
    assert c.dtype == np.float64
    assert_eq(c, np.linalg.cholesky(a).T)
    A = rng.integers(1, 20, (20, 5))
    b = rng.integers(1, 20, 20)
    x, res, rank, s = da.linalg.lstsq(da.from_array(A, (5, 5)), da.from_array(b, 5))
    ex, eres, erank, es = np.linalg.lstsq(A, b, rcond=-1)
    assert_eq(x, ex)
    assert_eq(s, es)
    assert res.shape == eres.shape == (1,)
    assert_eq(res, eres)
    assert int(rank.compute()) == erank


def test_tsqr_with_unknown_row_sizes(rng):
    a = rng.random((20, 3))
    x = da.from_array(a, chunks=(5, 3))
    y = x[x[:, 0] >= 0]  # the same rows, sizes unknown
    q, r = da.linalg.tsqr(y)
    assert_eq(da.dot(q, r), a)


@pytest.mark.parametrize("ord_", [2, -2, "nuc"])
def test_norm_by_singular_values_of_short_fat(ord_, rng):
    a = rng.random((5, 6))
    x = da.from_array(a, chunks=2).rechunk({-1: -1})  # svd needs one column block
    assert_eq(da.linalg.norm(x, ord=ord_), np.linalg.norm(a, ord=ord_))
    assert_eq(
        da.linalg.norm(x, ord=ord_, axis=(1, 0), keepdims=True),
        np.linalg.norm(a, ord=ord_, axis=(1, 0), keepdims=True),
    )
    _, _, v = da.linalg.svd(da.from_array(a, chunks=(5, 6)))
    assert v.shape == (5, 6)  # thin, unlike tsqr's square Vh


@pytest.mark.parametrize("iterator", ["power", "QR"])
@pytest.mark.parametrize(("m", "n", "chunks"), [(60, 40, (20, 40)), (15, 20, (5, 10)), (30, 25, 5)])
def test_svd_compressed(iterator, m, n, chunks, rng):
    u0 = np.linalg.qr(rng.standard_normal((m, 4)))[0]
    v0 = np.linalg.qr(rng.standard_normal((n, 4)))[0]
    a = (u0 * [9.0, 5.0, 3.0, 2.0]) @ v0.T  # rank 4
    x = da.from_array(a, chunks=chunks)
    u, s, v = da.linalg.svd_compressed(x, 4, iterator=iterator, n_power_iter=1, seed=3)
    assert (u.shape, s.shape, v.shape) == ((m, 4), (4,), (4, n))
    assert_eq(s, np.array([9.0, 5.0, 3.0, 2.0]))
    assert_eq((u * s) @ v, a)
    u2, s2, v2 = da.linalg.svd_compressed(x, 4, iterator=iterator, n_power_iter=1, seed=3)
    assert_eq(u2, u)
    assert_eq(s2, s)
    assert_eq(v2, v)
    f32 = da.linalg.svd_compressed(x.astype("f4"), 2, seed=1)
    assert all(r.dtype == np.float32 for r in f32)


@pytest.mark.parametrize(("size", "chunk"), [(10, 5), (20, 10), (7, 7)])
def test_lu_and_solve_triangular(size, chunk, rng):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    a = rng.integers(0, 10, (size, size)) + np.eye(size, dtype=int) * 20
    x = da.from_array(a, chunks=chunk)
    p, lo, up = da.linalg.lu(x)
    assert lo.chunks == x.chunks
    assert_eq(p @ lo @ up, a.astype(float))
    assert_eq(lo, np.tril(lo.compute()))
    b = rng.integers(1, 10, size)
    db = da.from_array(b, chunks=chunk)
    for lower, tri in ((False, np.triu(a)), (True, np.tril(a))):
        got = da.linalg.solve_triangular(da.from_array(tri, chunks=chunk), db, lower=lower)
        assert_eq(got, scipy_linalg.solve_triangular(tri, b, lower=lower))
    with pytest.raises(ValueError, match="square"):
        da.linalg.lu(da.ones((20, 20), chunks=(5, 4)))
    with pytest.raises(ValueError, match="chunks"):
        da.linalg.solve_triangular(da.ones((10, 10), chunks=3), da.ones(10, chunks=5))


def test_svd_full_matrices_keyword(rng):
    a = rng.random((10, 20))
    x = da.from_array(a, chunks=-1)
    with pytest.raises(NotImplementedError, match="full_matrices"):
        da.linalg.svd(x, full_matrices=True)
    _, s, v = da.linalg.svd(x, full_matrices=False)
    assert v.shape == (10, 20)
    assert_eq(s, np.linalg.svd(a, compute_uv=False))


@pytest.mark.parametrize("dtype", ["f2", "f4", "f8", "c8", "c16"])
@pytest.mark.parametrize("u_based", [True, False])
def test_svd_flip(dtype, u_based, rng):
    from oxdask.array.linalg import svd_flip

    x = np.array([[1, -1, 1, -1], [1, -1, 1, -1], [-1, 1, 1, -1], [-1, 1, 1, -1]], dtype=dtype)
    expected = x.copy()
    expected[:, -1] *= -1
    u, v = svd_flip(x, x.T, u_based_decision=u_based)
    assert u.dtype == v.dtype == x.dtype
    np.testing.assert_array_equal(u, expected)
    du, dv = svd_flip(da.from_array(x, chunks=2), da.from_array(x.T, chunks=3), u_based)
    assert_eq(du, expected)
    assert_eq(dv, expected.T)
    a = rng.random((8, 5))
    uu, ss, vv = da.linalg.svd(da.from_array(a, chunks=(4, 5)))
    fu, fv = svd_flip(uu, vv)
    assert_eq((fu * ss) @ fv, a)


def test_tensordot_of_more_dimensions_than_letters():
    x = np.arange(4.0).reshape([2, 2] + [1] * 25)  # 27 dimensions, small
    d = da.from_array(x, chunks=1)
    assert_eq(da.tensordot(d, d, 27), np.tensordot(x, x, 27))
    axes = ([1, 0, *range(2, 27)], list(range(27)))
    assert_eq(da.tensordot(d, d, axes), np.tensordot(x, x, axes))
