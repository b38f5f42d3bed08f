"""histogram and bincount compared with NumPy (weights, density, lazy bins and range)."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    return rng.random((20, 5)), rng.random((20, 5))


@pytest.mark.parametrize("density", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_histogram_weights_and_density(data, density, weighted):
    v, w = data
    kw = {"weights": w if weighted else None, "density": density}
    h, edges = da.histogram(
        da.from_array(v, chunks=(6, 2)),
        bins=7,
        range=(0, 1),
        density=density,
        weights=da.from_array(w, chunks=(4, 5)) if weighted else None,
    )
    e_h, e_edges = np.histogram(v, bins=7, range=(0, 1), **kw)
    assert_eq(h, e_h)
    np.testing.assert_allclose(edges, e_edges)


@pytest.mark.parametrize("density", [False, True])
def test_histogram_lazy_edges_and_range(data, density):
    v, _ = data
    vd = da.from_array(v, chunks=4)
    edges = np.array([0, 0.2, 0.5, 0.8, 1])
    ed = da.from_array(edges, chunks=2)
    h, got_edges = da.histogram(vd, bins=ed, density=density)
    assert got_edges is ed
    assert_eq(h, np.histogram(v, bins=edges, density=density)[0])
    h, got_edges = da.histogram(vd, bins=10, range=[vd.min(), vd.max()], density=density)
    e_h, e_edges = np.histogram(v, bins=10, range=[v.min(), v.max()], density=density)
    assert_eq(h, e_h)
    assert_eq(got_edges, e_edges)
    h, got_edges = da.histogram(vd, bins=da.array(10), range=[0, vd.max()])
    e_h, e_edges = np.histogram(v, bins=10, range=[0, v.max()])
    assert_eq(h, e_h, check_shape=False, check_chunks=False)
    assert_eq(got_edges, e_edges, check_shape=False, check_chunks=False)


@pytest.mark.parametrize(
    ("bins", "hist_range"),
    [
        (None, None),
        (10, None),
        (10, 1),
        (None, (1, 10)),
        (10, [0, 1, 2]),
        (10, [0]),
        (10, np.array([[0, 1]])),
        ([[0, 1, 2]], None),
    ],
)
def test_histogram_checks_bins_and_range(bins, hist_range):
    x = da.ones(10, chunks=2)
    with pytest.raises((ValueError, TypeError), match=r"bins|range"):
        da.histogram(x, bins=bins, range=hist_range)


def test_histogram_refusals():
    x = da.ones(10, chunks=2)
    with pytest.raises(NotImplementedError, match="scalar Dask object"):
        da.histogram(x, bins=da.array(10), range=[0, 1], density=True)
    with pytest.raises(ValueError, match="deprecated"):
        da.histogram(x, bins=[1, 2, 3], normed=True)
    with pytest.raises(ValueError, match="weights"):
        da.histogram(x, bins=3, range=(0, 1), weights=da.ones(5, chunks=5))
