"""Graph optimization of dataframes: partition-wise chains fuse into one task per partition.

The high-level graph of a dataframe computation is optimized as layers, never expanded in
Python: a Blockwise layer whose only consumer is another Blockwise layer reading it partition
by partition is merged into that consumer (the same pass as for arrays,
:func:`oxdask.array.optimization.fuse_blockwise`). ``read_csv(...)[cols].assign(...)`` then
runs as one task per file block.
"""

from __future__ import annotations

from oxdask.array.optimization import optimize as _optimize_layers

__all__ = ["optimize"]


def optimize(dsk, keys, **kwargs):
    """The ``__dask_optimize__`` of dataframes: Blockwise fusion on high-level graphs."""
    return _optimize_layers(dsk, keys, **kwargs)
