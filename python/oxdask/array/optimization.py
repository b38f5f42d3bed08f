"""Graph optimization of arrays: fusing chains of Blockwise layers before computing (see
:mod:`oxdask.blockwise_fusion`, which dataframes share)."""

from __future__ import annotations

from oxdask.blockwise_fusion import Fused, fuse_blockwise, optimize

__all__ = ["Fused", "fuse_blockwise", "optimize"]
