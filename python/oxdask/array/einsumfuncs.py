"""``einsum``: Einstein summation over blocks.

Every output block is the ``numpy.einsum`` of the matching input blocks; labels contracted
across several blocks become extra output axes of length one that a sum then removes.
"""

from __future__ import annotations

import numpy as np

from oxdask import _blas
from oxdask.array.blockwise import blockwise
from oxdask.array.chunk import unwrap_nested
from oxdask.array.core import asarray

__all__ = ["einsum"]


def einsum(*operands, dtype=None, optimize=False, split_every=None, **kwargs):
    """Einstein summation (as :func:`numpy.einsum`: explicit or implicit output, ``...``,
    or the interleaved ``op, sublist, ...`` form).

    Parameters
    ----------
    *operands : str and array_like
    dtype : dtype, optional
    split_every : int, optional
        For the summation over contracted blocks.

    Returns
    -------
    Array
    """
    _blas.used()
    from numpy._core.einsumfunc import _parse_einsum_input

    unknown = set(kwargs) - {"casting", "order", "out"}
    if unknown:
        raise TypeError(f"einsum() got unexpected keyword argument(s) {sorted(unknown)}")
    if kwargs.get("out") is not None:
        raise NotImplementedError("einsum does not support the out= argument")
    if not operands:
        raise ValueError("No input operands")
    if isinstance(operands[0], str):
        ops = [asarray(o) for o in operands[1:]]
        parse_args = (operands[0], *(_fake(o) for o in ops))
    else:  # interleaved: op0, sublist0, op1, sublist1, ..., [sublistout]
        ops = [asarray(o) for o in operands[0::2][: len(operands) // 2]]
        parse_args = list(operands)
        for k, o in enumerate(ops):
            parse_args[2 * k] = _fake(o)
    ins, out, _ = _parse_einsum_input(parse_args)
    ins = ins.split(",")
    if len(ins) != len(ops):
        raise ValueError(
            "more operands provided to einstein sum function than specified in "
            "the subscripts string"
            if len(ops) > len(ins)
            else "fewer operands provided to einstein sum function than specified in "
            "the subscripts string"
        )
    full = {}
    for s, o in zip(ins, ops, strict=True):
        for c, n, ch in zip(s, o.shape, o.chunks, strict=True):
            if n != 1 or c not in full:
                full[c] = (n, ch)
    # operands of length 1 along a label others have longer are broadcast (lazily)
    for k, (s, o) in enumerate(zip(ins, ops, strict=True)):
        if any(n == 1 and full[c][0] != 1 for c, n in zip(s, o.shape, strict=True)):
            from oxdask.array.reshape import broadcast_to

            ops[k] = broadcast_to(
                o,
                tuple(full[c][0] for c in s),
                chunks=tuple(
                    full[c][1] if n == 1 else ch
                    for c, n, ch in zip(s, o.shape, o.chunks, strict=True)
                ),
            )
    sizes = {}
    for s, o in zip(ins, ops, strict=True):
        if len(s) != o.ndim:
            raise ValueError(
                f"operand has more dimensions than subscripts given in einstein "
                f"sum, but no '...' ellipsis provided to broadcast dimensions: {s}"
            )
        for c, n in zip(s, o.shape, strict=True):
            if c in sizes and sizes[c] != n and 1 not in (n, sizes[c]):
                raise ValueError(
                    f"operands could not be broadcast together with remapped "
                    f"shapes; label {c!r} has sizes {sizes[c]} and {n}"
                )
            sizes[c] = n
    contracted = sorted({c for s in ins for c in s} - set(out))
    multi = [
        c
        for c in contracted
        if max(o.numblocks[s.index(c)] for s, o in zip(ins, ops, strict=True) if c in s) > 1
    ]
    dtype = np.dtype(dtype) if dtype is not None else np.result_type(*[o.dtype for o in ops])
    spec = ",".join(ins) + "->" + out + "".join(multi)
    block_spec = ",".join(ins) + "->" + out + "".join(multi)
    args = []
    for s, o in zip(ins, ops, strict=True):
        args += [o, s]
    res = blockwise(
        _EinsumPartial(block_spec, multi),
        out + "".join(multi),
        *args,
        dtype=dtype,
        adjust_chunks={c: 1 for c in multi},
        token="einsum",
    )
    if multi:
        res = res.sum(
            axis=tuple(range(len(out), len(out) + len(multi))), dtype=dtype, split_every=split_every
        )
    _ = spec
    return res


def _fake(o):
    """A zero-cost NumPy stand-in with the shape and dtype of ``o`` (for NumPy's parser)."""
    return np.broadcast_to(np.empty((), dtype=o.dtype), o.shape)


class _EinsumPartial:
    def __init__(self, spec, multi):
        ins, out = spec.split("->")
        self.spec = ins + "->" + out[: len(out) - len(multi)]
        self.nk = len(multi)

    def __call__(self, *blocks):
        blocks = [unwrap_nested(b) for b in blocks]
        out = np.einsum(self.spec, *blocks, optimize=len(blocks) > 1)
        return out.reshape(np.shape(out) + (1,) * self.nk) if self.nk else out
