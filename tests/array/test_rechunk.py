"""rechunk: values unchanged whatever the old and new chunks."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq, random_chunks

import oxdask.array as da


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ((3, 4), (5, 2)),
        ((3, 4), -1),
        ((10, 1), (1, 10)),
        ((2, 2), {0: 5}),
        ((4, 3), "auto"),
        ((1, 12), (12, 1)),
        ((5, 5), ((2, 3, 5), (1, 1, 8))),
    ],
)
def test_rechunk(old, new, rng):
    a = rng.random((10, 10))
    x = da.from_array(a, chunks=old)
    y = x.rechunk(new)
    assert_eq(y, a)
    if isinstance(new, tuple) and isinstance(new[0], tuple):
        assert y.chunks == new


def test_rechunk_random_property(rng):
    for _ in range(20):
        shape = tuple(int(n) for n in rng.integers(1, 12, size=int(rng.integers(1, 4))))
        a = rng.random(shape)
        x = da.from_array(a, chunks=random_chunks(rng, shape))
        new = random_chunks(rng, shape)
        y = x.rechunk(new, threshold=int(rng.integers(1, 8)))
        assert y.chunks == new
        assert_eq(y, a)


def test_two_stage_plan_bounds_fan_in():
    x = da.ones((40, 40), chunks=(2, 40))
    y = x.rechunk((40, 2), threshold=4)
    assert_eq(y, np.ones((40, 40)))
    names = [n for n in y.dask.layers if n.startswith("rechunk")]
    assert len(names) == 2


def test_rechunk_errors_and_noop():
    x = da.ones((4, 6), chunks=2)
    assert x.rechunk(2) is x
    with pytest.raises(ValueError, match="Chunks do not add up"):
        x.rechunk(((2, 2), (3, 4)))
    with pytest.raises(ValueError, match="same length"):
        x.rechunk((2, 2, 2))
    with pytest.raises(ValueError, match="out of bounds"):
        x.rechunk({3: 2})
    assert x.rechunk((4, 6), balance=True).chunks == ((4,), (6,))
    assert da.ones(10, chunks=3).rechunk(4, balance=True).chunks == ((5, 5),)  # as Dask
    assert da.ones(13, chunks=13).rechunk(4, balance=True).chunks == ((5, 5, 3),)
    with pytest.warns(UserWarning, match="Try increasing the chunk size"):
        assert da.ones(100, chunks=100).rechunk(9, balance=True).chunks[0][-1] == 1
    y = da.ones((24, 24), chunks=(4, 8))
    assert y.rechunk({0: None, 1: "auto"}).chunks == ((4,) * 6, (24,))  # None keeps
    assert y.rechunk((None, 4)).chunks == ((4,) * 6, (4,) * 6)
    with pytest.raises(TypeError, match="blah"):
        y.rechunk({"blah": 4})


def test_unknown_chunks_rechunk():
    x = da.from_array(np.arange(12).reshape(6, 2), chunks=2)
    y = x[x[:, 0] > 3]
    z = y.rechunk({1: 1})
    assert_eq(z, np.arange(12).reshape(6, 2)[np.arange(0, 12, 2) > 3])
    with pytest.raises(ValueError, match="unknown"):
        y.rechunk({0: 2})


def test_rechunk_is_one_compact_layer():
    from oxdask.highlevelgraph import GatherLayer

    x = da.ones((100_000, 100_000), chunks=(100, 100))  # a million blocks
    y = x.rechunk((250, 40))
    layer = y.dask.layers[y.name]
    assert isinstance(layer, GatherLayer)
    assert len(layer) == 400 * 2500
    assert not layer.is_materialized()
    small = da.from_array(np.arange(600.0).reshape(20, 30), chunks=(7, 4)).rechunk((6, 11))
    corner = small[:13, 5:25]
    np.testing.assert_array_equal(corner.compute(), np.arange(600.0).reshape(20, 30)[:13, 5:25])
    assert not small.dask.layers[small.name].is_materialized()


def test_gather_layer_names_a_bad_source():
    from oxdask import _core

    with pytest.raises(ValueError, match="output block 1 along axis 0 reads input block 5"):
        _core.Gather("g", "x", [3], [[[0], [5]]], lambda b, s: b, [[None, None]])
    with pytest.raises(ValueError, match="one entry per output block"):
        _core.Gather("g", "x", [3], [[[0], [1]]], lambda b, s: b, [[None]])
    with pytest.raises(TypeError, match="not callable"):
        _core.Gather("g", "x", [3], [[[0]]], 3, [[None]])


def test_unknown_sizes_compare_equal_and_must_be_unchanged():
    x = da.from_array(np.arange(20).reshape(10, 2), chunks=(5, 2))
    y = x[x[:, 0] >= 0]  # unknown sizes along axis 0
    assert y.chunks == ((np.nan, np.nan), (2,))  # the same NaN object as NumPy's
    assert y.rechunk(((np.nan, np.nan), (2,))) is y
    assert_eq(y.rechunk(((float("nan"), float("nan")), (1, 1))), x.compute())
    for bad in (((np.nan,) * 3, (2,)), ((5, 5), (2,))):
        with pytest.raises(ValueError, match="Chunks must be unchanging"):
            y.rechunk(bad)
