"""``svd_compressed``: randomized truncated SVD (Halko, Martinsson and Tropp, 2011).

The range of ``a`` is sampled with a Gaussian test matrix, refined by power (or QR-
normalized) iterations, orthonormalized by TSQR; the small projected matrix is decomposed in
one block.
"""

from __future__ import annotations

import numpy as np

from oxdask.array.core import asarray, from_array

__all__ = ["svd_compressed", "svd_flip"]


def _sign_by_u(u, v):
    """Signs making the largest-magnitude entry of each column of ``u`` positive."""
    from oxdask.array.routines import take

    idx = abs(u).argmax(axis=0)
    picked = take(u.rechunk({0: -1}), idx, axis=0).rechunk({0: -1})
    diag = picked.map_blocks(lambda b: np.diagonal(b).copy(), drop_axis=0, dtype=u.dtype)
    sign = diag.map_blocks(lambda d: np.where(d < 0, -1, 1).astype(d.dtype), dtype=u.dtype)
    return u * sign[None, :], v * sign[:, None]


def svd_compressed(
    a,
    k,
    iterator="power",
    n_power_iter=0,
    n_oversamples=10,
    seed=None,
    compute=False,
    coerce_signs=True,
):
    """The ``k`` leading singular triplets ``(u, s, v)`` of ``a``, approximately.

    Parameters
    ----------
    a : Array, 2-d
    k : int
        Rank of the approximation.
    iterator : {"power", "QR"}
        Plain power iterations, or with a QR normalization between steps (more stable).
    n_power_iter : int
    n_oversamples : int
        Extra samples of the range beyond ``k``.
    seed : int, optional
        Seed of the Gaussian test matrix (same seed, same result).
    compute : bool
        Persist the sampled range before the last steps (a smaller graph).
    coerce_signs : bool
        Make the largest entry of every column of ``u`` positive.
    """
    from oxdask.array.linalg import _svd_small, _tsqr

    a = asarray(a)
    if a.ndim != 2:
        raise ValueError("svd_compressed needs a 2-d array")
    if iterator not in ("power", "QR"):
        raise ValueError(f"Iterator '{iterator}' not valid, must one one of ['power', 'QR']")
    m, n = a.shape
    r = min(m, n, k)
    width = max(min(k + n_oversamples, m, n), 1)
    dtype = np.result_type(a.dtype, np.float32)
    omega = np.random.default_rng(seed).standard_normal((n, width)).astype(dtype)
    omega = from_array(omega, chunks=(a.chunks[1], (width,)))
    sample = a @ omega
    for _ in range(n_power_iter):
        if iterator == "QR":
            q, _ = _tsqr(sample)
            back, _ = _tsqr(a.T.conj() @ q)
            sample = a @ back
        else:
            sample = a @ (a.T.conj() @ sample)
    if compute:
        sample = sample.persist()
    q, _ = _tsqr(sample)
    small = (q.T.conj() @ a).rechunk(-1)
    ub, s, v = _svd_small(small)
    u = q @ ub
    u, s, v = u[:, :r], s[:r], v[:r, :]
    if coerce_signs:
        u, v = _sign_by_u(u, v)
    return u, s, v


def svd_flip(u, v, u_based_decision=False):
    """Signs of SVD factors made deterministic: each singular vector (a column of ``u`` when
    ``u_based_decision``, else a row of ``v``) flipped so that its sum is not negative;
    ``u`` and ``v`` flip together, so ``u * s @ v`` is unchanged. NumPy or lazy arrays."""
    if u_based_decision:
        total = u.sum(axis=0, keepdims=True)
        signs = ((total.real >= 0) * 2 - 1).astype(u.dtype)
        return u * signs, v * signs.T.astype(v.dtype)
    total = v.sum(axis=1, keepdims=True)
    signs = ((total.real >= 0) * 2 - 1).astype(v.dtype)
    return u * signs.T.astype(u.dtype), v * signs
