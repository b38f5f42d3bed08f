"""xarray's chunk manager for oxdask: lazy xarray computations compared with NumPy-backed ones."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

import oxdask  # noqa: E402
import oxdask.array as da  # noqa: E402
import oxdask.xarray as oxr  # noqa: E402
from oxdask.xarray import OxdaskManager  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def manager():
    """The "oxdask" chunk manager, by name: from the entry point when installed, else added."""
    from xarray.namedarray.parallelcompat import list_chunkmanagers

    managers = list_chunkmanagers()
    added = "oxdask" not in managers
    m = oxr.register()
    yield m
    if added:
        managers.pop("oxdask", None)


def _dataset():
    rng = np.random.default_rng(0)
    t = np.arange(12)
    return xr.Dataset(
        {
            "a": (("t", "x"), rng.random((12, 5))),
            "b": (("t",), rng.random(12)),
        },
        coords={"t": t, "x": np.arange(5) * 10, "season": ("t", t % 4)},
    )


def _lazy(obj) -> bool:
    variables = obj.data_vars.values() if isinstance(obj, xr.Dataset) else [obj]
    return all(isinstance(v.data, da.Array) for v in variables)


# Grouping by a chunked (lazy) coordinate needs flox in xarray, with Dask as with oxdask: the
# groupby tests use the computed coordinate.
OPS = {
    "mean": lambda d: d.mean("t"),
    "mean-all": lambda d: d.mean(),
    "std": lambda d: d.std("t", ddof=1),
    "sum-x": lambda d: d.a.sum("x"),
    "rolling": lambda d: d.rolling(t=3).mean(),
    "rolling-center": lambda d: d.a.rolling(t=4, center=True, min_periods=1).sum(),
    "coarsen": lambda d: d.coarsen(t=3).mean(),
    "groupby": lambda d: d.groupby(d.season.compute()).mean(),
    "groupby-anomaly": lambda d: (
        d.a.groupby(d.season.compute()) - d.a.groupby(d.season.compute()).mean()
    ),
    "groupby-dim": lambda d: d.groupby("t").sum(),
    "groupby_bins": lambda d: d.groupby_bins("t", [0, 4, 8, 12]).sum(),
    "apply_ufunc": lambda d: xr.apply_ufunc(np.sin, d, dask="parallelized"),
    "apply_ufunc-core": lambda d: xr.apply_ufunc(
        lambda x: np.sort(x, axis=-1),
        d.a.chunk({"x": -1}, chunked_array_type="oxdask"),
        input_core_dims=[["x"]],
        output_core_dims=[["x"]],
        dask="parallelized",
        output_dtypes=[float],
    ),
    "cumsum": lambda d: d.cumsum("t"),
    "where": lambda d: d.where(d.a > 0.5, -1.0),
    "arith": lambda d: (d.a - d.a.mean("t")) / d.b,
    "isel-sel": lambda d: d.isel(t=slice(2, 9)).sel(x=[10, 30]),
    "transpose": lambda d: d.a.T * 2,
    "real-imag": lambda d: (d.a * 1j + d.a).real + (d.a * 2j).imag,
}


@pytest.mark.parametrize("op", sorted(OPS))
def test_operations_stay_lazy_and_equal_numpy(manager, op):
    ds = _dataset()
    chunked = ds.chunk({"t": 5, "x": 2}, chunked_array_type="oxdask")
    assert _lazy(chunked)
    with xr.set_options(use_flox=False):  # flox's grouped reductions are written for Dask
        out = OPS[op](chunked)
        assert _lazy(out), f"{op} computed eagerly"
        expected = OPS[op](ds)
    xr.testing.assert_allclose(out.compute(), expected)


def _time_dataset():
    import pandas as pd

    rng = np.random.default_rng(2)
    a = rng.random((24, 6))
    a[3, 2] = np.nan
    return xr.Dataset(
        {"a": (("time", "x"), a), "w": (("x",), rng.random(6))},
        coords={"time": pd.date_range("2000-01-01", periods=24, freq="D"), "x": np.arange(6.0)},
    )


MORE_OPS = {
    "quantile": lambda d: d.a.quantile(0.3, dim="time"),
    "median": lambda d: d.a.median("time"),
    "argmin": lambda d: d.a.argmin("time"),
    "idxmax": lambda d: d.a.idxmax("time"),
    "diff-shift-roll": lambda d: d.a.diff("time") + d.a.shift(time=2) + d.a.roll(time=1),
    "pad": lambda d: d.a.pad(time=(1, 2)),
    "concat": lambda d: xr.concat([d.a, d.a], "time"),
    "fillna-isnull": lambda d: d.a.fillna(0) + d.a.isnull(),
    "weighted": lambda d: d.a.weighted(d.w).mean("x"),
    "resample": lambda d: d.a.resample(time="7D").mean(),
    "dt-accessor": lambda d: d.time.dt.dayofyear + d.a,
    "polyfit": lambda d: d.a.polyfit("time", 1).polyfit_coefficients,
    "dot": lambda d: xr.dot(d.a, d.w),
    "count-any": lambda d: d.a.count("time") + (d.a > 0.9).any("time"),
    "stack": lambda d: d.a.stack(z=("time", "x")),
    "reindex": lambda d: d.a.reindex(x=[0.0, 2.0, 7.0]),
    "rolling-construct": lambda d: d.a.rolling(time=3).construct("win"),
    "sortby": lambda d: d.a.sortby("x", ascending=False),
    "cumulative": lambda d: d.a.cumulative("time").sum(),
}


@pytest.mark.parametrize("op", sorted(MORE_OPS))
def test_more_operations_stay_lazy(manager, op):
    ds = _time_dataset()
    chunked = ds.chunk({"time": 7, "x": 3}, chunked_array_type="oxdask")
    out = MORE_OPS[op](chunked)
    assert isinstance(out.data, da.Array), f"{op} computed eagerly"
    xr.testing.assert_allclose(out.compute(), MORE_OPS[op](ds))


def test_manager_instance_without_registration():
    ds = _dataset()
    chunked = ds.chunk({"t": 4}, chunked_array_type=OxdaskManager())
    assert _lazy(chunked)
    assert chunked.a.data.chunks == ((4, 4, 4), (5,))
    xr.testing.assert_allclose(chunked.mean("x").compute(), ds.mean("x"))


def test_dask_manager_does_not_claim_oxdask_arrays(manager):
    from xarray.namedarray.parallelcompat import get_chunked_array_type, list_chunkmanagers

    x = da.ones((4, 4), chunks=2)
    assert get_chunked_array_type(x) is manager
    dask_manager = list_chunkmanagers().get("dask")
    if dask_manager is not None:  # real Dask installed next to oxdask
        assert not dask_manager.is_chunked_array(x)
        import dask.array

        assert dask_manager.is_chunked_array(dask.array.ones(4, chunks=2))


def test_load_persist_and_repr(manager):
    ds = _dataset()
    chunked = ds.chunk({"t": 5}, chunked_array_type="oxdask")
    text = repr(chunked)  # the inline repr never computes
    assert "chunksize=(5, 5)" in text
    persisted = chunked.persist()
    assert _lazy(persisted)
    xr.testing.assert_allclose(persisted.compute(), ds)
    loaded = chunked.a.copy().load()
    assert isinstance(loaded.data, np.ndarray)
    np.testing.assert_allclose(loaded.values, ds.a.values)
    # rechunking keeps oxdask
    re = chunked.chunk({"t": 3}, chunked_array_type="oxdask")
    assert _lazy(re)
    with xr.set_options(chunk_manager="oxdask"):  # or once for all: the default manager
        assert _lazy(chunked.chunk({"t": 6}))
    assert re.a.data.chunks[0] == (3, 3, 3, 3)


def test_zarr_round_trip_lazy(manager, tmp_path, monkeypatch):
    pytest.importorskip("zarr")
    ds = _dataset()
    src = tmp_path / "src.zarr"
    ds.chunk({"t": 4}).to_zarr(src, consolidated=False)

    opened = xr.open_zarr(src, chunks={"t": 4}, chunked_array_type="oxdask", consolidated=False)
    assert _lazy(opened)
    assert opened.a.data.chunks == ((4, 4, 4), (5,))
    same = xr.open_dataset(
        src, engine="zarr", chunks={}, chunked_array_type="oxdask", consolidated=False
    )
    assert _lazy(same)

    result = (opened.a - opened.a.mean("t")).to_dataset(name="anom")
    assert _lazy(result)

    stored = []
    original = OxdaskManager.store

    def spy(self, sources, targets, **kwargs):
        stored.extend(sources)
        return original(self, sources, targets, **kwargs)

    monkeypatch.setattr(OxdaskManager, "store", spy)
    out = tmp_path / "out.zarr"
    result.to_zarr(out, consolidated=False)
    assert stored
    assert all(isinstance(s, da.Array) for s in stored)  # written block by block
    back = xr.open_zarr(out, consolidated=False).compute()
    xr.testing.assert_allclose(back.anom, ds.a - ds.a.mean("t"))


def test_from_array_options():
    m = OxdaskManager()
    data = np.arange(24.0).reshape(4, 6)
    x = m.from_array(data, (2, 3), name="my-array", lock=True, inline_array=True, meta=np.ndarray)
    assert isinstance(x, da.Array)
    assert x.name == "my-array"
    np.testing.assert_array_equal(x.compute(), data)
    # an empty axis with "auto" chunks is one block
    empty = m.from_array(np.ones((0, 3)), ("auto", "auto"))
    assert empty.shape == (0, 3)
    assert m.normalize_chunks("auto", shape=(10,), limit=16, dtype=np.float64) == ((2,) * 5,)
    assert m.normalize_chunks((4,), shape=(10,)) == ((4, 4, 2),)


def test_store_regions_lock_and_compute_false():
    m = OxdaskManager()
    x = da.arange(10, chunks=3)
    target = np.zeros(14)
    delayed = m.store([x], [target], regions=[(slice(2, 12),)], lock=True, compute=False)
    assert not target.any()  # nothing written yet
    oxdask.compute(delayed)
    expected = np.zeros(14)
    expected[2:12] = np.arange(10)
    np.testing.assert_array_equal(target, expected)


def test_manager_array_functions():
    m = OxdaskManager()
    data = np.arange(20.0).reshape(4, 5)
    x = da.from_array(data, chunks=2)
    red = m.reduction(x, np.sum, aggregate_func=np.sum, axis=0, dtype=x.dtype)
    np.testing.assert_allclose(red.compute(), data.sum(0))
    sc = m.scan(np.cumsum, np.add, 0, x, axis=1, dtype=x.dtype)
    np.testing.assert_allclose(sc.compute(), np.cumsum(data, axis=1))
    g = m.apply_gufunc(lambda b: b.mean(-1), "(i)->()", x.rechunk({1: -1}), output_dtypes=float)
    np.testing.assert_allclose(g.compute(), data.mean(-1))
    mb = m.map_blocks(np.negative, x, dtype=x.dtype)
    np.testing.assert_allclose(mb.compute(), -data)
    bw = m.blockwise(np.add, "ij", x, "ij", x, "ij", dtype=x.dtype)
    np.testing.assert_allclose(bw.compute(), 2 * data)
    _, (u1, u2) = m.unify_chunks(x, "ij", x.rechunk(3), "ij")
    assert u1.chunks == u2.chunks
    sh = m.shuffle(x, [[3, 0], [2, 1]], 0, None)
    np.testing.assert_allclose(sh.compute(), data[[3, 0, 2, 1]])
    with pytest.raises(NotImplementedError, match="auto"):
        m.shuffle(x, [[0, 1, 2, 3]], 0, (2,))
    assert m.get_auto_chunk_size() == 128 * 2**20
    with oxdask.config.set({"array.chunk-size": "1MiB"}):
        assert m.get_auto_chunk_size() == 2**20
    assert m.array_api.sliding_window_view is not None
    assert m.array_api.ones is da.ones


def _ffill_block(a, axis, dtype=None):
    # xarray's push without bottleneck: forward fill along ``axis`` (``axis`` required)
    import pandas as pd

    moved = np.moveaxis(a, axis, 0)
    filled = pd.DataFrame(moved.reshape(moved.shape[0], -1)).ffill().to_numpy()
    return np.moveaxis(filled.reshape(moved.shape), 0, axis)


def test_scan_as_xarray_push_uses_it():
    # the scan xarray's ffill/bfill run (push): a block function that needs ``axis``, the
    # blelloch method and a ``preop``
    import pandas as pd

    m = OxdaskManager()
    data = np.array([[1.0, np.nan, np.nan, 4.0, np.nan, np.nan, np.nan, 8.0, np.nan]] * 2).T
    x = da.from_array(data, chunks=(2, 1))
    out = m.scan(
        func=_ffill_block,
        binop=lambda a, b: np.where(np.isnan(b), a, b),
        ident=np.nan,
        arr=x,
        axis=0,
        dtype=x.dtype,
        method="blelloch",
        preop=np.nanmax,
    )
    np.testing.assert_array_equal(out.compute(), pd.DataFrame(data).ffill().to_numpy())


def test_unavailable_array_module_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(
        oxr, "_load_array_module", lambda: (None, ImportError("No module named 'numpy'"))
    )
    m = OxdaskManager()
    assert not m.is_chunked_array(np.ones(3))
    with pytest.raises(ImportError, match=r"'oxdask' chunk manager needs oxdask\.array"):
        m.from_array(np.ones(3), (1,))
    with pytest.raises(ImportError, match=r"oxdask\.array"):
        xr.DataArray(np.ones(3)).chunk(1, chunked_array_type=m)


def test_entry_point_declared():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    group = meta["project"]["entry-points"]["xarray.chunkmanagers"]
    module, _, attr = group["oxdask"].partition(":")
    assert module == "oxdask.xarray"
    assert getattr(oxr, attr) is OxdaskManager
    assert "xarray" in meta["project"]["optional-dependencies"]
    installed = {ep.name: ep for ep in metadata.entry_points(group="xarray.chunkmanagers")}
    if "oxdask" in installed:  # an installed (not only editable-in-place) oxdask
        assert installed["oxdask"].load() is OxdaskManager


def test_as_collection_compute_and_persist(manager):
    ds = _dataset()
    chunked = ds.chunk({"t": 5}, chunked_array_type="oxdask")
    mean, anom = oxdask.compute(
        oxr.as_collection(chunked.mean("t")), oxr.as_collection(chunked.a - chunked.a.mean())
    )
    assert isinstance(mean, xr.Dataset)
    assert all(isinstance(v.data, np.ndarray) for v in mean.variables.values())
    xr.testing.assert_allclose(mean, ds.mean("t"))
    assert isinstance(anom, xr.DataArray)
    assert isinstance(anom.coords["season"].data, np.ndarray)  # chunked coordinates too
    xr.testing.assert_allclose(anom, ds.a - ds.a.mean())
    (persisted,) = oxdask.persist(oxr.as_collection(chunked))
    assert _lazy(persisted)
    xr.testing.assert_allclose(persisted.compute(), ds)
    assert _lazy(chunked)  # the original stays lazy
    (var,) = oxdask.compute(oxr.as_collection(chunked.b.variable))
    np.testing.assert_allclose(var.data, ds.b.values)
    with pytest.raises(TypeError, match="expected an xarray"):
        oxr.as_collection([1])


def test_oxdask_compute_of_xarray_objects(manager):
    ds = _dataset()
    chunked = ds.chunk({"t": 5}, chunked_array_type="oxdask")
    (out,) = oxdask.compute(chunked.mean("t"))
    assert isinstance(out.a.data, np.ndarray)
    xr.testing.assert_allclose(out, ds.mean("t"))
    # a DataArray and a plain value alongside, on the threads and sync schedulers
    for scheduler in ("threads", "sync"):
        arr, three = oxdask.compute(chunked.a.sum("x"), 3, scheduler=scheduler)
        assert three == 3
        xr.testing.assert_allclose(arr, ds.a.sum("x"))


# Without Dask xarray reaches oxdask arrays through NumPy's __array_function__ only (rolling:
# np.lib.stride_tricks.sliding_window_view).
NO_DASK_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.modules["dask"] = None  # as if Dask were not installed
    sys.modules["distributed"] = None
    import numpy as np
    import xarray as xr
    import oxdask.array as da
    from oxdask.xarray import register
    from xarray.namedarray.parallelcompat import list_chunkmanagers

    assert "dask" not in list_chunkmanagers()
    register()
    rng = np.random.default_rng(1)
    ds = xr.Dataset({"a": (("t", "x"), rng.random((10, 4)))},
                    coords={"t": np.arange(10), "g": ("t", np.arange(10) % 3)})
    c = ds.chunk({"t": 4})  # the only chunk manager: chosen without naming it
    ops = {
        "mean": lambda d: d.mean("t"),
        "rolling": lambda d: d.rolling(t=3).mean(),
        "rolling-center": lambda d: d.rolling(t=4, center=True, min_periods=1).sum(),
        "coarsen": lambda d: d.coarsen(t=2).mean(),
        "groupby": lambda d: d.groupby(d.g.compute()).mean(),
        "cumsum": lambda d: d.cumsum("t"),
        "ufunc": lambda d: xr.apply_ufunc(np.exp, d, dask="parallelized"),
    }
    for name, op in ops.items():
        out = op(c)
        assert isinstance(out.a.data, da.Array), name
        xr.testing.assert_allclose(out.compute(), op(ds))
    path = sys.argv[1]
    (c.a * 2).to_dataset().to_zarr(path, consolidated=False)
    back = xr.open_zarr(path, chunks={"t": 5}, consolidated=False)
    assert isinstance(back.a.data, da.Array)
    xr.testing.assert_allclose(back.a.compute(), ds.a * 2)
    print("ok")
    """
)


def test_without_dask_installed(tmp_path):
    pytest.importorskip("zarr")
    proc = subprocess.run(
        [sys.executable, "-c", NO_DASK_SCRIPT, str(tmp_path / "out.zarr")],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")


ENTRY_POINT_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import xarray as xr
    import oxdask.array as da
    from xarray.namedarray.parallelcompat import get_chunked_array_type, list_chunkmanagers

    manager = list_chunkmanagers()["oxdask"]  # found through the entry point alone
    assert type(manager).__name__ == "OxdaskManager"
    ds = xr.Dataset({"a": (("t",), np.arange(10.0))})
    c = ds.chunk({"t": 3}, chunked_array_type="oxdask")
    assert isinstance(c.a.data, da.Array)
    assert get_chunked_array_type(c.a.data) is manager  # Dask's manager does not claim it
    xr.testing.assert_allclose(c.cumsum().compute(), ds.cumsum())
    print("ok")
    """
)


def test_entry_point_of_an_installed_oxdask(tmp_path):
    """The entry point as an installed oxdask declares it (a distribution on the path)."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    target = meta["project"]["entry-points"]["xarray.chunkmanagers"]["oxdask"]
    dist = tmp_path / "oxdask_entry_point-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: oxdask-entry-point\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(f"[xarray.chunkmanagers]\noxdask = {target}\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    proc = subprocess.run(
        [sys.executable, "-c", ENTRY_POINT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=100,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")
