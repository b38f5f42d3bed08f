"""DataFrame.to_bag / Bag.to_dataframe against pandas."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas")

import oxdask.dataframe as dd  # noqa: E402

PDF = pd.DataFrame({"x": [1, 2, 3, 4, 5], "y": list("abcde")}, index=[10, 20, 30, 40, 50])


def test_to_bag_tuples_dicts_series():
    df = dd.from_pandas(PDF, npartitions=2)
    assert df.to_bag().compute(scheduler="sync") == list(PDF.itertuples(index=False, name=None))
    assert df.to_bag(index=True).compute(scheduler="sync") == list(
        PDF.itertuples(index=True, name=None)
    )
    assert df.to_bag(format="dict").compute(scheduler="sync") == PDF.to_dict(orient="records")
    assert df.x.to_bag().compute() == PDF.x.tolist()
    assert df.x.to_bag(index=True).compute(scheduler="sync") == list(PDF.x.items())


def test_bag_to_dataframe_roundtrip():
    df = dd.from_pandas(PDF, npartitions=2)
    back = df.to_bag(format="dict").to_dataframe()
    pd.testing.assert_frame_equal(
        back.compute(scheduler="sync").reset_index(drop=True), PDF.reset_index(drop=True)
    )
    meta = pd.DataFrame({"x": pd.Series([], dtype="float64"), "y": pd.Series([], dtype=object)})
    typed = df.to_bag().to_dataframe(meta=meta).compute(scheduler="sync")
    assert typed["x"].dtype == "float64"
    assert typed["x"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
