"""CSV, Parquet and JSON through fsspec (local files and ``memory://``)."""

from __future__ import annotations

import itertools

import fsspec
import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import assert_eq

import oxdask.dataframe as dd


@pytest.fixture
def df():
    rng = np.random.default_rng(1)
    n = 200
    return pd.DataFrame(
        {
            "i": np.arange(n),
            "f": rng.normal(size=n).round(3),
            "s": rng.choice(["red", "green", "blue"], n),
            "d": pd.date_range("2022-05-01", periods=n, freq="3h"),
        }
    )


@pytest.fixture
def mem():
    fs = fsspec.filesystem("memory")
    root = f"/oxdask-test-{np.random.default_rng().integers(1 << 40)}"
    yield fs, root
    if fs.exists(root):
        fs.rm(root, recursive=True)


def _write_csv_files(tmp_path, df, n=3):
    bounds = np.linspace(0, len(df), n + 1).astype(int)
    for k, (a, b) in enumerate(itertools.pairwise(bounds)):
        df.iloc[a:b].to_csv(tmp_path / f"part-{k}.csv", index=False)
    return str(tmp_path / "part-*.csv")


def test_read_csv_glob_and_blocksize(tmp_path, df):
    pattern = _write_csv_files(tmp_path, df)
    d = dd.read_csv(pattern, parse_dates=["d"])
    assert d.npartitions == 3
    assert_eq(d, df, check_index=False)
    small = dd.read_csv(pattern, blocksize=1500, parse_dates=["d"])
    assert small.npartitions > 3
    assert_eq(small, df, check_index=False)
    files = sorted(str(p) for p in tmp_path.glob("part-*.csv"))
    assert_eq(dd.read_csv(files, blocksize=None, parse_dates=["d"]), df, check_index=False)


def test_read_csv_passes_pandas_keywords(tmp_path, df):
    path = tmp_path / "data.tsv"
    df.to_csv(path, sep="\t", index=False)
    d = dd.read_csv(path, sep="\t", usecols=["i", "s"], dtype={"i": "float64"}, blocksize=800)
    expected = pd.read_csv(path, sep="\t", usecols=["i", "s"], dtype={"i": "float64"})
    assert_eq(d, expected, check_index=False)
    nohead = tmp_path / "nohead.csv"
    df[["i", "f"]].to_csv(nohead, index=False, header=False)
    d = dd.read_csv(nohead, header=None, names=["a", "b"], blocksize=700)
    assert_eq(d, pd.read_csv(nohead, header=None, names=["a", "b"]), check_index=False)
    d = dd.read_table(path, blocksize=900)
    assert_eq(d, pd.read_table(path), check_index=False)


def test_read_csv_include_path_column(tmp_path, df):
    pattern = _write_csv_files(tmp_path, df, n=2)
    d = dd.read_csv(pattern, include_path_column=True)
    paths = d.path.compute()
    assert paths.nunique() == 2
    assert all(p.endswith(".csv") for p in paths.unique())


def test_read_csv_wrong_dtype_guess_names_file_and_column(tmp_path):
    n = 500
    lines = ["a,b,c"] + [f"{i},{i * 0.5},{i}" for i in range(n)]
    lines[450] = "449,224.5,oops"
    lines[452] = ",225.5,451"
    path = tmp_path / "guess.csv"
    path.write_text("\n".join(lines) + "\n")
    d = dd.read_csv(path, blocksize=2000)
    with pytest.raises(
        ValueError, match=r"(?s)Mismatched dtypes.*guess\.csv.*\| a .*\| c .*dtype="
    ):
        d.compute()
    ok = dd.read_csv(path, blocksize=2000, dtype={"a": "float64", "c": "object"})
    assert len(ok.compute()) == n
    assert dd.read_csv(path, assume_missing=True, dtype={"c": "object"}).a.dtype == "float64"


def test_read_csv_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such"):
        dd.read_csv(str(tmp_path / "no-such-*.csv"))
    (tmp_path / "x.csv").write_text("a\n1\n")
    with pytest.raises(ValueError, match="index_col"):
        dd.read_csv(str(tmp_path / "x.csv"), index_col=0)


def test_read_csv_compressed(tmp_path, df):
    path = tmp_path / "data.csv.gz"
    df.to_csv(path, index=False, compression="gzip")
    d = dd.read_csv(path, blocksize=1000)
    assert d.npartitions == 1
    assert_eq(d, pd.read_csv(path), check_index=False)


def test_csv_roundtrip_memory(mem, df):
    _fs, root = mem
    d = dd.from_pandas(df, npartitions=4)
    paths = d.to_csv(f"memory://{root}/out-*.csv", index=False)
    assert len(paths) == 4
    back = dd.read_csv(f"memory://{root}/out-*.csv", parse_dates=["d"])
    assert_eq(back, df, check_index=False)


def test_to_csv_name_function_and_single_file(tmp_path, df):
    d = dd.from_pandas(df, npartitions=3)
    d.to_csv(str(tmp_path / "x-*.csv"), name_function=lambda i: f"{i:03d}", index=False)
    assert sorted(p.name for p in tmp_path.glob("x-*.csv")) == [
        "x-000.csv",
        "x-001.csv",
        "x-002.csv",
    ]
    single = tmp_path / "one.csv"
    d.to_csv(str(single), single_file=True, index=False)
    assert_eq(pd.read_csv(single, parse_dates=["d"]), df)
    delayed = d.to_csv(str(tmp_path / "lazy"), compute=False)
    assert len(delayed) == 3
    assert not list((tmp_path / "lazy").glob("*.part"))
    for v in delayed:
        v.compute()
    assert len(list((tmp_path / "lazy").glob("*.part"))) == 3


def test_parquet_roundtrip(tmp_path, df):
    d = dd.from_pandas(df, npartitions=4)
    d.to_parquet(tmp_path / "pq")
    back = dd.read_parquet(str(tmp_path / "pq"))
    assert back.npartitions == 4
    assert_eq(back, df)
    assert_eq(dd.read_parquet(str(tmp_path / "pq"), columns=["f", "s"]), df[["f", "s"]])
    assert_eq(dd.read_parquet(str(tmp_path / "pq"), columns="f"), df.f)
    divs = dd.read_parquet(str(tmp_path / "pq"), calculate_divisions=True).divisions
    assert divs == d.divisions
    indexed = dd.read_parquet(str(tmp_path / "pq"), index="d")
    assert_eq(indexed, df.set_index("d"))


def test_parquet_filters_prune_files(tmp_path, df):
    dd.from_pandas(df, npartitions=4).to_parquet(tmp_path / "pq")
    out = dd.read_parquet(str(tmp_path / "pq"), filters=[("i", ">=", 120)])
    assert out.npartitions == 2
    assert_eq(out, df[df.i >= 120])
    out = dd.read_parquet(str(tmp_path / "pq"), filters=[[("i", "<", 10)], [("s", "==", "red")]])
    assert_eq(out, df[(df.i < 10) | (df.s == "red")])


def test_parquet_row_groups(tmp_path, df):
    import pyarrow.parquet as pq

    path = tmp_path / "rg"
    dd.from_pandas(df, npartitions=2).to_parquet(path, row_group_size=25)
    files = sorted(path.glob("*.parquet"))
    assert pq.ParquetFile(files[0]).num_row_groups == 4
    d = dd.read_parquet(str(path), split_row_groups=True)
    assert d.npartitions == 8
    assert_eq(d, df)
    assert dd.read_parquet(str(path), split_row_groups=2).npartitions == 4


def test_parquet_partition_on_and_overwrite(tmp_path, df):
    d = dd.from_pandas(df, npartitions=3)
    d.to_parquet(tmp_path / "hive", partition_on=["s"])
    assert sorted(p.name for p in (tmp_path / "hive").iterdir()) == ["s=blue", "s=green", "s=red"]
    back = dd.read_parquet(str(tmp_path / "hive"))
    got = back.compute()
    assert_eq(got.sort_values("i")[["i", "f", "d"]], df[["i", "f", "d"]])
    assert list(got.sort_values("i").s.astype(str)) == list(df.s)
    dd.from_pandas(df.iloc[:10], npartitions=1).to_parquet(tmp_path / "hive", overwrite=True)
    assert_eq(dd.read_parquet(str(tmp_path / "hive")), df.iloc[:10])


def test_parquet_memory_fs(mem, df):
    _fs, root = mem
    dd.from_pandas(df, npartitions=2).to_parquet(f"memory://{root}/pq")
    assert_eq(dd.read_parquet(f"memory://{root}/pq"), df)
    with pytest.raises(KeyError, match="nope"):
        dd.read_parquet(f"memory://{root}/pq", columns=["nope"])


def test_json_lines(tmp_path, df):
    d = dd.from_pandas(df[["i", "f", "s"]], npartitions=3)
    paths = d.to_json(str(tmp_path / "j-*.json"))
    assert len(paths) == 3
    back = dd.read_json(str(tmp_path / "j-*.json"), lines=True)
    assert_eq(back, df[["i", "f", "s"]], check_index=False)
    blocks = dd.read_json(str(tmp_path / "j-*.json"), lines=True, blocksize=1000)
    assert blocks.npartitions > 3
    assert_eq(blocks, df[["i", "f", "s"]], check_index=False)
    with pytest.raises(ValueError, match="Line-delimited"):
        dd.read_json(str(tmp_path / "j-*.json"), lines=False, blocksize=100)


def test_read_csv_then_query_fuses_per_block(tmp_path, df):
    from oxdask.local import last_run_stats

    pattern = _write_csv_files(tmp_path, df)
    d = dd.read_csv(pattern)
    d[d.i > 3].assign(g=d.f * 2).g.sum().compute()
    stats = last_run_stats()
    assert stats["graph_tasks"] <= 3 + 3 + 1 + 3  # blocks, fused reads, aggregate (+ data)


def _reader_columns(collection, optimize=True):
    """Columns each reader layer produces once the graph is projected."""
    from oxdask.dataframe.projection import project

    graph = collection.dask
    if optimize:
        graph = project(graph, {collection._name})
    return [
        list(layer.func.meta.columns)
        for name, layer in graph.layers.items()
        if name.startswith(("read-csv-", "read-parquet-"))
    ]


def test_read_csv_projects_columns(tmp_path, df):
    pattern = _write_csv_files(tmp_path, df)
    d = dd.read_csv(pattern, parse_dates=["d"])
    q = d[d.i > 50].assign(g=d.f * 2).groupby("s").g.sum()
    assert _reader_columns(q, optimize=False) == [["i", "f", "s", "d"]]
    assert _reader_columns(q) == [["i", "f", "s"]]
    expected = df[df.i > 50].assign(g=df.f * 2).groupby("s").g.sum()
    assert_eq(q, expected)
    assert_eq(d.d.dt.hour.sum(), df.d.dt.hour.sum())
    udf = d.map_partitions(lambda p: p.assign(n=len(p.columns))).n.max()
    assert _reader_columns(udf) == [["i", "f", "s", "d"]]  # a function sees every column
    assert_eq(udf, 4)


def test_read_parquet_projects_columns(tmp_path, df):
    dd.from_pandas(df, npartitions=2).to_parquet(tmp_path / "pq")
    d = dd.read_parquet(str(tmp_path / "pq"))
    q = d[d.f > 0].i.sum()
    # the row filter is read in the reader (f compared there), then only i is produced
    assert _reader_columns(q) == [["i"]]
    assert_eq(q, df[df.f > 0].i.sum())
    q = d[d.s == "red"].i.sum()  # a filter left to pandas needs its column from the reader
    assert _reader_columns(q) == [["i", "s"]]
    assert_eq(q, df[df.s == "red"].i.sum())
    assert _reader_columns(d.i + d.f) == [["i", "f"]]
    assert_eq(d[["s"]].assign(t=d.i), df[["s"]].assign(t=df.i))


def test_read_parquet_restores_pandas_extension_dtypes(tmp_path):
    # nullable integers, floats and booleans come back as pandas (and Dask) read them,
    # not as float64/object, with or without nulls, filtered or not
    pdf = pd.DataFrame(
        {
            "a": pd.array([1, None, 3, 4] * 5, dtype="Int64"),
            "u": pd.array([1, 2, 3, 4] * 5, dtype="UInt8"),
            "f": pd.array([1.5, None, 2.0, 3.0] * 5, dtype="Float64"),
            "k": pd.array([True, None, False, True] * 5, dtype="boolean"),
            "x": np.arange(20.0),
        }
    )
    pdf.to_parquet(tmp_path / "ext.parquet", index=False)
    d = dd.read_parquet(str(tmp_path / "ext.parquet"))
    expected = pd.read_parquet(tmp_path / "ext.parquet")
    assert d._meta.dtypes.to_dict() == expected.dtypes.to_dict()
    pd.testing.assert_frame_equal(d.compute(), expected)
    pd.testing.assert_frame_equal(d[d.x > 6].compute(), expected[expected.x > 6])
    pd.testing.assert_frame_equal(d[d.x > 100].compute(), expected[expected.x > 100])
    dd.from_pandas(pdf, npartitions=2).to_parquet(tmp_path / "written")
    back = dd.read_parquet(str(tmp_path / "written")).compute()
    pd.testing.assert_frame_equal(back, pdf)
