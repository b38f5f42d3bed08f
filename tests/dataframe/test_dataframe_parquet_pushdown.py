"""``df[(df.a > 0) & (df.b <= x)]`` right after ``read_parquet`` filters rows in the reader
(pyarrow): the same frames as pandas (values, dtypes, index labels), and a pandas filter for
every comparison whose answer could differ."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oxdask.dataframe as dd

N = 200


def frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    b = rng.random(N)
    b[::9] = np.nan
    a = pd.array(rng.integers(-3, 6, N), dtype="Int64")
    a[::11] = pd.NA  # nulls in an integer column: pandas reads float64 with NaN
    return pd.DataFrame(
        {
            "a": a,
            "i": rng.integers(-5, 5, N),
            "b": b,
            "c": rng.random(N).astype(np.float32),
            "t": pd.date_range("2024-01-01", periods=N, freq="37min"),
            "s": [f"v{k % 7}" for k in range(N)],
            "u64": np.arange(N, dtype=np.uint64) * np.uint64(2**57),  # past 2**63 too
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("pushdown")
    frames = [frame(seed) for seed in range(3)]
    for k, df in enumerate(frames):
        # without pandas metadata: "a" is an int64 column with nulls (float64 in pandas)
        table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
        pq.write_table(table, root / f"part{k}.parquet")
    return root, frames


def pandas_parts(root, **kwargs):
    """The partitions as read without a filter (pandas filters them for the expectations)."""
    ddf = dd.read_parquet(str(root), **kwargs)
    return [ddf.get_partition(k).compute() for k in range(ddf.npartitions)]


def layers(collection) -> list[str]:
    return [name.split("-")[0] for name in collection.__dask_graph__().layers]


PUSHED = {
    "int-gt": lambda d: d[d.i > 0],
    "nullable-int-le": lambda d: d[d.a <= 2],
    "float-ge-and-int": lambda d: d[(d.b >= 0.5) & (d.i < 3)],
    "float-eq": lambda d: d[d.b == 0.25],
    "three-terms": lambda d: d[(d.b > 0.1) & (d.a > -2) & (d.i <= 4)],
    "number-first": lambda d: d[(0.5 < d.b) & (d.i == 1)],  # noqa: SIM300 (reflected)
}


@pytest.mark.parametrize("case", sorted(PUSHED))
def test_pushed_filters_match_pandas(files, case):
    root, _ = files
    ddf = dd.read_parquet(str(root))
    out = PUSHED[case](ddf)
    assert "filter" not in layers(out)  # read with the filter
    got = out.compute()
    want = pd.concat([PUSHED[case](p) for p in pandas_parts(root)])
    pd.testing.assert_frame_equal(got, want)
    for k in range(3):  # partition by partition, index labels included
        part = out.get_partition(k).compute()
        pd.testing.assert_frame_equal(part, PUSHED[case](pandas_parts(root)[k]))


def test_then_columns_assign_and_groupby(files):
    root, _ = files
    ddf = dd.read_parquet(str(root), columns=["i", "b", "t"])
    f = ddf[(ddf.b > 0.2) & (ddf.i >= 0)]
    q = f.assign(h=f.t.dt.hour).groupby("h").b.mean()
    parts = pandas_parts(root, columns=["i", "b", "t"])
    pf = pd.concat([p[(p.b > 0.2) & (p.i >= 0)] for p in parts])
    pd.testing.assert_series_equal(q.compute(), pf.assign(h=pf.t.dt.hour).groupby("h").b.mean())
    only_b = f[["b"]]  # the filter's columns are read, not returned
    pd.testing.assert_frame_equal(only_b.compute(), pf[["b"]])
    none_left = ddf[ddf.i > 100]
    pd.testing.assert_frame_equal(none_left.compute(), pd.concat(parts)[lambda p: p.i > 100])


def test_index_column_and_reader_filters(files, tmp_path):
    root, frames = files
    df = frames[0].drop(columns="a").assign(key=np.random.default_rng(0).permutation(N) * 3)
    df = df.set_index("key")
    df.to_parquet(tmp_path / "indexed.parquet")
    ddf = dd.read_parquet(str(tmp_path / "indexed.parquet"), index="key")
    out = ddf[ddf.i > 1]
    assert "filter" not in layers(out)
    pd.testing.assert_frame_equal(out.compute(), df[df.i > 1])
    ddf = dd.read_parquet(str(root), filters=[("i", ">", -3)])
    out = ddf[ddf.b < 0.5]
    assert "filter" not in layers(out)
    want = pd.concat([p[p.b < 0.5] for p in pandas_parts(root, filters=[("i", ">", -3)])])
    pd.testing.assert_frame_equal(out.compute(), want)


NOT_PUSHED = {
    "float32": lambda d: d[d.c > 0.5],
    "not-equal": lambda d: d[d.b != 0.5],
    "or": lambda d: d[(d.b > 0.5) | (d.i > 2)],
    "invert": lambda d: d[~(d.b > 0.5)],
    "int-vs-float": lambda d: d[d.i > 0.5],
    "nan": lambda d: d[d.b > np.nan],
    "bool-value": lambda d: d[d.i > True],
    "timestamps": lambda d: d[d.t > pd.Timestamp("2024-01-02")],
    "strings": lambda d: d[d.s > "v3"],
    "column-vs-column": lambda d: d[d.b > d.c],
    "huge": lambda d: d[d.i < 2**60],
    "uint64": lambda d: d[d.u64 > 5],
}


@pytest.mark.parametrize("case", sorted(NOT_PUSHED))
def test_other_filters_stay_in_pandas(files, case):
    root, _ = files
    ddf = dd.read_parquet(str(root))
    out = NOT_PUSHED[case](ddf)
    assert "filter" in layers(out)
    got = out.compute()
    pd.testing.assert_frame_equal(got, pd.concat([NOT_PUSHED[case](p) for p in pandas_parts(root)]))


def test_a_mask_of_another_frame_is_not_pushed(files):
    root, _ = files
    one = dd.read_parquet(str(root))
    two = dd.read_parquet(str(root))
    out = one[two.i > 0]
    assert "filter" in layers(out)
    pd.testing.assert_frame_equal(
        out.compute(), pd.concat([p[p.i > 0] for p in pandas_parts(root)])
    )
    derived = one.assign(z=one.i * 2)
    out = derived[derived.i > 0]  # not the reader's own frame
    assert "filter" in layers(out)
    pd.testing.assert_frame_equal(
        out.compute(), pd.concat([p.assign(z=p.i * 2)[p.i > 0] for p in pandas_parts(root)])
    )


def test_nullable_booleans_are_filtered_by_pandas(tmp_path):
    flags = pa.array([True, None, False, True] * 5)
    values = pa.array([float(k) for k in range(20)])
    pq.write_table(pa.table({"flag": flags, "x": values}), tmp_path / "flags.parquet")
    ddf = dd.read_parquet(str(tmp_path / "flags.parquet"))
    out = ddf[ddf.x > 2]
    assert "filter" not in layers(out)
    whole = ddf.compute()
    for kept in (out, ddf[ddf.x > 100]):  # some rows, none: the column stays object
        pd.testing.assert_frame_equal(kept.compute(), whole[whole.x > (2 if kept is out else 100)])
