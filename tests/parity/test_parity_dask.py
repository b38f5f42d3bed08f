"""The same expressions on oxdask and on Dask, compared value for value: one table per
namespace (dask, dask.array and Array methods, dask.dataframe with DataFrame and Series
methods, dask.diagnostics). Each entry is ``lambda lib, data: ...`` where ``lib`` is a
namespace object of either library and ``data`` holds the same inputs built by each."""

from __future__ import annotations

import operator
import types

import numpy as np
import pandas as pd
import pytest

dask = pytest.importorskip("dask")
pytest.importorskip("dask.dataframe")

import dask.array as dask_array  # noqa: E402
import dask.dataframe as dask_dataframe  # noqa: E402

import oxdask  # noqa: E402
import oxdask.array as ox_array  # noqa: E402
import oxdask.dataframe as ox_dataframe  # noqa: E402

LIBS = {
    "oxdask": types.SimpleNamespace(top=oxdask, da=ox_array, dd=ox_dataframe),
    "dask": types.SimpleNamespace(top=dask, da=dask_array, dd=dask_dataframe),
}


def _inputs(lib):
    rng = np.random.default_rng(42)
    x = rng.normal(size=(30, 20))
    x[3, 4] = np.nan
    pdf = pd.DataFrame(
        {
            "k": rng.integers(0, 4, 60),
            "x": rng.normal(size=60),
            "y": rng.integers(0, 100, 60).astype("f8"),
            "t": pd.date_range("2024-01-01", periods=60, freq="37min"),
            "s": [f"v{i % 5}" for i in range(60)],
        }
    )
    pdf.loc[[2, 7], "y"] = np.nan
    return types.SimpleNamespace(
        x=x,
        a=lib.da.from_array(x, chunks=(7, 6)),
        i=lib.da.from_array(np.arange(24).reshape(4, 6), chunks=(3, 4)),
        pdf=pdf,
        df=lib.dd.from_pandas(pdf, npartitions=4),
        ts=lib.dd.from_pandas(pdf.set_index("t"), npartitions=3),
    )


def _compute(lib, value):
    if isinstance(value, tuple | list):
        return type(value)(_compute(lib, v) for v in value)
    if hasattr(value, "__dask_graph__"):
        return lib.top.compute(value, scheduler="sync")[0]
    return value


def _plain_strings(obj):
    """Dask stores strings as ``string[pyarrow]`` (``na_value=NA``); oxdask keeps pandas'
    default ``str`` dtype (``na_value=nan``), as pandas itself: compare the values."""
    if isinstance(obj, pd.Series | pd.DataFrame) and isinstance(obj.index.dtype, pd.StringDtype):
        obj = obj.set_axis(obj.index.astype(object))
    if isinstance(obj, pd.Series) and isinstance(obj.dtype, pd.StringDtype):
        return obj.astype(object)
    if isinstance(obj, pd.Series) and isinstance(obj.dtype, pd.ArrowDtype):
        return obj.astype(obj.dtype.numpy_dtype)  # counts of Dask's arrow strings
    if isinstance(obj, pd.DataFrame):
        return obj.apply(_plain_strings)
    return obj


def _equal(ours, theirs):
    ours, theirs = _plain_strings(ours), _plain_strings(theirs)
    if isinstance(theirs, pd.DataFrame | pd.Series | pd.Index):
        assert type(ours) is type(theirs)
        if isinstance(theirs, pd.DataFrame):
            pd.testing.assert_frame_equal(ours, theirs, check_dtype=True, rtol=1e-9)
        elif isinstance(theirs, pd.Series):
            pd.testing.assert_series_equal(ours, theirs, rtol=1e-9)
        else:
            pd.testing.assert_index_equal(ours, theirs)
    elif isinstance(theirs, tuple | list):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            _equal(o, t)
    elif isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray)
        assert ours.shape == theirs.shape
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, equal_nan=True)
    elif isinstance(theirs, float | np.floating) and np.isnan(theirs):
        assert np.isnan(ours)
    elif isinstance(theirs, int | float | np.number) and not isinstance(theirs, bool):
        assert ours == pytest.approx(theirs, rel=1e-9)
    else:
        assert ours == theirs


def _inc(x):
    return x + 1


TOP = {
    "compute_tuple": lambda lib, d: lib.top.compute(d.a.sum(), d.i.max(), scheduler="sync"),
    "delayed_tree": lambda lib, d: lib.top.delayed(sum)(
        [lib.top.delayed(_inc)(i) for i in range(10)]
    ),
    "delayed_attr": lambda lib, d: lib.top.delayed({"a": 3})["a"],
    "persist_then_sum": lambda lib, d: lib.top.persist(d.a, scheduler="sync")[0].sum(),
    "is_dask_collection": lambda lib, d: (
        lib.top.is_dask_collection(d.a),
        lib.top.is_dask_collection(3),
    ),
    "optimize": lambda lib, d: lib.top.optimize(d.a + 1)[0].sum(),
}

ARRAY = {
    "nansum_axis": lambda lib, d: lib.da.nansum(d.a, axis=0),
    "nanmean": lambda lib, d: lib.da.nanmean(d.a),
    "std_ddof": lambda lib, d: lib.da.nanstd(d.a, axis=1, ddof=1),
    "cumsum": lambda lib, d: lib.da.cumsum(d.i, axis=1),
    "argmax": lambda lib, d: lib.da.argmax(d.i, axis=0),
    "where": lambda lib, d: lib.da.where(d.i > 10, d.i, -d.i),
    "concatenate": lambda lib, d: lib.da.concatenate([d.i, d.i * 2], axis=1),
    "stack": lambda lib, d: lib.da.stack([d.i, d.i], axis=0),
    "tensordot": lambda lib, d: lib.da.tensordot(d.i, d.i.T, axes=1),
    "einsum": lambda lib, d: lib.da.einsum("ij,ij->i", d.i, d.i),
    "linspace": lambda lib, d: lib.da.linspace(0, 1, 11, chunks=4),
    "arange_float_step": lambda lib, d: lib.da.arange(3, 13.0, 2, chunks=2),
    "diff": lambda lib, d: lib.da.diff(d.i, axis=1),
    "histogram": lambda lib, d: lib.da.histogram(d.i, bins=5, range=(0, 24))[0],
    "unique": lambda lib, d: lib.da.unique(d.i % 5),
    "isin": lambda lib, d: lib.da.isin(d.i, [1, 5, 7]),
    "take": lambda lib, d: lib.da.take(d.i, [0, 2, 5], axis=1),
    "tril": lambda lib, d: lib.da.tril(d.i),
    "round": lambda lib, d: lib.da.round(d.a, 2),
    "clip": lambda lib, d: lib.da.clip(d.i, 3, 9),
    "count_nonzero": lambda lib, d: lib.da.count_nonzero(d.i % 3),
    "rechunk_sum": lambda lib, d: d.a.rechunk((10, 10)).sum(axis=1),
    "slicing": lambda lib, d: d.a[::3, 5:15:2],
    "boolean_mask": lambda lib, d: d.i[d.i % 2 == 0],
    "reshape": lambda lib, d: d.i.reshape(-1),
    "transpose_dot": lambda lib, d: d.i.T.dot(d.i),
    "astype_min": lambda lib, d: d.i.astype("f4").min(axis=1),
    "map_blocks": lambda lib, d: d.i.map_blocks(np.negative),
    "moment": lambda lib, d: d.i.moment(3, axis=0),
    "shape_chunks": lambda lib, d: (d.a[:, 3:].shape, d.a.rechunk(5).chunks),
}

DATAFRAME = {
    "groupby_sum": lambda lib, d: d.df.groupby("k").x.sum(),
    "groupby_agg": lambda lib, d: (
        d.df.groupby("k").agg({"x": "mean", "y": ["min", "max"]}).compute().sort_index()
    ),
    "groupby_size": lambda lib, d: d.df.groupby("k").size(),
    "value_counts": lambda lib, d: d.df.s.value_counts().compute().sort_index(),
    "describe_counts": lambda lib, d: (
        d.df[["x", "y"]].describe().compute().loc[["count", "mean", "max"]]
    ),
    "nunique": lambda lib, d: d.df.s.nunique(),
    "assign_query": lambda lib, d: d.df.assign(z=d.df.x * 2).query("z > 0")[["k", "z"]],
    "merge": lambda lib, d: (
        lib.dd.merge(
            d.df[["k", "x"]],
            lib.dd.from_pandas(pd.DataFrame({"k": [0, 1], "w": [5, 6]}), 1),
            on="k",
        )
        .compute()
        .sort_values(["k", "x"])
        .reset_index(drop=True)
    ),
    "concat": lambda lib, d: lib.dd.concat([d.df.x, d.df.y]),
    "set_index_sorted": lambda lib, d: d.df.set_index("t").x,
    "resample_mean": lambda lib, d: d.ts.x.resample("3h").mean(),
    "rolling": lambda lib, d: d.ts.x.rolling(3).sum(),
    "cumsum": lambda lib, d: d.df.x.cumsum(),
    "dropna_len": lambda lib, d: len(d.df.dropna()),
    "fillna": lambda lib, d: d.df.y.fillna(-1),
    "str_upper": lambda lib, d: d.df.s.str.upper(),
    "dt_hour": lambda lib, d: d.df.t.dt.hour,
    "nlargest": lambda lib, d: d.df.nlargest(5, "x"),
    "quantile_one_partition": lambda lib, d: d.df.x.repartition(npartitions=1).quantile(0.3),
    "corr": lambda lib, d: d.df[["x", "y"]].corr(),
    "skew": lambda lib, d: d.df.x.skew(),
    "to_datetime": lambda lib, d: lib.dd.to_datetime(d.df.t.astype("int64")),
    "isna_module": lambda lib, d: lib.dd.isna(d.df.y),
    "pivot_table": lambda lib, d: (
        lib.dd.pivot_table(
            d.df.assign(s=d.df.s.astype("category").cat.as_known()), "k", "s", "x", "sum"
        )
        .compute()
        .pipe(lambda t: t.set_axis([str(c) for c in t.columns], axis=1))
        .sort_index(axis=1)
    ),
    "map_partitions_len": lambda lib, d: d.df.map_partitions(len).compute().tolist(),
    "divisions": lambda lib, d: d.ts.divisions,
}

DIAGNOSTICS = {
    "profiler_rows_per_task": lambda lib, d: _profiled_keys(lib, d),
}


def _profiled_keys(lib, d):
    diagnostics = __import__(f"{lib.top.__name__}.diagnostics", fromlist=["Profiler"])
    graph_lib = lib.top.delayed(sum)(
        [lib.top.delayed(_inc)(i, dask_key_name=f"inc-{i}") for i in range(5)]
    )
    with diagnostics.Profiler() as prof:
        lib.top.compute(graph_lib, scheduler="sync", optimize_graph=False)
    return sorted(str(r.key) for r in prof.results if str(r.key).startswith("inc-"))


def _run(table, name):
    results = {}
    for label, lib in LIBS.items():
        data = _inputs(lib)
        results[label] = _compute(lib, table[name](lib, data))
    _equal(results["oxdask"], results["dask"])


@pytest.mark.parametrize("name", sorted(TOP))
def test_top_level(name):
    _run(TOP, name)


@pytest.mark.parametrize("name", sorted(ARRAY))
def test_array(name):
    _run(ARRAY, name)


@pytest.mark.parametrize("name", sorted(DATAFRAME))
def test_dataframe(name):
    _run(DATAFRAME, name)


@pytest.mark.parametrize("name", sorted(DIAGNOSTICS))
def test_diagnostics(name):
    _run(DIAGNOSTICS, name)


def test_table_sizes():
    """Every namespace is exercised (a guard against an emptied table)."""
    assert min(len(TOP), len(DIAGNOSTICS)) >= 1
    assert len(ARRAY) >= 30
    assert len(DATAFRAME) >= 25
    assert operator.ge(len(ARRAY) + len(DATAFRAME), 55)
