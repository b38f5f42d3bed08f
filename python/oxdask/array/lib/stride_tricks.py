"""``sliding_window_view`` of a lazy array (as NumPy's ``lib.stride_tricks``)."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from oxdask.array.core import asarray
from oxdask.array.reductions import validate_axis

__all__ = ["sliding_window_view"]


class _Windows:
    def __init__(self, window_shape, axis):
        self.window_shape = window_shape
        self.axis = axis

    def __call__(self, block):
        return np.lib.stride_tricks.sliding_window_view(block, self.window_shape, self.axis)


def sliding_window_view(x, window_shape, axis=None, *, automatic_rechunk=True, **kwargs):
    """Windows of ``window_shape`` sliding along ``axis`` (all axes by default), as new
    trailing dimensions. Each block reads the next ``window - 1`` elements of its neighbours;
    the last block along a windowed axis is merged with its predecessors until it holds that
    many."""
    from oxdask.array.overlap import overlap

    x = asarray(x)
    window_shape = (
        (int(window_shape),) if isinstance(window_shape, Integral) else tuple(window_shape)
    )
    if any(w < 0 for w in window_shape):
        raise ValueError("`window_shape` cannot contain negative values")
    if axis is None:
        axis = tuple(range(x.ndim))
        if len(window_shape) != len(axis):
            raise ValueError(
                f"Since axis is `None`, must provide window_shape for all dimensions of `x`; "
                f"got {len(window_shape)} window_shape elements and `x.ndim` is {x.ndim}."
            )
    else:
        axis = (axis,) if isinstance(axis, Integral) else tuple(axis)
        axis = tuple(validate_axis(a, x.ndim) for a in axis)
        if len(window_shape) != len(axis):
            raise ValueError(
                f"Must provide matching length window_shape and axis; got {len(window_shape)} "
                f"window_shape elements and {len(axis)} axes elements."
            )
    depth = dict.fromkeys(range(x.ndim), 0)
    for ax, w in zip(axis, window_shape, strict=True):
        depth[ax] += w - 1
    for ax, d in depth.items():
        if d > x.shape[ax] - 1 and d:
            raise ValueError("window shape cannot be larger than input array shape")
    target = list(x.chunks)
    for ax, d in depth.items():
        c = list(x.chunks[ax])
        while d and len(c) > 1 and c[-1] <= d:  # every block keeps at least one window
            c[-2:] = [c[-2] + c[-1]]
        target[ax] = tuple(c)
    if tuple(target) != x.chunks:
        x = x.rechunk(tuple(target))
    out_chunks = [(*c[:-1], c[-1] - depth[ax]) if depth[ax] else c for ax, c in enumerate(x.chunks)]
    g = overlap(x, depth={ax: (0, d) for ax, d in depth.items()}, boundary="none")
    return g.map_blocks(
        _Windows(window_shape, axis),
        new_axis=list(range(x.ndim, x.ndim + len(window_shape))),
        chunks=tuple(out_chunks) + tuple((w,) for w in window_shape),
        dtype=x.dtype,
    )
