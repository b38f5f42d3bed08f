"""Array methods that write or convert it, each calling its module's function."""

from __future__ import annotations


class IOMethods:
    def store(self, target, **kwargs):
        """Store into a sliceable ``target`` (see :func:`oxdask.array.store`)."""
        from oxdask.array.core import store

        return store([self], [target], **kwargs)

    def to_zarr(self, *args, **kwargs):
        """Write to a zarr array (see :func:`oxdask.array.to_zarr`)."""
        from oxdask.array.io import to_zarr

        return to_zarr(self, *args, **kwargs)

    def to_hdf5(self, filename, datapath, **kwargs):
        """Write into a dataset of an HDF5 file (see :func:`oxdask.array.to_hdf5`)."""
        from oxdask.array.io import to_hdf5

        return to_hdf5(filename, datapath, self, **kwargs)

    def to_svg(self, size=500):
        """An SVG picture of the chunks (unknown chunks: ``NotImplementedError``)."""
        from oxdask.array.svg import svg

        return svg(self.chunks, size=size)

    def to_dask_dataframe(self, columns=None, index=None, meta=None):
        """A DataFrame (2-d) or Series (1-d) of this array, one partition per row of
        blocks (see :func:`oxdask.dataframe.from_dask_array`)."""
        from oxdask.dataframe import from_dask_array

        return from_dask_array(self, columns=columns, index=index, meta=meta)

    def to_backend(self, backend: str = "numpy", **kwargs):
        """This array with chunks of ``backend``; only NumPy chunks exist in oxdask."""
        if backend != "numpy":
            raise ValueError(f"unknown array backend {backend!r}: oxdask arrays hold NumPy chunks")
        return self
