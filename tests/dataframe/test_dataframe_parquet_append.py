"""``to_parquet(append=True)`` against pandas reading the whole dataset."""

import pandas as pd
import pytest

import oxdask.dataframe as dd


@pytest.fixture
def parts():
    a = pd.DataFrame({"x": range(10), "y": [1.0] * 10})
    b = pd.DataFrame({"x": range(10, 25), "y": [2.0] * 15}, index=range(10, 25))
    return a, b


def test_append_adds_numbered_files(tmp_path, parts):
    a, b = parts
    dd.from_pandas(a, npartitions=2).to_parquet(tmp_path)
    dd.from_pandas(b, npartitions=12).to_parquet(tmp_path, append=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 14
    assert "part.13.parquet" in names
    back = dd.read_parquet(tmp_path, calculate_divisions=True)
    pd.testing.assert_frame_equal(back.compute(), pd.concat([a, b]))
    assert back.known_divisions


def test_append_to_nothing_writes(tmp_path, parts):
    a, _ = parts
    dd.from_pandas(a, npartitions=2).to_parquet(tmp_path / "new", append=True)
    pd.testing.assert_frame_equal(dd.read_parquet(tmp_path / "new").compute(), a)


def test_append_checks(tmp_path, parts):
    a, b = parts
    dd.from_pandas(a, npartitions=2).to_parquet(tmp_path)
    with pytest.raises(ValueError, match="overlap with previously written divisions"):
        dd.from_pandas(a, npartitions=2).to_parquet(tmp_path, append=True)
    dd.from_pandas(a, npartitions=2).to_parquet(tmp_path, append=True, ignore_divisions=True)
    assert len(dd.read_parquet(tmp_path).compute()) == 20
    with pytest.raises(ValueError, match="Appended columns not the same"):
        dd.from_pandas(b.assign(z=1), npartitions=2).to_parquet(tmp_path, append=True)
    with pytest.raises(ValueError, match="Appended dtypes differ"):
        dd.from_pandas(b.astype({"y": "int64"}), npartitions=2).to_parquet(tmp_path, append=True)
    with pytest.raises(ValueError, match="both"):
        dd.from_pandas(b, npartitions=2).to_parquet(tmp_path, append=True, overwrite=True)
