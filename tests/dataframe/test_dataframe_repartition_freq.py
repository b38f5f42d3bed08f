"""``repartition(freq=...)`` on a datetime index with known divisions, against pandas and the
divisions Dask gives."""

import pandas as pd
import pytest

import oxdask.dataframe as dd


@pytest.fixture
def pdf():
    index = pd.date_range("2024-01-01 05:00", "2024-01-06 19:00", freq="37min", name="t")
    return pd.DataFrame({"v": range(len(index))}, index=index)


@pytest.mark.parametrize("freq", ["1D", "12h", "2D", "W", "ME", "7h"])
@pytest.mark.parametrize("npartitions", [1, 3])
def test_repartition_freq_matches_dask(pdf, freq, npartitions):
    ours = dd.from_pandas(pdf, npartitions=npartitions).repartition(freq=freq)
    pd.testing.assert_frame_equal(ours.compute(), pdf)
    for i, part in enumerate(ours.partitions):
        values = part.compute().index
        if len(values):
            assert values.min() >= ours.divisions[i]
            assert values.max() <= ours.divisions[i + 1]
    dask_dd = pytest.importorskip("dask.dataframe")
    theirs = dask_dd.from_pandas(pdf, npartitions=npartitions).repartition(freq=freq)
    assert ours.divisions == theirs.divisions


def test_repartition_freq_errors(pdf):
    with pytest.raises(TypeError, match="timeseries"):
        dd.from_pandas(pdf.reset_index(), npartitions=2).repartition(freq="1D")
    with pytest.raises(ValueError, match="exactly one"):
        dd.from_pandas(pdf, npartitions=2).repartition(freq="1D", npartitions=3)
