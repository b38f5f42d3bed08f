"""Paths through fsspec for the dataframe readers and writers (see
:mod:`oxdask.bytes.paths`, shared with the bag IO)."""

from oxdask.bytes.paths import expand_paths, output_paths

__all__ = ["expand_paths", "output_paths"]
