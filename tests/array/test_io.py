"""npy stacks, zarr-like targets and sources."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


def test_npy_stack_roundtrip(tmp_path, rng):
    a = rng.random((10, 4))
    x = da.from_array(a, chunks=(3, 2))
    da.to_npy_stack(str(tmp_path / "stack"), x, axis=0)
    y = da.from_npy_stack(str(tmp_path / "stack"))
    assert y.chunks == ((3, 3, 3, 1), (4,))
    assert_eq(y, a)


class FakeZarr:
    """The parts of ``zarr.Array`` that from_zarr/to_zarr use."""

    def __init__(self, shape, chunks, dtype):
        self.data = np.zeros(shape, dtype)
        self.shape = shape
        self.chunks = chunks
        self.dtype = np.dtype(dtype)
        self.writes = []

    def __getitem__(self, idx):
        return self.data[idx]

    def __setitem__(self, idx, value):
        self.writes.append(idx)
        self.data[idx] = value


def test_zarr_like_roundtrip(rng):
    a = rng.random((9, 6))
    z = FakeZarr((9, 6), (4, 3), "f8")
    da.to_zarr(da.from_array(a, chunks=(2, 2)), z)
    np.testing.assert_allclose(z.data, a)
    # writes were aligned with the zarr chunks
    assert all(s.start % 4 == 0 for s, _ in z.writes)
    x = da.from_zarr(z)
    assert x.chunks == ((4, 4, 1), (3, 3))
    assert_eq(x, a)


def test_real_zarr(tmp_path, rng):
    pytest.importorskip("zarr")
    a = rng.random((9, 6))
    da.to_zarr(da.from_array(a, chunks=(3, 3)), str(tmp_path / "z.zarr"))
    assert_eq(da.from_zarr(str(tmp_path / "z.zarr")), a)
