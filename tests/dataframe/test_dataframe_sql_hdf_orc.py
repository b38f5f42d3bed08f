"""SQL (SQLite through SQLAlchemy), HDF5 (PyTables) and ORC (pyarrow) readers and writers,
against pandas reading and writing the same files."""

import numpy as np
import pandas as pd
import pytest

import oxdask
import oxdask.dataframe as dd

sa = pytest.importorskip("sqlalchemy")


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame(
        {
            "number": np.arange(n, dtype="int64"),
            "value": rng.normal(size=n),
            "name": [f"n{i % 7}" for i in range(n)],
            "when": pd.date_range("2024-01-01", periods=n, freq="h"),
        }
    )


@pytest.fixture
def db(tmp_path, frame):
    uri = f"sqlite:///{tmp_path / 'test.db'}"
    engine = sa.create_engine(uri)
    frame.to_sql("things", engine, index=False)
    engine.dispose()
    return uri


def _sorted(df):
    return df.sort_index()


@pytest.mark.parametrize("npartitions", [1, 3, 7])
def test_read_sql_table_matches_pandas(db, frame, npartitions):
    ddf = dd.read_sql_table("things", db, index_col="number", npartitions=npartitions)
    assert ddf.npartitions == npartitions
    assert ddf.divisions[0] == 0
    assert ddf.divisions[-1] == 199
    expected = pd.read_sql_table("things", sa.create_engine(db), index_col="number")
    got = ddf.compute()
    pd.testing.assert_frame_equal(got, expected)
    # each partition holds the rows of its range
    for i, part in enumerate(ddf.partitions):
        values = part.compute().index
        lo, hi = ddf.divisions[i], ddf.divisions[i + 1]
        assert ((values >= lo) & (values <= hi)).all()


def test_read_sql_table_columns_divisions_and_bytes(db, frame):
    ddf = dd.read_sql_table(
        "things", db, index_col="number", columns=["value"], divisions=[0, 50, 120, 199]
    )
    assert list(ddf.columns) == ["value"]
    assert ddf.npartitions == 3
    got = ddf.compute()
    pd.testing.assert_series_equal(got["value"], frame.set_index("number")["value"])
    # a size per partition: 200 rows of ~70 bytes in 4 kB pieces
    by_size = dd.read_sql_table("things", db, index_col="number", bytes_per_chunk="4kB")
    assert by_size.npartitions > 1
    assert len(by_size.compute()) == 200


def test_read_sql_table_datetime_index(db, frame):
    ddf = dd.read_sql_table("things", db, index_col="when", npartitions=4)
    got = ddf.compute()
    assert len(got) == 200
    assert got.index.is_monotonic_increasing
    assert (got["number"].to_numpy() == frame["number"].to_numpy()).all()


def test_read_sql_query_and_read_sql(db, frame):
    things = sa.table("things", sa.column("number"), sa.column("value"))
    query = sa.select(things.c.number, things.c.value).where(things.c.value > 0)
    ddf = dd.read_sql_query(query, db, index_col="number", npartitions=3)
    expected = frame[frame.value > 0].set_index("number")[["value"]]
    pd.testing.assert_frame_equal(ddf.compute(), expected)
    via_read_sql = dd.read_sql(query, db, index_col="number", npartitions=2)
    pd.testing.assert_frame_equal(via_read_sql.compute(), expected)
    assert len(dd.read_sql("things", db, index_col="number").compute()) == 200


def test_read_sql_bad_input(db):
    with pytest.raises(ValueError, match="SQLAlchemy Selectable"):
        dd.read_sql_query("select * from things", db, index_col="number")
    with pytest.raises(TypeError, match="con"):
        dd.read_sql_table("things", sa.create_engine(db), index_col="number")
    with pytest.raises(TypeError, match="either 'divisions' or 'npartitions'"):
        dd.read_sql_table("things", db, "number", divisions=[0, 10], npartitions=2)
    with pytest.raises(TypeError, match="numeric or datetime"):
        dd.read_sql_table("things", db, index_col="name", npartitions=2)
    with pytest.raises(KeyError, match="nope"):
        dd.read_sql_table("things", db, index_col="nope")


def test_to_sql_round_trip(tmp_path, frame):
    uri = f"sqlite:///{tmp_path / 'out.db'}"
    ddf = dd.from_pandas(frame.set_index("number"), npartitions=4)
    assert ddf.to_sql("out", uri) is None
    back = pd.read_sql_table("out", sa.create_engine(uri), index_col="number")
    pd.testing.assert_frame_equal(back, frame.set_index("number"))
    with pytest.raises(ValueError, match="already exists"):
        dd.to_sql(ddf, "out", uri)
    dd.to_sql(ddf, "out", uri, if_exists="append", parallel=True)
    assert len(pd.read_sql_table("out", sa.create_engine(uri))) == 400
    lazy = dd.to_sql(ddf, "out", uri, if_exists="replace", compute=False)
    assert len(pd.read_sql_table("out", sa.create_engine(uri))) == 400
    lazy.compute()
    assert len(pd.read_sql_table("out", sa.create_engine(uri))) == 200
    with pytest.raises(ValueError, match="if_exists"):
        dd.to_sql(ddf, "out", uri, if_exists="merge")


def test_hdf_round_trip(tmp_path, frame):
    pytest.importorskip("tables")
    ddf = dd.from_pandas(frame.set_index("number"), npartitions=4)
    one = tmp_path / "one.h5"
    ddf.to_hdf(one, "/data")
    pd.testing.assert_frame_equal(pd.read_hdf(one, "/data"), frame.set_index("number"))
    back = dd.read_hdf(one, "/data", chunksize=60, sorted_index=True)
    assert back.npartitions == 4
    assert back.divisions == (0, 60, 120, 180, 199)
    pd.testing.assert_frame_equal(back.compute(), frame.set_index("number"))
    # one file per partition, then read with a glob
    paths = dd.to_hdf(ddf, tmp_path / "part-*.h5", "/data")
    assert len(paths) == 4
    every = dd.read_hdf(str(tmp_path / "part-*.h5"), "/data", columns=["value"])
    pd.testing.assert_frame_equal(every.compute(), frame.set_index("number")[["value"]])
    # one key per partition in one file, read with a key glob
    dd.to_hdf(ddf, tmp_path / "keys.h5", "/data_*")
    keys = dd.read_hdf(tmp_path / "keys.h5", "/data_*")
    assert keys.npartitions == 4
    pd.testing.assert_frame_equal(keys.compute(), frame.set_index("number"))


def test_hdf_bad_input(tmp_path, frame):
    pytest.importorskip("tables")
    with pytest.raises(OSError, match="not found"):
        dd.read_hdf(str(tmp_path / "missing-*.h5"), "/data")
    fixed = tmp_path / "fixed.h5"
    frame.to_hdf(fixed, key="data", format="fixed")
    with pytest.raises(TypeError, match="fixed"):
        dd.read_hdf(fixed, "/data")
    ddf = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(ValueError, match="table"):
        ddf.to_hdf(tmp_path / "x.h5", "/d", format="fixed")
    with pytest.raises(ValueError, match="asterisk"):
        ddf.to_hdf(tmp_path / "x-*.h5", "/d-*")
    with pytest.raises(ValueError, match="Chunksize"):
        dd.read_hdf(fixed, "/data", chunksize=0)


def test_orc_round_trip(tmp_path, frame):
    pytest.importorskip("pyarrow.orc")
    ddf = dd.from_pandas(frame.set_index("number"), npartitions=3)
    ddf.to_orc(tmp_path / "orc")
    files = sorted(p.name for p in (tmp_path / "orc").iterdir())
    assert files == ["part.0.orc", "part.1.orc", "part.2.orc"]
    back = dd.read_orc(tmp_path / "orc", index="number")
    assert back.npartitions == 3
    # as pandas reads the same files (ORC keeps nanosecond timestamps)
    expected = pd.concat(pd.read_orc(tmp_path / "orc" / f) for f in files).set_index("number")
    pd.testing.assert_frame_equal(back.compute(), expected)
    np.testing.assert_array_equal(expected["value"].to_numpy(), frame["value"].to_numpy())
    cols = dd.read_orc(str(tmp_path / "orc" / "*.orc"), columns=["value"])
    assert list(cols.compute().columns) == ["value"]
    np.testing.assert_array_equal(cols.compute()["value"].to_numpy(), frame["value"].to_numpy())
    with pytest.raises(FileNotFoundError):
        dd.read_orc(tmp_path / "nothing-*.orc")


def test_read_sql_on_processes(db, frame):
    ddf = dd.read_sql_table("things", db, index_col="number", npartitions=2)
    (got,) = oxdask.compute(ddf, scheduler="processes")
    assert len(got) == 200
