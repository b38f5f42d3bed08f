"""Products and decompositions compared with NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


def test_matmul_dot_tensordot(rng):
    a, b = rng.random((9, 7)), rng.random((7, 5))
    x, y = da.from_array(a, chunks=(4, 3)), da.from_array(b, chunks=(2, 5))
    assert_eq(x @ y, a @ b)
    assert_eq(da.matmul(x, y), a @ b)
    assert_eq(da.dot(x, y), a.dot(b))
    assert_eq(x.dot(y), a.dot(b))
    assert_eq(x @ b, a @ b)
    assert_eq(a @ y, a @ b)
    v = rng.random(7)
    assert_eq(x @ da.from_array(v, chunks=3), a @ v)
    assert_eq(da.from_array(v, chunks=3) @ y, v @ b)
    assert_eq(da.vdot(da.from_array(v, chunks=2), da.from_array(v, chunks=3)), np.vdot(v, v))
    t = rng.random((3, 4, 5))
    u = rng.random((4, 5, 2))
    tx, ux = da.from_array(t, chunks=2), da.from_array(u, chunks=(3, 2, 2))
    assert_eq(da.tensordot(tx, ux, axes=2), np.tensordot(t, u, axes=2))
    assert_eq(da.tensordot(tx, ux, axes=([1], [0])), np.tensordot(t, u, axes=([1], [0])))
    with pytest.raises(ValueError, match="mismatch"):
        x @ x


def test_batched_matmul(rng):
    a, b = rng.random((2, 3, 4, 5)), rng.random((3, 5, 6))
    x, y = da.from_array(a, chunks=2), da.from_array(b, chunks=(1, 3, 4))
    assert_eq(x @ y, a @ b)


@pytest.mark.parametrize(
    "spec", ["ij,jk->ik", "ij,jk", "ii->i", "ij->", "ijk,kj->i", "i,i", "ij->ji"]
)
def test_einsum(spec, rng):
    shapes = {
        "ij,jk->ik": [(5, 4), (4, 3)],
        "ij,jk": [(5, 4), (4, 3)],
        "ii->i": [(4, 4)],
        "ij->": [(5, 3)],
        "ijk,kj->i": [(3, 4, 5), (5, 4)],
        "i,i": [(7,), (7,)],
        "ij->ji": [(3, 5)],
    }[spec]
    arrs = [rng.random(s) for s in shapes]
    xs = [da.from_array(a, chunks=2) for a in arrs]
    assert_eq(da.einsum(spec, *xs), np.einsum(spec, *arrs))


@pytest.mark.parametrize("chunks", [(5, 4), (20, 4), (7, 4), (3, 4)])
def test_qr_svd(chunks, rng):
    a = rng.random((20, 4))
    x = da.from_array(a, chunks=chunks)
    q, r = da.linalg.qr(x)
    assert_eq(q @ r, a)
    assert_eq(q.T @ q, np.eye(4), atol=1e-10)
    assert_eq(r, np.triu(r.compute()))
    u, s, v = da.linalg.svd(x)
    assert_eq(s, np.linalg.svd(a, compute_uv=False))
    assert_eq((u * s) @ v, a)
    uf, sf, vf = da.linalg.svd(x.T)
    assert_eq(sf, np.linalg.svd(a, compute_uv=False))
    assert_eq((uf * sf) @ vf, a.T)


def test_solve_inv_cholesky_lstsq(rng):
    a = rng.random((8, 8)) + 8 * np.eye(8)
    b = rng.random((8, 3))
    x, y = da.from_array(a, chunks=3), da.from_array(b, chunks=(3, 2))
    assert_eq(da.linalg.solve(x, y), np.linalg.solve(a, b))
    assert_eq(da.linalg.solve(x, y[:, 0]), np.linalg.solve(a, b[:, 0]))
    assert_eq(da.linalg.inv(x), np.linalg.inv(a))
    spd = a @ a.T
    s = da.from_array(spd, chunks=3)
    assert_eq(da.linalg.cholesky(s, lower=True), np.linalg.cholesky(spd))
    assert_eq(da.linalg.cholesky(s), np.linalg.cholesky(spd).T)
    t = rng.random((20, 3))
    sol, _res, rank, _sv = da.linalg.lstsq(
        da.from_array(t, chunks=(5, 3)), da.from_array(b[:, 0].repeat(3)[:20], chunks=5)
    )
    e = np.linalg.lstsq(t, b[:, 0].repeat(3)[:20], rcond=None)
    assert_eq(sol, e[0])
    assert int(rank.compute()) == e[2]
    with pytest.raises(ValueError, match="square"):
        da.linalg.inv(da.ones((3, 4)))


@pytest.mark.parametrize("ord_", [None, 1, 2, np.inf, -np.inf, 0, 3])
def test_vector_norm(ord_, rng):
    a = rng.random((6, 5)) - 0.5
    x = da.from_array(a, chunks=2)
    assert_eq(da.linalg.norm(x[0], ord=ord_), np.linalg.norm(a[0], ord=ord_))
    assert_eq(da.linalg.norm(x, ord=ord_, axis=1), np.linalg.norm(a, ord=ord_, axis=1))


@pytest.mark.parametrize("ord_", [None, "fro", 1, -1, np.inf, -np.inf, 2, "nuc"])
def test_matrix_norm(ord_, rng):
    a = rng.random((8, 3)) - 0.5
    x = da.from_array(a, chunks=(3, 3))
    assert_eq(da.linalg.norm(x, ord=ord_), np.linalg.norm(a, ord=ord_))
    assert_eq(
        da.linalg.norm(x, ord=ord_, keepdims=True), np.linalg.norm(a, ord=ord_, keepdims=True)
    )
