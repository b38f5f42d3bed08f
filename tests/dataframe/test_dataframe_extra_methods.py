"""Statistics, label methods, sampling, iteration and descriptions of DataFrame and Series,
against pandas (and scipy for skew/kurtosis, which Dask follows), on several partitionings
with empty partitions and missing values."""

import io

import numpy as np
import pandas as pd
import pytest

import oxdask.dataframe as dd


@pytest.fixture
def pdf():
    rng = np.random.default_rng(7)
    n = 120
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n) + 1e6,  # far from zero: merging must keep precision
            "b": rng.exponential(size=n),
            "c": rng.integers(0, 5, n).astype("f8"),
            "s": [f"w{i % 9}" for i in range(n)],
            "k": np.arange(n),
        }
    )
    df.loc[[3, 40, 41], "b"] = np.nan
    return df


def _frames(pdf):
    yield dd.from_pandas(pdf, npartitions=1)
    yield dd.from_pandas(pdf, npartitions=7)
    # empty partitions in the middle
    ddf = dd.from_pandas(pdf, npartitions=5)
    yield ddf[(ddf.k < 20) | (ddf.k >= 60)]


def _expected(pdf, ddf):
    return pdf.loc[ddf.index.compute()]


@pytest.mark.parametrize("bias", [True, False])
def test_skew_and_kurtosis_match_scipy(pdf, bias):
    st = pytest.importorskip("scipy.stats")
    for ddf in _frames(pdf):
        p = _expected(pdf, ddf)[["a", "b", "c", "k"]]
        got = ddf.skew(numeric_only=True, bias=bias, nan_policy="omit").compute()
        want = [st.skew(p[c].dropna(), bias=bias) for c in p]
        np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-7)
        assert list(got.index) == ["a", "b", "c", "k"]
        got = ddf.kurtosis(numeric_only=True, bias=bias, nan_policy="omit").compute()
        want = [st.kurtosis(p[c].dropna(), bias=bias) for c in p]
        np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-7)
        # propagate: a column with a NaN gives NaN; a Series gives a scalar
        assert np.isnan(ddf.skew(numeric_only=True).compute()["b"])
        assert ddf.c.kurt(fisher=False).compute() == pytest.approx(
            st.kurtosis(p["c"], fisher=False)
        )


def test_skew_bad_arguments(pdf):
    ddf = dd.from_pandas(pdf, npartitions=3)
    with pytest.raises(ValueError, match="nan_policy"):
        ddf.a.skew(nan_policy="raise-please")
    with pytest.raises(TypeError):
        ddf.skew()  # a string column without numeric_only, as pandas


def test_corr_and_cov_match_pandas(pdf):
    for ddf in _frames(pdf):
        p = _expected(pdf, ddf)
        pd.testing.assert_frame_equal(
            ddf.corr(numeric_only=True).compute(), p.corr(numeric_only=True), rtol=1e-9
        )
        pd.testing.assert_frame_equal(
            ddf.cov(numeric_only=True).compute(), p.cov(numeric_only=True), rtol=1e-9
        )
        pd.testing.assert_frame_equal(
            ddf.cov(numeric_only=True, ddof=0, min_periods=100).compute(),
            p.cov(numeric_only=True, ddof=0, min_periods=100),
            rtol=1e-9,
        )
        assert ddf.a.corr(ddf.b).compute() == pytest.approx(p.a.corr(p.b), rel=1e-9)
        assert ddf.b.cov(ddf.c).compute() == pytest.approx(p.b.cov(p.c), rel=1e-9)
    ddf = dd.from_pandas(pdf, npartitions=4)
    assert ddf.b.autocorr(3).compute() == pytest.approx(pdf.b.autocorr(3), rel=1e-9)
    with pytest.raises(NotImplementedError, match="Pearson"):
        ddf.corr(method="spearman", numeric_only=True)
    with pytest.raises(ValueError, match="could not convert string"):
        ddf.corr()  # strings, as pandas


def test_corr_matches_dask(pdf):
    dask_dd = pytest.importorskip("dask.dataframe")
    theirs = dask_dd.from_pandas(pdf, npartitions=4)
    ours = dd.from_pandas(pdf, npartitions=4)
    pd.testing.assert_frame_equal(
        ours.corr(numeric_only=True).compute(), theirs.corr(numeric_only=True).compute()
    )
    np.testing.assert_allclose(
        ours[["a", "c"]].skew().compute().to_numpy(),
        theirs[["a", "c"]].skew().compute().to_numpy(),
        rtol=1e-7,
    )
    assert ours.a.kurtosis().compute() == pytest.approx(theirs.a.kurtosis().compute())


def test_nunique_approx(pdf):
    big = pd.DataFrame({"x": np.arange(50_000) % 20_000, "y": 1})
    ddf = dd.from_pandas(big, npartitions=6)
    assert abs(ddf.nunique_approx().compute() - 20_000) < 20_000 * 0.02
    assert dd.from_pandas(pdf, npartitions=3).c.nunique_approx().compute() == 5


@pytest.mark.parametrize(
    ("values", "npartitions"),
    [([1, 2, 2, 5, 7, 9], 3), ([1, 2, 3, 2, 5], 2), ([5, 4, 4, 1], 2), ([1.0, np.nan, 3.0], 2)],
)
def test_is_monotonic(values, npartitions):
    ps = pd.Series(values)
    s = dd.from_pandas(ps, npartitions=npartitions)
    assert s.is_monotonic_increasing.compute() == ps.is_monotonic_increasing
    assert s.is_monotonic_decreasing.compute() == ps.is_monotonic_decreasing
    # the same values with an empty partition in the middle
    middle = dd.concat(
        [
            dd.from_pandas(ps.iloc[:2], npartitions=1),
            dd.from_pandas(ps.iloc[:0], npartitions=1),
            dd.from_pandas(ps.iloc[2:], npartitions=1),
        ]
    )
    assert middle.npartitions == 3
    assert middle.is_monotonic_increasing.compute() == ps.is_monotonic_increasing


def test_labels_and_shape(pdf):
    ddf = dd.from_pandas(pdf, npartitions=4)
    pd.testing.assert_frame_equal(ddf.add_prefix("p_").compute(), pdf.add_prefix("p_"))
    pd.testing.assert_frame_equal(ddf.add_suffix("_q").compute(), pdf.add_suffix("_q"))
    pd.testing.assert_series_equal(ddf.a.add_prefix("r").compute(), pdf.a.add_prefix("r"))
    assert ddf.a.add_prefix("r").known_divisions is False
    pd.testing.assert_frame_equal(ddf.rename_axis("idx").compute(), pdf.rename_axis("idx"))
    pd.testing.assert_frame_equal(
        ddf.rename_axis(columns="cols").compute(), pdf.rename_axis(columns="cols")
    )
    pd.testing.assert_frame_equal(ddf.iloc[:, [0, 2]].compute(), pdf.iloc[:, [0, 2]])
    pd.testing.assert_series_equal(ddf.iloc[:, 1].compute(), pdf.iloc[:, 1])
    with pytest.raises(NotImplementedError, match="columns"):
        ddf.iloc[3]
    with pytest.raises(NotImplementedError, match="rows"):
        ddf.iloc[1:3, 0]
    assert isinstance(ddf[["a"]].squeeze(), dd.Series)
    assert ddf.squeeze() is ddf
    column = ddf.a
    assert column.squeeze() is column
    assert len(ddf.axes) == 2
    pd.testing.assert_index_equal(ddf.axes[1], pdf.columns)
    assert ddf.a.dtypes == pdf.a.dtypes
    pd.testing.assert_series_equal(ddf.a.divide(2).compute(), pdf.a / 2)
    with pytest.raises(NotImplementedError, match="expensive"):
        _ = ddf.empty
    with pytest.raises(NotImplementedError, match="nbytes"):
        _ = ddf.nbytes
    assert ddf.a.nbytes.compute() == pdf.a.nbytes


def test_combine_align_dot_case_when(pdf):
    ddf = dd.from_pandas(pdf[["a", "b", "c"]], npartitions=4)
    p = pdf[["a", "b", "c"]]
    pd.testing.assert_frame_equal(
        ddf.combine(ddf * 2, np.minimum).compute(), p.combine(p * 2, np.minimum)
    )
    other = dd.from_pandas(p.iloc[10:50][["a"]], npartitions=2)
    left, right = ddf.align(other)
    want_l, want_r = p.align(p.iloc[10:50][["a"]])
    pd.testing.assert_frame_equal(left.compute(), want_l)
    pd.testing.assert_frame_equal(right.compute(), want_r)
    weights = pd.Series([1.0, 2.0, 3.0], index=["a", "b", "c"])
    pd.testing.assert_series_equal(ddf.fillna(0).dot(weights).compute(), p.fillna(0).dot(weights))
    assert ddf.a.dot(ddf.c).compute() == pytest.approx(p.a.dot(p.c))
    with pytest.raises(TypeError, match="dot"):
        ddf.dot([1, 2, 3])
    s = ddf.c
    got = s.case_when([(s > 3, -1.0), (ddf.b > 1, ddf.a)]).compute()
    pd.testing.assert_series_equal(got, p.c.case_when([(p.c > 3, -1.0), (p.b > 1, p.a)]))
    with pytest.raises(TypeError, match="caselist"):
        s.case_when([s > 3])


def test_random_split_and_sample(pdf):
    ddf = dd.from_pandas(pdf, npartitions=5)
    parts = ddf.random_split([0.2, 0.3, 0.5], random_state=11)
    computed = [p.compute() for p in parts]
    assert sum(len(c) for c in computed) == len(pdf)
    together = pd.concat(computed).sort_index()
    pd.testing.assert_frame_equal(together, pdf)
    # deterministic with a seed
    again = ddf.random_split([0.2, 0.3, 0.5], random_state=11)
    pd.testing.assert_frame_equal(again[1].compute(), computed[1])
    with pytest.raises(ValueError, match="sum to 1"):
        ddf.random_split([0.5, 0.6])
    sample = ddf.sample(frac=0.5, random_state=3).compute()
    assert 30 < len(sample) < 90
    assert sample.index.isin(pdf.index).all()
    pd.testing.assert_frame_equal(sample, pdf.loc[sample.index])
    with pytest.raises(ValueError, match="frac"):
        ddf.sample(n=3)
    doubled = ddf.sample(frac=2.0, replace=True, random_state=1).compute()
    assert len(doubled) == 2 * len(pdf)


def test_iteration_pop_records(pdf):
    ddf = dd.from_pandas(pdf, npartitions=3)
    assert [c for c, _ in ddf.items()] == list(pdf.columns)
    rows = list(ddf.iterrows())
    assert len(rows) == len(pdf)
    assert rows[5][1]["s"] == pdf.iloc[5]["s"]
    tuples = list(ddf.itertuples())  # NaN != NaN in tuples: compare as frames
    pd.testing.assert_frame_equal(pd.DataFrame(tuples), pd.DataFrame(list(pdf.itertuples())))
    popped = ddf.pop("s")
    pd.testing.assert_series_equal(popped.compute(), pdf.s)
    assert "s" not in ddf.columns
    records = ddf.to_records().compute()
    pd.testing.assert_frame_equal(
        pd.DataFrame(records), pd.DataFrame(pdf.drop(columns="s").to_records(index=False))
    )

    assert dd.to_records(ddf).compute().shape == (len(pdf),)
    assert ddf.to_records(lengths=True).chunks[0] == (40, 40, 40)


def test_descriptions(pdf):
    ddf = dd.from_pandas(pdf, npartitions=3)
    out = io.StringIO()
    ddf.info(buf=out)
    assert "Columns: 5 entries, a to k" in out.getvalue()
    out = io.StringIO()
    ddf.info(buf=out, verbose=True, memory_usage=True)
    text = out.getvalue()
    assert "117 non-null" in text  # b has three NaNs
    assert "120 entries" in text
    assert "memory usage" in text
    assert "a" in ddf.to_string()
    assert "<table" in ddf.to_html()
    assert ddf.compute_current_divisions() == (0, 40, 80, 119)
    assert ddf.compute_current_divisions("k") == (0, 40, 80, 119)
    with pytest.warns(UserWarning, match="overlapping"):  # every partition holds 0 to 4
        ddf.compute_current_divisions("c")
    with pytest.raises(ValueError, match="not sorted"):
        ddf.assign(r=-ddf.k).compute_current_divisions("r")  # descending


def test_module_level_names(pdf):
    ddf = dd.from_pandas(pdf, npartitions=3)
    (total,) = dd.compute(ddf.a.sum())
    assert total == pytest.approx(pdf.a.sum())
    pd.testing.assert_frame_equal(dd.isna(ddf).compute(), pd.isna(pdf))
    assert dd.isna(None) is True
    td = dd.from_pandas(pd.Series(["1 day", "2 hours", None]), npartitions=2)
    pd.testing.assert_series_equal(
        dd.to_timedelta(td).compute(), pd.to_timedelta(pd.Series(["1 day", "2 hours", None]))
    )
    assert ddf.to_backend("pandas") is ddf
    with pytest.raises(ValueError, match="backend"):
        ddf.to_backend("cudf")
    built = dd.DataFrame.from_dict({"x": [1, 2, 3]}, npartitions=2)
    pd.testing.assert_frame_equal(built.compute(), pd.DataFrame({"x": [1, 2, 3]}))


def test_index_comparison_is_an_array_as_in_dask():
    """pandas compares an Index into a NumPy array: the partitions are arrays, so the result
    is an oxdask Array (it was a Series of object arrays)."""
    import oxdask.array as da

    ddf = dd.from_pandas(pd.DataFrame({"a": range(10)}), npartitions=3)
    mask = ddf.index < 5
    assert isinstance(mask, da.Array)
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask.compute(), np.arange(10) < 5)
    pd.testing.assert_index_equal((ddf.index + 1).compute(), pd.RangeIndex(1, 11))


def test_compute_current_divisions_as_dask():
    import warnings

    df = pd.DataFrame({"x": [1, 2, 3, 4]}, index=[1, 3, 10, 20])
    a = dd.from_pandas(df, npartitions=2, sort=False).clear_divisions()
    b = a.compute_current_divisions(set_divisions=True)
    assert b.known_divisions
    assert b.divisions == (1, 10, 20)
    pd.testing.assert_frame_equal(b.compute(), df)
    overlapping = pd.DataFrame({"key": [1, 2, 3, 4, 4, 5, 6, 7]})
    with pytest.warns(UserWarning, match="Partitions have overlapping values"):
        assert dd.from_pandas(overlapping, npartitions=2).compute_current_divisions("key") == (
            1,
            4,
            7,
        )
    # an empty partition takes the next one's minimum
    frame = dd.from_pandas(pd.DataFrame({"a": range(12)}), npartitions=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert frame[frame.a >= 5].compute_current_divisions("a") == (5, 5, 8, 11)


def test_groupby_by_an_index_derived_from_the_index():
    pdf = pd.DataFrame(
        {"v": np.arange(40.0), "w": np.arange(40) % 3},
        index=pd.date_range("2000", periods=40, freq="9D", name="t"),
    )
    ddf = dd.from_pandas(pdf, npartitions=4)
    pd.testing.assert_index_equal(ddf.index.month.compute(), pdf.index.month)
    for by in (ddf.index.month, ddf.index.dt.month):
        got = ddf.groupby(by).v.sum().compute().sort_index()
        pd.testing.assert_series_equal(got, pdf.groupby(pdf.index.month).v.sum())
    got = ddf.groupby(ddf.index.year).w.nunique().compute().sort_index()
    pd.testing.assert_series_equal(got, pdf.groupby(pdf.index.year).w.nunique())
    with pytest.raises(AttributeError, match="nope"):
        _ = ddf.index.nope
