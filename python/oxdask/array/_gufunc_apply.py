"""``apply_gufunc``: a function with a NumPy generalized-ufunc signature applied block by
block, with the signature parser and the ``axes``/``axis``/``keepdims`` normalization.

Loop dimensions are broadcast and keep their chunks (which must agree between inputs unless
``allow_rechunk``); core dimensions must be whole blocks (merged when ``allow_rechunk``).
"""

from __future__ import annotations

import re
from numbers import Integral

import numpy as np

from oxdask.array.core import Array, asarray

__all__ = ["_parse_gufunc_signature", "_validate_normalize_axes", "apply_gufunc"]

_DIM = r"\w+"
_CORE = rf"\((?:{_DIM}(?:,{_DIM})*)?\)"
_ARGS = rf"(?:{_CORE}(?:,{_CORE})*)?"
_SIGNATURE = rf"^{_ARGS}->{_ARGS}$"


def _parse_gufunc_signature(signature):
    """``(input core dims, output core dims)`` of a signature such as ``"(i,j),(j)->(i)"``:
    a list of tuples for the inputs; one tuple for one output, a list for several."""
    signature = re.sub(r"\s+", "", signature)
    if not re.match(_SIGNATURE, signature) or signature.endswith("->"):
        raise ValueError(f"Not a valid gufunc signature: {signature}")
    ins, outs = signature.split("->")

    def cores(s):
        return [tuple(re.findall(_DIM, c)) for c in re.findall(_CORE, s)]

    out_cores = cores(outs)
    return cores(ins), (out_cores[0] if len(out_cores) == 1 else out_cores)


def _validate_normalize_axes(axes, axis, keepdims, input_coredimss, output_coredimss):
    """Per input and per output the tuple of axes holding its core dimensions."""
    nin = len(input_coredimss)
    single = isinstance(output_coredimss, tuple)
    out_cores = [output_coredimss] if single else list(output_coredimss)
    nout = len(out_cores)
    if axes is not None and axis is not None:
        raise ValueError("Only one of `axis` or `axes` keyword arguments should be given")
    if axes is not None and not isinstance(axes, list):
        raise ValueError("`axes` has to be of type list")
    in_dims = {c for cd in input_coredimss for c in cd}
    if axis is not None:
        if not isinstance(axis, Integral):
            raise ValueError("`axis` argument has to be an integer value")
        if any(len(cd) > 1 for cd in input_coredimss) or len(in_dims) > 1:
            raise ValueError(
                "`axis` can be used only, if one core dimension is present (the same in "
                "every input)"
            )
        for ocd in out_cores:
            if len(ocd) > 1 or (ocd and set(ocd) != in_dims):
                raise ValueError("`axis` needs outputs of at most the inputs' core dimension")
            if ocd and keepdims:
                raise ValueError("`keepdims` can be used only for outputs without core dimensions")
        input_axes = [(axis,) if cd else () for cd in input_coredimss]
        output_axes = [(axis,) if (ocd or keepdims) else () for ocd in out_cores]
        return input_axes, output_axes
    given = axes is not None
    if axes is None:
        axes = [tuple(range(-len(cd), 0)) for cd in input_coredimss]
    axes = [(a,) if isinstance(a, Integral) else tuple(a) for a in axes]
    if len(axes) not in (nin, nin + nout):
        raise ValueError(f"`axes` needs {nin} or {nin + nout} entries, got {len(axes)}")
    if given and len(axes) == nin and any(out_cores) and not keepdims:
        raise ValueError("`axes` must also give the axes of outputs with core dimensions")
    for a, cd in zip(axes[:nin], input_coredimss, strict=True):
        if len(a) != len(cd):
            raise ValueError(
                f"The number of axes {a} does not match the core dimensions {cd} of an input"
            )
    input_axes = axes[:nin]
    if keepdims:
        if any(ocd for ocd in out_cores):
            raise ValueError("`keepdims` can be used only for outputs without core dimensions")
        if len(set(input_coredimss)) != 1:
            raise ValueError("`keepdims` needs the same core dimensions in every input")
        if len({tuple(a) for a in input_axes}) != 1:
            raise ValueError("`keepdims` needs the same axes for every input")
        output_axes = [input_axes[0]] * nout
    elif len(axes) == nin + nout:
        output_axes = axes[nin:]
    else:
        output_axes = [tuple(range(-len(ocd), 0)) for ocd in out_cores]
    for a, ocd in zip(output_axes, out_cores, strict=True):
        if len(a) != len(ocd) and not keepdims:
            raise ValueError(
                f"The number of axes {a} does not match the core dimensions {ocd} of an output"
            )
    return input_axes, output_axes


class _Pick:
    def __init__(self, func, k):
        self.func = func
        self.k = k

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)[self.k]


def _infer_dtypes(func, args, kwargs, nout):
    samples = [np.ones((1,) * a.ndim, dtype=a.dtype) if isinstance(a, Array) else a for a in args]
    try:
        with np.errstate(all="ignore"):
            out = func(*samples, **kwargs)
    except Exception as e:
        raise ValueError(
            "`dtype` inference failed in `apply_gufunc`. Please specify the dtype explicitly "
            f"with `output_dtypes` (or `meta`). Original error: {e!r}"
        ) from e
    if nout is None:
        return [np.asarray(out).dtype]
    return [np.asarray(o).dtype for o in out]


def apply_gufunc(
    func,
    signature,
    *args,
    axes=None,
    axis=None,
    keepdims=False,
    output_dtypes=None,
    output_sizes=None,
    vectorize=None,
    allow_rechunk=False,
    meta=None,
    **kwargs,
):
    """Apply a generalized ufunc ``func`` with ``signature`` (e.g. ``"(i),(i)->()"``).

    Parameters
    ----------
    func : callable
    signature : str
    *args : array_like
    axes : list of tuples, optional
        Axes of the core dimensions of each input (and output).
    axis : int, optional
        The core axis when every input has (at most) the same one core dimension.
    keepdims : bool
        Keep the core dimensions of the inputs in outputs without core dimensions (size 1).
    output_dtypes : dtype or sequence, optional
        Inferred by calling ``func`` on one-element arrays when not given.
    output_sizes : dict, optional
        Sizes of the core dimensions that only outputs have.
    vectorize : bool, optional
        Wrap ``func`` with :class:`numpy.vectorize`.
    allow_rechunk : bool
        Merge core dimensions of several blocks, and unify differing loop chunks.
    meta : array or tuple, optional
        Gives the output dtypes.
    **kwargs
        Passed to ``func``.

    Returns
    -------
    Array or tuple of Array
    """
    from oxdask.array.blockwise import blockwise
    from oxdask.array.reshape import moveaxis

    ins, outs = _parse_gufunc_signature(signature)
    nout = None if isinstance(outs, tuple) else len(outs)
    out_cores = [outs] if nout is None else outs
    if len(args) != len(ins):
        raise ValueError(
            f"According to `signature`, `func` requires {len(ins)} arguments, but {len(args)} given"
        )
    if meta is not None and output_dtypes is None:
        metas = meta if isinstance(meta, (tuple, list)) else (meta,)
        output_dtypes = [np.asarray(m).dtype for m in metas]
    if output_dtypes is not None:
        dts = output_dtypes if isinstance(output_dtypes, (list, tuple)) else [output_dtypes]
        if len(dts) != (nout or 1):
            raise ValueError(
                f"Must specify one output dtype per output: {nout or 1}, got {len(dts)}"
            )
        output_dtypes = [np.dtype(d) for d in dts]
    if vectorize:
        otypes = None if output_dtypes is None else [d.char for d in output_dtypes]
        func = np.vectorize(func, signature=signature, otypes=otypes)
    input_axes, output_axes = _validate_normalize_axes(axes, axis, keepdims, ins, outs)
    arrays = [asarray(a) for a in args]
    arrays = [
        moveaxis(a, ia, tuple(range(-len(ia), 0))) if ia else a
        for a, ia in zip(arrays, input_axes, strict=True)
    ]
    if output_dtypes is None:
        output_dtypes = _infer_dtypes(func, arrays, kwargs, nout)
    sizes = {}
    loop_nd = max((a.ndim - len(c) for a, c in zip(arrays, ins, strict=True)), default=0)
    loop_sizes: dict = {}
    loop_chunks: dict = {}
    prepared = []
    for a, core in zip(arrays, ins, strict=True):
        nloop = a.ndim - len(core)
        if nloop < 0:
            raise ValueError(f"array with {a.ndim} dimensions has fewer than the core {core}")
        for name, n in zip(core, a.shape[nloop:], strict=True):
            if sizes.get(name, n) != n:
                raise ValueError(f"Dimension `'{name}'` with different lengths in arrays")
            sizes[name] = n
        if any(len(c) > 1 for c in a.chunks[nloop:]):
            if not allow_rechunk:
                raise ValueError(
                    f"Core dimension `'{core}'` consists of multiple chunks. To fix, rechunk "
                    "into a single chunk along this dimension or set `allow_rechunk=True`, "
                    "but beware that this may increase memory usage significantly."
                )
            a = a.rechunk({i: -1 for i in range(nloop, a.ndim)})
        labels = tuple(f"__loop{loop_nd - nloop + i}" for i in range(nloop))
        for label, n, c in zip(labels, a.shape, a.chunks, strict=False):
            if n == 1:
                continue
            if loop_sizes.get(label, n) != n:
                raise ValueError(f"Dimension `'{label}'` with different lengths in arrays")
            if loop_chunks.get(label, c) != c and not allow_rechunk:
                raise ValueError(f"Dimension `'{label}'` with different chunksize present")
            loop_sizes[label] = n
            loop_chunks.setdefault(label, c)
        prepared += [a, labels + core]
    loop = tuple(f"__loop{i}" for i in range(loop_nd))
    if not arrays:
        return _no_inputs(
            func, kwargs, out_cores, nout, {**sizes, **(output_sizes or {})}, output_dtypes
        )
    out_sizes = {**sizes, **(output_sizes or {})}
    results = []
    for k, ocore in enumerate(out_cores):
        for name in ocore:
            if name not in out_sizes:
                raise ValueError(f"Dimension `'{name}'` must be given in `output_sizes`")
        new_axes = {n: out_sizes[n] for n in ocore if n not in sizes}
        adjust = {n: out_sizes[n] for n in ocore if n in sizes and out_sizes[n] != sizes[n]}
        out = blockwise(
            func if nout is None else _Pick(func, k),
            loop + ocore,
            *prepared,
            dtype=output_dtypes[k],
            new_axes=new_axes,
            adjust_chunks=adjust or None,
            concatenate=True,
            **kwargs,
        )
        oa = output_axes[k]
        if keepdims:
            for _ in range(len(ins[0]) if ins else 0):
                out = out[..., None]
        if oa:
            out = moveaxis(out, tuple(range(-len(oa), 0)), oa)
        results.append(out)
    return results[0] if nout is None else tuple(results)


def _no_inputs(func, kwargs, out_cores, nout, sizes, output_dtypes):
    """Outputs of a function without array inputs: one block each."""
    from oxdask.array.io import from_delayed
    from oxdask.delayed import delayed

    value = delayed(func, pure=True)(**kwargs)
    results = []
    for k, ocore in enumerate(out_cores):
        for name in ocore:
            if name not in sizes:
                raise ValueError(f"Dimension `'{name}'` must be given in `output_sizes`")
        part = value if nout is None else value[k]
        shape = tuple(sizes[n] for n in ocore)
        results.append(from_delayed(part, shape, dtype=output_dtypes[k]))
    return results[0] if nout is None else tuple(results)
