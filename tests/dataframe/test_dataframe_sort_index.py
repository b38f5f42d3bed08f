"""``sort_index`` whatever the divisions, against pandas."""

import numpy as np
import pandas as pd
import pytest

import oxdask.dataframe as dd


@pytest.fixture
def pdf():
    rng = np.random.default_rng(0)
    index = pd.Index(rng.permutation(40), name="idx")
    return pd.DataFrame({"x": np.arange(40.0), "s": [f"w{i % 7}" for i in range(40)]}, index=index)


@pytest.mark.parametrize("npartitions", [1, 3, 6])
@pytest.mark.parametrize("ascending", [True, False])
def test_sort_index_unknown_divisions(pdf, npartitions, ascending):
    ddf = dd.from_pandas(pdf, npartitions=npartitions, sort=False)
    assert not ddf.known_divisions
    pd.testing.assert_frame_equal(
        ddf.sort_index(ascending=ascending).compute(), pdf.sort_index(ascending=ascending)
    )
    pd.testing.assert_series_equal(
        ddf.x.sort_index(ascending=ascending).compute(), pdf.x.sort_index(ascending=ascending)
    )


def test_sort_index_known_divisions_and_unnamed_index(pdf):
    plain = pdf.rename_axis(None)
    ddf = dd.from_pandas(plain, npartitions=4)
    assert ddf.known_divisions
    pd.testing.assert_frame_equal(ddf.sort_index().compute(), plain.sort_index())
    pd.testing.assert_frame_equal(
        ddf.sort_index(ascending=False).compute(), plain.sort_index(ascending=False)
    )
    # a value_counts result, then sorted by its labels
    counts = dd.from_pandas(pdf, npartitions=3).s.value_counts().sort_index()
    pd.testing.assert_series_equal(counts.compute(), pdf.s.value_counts().sort_index())


def test_sort_index_with_missing_labels_and_bad_arguments():
    pdf = pd.DataFrame({"x": range(6)}, index=[3.0, np.nan, 1.0, 5.0, np.nan, 0.0])
    ddf = dd.from_pandas(pdf, npartitions=2, sort=False)
    for position in ["last", "first"]:
        pd.testing.assert_frame_equal(
            ddf.sort_index(na_position=position).compute(), pdf.sort_index(na_position=position)
        )
    with pytest.raises(ValueError, match="ascending"):
        ddf.sort_index(ascending=[True])
    with pytest.raises(NotImplementedError, match="columns"):
        ddf.sort_index(axis=1)
