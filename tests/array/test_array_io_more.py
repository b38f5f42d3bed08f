"""HDF5 output, SVG pictures and conversions of arrays, checked against NumPy and h5py."""

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

import oxdask.array as da


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_to_hdf5_matches_numpy(tmp_path, scheduler):
    h5py = pytest.importorskip("h5py")
    x = np.random.default_rng(0).normal(size=(20, 30))
    a = da.from_array(x, chunks=(7, 11))
    path = tmp_path / "out.h5"
    da.to_hdf5(path, "/x", a, scheduler=scheduler)
    da.to_hdf5(path, {"/y": a + 1, "/group/z": a[:5]}, compression="gzip")
    a.T.to_hdf5(path, "/t")
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["/x"][:], x)
        assert f["/x"].chunks == (7, 11)
        np.testing.assert_array_equal(f["/y"][:], x + 1)
        np.testing.assert_array_equal(f["/group/z"][:], x[:5])
        assert f["/y"].compression == "gzip"
        np.testing.assert_array_equal(f["/t"][:], x.T)
        # and read back as an oxdask array
        back = da.from_array(f["/x"], chunks=(10, 10))
        np.testing.assert_array_equal(back.compute(scheduler="sync"), x)


def test_to_hdf5_bad_arguments(tmp_path):
    pytest.importorskip("h5py")
    with pytest.raises(ValueError, match="dictionary"):
        da.to_hdf5(tmp_path / "x.h5", da.ones(3))


@pytest.mark.parametrize(
    "chunks", [((5, 5),), ((30, 30, 40), (50, 50)), ((2, 2), (3, 3, 3), (4,) * 5), ((1,) * 500,)]
)
def test_to_svg_is_well_formed_with_a_line_per_boundary(chunks):
    shape = tuple(sum(c) for c in chunks)
    a = da.ones(shape, chunks=chunks)
    text = a.to_svg(size=300)
    root = ET.fromstring(text)
    assert root.tag.endswith("svg")
    lines = [e for e in root.iter() if e.tag.endswith("line")]
    if len(chunks[-1]) < 100:
        assert len(lines) >= len(chunks[-1]) + 1
    labels = [e.text for e in root.iter() if e.tag.endswith("text")]
    assert str(shape[-1]) in labels


def test_to_svg_unknown_chunks_and_bad_size():
    a = da.ones(10, chunks=5)
    unknown = a[a > 0]
    with pytest.raises(NotImplementedError, match="unknown chunks"):
        unknown.to_svg()
    with pytest.raises(ValueError, match="size"):
        a.to_svg(size=-1)


def test_to_dask_dataframe_and_backend():
    x = np.arange(12.0).reshape(6, 2)
    a = da.from_array(x, chunks=(4, 2))
    ddf = a.to_dask_dataframe(columns=["a", "b"])
    pd.testing.assert_frame_equal(ddf.compute(), pd.DataFrame(x, columns=["a", "b"]))
    series = a[:, 0].to_dask_dataframe()
    np.testing.assert_array_equal(series.compute().to_numpy(), x[:, 0])
    assert a.to_backend("numpy") is a
    with pytest.raises(ValueError, match="backend"):
        a.to_backend("cupy")


def test_from_func_one_block():
    from oxdask.array.core import from_func

    a = from_func(np.arange, (3,), dtype="i8", args=(3,))
    assert a.chunks == ((3,),)
    np.testing.assert_array_equal(a.compute(), np.arange(3))
    stacked = da.stack([from_func(np.array, (), dtype="i8", args=(n,)) for n in range(5)])
    np.testing.assert_array_equal(stacked.compute(), np.arange(5))
    calls = []

    def once():
        calls.append(1)
        return np.ones((4, 4))

    x = from_func(once, (4, 4), dtype=float)
    total = (x + 1).sum() + (x + 2).sum()
    assert total.compute() == 16 * 2 + 16 * 3
    assert len(calls) == 1  # both uses share the one block
