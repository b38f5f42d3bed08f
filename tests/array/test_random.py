"""Random arrays: reproducible, independent of the chunking, plausible distributions."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


@pytest.mark.parametrize("method", ["random", "normal", "uniform", "exponential"])
def test_chunking_invariance(method):
    a = getattr(da.random.default_rng(42), method)(size=(13, 7), chunks=(13, 7))
    b = getattr(da.random.default_rng(42), method)(size=(13, 7), chunks=(4, 3))
    c = getattr(da.random.default_rng(43), method)(size=(13, 7), chunks=(5, 2))
    assert_eq(a, b.compute())
    assert not np.allclose(a.compute(), c.compute())


def test_successive_calls_differ_and_repeat():
    r1 = da.random.default_rng(0)
    x1, y1 = r1.random(10, chunks=3), r1.random(10, chunks=5)
    r2 = da.random.default_rng(0)
    x2 = r2.random(10, chunks=2)
    assert_eq(x1, x2.compute())
    assert not np.allclose(x1.compute(), y1.compute())


def test_distributions():
    rng = da.random.default_rng(7)
    n = rng.normal(3.0, 2.0, size=200_000, chunks=30_000).compute()
    assert abs(n.mean() - 3.0) < 0.03
    assert abs(n.std() - 2.0) < 0.03
    u = rng.uniform(-1, 5, size=100_000, chunks=7_000).compute()
    assert u.min() >= -1
    assert u.max() < 5
    assert abs(u.mean() - 2) < 0.03
    i = rng.integers(3, 9, size=100_000, chunks=9_999).compute()
    assert i.dtype == np.int64
    assert set(np.unique(i)) == set(range(3, 9))
    r = rng.random((50, 40), chunks=(7, 9)).compute()
    assert ((r >= 0) & (r < 1)).all()


def test_random_state_and_module_functions():
    rs = da.random.RandomState(5)
    x = rs.randint(0, 10, size=(6, 4), chunks=3)
    assert x.dtype == np.dtype(int)
    vals = x.compute()
    assert vals.min() >= 0
    assert vals.max() < 10
    rs2 = da.random.RandomState(5)
    assert_eq(rs2.randint(0, 10, size=(6, 4), chunks=2), vals)
    assert da.random.random((4, 4), chunks=2).shape == (4, 4)
    assert da.random.normal(size=5, chunks=2).compute().shape == (5,)
    with pytest.raises(ValueError, match="low >= high"):
        da.random.default_rng(0).integers(5, 5, size=3)


def _reference_words(key, shape):
    """The generator's definition in NumPy: two xorshift-multiply rounds on ``i * G + k``."""
    g, m1, m2 = (np.uint64(c) for c in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB))
    with np.errstate(over="ignore"):
        z = np.arange(int(np.prod(shape)), dtype=np.uint64) * g + np.uint64(key)
        z ^= z >> np.uint64(32)
        z *= m1
        z ^= z >> np.uint64(29)
        z *= m2
    return z.reshape(shape)


def test_kernel_matches_its_definition_on_every_block():
    from oxdask.array.random import _uniform01, _words

    key, shape = 12345, (6, 5, 4)
    stream_key = da.random._stream_key(key, 6)
    whole = _reference_words(stream_key, shape)
    locs = (slice(1, 4), slice(0, 5), slice(2, 4))
    np.testing.assert_array_equal(_words(key, (locs, shape), 6), whole[locs])
    u = _uniform01(key, (locs, shape), 6)
    expect = ((whole[locs] >> np.uint64(12)) | np.uint64(0x3FF0000000000000)).view(np.float64) - 1
    np.testing.assert_array_equal(u, expect)
    scalar = _words(key, ((), ()), 6)
    assert scalar.shape == ()
    assert scalar == _reference_words(stream_key, (1,))[0]


def test_kernel_rejects_bad_bounds():
    from oxdask import _core

    with pytest.raises(ValueError, match=r"axis 0 bounds 3\.\.2"):
        _core.random_block(1, [3], [2], [5], True)
    with pytest.raises(ValueError, match="dimensions"):
        _core.random_block(1, [0], [1], [1, 1], True)
