"""Names of dask.array that wrap NumPy's or other oxdask functions: dtype aliases, moment,
atop, optimize, register_chunk_type (and deferring to unregistered duck arrays)."""

import warnings

import numpy as np
import pytest

import oxdask.array as da


def test_dtype_aliases_and_constants():
    for name in ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                 "uint64", "float32", "float64", "complex64", "complex128"]:  # fmt: skip
        assert np.dtype(getattr(da, name)) == np.dtype(name)
    assert da.euler_gamma == np.euler_gamma
    assert da.ones(3, dtype=da.float32).dtype == np.float32


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_moment_matches_numpy(order, axis):
    rng = np.random.default_rng(0)
    x = rng.exponential(size=(12, 7))
    got = da.moment(da.from_array(x, chunks=(5, 3)), order, axis=axis)
    mean = x.mean(axis=axis, keepdims=True)
    expected = ((x - mean) ** order).mean(axis=axis)
    np.testing.assert_allclose(got.compute(), expected, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="Order"):
        da.moment(da.from_array(x), -1)


def test_atop_warns_and_is_blockwise():
    x = da.arange(6, chunks=4)
    with pytest.warns(UserWarning, match="moved to da.blockwise"):
        y = da.atop(np.add, "i", x, "i", x, "i", dtype=x.dtype)
    np.testing.assert_array_equal(y.compute(), np.arange(6) * 2)


def test_optimize_culls_to_the_keys():
    x = da.ones(10, chunks=5)
    y = x + 1
    z = x * 2
    graph = {**y.__dask_graph__(), **z.__dask_graph__()}
    culled = da.optimize(graph, y.__dask_keys__())
    assert set(y.__dask_keys__()) <= set(culled)
    assert not set(z.__dask_keys__()) & set(culled)


class _Wrapper:
    """A duck array that wraps others (as xarray or pint objects do)."""

    def __init__(self, value):
        self.value = value

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = [i.value if isinstance(i, _Wrapper) else i for i in inputs]
        return _Wrapper(getattr(ufunc, method)(*args, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        return NotImplemented

    def __radd__(self, other):
        return _Wrapper(other + self.value)


def test_operations_defer_to_unregistered_duck_arrays():
    x = da.ones(4, chunks=2)
    wrapped = _Wrapper(np.arange(4))
    out = x + wrapped  # oxdask defers: the wrapper handles it and wraps the oxdask array
    assert isinstance(out, _Wrapper)
    assert isinstance(out.value, da.Array)
    np.testing.assert_array_equal(out.value.compute(), np.arange(4) + 1)
    out = np.add(x, wrapped)
    assert isinstance(out, _Wrapper)


def test_register_chunk_type_stops_deferring():
    class Chunky(np.ndarray):
        pass

    x = da.ones(4, chunks=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        other = np.arange(4).view(Chunky)  # an ndarray subclass is a chunk type already
        assert isinstance(x + other, da.Array)
    with pytest.raises(TypeError, match="type"):
        da.register_chunk_type("not a type")
    da.register_chunk_type(_Wrapper)
    try:
        assert isinstance(x + _Wrapper(1), da.Array)  # no longer deferred to
    finally:
        from oxdask.array import _chunk_types

        _chunk_types._CHUNK_TYPES.remove(_Wrapper)


def test_array_optimize_is_a_config_key():
    import oxdask

    x = da.ones(10, chunks=5)
    seen = []

    def watch(dsk, keys, **kwargs):
        seen.append(sorted(map(str, keys)))
        return dsk

    with oxdask.config.set(array_optimize=watch):
        assert (x + 1).sum().compute() == 20
    assert len(seen) == 1
    with oxdask.config.set(array_optimize=None):  # falsey: no optimization at all
        assert (x + 1).sum().compute() == 20
    assert (x + 1).sum().compute() == 20
