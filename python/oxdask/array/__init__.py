# ruff: noqa: F401 - this module re-exports the public names of its submodules
"""Lazy, chunked N-dimensional arrays: ``import oxdask.array as da`` as with ``dask.array``.

An :class:`Array` is a grid of NumPy blocks described by compact graph layers (Blockwise,
TreeReduce) that the Rust engine expands only when computing. See :mod:`oxdask.array.core`
for the data model.
"""

from oxdask.array import (
    _methods,
    fft,
    lib,
    linalg,
    ma,
    overlap,
    random,
)
from oxdask.array._chunks import blockdims_from_blockshape, normalize_chunks
from oxdask.array._names import *  # noqa: F403 - dtype aliases, moment, atop, optimize...
from oxdask.array.argreduce import argmax, argmin, nanargmax, nanargmin
from oxdask.array.blockwise import blockwise, broadcast_shapes, elemwise
from oxdask.array.core import (
    Array,
    PerformanceWarning,
    asanyarray,
    asarray,
    from_array,
    map_blocks,
    store,
)
from oxdask.array.creation import (
    arange,
    empty,
    empty_like,
    eye,
    fromfunction,
    full,
    full_like,
    identity,
    indices,
    linspace,
    meshgrid,
    ones,
    ones_like,
    tri,
    zeros,
    zeros_like,
)
from oxdask.array.cumulative import cumprod, cumsum, nancumprod, nancumsum
from oxdask.array.gufunc import apply_gufunc, as_gufunc, gufunc
from oxdask.array.io import (
    from_delayed,
    from_npy_stack,
    from_zarr,
    to_hdf5,
    to_npy_stack,
    to_zarr,
)
from oxdask.array.linalg import dot, einsum, matmul, tensordot, vdot
from oxdask.array.overlap import map_overlap
from oxdask.array.percentile import (
    argtopk,
    bincount,
    histogram,
    median,
    nanmedian,
    nanpercentile,
    nanquantile,
    percentile,
    quantile,
    topk,
)
from oxdask.array.rechunk import rechunk
from oxdask.array.reductions import (
    all,
    any,
    max,
    mean,
    min,
    nanmax,
    nanmean,
    nanmin,
    nanprod,
    nanstd,
    nansum,
    nanvar,
    prod,
    reduction,
    std,
    sum,
    var,
)
from oxdask.array.reshape import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_to,
    expand_dims,
    moveaxis,
    ravel,
    reshape,
    rollaxis,
    squeeze,
    swapaxes,
    transpose,
)
from oxdask.array.routines import (
    allclose,
    append,
    argwhere,
    average,
    block,
    choose,
    clip,
    compress,
    concatenate,
    count_nonzero,
    diag,
    diagonal,
    diff,
    dstack,
    flatnonzero,
    flip,
    fliplr,
    flipud,
    hstack,
    isclose,
    isin,
    nonzero,
    outer,
    pad,
    piecewise,
    ptp,
    repeat,
    result_type,
    roll,
    round,
    searchsorted,
    select,
    stack,
    take,
    tile,
    trace,
    tril,
    triu,
    vstack,
    where,
)
from oxdask.array.routines2 import (
    apply_along_axis,
    apply_over_axes,
    array,
    broadcast_arrays,
    corrcoef,
    cov,
    delete,
    digitize,
    ediff1d,
    extract,
    insert,
    iscomplexobj,
    isnull,
    ndim,
    notnull,
    ravel_multi_index,
    rot90,
    shape,
    tril_indices,
    tril_indices_from,
    triu_indices,
    triu_indices_from,
    unify_chunks,
    union1d,
    unravel_index,
)
from oxdask.array.routines3 import (
    coarsen,
    gradient,
    histogram2d,
    histogramdd,
    push,
    shuffle,
    unique,
)
from oxdask.array.ufunc import *  # noqa: F403 - every NumPy ufunc under its name
from oxdask.array.ufunc import (
    angle,
    around,
    fix,
    frompyfunc,
    i0,
    imag,
    iscomplex,
    isneginf,
    isposinf,
    isreal,
    nan_to_num,
    real,
    sinc,
    ufunc,
)
from oxdask.base import compute


def _array_expr_enabled():
    """Whether the array-expression backend is on: never in oxdask (Dask's test suites ask)."""
    return False


newaxis = None
pi = 3.141592653589793
e = 2.718281828459045
inf = float("inf")
nan = float("nan")
