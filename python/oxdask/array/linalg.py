"""Linear algebra: ``tensordot``, ``dot``, ``matmul``, ``vdot``, ``einsum`` (top level) and the
``oxdask.array.linalg`` namespace (``qr``, ``svd``, ``tsqr``, ``solve``, ``inv``,
``cholesky``, ``lstsq``, ``norm``).

Contractions over several blocks are expressed as *partial products*: one Blockwise task per
(output block, contracted block) keeps the contracted block index as a length-one axis, and a
tree reduction sums along it. No task ever holds a whole row or column of blocks, and the
summation is a compact TreeReduce layer.

``qr``/``svd`` use the tall-and-skinny QR (TSQR): a QR per row block, one QR of the stacked
R factors, then one product per block.
"""

from __future__ import annotations

import math
import string
from numbers import Integral

import numpy as np

from oxdask import _blas
from oxdask.array._chunks import _isnan
from oxdask.array.blockwise import blockwise
from oxdask.array.chunk import unwrap_nested
from oxdask.array.core import Array, _new, asarray
from oxdask.array.einsumfuncs import einsum
from oxdask.array.reductions import validate_axis
from oxdask.highlevelgraph import MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = [
    "cholesky",
    "dot",
    "einsum",
    "inv",
    "lstsq",
    "lu",
    "matmul",
    "norm",
    "qr",
    "sfqr",
    "solve",
    "solve_triangular",
    "svd",
    "svd_compressed",
    "svd_flip",
    "tensordot",
    "tsqr",
    "vdot",
]


class _Contract:
    """Block task: ``np.einsum`` on (unwrapped) blocks, plus ``nk`` length-one axes."""

    def __init__(self, spec, nk):
        self.spec = spec
        self.nk = nk

    def __call__(self, *blocks):
        blocks = [unwrap_nested(b) for b in blocks]
        out = np.einsum(self.spec, *blocks, optimize=len(blocks) > 1)
        return out.reshape(out.shape + (1,) * self.nk) if self.nk else out


class _TensorDotBlock:
    def __init__(self, axes, nk):
        self.axes = axes
        self.nk = nk

    def __call__(self, a, b):
        out = np.tensordot(unwrap_nested(a), unwrap_nested(b), axes=self.axes)
        return out.reshape(out.shape + (1,) * self.nk) if self.nk else out


def _letters(n, skip=""):
    pool = [c for c in string.ascii_letters if c not in skip]
    return pool[:n]


def _tensordot_whole(a, b, ax_a, ax_b):
    from oxdask.array.io import from_delayed
    from oxdask.delayed import delayed

    shape = tuple(n for i, n in enumerate(a.shape) if i not in ax_a) + tuple(
        n for i, n in enumerate(b.shape) if i not in ax_b
    )
    block_a = a.rechunk(-1).to_delayed().ravel()[0]
    block_b = b.rechunk(-1).to_delayed().ravel()[0]
    value = delayed(np.tensordot, pure=True)(block_a, block_b, axes=(ax_a, ax_b))
    return from_delayed(value, shape, dtype=np.result_type(a.dtype, b.dtype))


def tensordot(lhs, rhs, axes=2):
    """Sum products over the given axes (see :func:`numpy.tensordot`)."""
    _blas.used()
    a, b = asarray(lhs), asarray(rhs)
    if isinstance(axes, Integral):
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, Integral) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, Integral) else list(ax_b)
    ax_a = [validate_axis(x, a.ndim) for x in ax_a]
    ax_b = [validate_axis(x, b.ndim) for x in ax_b]
    if len(ax_a) != len(ax_b):
        raise ValueError("shape-mismatch for sum")
    for i, j in zip(ax_a, ax_b, strict=True):
        if a.shape[i] != b.shape[j] and not (_isnan(a.shape[i]) or _isnan(b.shape[j])):
            raise ValueError("shape-mismatch for sum")
    if a.ndim + b.ndim > len(string.ascii_letters):  # beyond einsum's labels: one block
        return _tensordot_whole(a, b, ax_a, ax_b)
    letters = _letters(a.ndim + b.ndim)
    ia = letters[: a.ndim]
    ib = letters[a.ndim :]
    for i, j in zip(ax_a, ax_b, strict=True):
        ib[j] = ia[i]
    k = [ia[i] for i in ax_a]
    free = [c for n, c in enumerate(ia) if n not in ax_a] + [
        c for n, c in enumerate(ib) if n not in ax_b
    ]
    multi = [
        c
        for c, i in zip(k, ax_a, strict=True)
        if max(a.numblocks[i], b.numblocks[ax_b[ax_a.index(i)]]) > 1
    ]
    dtype = np.result_type(a.dtype, b.dtype)
    out_ind = free + multi
    out = blockwise(
        _TensorDotBlock((ax_a, ax_b), len(multi)),
        out_ind,
        a,
        ia,
        b,
        ib,
        dtype=dtype,
        adjust_chunks={c: 1 for c in multi},
        token="tensordot",
    )
    if multi:
        out = out.sum(axis=tuple(range(len(free), len(out_ind))), dtype=dtype)
    return out


def matmul(a, b):
    """Matrix product with broadcasting over leading dimensions (``a @ b``)."""
    _blas.used()
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    sa = a.ndim == 1
    sb = b.ndim == 1
    if sa:
        a = a[None, :]
    if sb:
        b = b[:, None]
    if a.shape[-1] != b.shape[-2] and not (_isnan(a.shape[-1]) or _isnan(b.shape[-2])):
        raise ValueError(
            f"matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
            f"signature (n?,k),(k,m?)->(n?,m?) (size {b.shape[-2]} is different from "
            f"{a.shape[-1]})"
        )
    nd = max(a.ndim, b.ndim)
    batch = _letters(nd - 2, "nkm")
    ia = "".join(batch[nd - a.ndim :]) + "nk"
    ib = "".join(batch[nd - b.ndim :]) + "km"
    out = _matmul_blocks(a, ia, b, ib, "".join(batch))
    if sa and sb:
        return out[..., 0, 0]
    if sa:
        return out[..., 0, :]
    if sb:
        return out[..., 0]
    return out


class _MatmulPartial:
    """Block task: ``a @ b`` (BLAS), plus a length-one axis for the contracted block index."""

    def __init__(self, multi):
        self.multi = multi

    def __call__(self, a, b):
        out = np.matmul(unwrap_nested(a), unwrap_nested(b))
        return out[..., None] if self.multi else out


def _matmul_blocks(a, ia, b, ib, batch):
    multi = max(a.numblocks[-1], b.numblocks[-2]) > 1
    out_ind = batch + "nm" + ("k" if multi else "")
    dtype = np.result_type(a.dtype, b.dtype)
    out = blockwise(
        _MatmulPartial(multi),
        out_ind,
        a,
        ia,
        b,
        ib,
        dtype=dtype,
        adjust_chunks={"k": 1} if multi else None,
        token="matmul",
    )
    return out.sum(axis=-1, dtype=dtype) if multi else out


def dot(a, b):
    """Dot product (see :func:`numpy.dot`)."""
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim == 1:
        return tensordot(a, b, axes=((a.ndim - 1,), (0,)))
    return tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 2,)))


def vdot(a, b):
    """Dot product of the flattened arrays, conjugating the first."""
    a, b = asarray(a), asarray(b)
    return dot(a.conj().ravel(), b.ravel())


# ---------------------------------------------------------------------------------------------
# Decompositions


def _single(a):
    _blas.used()
    return a.rechunk(tuple((s,) for s in a.shape)) if a.npartitions > 1 else a


def _qr_block(x):
    return np.linalg.qr(x)


def _stack_r(qrs):
    rs = [unwrap_nested(t)[1] for t in qrs]
    q2, r = np.linalg.qr(np.concatenate(rs, axis=0))
    pieces = []
    off = 0
    for rr in rs:
        pieces.append(q2[off : off + rr.shape[0]])
        off += rr.shape[0]
    return pieces, r


def _q_block(qr, stacked, i):
    return qr[0] @ stacked[0][i]


def _r_of(stacked):
    return stacked[1]


def tsqr(data, compute_svd=False, _max_vchunk_size=None):
    """QR (or SVD) of a tall-and-skinny matrix: one column block.

    Returns ``(Q, R)``, or ``(U, S, Vh)`` with ``compute_svd=True`` (``Vh`` square).
    """
    a = asarray(data)
    if a.ndim != 2 or a.numblocks[1] != 1:
        raise ValueError(
            "Input must have the following properties:\n  1. Have two dimensions\n  "
            f"2. Have only one column of blocks\nGot shape {a.shape}, chunks {a.chunks}"
        )
    return _tsqr(a, compute_svd, square_vh=True)


def sfqr(data, name=None):
    """QR of a short-and-fat matrix (one row block): ``Q`` from the first ``min(m, n)``
    columns, ``R = Q^H A``."""
    a = asarray(data)
    if a.ndim != 2 or a.numblocks[0] != 1:
        raise ValueError(
            "Input must have the following properties:\n  1. Have two dimensions\n  "
            f"2. Have only one row of blocks\nGot shape {a.shape}, chunks {a.chunks}"
        )
    k = min(a.shape)
    q, _ = _tsqr(a[:, :k].rechunk({1: -1}))
    return q, q.T.conj() @ a


def _tsqr(data, compute_svd=False, square_vh=False):
    _blas.used()
    a = asarray(data)
    if a.ndim != 2:
        raise ValueError(f"Input must have two dimensions, got {a.ndim}")
    if a.numblocks[1] != 1:
        a = a.rechunk({1: -1})
    m, n = a.shape
    if any(c < n for c in a.chunks[0]) and a.numblocks[0] > 1:
        size = max(n, max(a.chunks[0]))
        a = a.rechunk({0: size})
    token = tokenize(a.name)
    qrn = f"qr-blocks-{token}"
    layer = {(qrn, i, 0): (_qr_block, (a.name, i, 0)) for i in range(a.numblocks[0])}
    blocks = _new(qrn, MaterializedLayer(layer), [a], a.chunks, object)
    sname = f"qr-stack-{token}"
    stacked = _new(
        sname,
        MaterializedLayer(
            {(sname, 0, 0): (_stack_r, [(qrn, i, 0) for i in range(a.numblocks[0])])}
        ),
        [blocks],
        ((1,), (1,)),
        object,
    )
    k = n if _isnan(m) else min(m, n)  # unknown rows: taken as tall-and-skinny
    qname = f"qr-q-{token}"
    q_layer = {
        (qname, i, 0): (_q_block, (qrn, i, 0), (sname, 0, 0), i) for i in range(a.numblocks[0])
    }
    dtype = np.linalg.qr(np.ones((1, 1), a.dtype))[0].dtype
    Q = _new(qname, MaterializedLayer(q_layer), [blocks, stacked], (a.chunks[0], (k,)), dtype)
    rname = f"qr-r-{token}"
    R = _new(
        rname,
        MaterializedLayer({(rname, 0, 0): (_r_of, (sname, 0, 0))}),
        [stacked],
        ((k,), (n,)),
        dtype,
    )
    if not compute_svd:
        return Q, R
    ur, s, vh = _svd_small(R, full=square_vh and k < n)
    return Q @ ur, s, vh


def _svd_small(R, full=False):
    token = tokenize(R.name, full)
    n = R.shape[1]
    k = R.shape[0]
    kk = min(k, n)
    parts = _new(
        f"svd-{token}",
        MaterializedLayer({(f"svd-{token}", 0, 0): (_svd_full if full else _svd, (R.name, 0, 0))}),
        [R],
        R.chunks,
        object,
    )
    dtype = R.dtype
    sdtype = np.empty(0, dtype).real.dtype
    u = _new(
        f"svd-u-{token}",
        MaterializedLayer({(f"svd-u-{token}", 0, 0): (_item, (parts.name, 0, 0), 0)}),
        [parts],
        ((k,), (kk,)),
        dtype,
    )
    s = _new(
        f"svd-s-{token}",
        MaterializedLayer({(f"svd-s-{token}", 0): (_item, (parts.name, 0, 0), 1)}),
        [parts],
        ((kk,),),
        sdtype,
    )
    v = _new(
        f"svd-v-{token}",
        MaterializedLayer({(f"svd-v-{token}", 0, 0): (_item, (parts.name, 0, 0), 2)}),
        [parts],
        ((n if full else kk,), (n,)),
        dtype,
    )
    return u, s, v


def _svd(x):
    return np.linalg.svd(x, full_matrices=False)


def _svd_full(x):
    return np.linalg.svd(x, full_matrices=True)


def _item(t, i):
    return t[i]


def qr(a):
    """QR decomposition of a tall-and-skinny matrix (one block of columns).

    Returns
    -------
    Q, R : Array
    """
    a = asarray(a)
    if a.ndim != 2:
        raise ValueError("qr requires a 2-D array")
    if a.numblocks[1] > 1 and a.numblocks[0] > 1:
        raise NotImplementedError(
            "qr is implemented for tall-and-skinny arrays (one block of columns) only"
        )
    if a.numblocks[1] > 1:
        return sfqr(a)
    return _tsqr(a)


def svd(a, coerce_signs=True, full_matrices=False):
    """Thin SVD of a tall-and-skinny (or short-and-fat) matrix: ``(u, s, v)``.

    ``full_matrices=True`` is not supported (as in Dask).
    """
    if full_matrices:
        raise NotImplementedError("full_matrices=True is not supported; the SVD is thin")
    a = asarray(a)
    if a.ndim != 2:
        raise ValueError("Array must be 2D.")
    if a.numblocks[0] > 1 and a.numblocks[1] > 1:
        raise NotImplementedError("Array must be chunked in one dimension only.")
    if a.numblocks[1] > 1 or (a.shape[1] > a.shape[0] and a.numblocks[0] == 1):
        u, s, v = _tsqr(a.T, compute_svd=True)
        u, v = v.T, u.T
    else:
        u, s, v = _tsqr(a, compute_svd=True)
    if coerce_signs:
        # make the largest component of every row of v positive (deterministic signs)
        sign = _sign_rows(v)
        u = u * sign[None, :]
        v = v * sign[:, None]
    return u, s, v


def _sign_rows(v):
    from oxdask.array.blockwise import elemwise

    return elemwise(_row_signs, v, dtype=v.dtype).rechunk({0: v.chunks[0]})[:, 0]


def _row_signs(v):
    idx = np.argmax(np.abs(v), axis=1)
    s = np.sign(v[np.arange(v.shape[0]), idx])
    s[s == 0] = 1
    return np.broadcast_to(s[:, None], v.shape)


def _square(a):
    a = asarray(a)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError("Input must be a square 2-D array")
    return a


def solve(a, b, sym_pos=None, assume_a="gen"):
    """Solve ``a @ x = b``.

    .. note:: ``a`` is gathered into one block and solved with :func:`numpy.linalg.solve`
       (Dask uses a blocked LU decomposition).
    """
    a = _square(a)
    b = asarray(b)
    if b.shape[0] != a.shape[0]:
        raise ValueError(f"a and b have incompatible shapes {a.shape}, {b.shape}")
    a1 = _single(a)
    b1 = b.rechunk({0: -1})
    return blockwise(
        _solve_block,
        "j" + ("k" if b.ndim == 2 else ""),
        a1,
        "ij",
        b1,
        "i" + ("k" if b.ndim == 2 else ""),
        concatenate=True,
        adjust_chunks={"j": a.shape[1]},
        dtype=np.linalg.solve(np.eye(1, dtype=a.dtype), np.ones(1, dtype=b.dtype)).dtype,
        token="solve",
    )


def _solve_block(a, b):
    return np.linalg.solve(a, b)


def inv(a):
    """Inverse of a square matrix (gathered into one block)."""
    a = _square(a)
    return _single(a).map_blocks(np.linalg.inv, dtype=np.linalg.inv(np.eye(1, dtype=a.dtype)).dtype)


def cholesky(a, lower=False):
    """Cholesky factor (upper by default, as Dask; ``lower=True`` for L).

    .. note:: the matrix is factored in one block.
    """
    a = _square(a)
    fn = _chol_lower if lower else _chol_upper
    dtype = np.linalg.cholesky(np.eye(1, dtype=a.dtype)).dtype  # integers factor as floats
    return _single(a).map_blocks(fn, dtype=dtype)


def _chol_lower(x):
    return np.linalg.cholesky(x)


def _chol_upper(x):
    return np.linalg.cholesky(x).T.conj()


def lstsq(a, b, rcond=-1):
    """Least squares via TSQR: ``(x, residuals, rank, s)``."""
    a, b = asarray(a), asarray(b)
    q, r = _tsqr(a)
    qtb = q.T.conj() @ b.rechunk({0: q.chunks[0]})
    x = solve(r, qtb)
    res = b - a @ x
    residuals = (abs(res) ** 2).sum(axis=0)
    if b.ndim == 1:  # as NumPy: one residual in a 1-d array
        residuals = residuals[None]
    rank = _new(*_rank(r))
    s = _svd_small(r)[1]
    return x, residuals, rank, s


def _rank(r):
    name = "lstsq-rank-" + tokenize(r.name)
    return (
        name,
        MaterializedLayer({(name,): (np.linalg.matrix_rank, (r.name, 0, 0))}),
        [r],
        (),
        np.intp,
    )


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm (see :func:`numpy.linalg.norm`)."""
    x = asarray(x)
    if axis is None:
        if ord is None:
            return _sqrt_sumsq(x, None, keepdims)
        axis = tuple(range(x.ndim))
        if x.ndim > 2:
            raise ValueError("Improper number of dimensions to norm.")
    if isinstance(axis, Integral):
        axis = (axis,)
    axis = tuple(validate_axis(a, x.ndim) for a in axis)
    if len(axis) == 1:
        ax = axis[0]
        a = abs(x)
        if ord is None or ord == 2:
            return _sqrt_sumsq(x, ax, keepdims)
        if ord == np.inf:
            return a.max(axis=ax, keepdims=keepdims)
        if ord == -np.inf:
            return a.min(axis=ax, keepdims=keepdims)
        if ord == 0:
            return (x != 0).astype(a.dtype).sum(axis=ax, keepdims=keepdims)
        if ord == 1:
            return a.sum(axis=ax, keepdims=keepdims)
        if isinstance(ord, str):
            raise ValueError(f"Invalid norm order '{ord}' for vectors")
        return (a**ord).sum(axis=ax, keepdims=keepdims) ** (1.0 / ord)
    if len(axis) != 2:
        raise ValueError("Improper number of dimensions to norm.")
    r, c = axis
    a = abs(x)
    if ord is None or ord == "fro":
        return _sqrt_sumsq(x, axis, keepdims)
    if ord == 1:
        out = a.sum(axis=r, keepdims=True).max(axis=c, keepdims=True)
    elif ord == -1:
        out = a.sum(axis=r, keepdims=True).min(axis=c, keepdims=True)
    elif ord == np.inf:
        out = a.sum(axis=c, keepdims=True).max(axis=r, keepdims=True)
    elif ord == -np.inf:
        out = a.sum(axis=c, keepdims=True).min(axis=r, keepdims=True)
    elif ord in (2, -2, "nuc"):
        if x.ndim != 2:
            raise NotImplementedError("matrix 2-norms are implemented for 2-D arrays only")
        s = svd(x)[1]
        out = s.max() if ord == 2 else (s.min() if ord == -2 else s.sum())
        if keepdims:
            out = out.reshape((1, 1))
        return out
    else:
        raise ValueError("Invalid norm order for matrices.")
    if not keepdims:
        out = out.squeeze(axis=axis)
    return out


def _sqrt_sumsq(x, axis, keepdims):
    a = abs(x) if np.iscomplexobj(np.empty(0, x.dtype)) else x
    s = (a * a).sum(axis=axis, keepdims=keepdims)
    from oxdask.array.blockwise import elemwise

    return elemwise(np.sqrt, s)


_ = (math, Array)


from oxdask.array._linalg_scipy import lu, solve_triangular  # noqa: E402
from oxdask.array._svd_compressed import svd_compressed, svd_flip  # noqa: E402
