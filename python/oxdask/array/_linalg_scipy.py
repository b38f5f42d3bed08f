"""``lu`` and ``solve_triangular``: SciPy's factorization and triangular solve, the matrix
gathered in one block (results chunked as the inputs)."""

from __future__ import annotations

import numpy as np

from oxdask.array.core import asarray

__all__ = ["lu", "solve_triangular"]


def _pick(k):
    def pick(parts):
        return parts[k]

    return pick


def lu(a):
    """``p, l, u`` with ``a = p @ l @ u`` (as :func:`scipy.linalg.lu`)."""
    import scipy.linalg

    from oxdask.array.io import from_delayed
    from oxdask.delayed import delayed

    a = asarray(a)
    if a.ndim != 2:
        raise ValueError("Dimension must be 2 to perform lu decomposition")
    if a.shape[0] != a.shape[1]:
        raise ValueError("Input must be a square matrix to perform lu decomposition")
    if a.chunks[0] != a.chunks[1]:
        raise ValueError(
            "All chunks must be a square matrix to perform lu decomposition. "
            "Use .rechunk method to change the size of chunks."
        )
    whole = a.rechunk(-1)
    parts = delayed(scipy.linalg.lu, pure=True)(whole.to_delayed().ravel()[0])
    dtype = scipy.linalg.lu(np.eye(2, dtype=a.dtype))[1].dtype
    n = a.shape[0]
    return tuple(
        from_delayed(delayed(_pick(k), pure=True)(parts), (n, n), dtype=dtype).rechunk(a.chunks)
        for k in range(3)
    )


def _solve_tri(a, b, lower):
    import scipy.linalg

    return scipy.linalg.solve_triangular(a, b, lower=lower)


def solve_triangular(a, b, lower=False):
    """Solve ``a x = b`` for a triangular ``a`` (as :func:`scipy.linalg.solve_triangular`)."""
    a, b = asarray(a), asarray(b)
    if a.ndim != 2:
        raise ValueError("a must be 2 dimensional")
    if b.ndim not in (1, 2):
        raise ValueError("b must be 1 or 2 dimensional")
    if a.shape[0] != a.shape[1] or a.shape[1] != b.shape[0]:
        raise ValueError(f"a ({a.shape}) and b ({b.shape}) do not form a square system")
    if a.chunks[1] != b.chunks[0]:
        raise ValueError(
            "a.chunks[1] and b.chunks[0] must be equal. Use .rechunk method to change the "
            "size of chunks."
        )
    dtype = _solve_tri(np.eye(1, dtype=a.dtype), np.ones((1,) * b.ndim, dtype=b.dtype), lower)
    whole_a = a.rechunk(-1)
    whole_b = b.rechunk(-1)
    out = whole_b.map_blocks(_solve_tri_block, [whole_a], lower=lower, dtype=dtype.dtype)
    return out.rechunk(b.chunks)


def _solve_tri_block(b, a, lower):
    return _solve_tri(np.asarray(a[0]), b, lower)
