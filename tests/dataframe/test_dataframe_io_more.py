"""Reading files in partition order (part.10 after part.9), default file names, and Dask's
exception types for arguments it refuses (header lists, rolling on=)."""

import pandas as pd
import pytest

import oxdask.bag as db
import oxdask.dataframe as dd


@pytest.fixture
def pdf():
    return pd.DataFrame({"x": range(130), "y": [f"r{i}" for i in range(130)]})


def test_parquet_directory_of_many_parts(tmp_path, pdf):
    dd.from_pandas(pdf, npartitions=13).to_parquet(tmp_path / "pq")
    back = dd.read_parquet(tmp_path / "pq")
    pd.testing.assert_frame_equal(back.compute(), pdf)


def test_csv_and_json_globs_of_many_parts(tmp_path, pdf):
    ddf = dd.from_pandas(pdf, npartitions=13)
    ddf.to_csv(tmp_path / "part-*.csv", index=False)
    back = dd.read_csv(tmp_path / "part-*.csv").compute()
    pd.testing.assert_frame_equal(back.reset_index(drop=True), pdf)
    ddf.to_json(tmp_path / "js")
    again = dd.read_json(str(tmp_path / "js" / "*.part")).compute()
    pd.testing.assert_frame_equal(again.reset_index(drop=True)[["x"]], pdf[["x"]])


def test_text_files_of_many_parts(tmp_path):
    lines = [f"line {i}" for i in range(130)]
    db.from_sequence(lines, npartitions=13).to_textfiles(str(tmp_path / "*.txt"))
    back = db.read_text(str(tmp_path / "*.txt")).map(str.strip).compute(scheduler="sync")
    assert back == lines


def test_default_names_are_padded_as_dasks(tmp_path, pdf):
    from oxdask.utils import build_name_function

    assert [build_name_function(12)(i) for i in (0, 3, 12)] == ["00", "03", "12"]
    assert build_name_function(9)(7) == "7"
    dd.from_pandas(pdf, npartitions=13).to_csv(tmp_path / "out-*.csv", index=False)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[:2] == ["out-00.csv", "out-01.csv"]
    assert names[-1] == "out-12.csv"


def test_header_list_is_dasks_type_error(tmp_path):
    (tmp_path / "a.csv").write_text("a,b\nc,d\n1,2\n")
    with pytest.raises(TypeError, match=r"List of header rows not supported for dd\.read_csv"):
        dd.read_csv(tmp_path / "a.csv", header=[0, 1])


def test_rolling_on_is_dasks_type_error():
    ddf = dd.from_pandas(pd.DataFrame({"t": range(4), "v": range(4)}), npartitions=2)
    with pytest.raises(TypeError, match="'on'"):
        ddf.rolling(2, on="t")
