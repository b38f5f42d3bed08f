"""Graph optimization of dataframes: column projection into the readers, then partition-wise
chains fused into one task per partition.

The high-level graph of a dataframe computation is optimized as layers, never expanded in
Python: a Blockwise layer whose only consumer is another Blockwise layer reading it partition
by partition is merged into that consumer (the same pass as for arrays,
:func:`oxdask.blockwise_fusion.fuse_blockwise`). ``read_csv(...)[cols].assign(...)`` then
runs as one task per file block.
"""

from __future__ import annotations

from oxdask import config
from oxdask.blockwise_fusion import optimize as _optimize_layers
from oxdask.blockwise_fusion import requested_layers
from oxdask.dataframe.projection import project
from oxdask.highlevelgraph import HighLevelGraph

__all__ = ["optimize"]


def optimize(dsk, keys, **kwargs):
    """The ``__dask_optimize__`` of dataframes: column projection, then Blockwise fusion."""
    if (
        isinstance(dsk, HighLevelGraph)
        and config.get("optimization.fuse.active", None) is not False
    ):
        dsk = project(dsk, requested_layers(keys))
    return _optimize_layers(dsk, keys, **kwargs)
