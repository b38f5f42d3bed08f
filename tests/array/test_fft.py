"""``oxdask.array.fft`` against ``numpy.fft``."""

import numpy as np
import pytest

import oxdask.array as da

rng = np.random.default_rng(0)
X = rng.normal(size=(6, 8)) + 1j * rng.normal(size=(6, 8))
R = rng.normal(size=(6, 8))


@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "ihfft"])
@pytest.mark.parametrize("n", [None, 5, 12])
def test_one_axis(name, n):
    data = R if name in ("rfft", "ihfft") else X
    a = da.from_array(data, chunks=(2, 8))
    got = getattr(da.fft, name)(a, n=n)
    expected = getattr(np.fft, name)(data, n=n)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got.compute(), expected, atol=1e-12)


@pytest.mark.parametrize("name", ["irfft", "hfft"])
def test_inverse_real(name):
    spectrum = np.fft.rfft(R)
    a = da.from_array(spectrum, chunks=(3, spectrum.shape[1]))
    np.testing.assert_allclose(
        getattr(da.fft, name)(a).compute(), getattr(np.fft, name)(spectrum), atol=1e-12
    )
    np.testing.assert_allclose(
        getattr(da.fft, name)(a, n=9).compute(), getattr(np.fft, name)(spectrum, n=9), atol=1e-12
    )


@pytest.mark.parametrize("name", ["fft2", "ifft2", "fftn", "ifftn", "rfft2", "rfftn"])
def test_several_axes(name):
    data = R if name.startswith("r") else X
    a = da.from_array(data, chunks=-1)
    np.testing.assert_allclose(
        getattr(da.fft, name)(a).compute(), getattr(np.fft, name)(data), atol=1e-12
    )
    cube = rng.normal(size=(4, 6, 8))
    c = da.from_array(cube, chunks=(2, 6, 8))  # the first axis chunked, transformed over 1, 2
    got = getattr(da.fft, name)(c, axes=(1, 2))
    np.testing.assert_allclose(got.compute(), getattr(np.fft, name)(cube, axes=(1, 2)), atol=1e-12)


def test_irfft2_round_trip():
    spectrum = np.fft.rfft2(R)
    a = da.from_array(spectrum, chunks=-1)
    np.testing.assert_allclose(da.fft.irfft2(a, s=R.shape).compute(), R, atol=1e-12)


def test_axis_in_several_chunks_is_an_error():
    a = da.from_array(X, chunks=(3, 4))
    with pytest.raises(ValueError, match="single chunk"):
        da.fft.fft(a)
    with pytest.raises(ValueError, match="axis 0"):
        da.fft.fft(a, axis=0)


def test_freqs_and_shifts():
    np.testing.assert_allclose(da.fft.fftfreq(9, 0.5).compute(), np.fft.fftfreq(9, 0.5))
    np.testing.assert_allclose(da.fft.rfftfreq(9, 0.5).compute(), np.fft.rfftfreq(9, 0.5))
    a = da.from_array(R, chunks=(4, 3))
    np.testing.assert_array_equal(da.fft.fftshift(a).compute(), np.fft.fftshift(R))
    np.testing.assert_array_equal(da.fft.ifftshift(a).compute(), np.fft.ifftshift(R))
    np.testing.assert_array_equal(da.fft.fftshift(a, axes=1).compute(), np.fft.fftshift(R, axes=1))


def test_fft_wrap_of_another_function():
    wrapped = da.fft.fft_wrap(np.fft.fft)
    a = da.from_array(X, chunks=(3, 8))
    np.testing.assert_allclose(wrapped(a).compute(), np.fft.fft(X))
    with pytest.raises(ValueError, match="unknown"):
        da.fft.fft_wrap(np.fft.fft, kind="nope")
