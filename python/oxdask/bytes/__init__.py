"""Byte-level helpers of the file readers (``dask.bytes``)."""
