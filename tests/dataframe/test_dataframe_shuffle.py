"""Shuffle-based operations and re-partitioning: shuffle, set_index, sort_values,
drop_duplicates, merge/join, concat, repartition, loc, reset_index."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import LAYOUTS, assert_eq, from_pieces, layout

import oxdask.dataframe as dd
from oxdask.local import last_run_stats


@pytest.fixture
def df():
    rng = np.random.default_rng(21)
    n = 90
    z = rng.normal(size=n)
    z[::10] = np.nan
    return pd.DataFrame(
        {
            "a": rng.integers(0, 30, n),
            "b": rng.choice(["u", "v", "w"], n),
            "z": z,
        },
        index=pd.Index(np.arange(n) * 2, name="idx"),
    )


@pytest.fixture(params=LAYOUTS)
def pair(request, df):
    return layout(df, request.param), df


def test_shuffle_groups_equal_keys(pair):
    d, df = pair
    s = d.shuffle("a", npartitions=5)
    assert s.npartitions == 5
    parts = [p.compute() for p in s.to_delayed()]
    owners = {}
    for k, p in enumerate(parts):
        for v in p.a.unique():
            assert owners.setdefault(v, k) == k
    assert_eq(s, df, sort=True)
    assert_eq(d.shuffle(d.b), df, sort=True)


def test_shuffle_splits_each_partition_once(df):
    calls = []

    class Counting:
        def __call__(self, part):
            calls.append(1)
            return np.zeros(len(part), dtype=int)

    from oxdask.dataframe.shuffle import rearrange

    d = dd.from_pandas(df, npartitions=4)
    out = rearrange(d, Counting(), 6)
    assert_eq(out, df, sort=True)
    assert len(calls) == 4  # one split per input partition, whatever the output count


@pytest.mark.parametrize("column", ["a", "z", "b"])
def test_set_index(pair, column):
    d, df = pair
    out = d.set_index(column)
    assert out.known_divisions
    expected = df.set_index(column).sort_index(kind="stable")
    if column == "z":  # NaN keys sort last
        assert_eq(out, expected, sort=True)
    else:
        assert_eq(out, expected, sort=True)
        got = out.compute()
        assert got.index.is_monotonic_increasing


def test_set_index_series_sorted_and_divisions(pair):
    d, df = pair
    assert_eq(d.set_index(d.a + 1000), df.set_index(df.a + 1000).sort_index(), sort=True)
    ordered = dd.from_pandas(df.reset_index(), npartitions=3, sort=False)
    out = ordered.set_index("idx", sorted=True)
    assert out.divisions == (0, 60, 120, 178)
    assert_eq(out, df)
    out = d.set_index("a", divisions=[0, 10, 20, 29])
    assert out.divisions == (0, 10, 20, 29)
    assert_eq(out, df.set_index("a").sort_index(), sort=True)
    with pytest.raises(KeyError, match="nope"):
        d.set_index("nope")


def test_set_index_overlapping_sorted_is_an_error(df):
    d = dd.from_pandas(df, npartitions=3, sort=False)
    with pytest.raises(ValueError, match="overlapping"):
        d.set_index("a", sorted=True)


@pytest.mark.parametrize("ascending", [True, False])
def test_sort_values(pair, ascending):
    d, df = pair
    out = d.sort_values("z", ascending=ascending).compute()
    exp = df.sort_values("z", ascending=ascending, kind="stable")
    assert_eq(out.z.reset_index(drop=True), exp.z.reset_index(drop=True))
    out = d.sort_values(["a", "z"], ascending=ascending).compute()
    exp = df.sort_values(["a", "z"], ascending=ascending)
    assert_eq(out[["a", "z"]].reset_index(drop=True), exp[["a", "z"]].reset_index(drop=True))
    assert_eq(
        d.a.sort_values().compute().reset_index(drop=True),
        df.a.sort_values().reset_index(drop=True),
    )
    with pytest.raises(KeyError, match="nope"):
        d.sort_values("nope")


def test_drop_duplicates(pair):
    d, df = pair
    assert_eq(d.drop_duplicates(subset=["a"]), df.drop_duplicates(subset=["a"]), sort=True)
    assert_eq(
        d.drop_duplicates(subset=["b"], keep="last"),
        df.drop_duplicates(subset=["b"], keep="last"),
        sort=True,
    )
    assert_eq(
        d[["a", "b"]].drop_duplicates(split_out=1), df[["a", "b"]].drop_duplicates(), sort=True
    )
    assert_eq(d.b.drop_duplicates(), df.b.drop_duplicates(), sort=True)
    with pytest.raises(KeyError, match="nope"):
        d.drop_duplicates(subset=["nope"])


@pytest.fixture
def right():
    rng = np.random.default_rng(8)
    return pd.DataFrame(
        {"a": np.arange(0, 40, 2), "r": rng.normal(size=20), "b": rng.choice(["u", "w"], 20)}
    )


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
def test_merge_on_columns(pair, right, how):
    d, df = pair
    for r_parts in (1, 3):
        dr = dd.from_pandas(right, npartitions=r_parts)
        got = d.merge(dr, on="a", how=how)
        exp = df.merge(right, on="a", how=how)
        assert_eq(got, exp, sort=True, check_index=False)
        got = dd.merge(d, dr, left_on=["a", "b"], right_on=["a", "b"], how=how)
        assert_eq(got, df.merge(right, on=["a", "b"], how=how), sort=True, check_index=False)


def test_merge_key_dtypes_int_and_float(right):
    left = pd.DataFrame({"a": np.arange(30, dtype="float64"), "l": np.arange(30)})
    d = dd.from_pandas(left, npartitions=3)
    r = dd.from_pandas(right, npartitions=4)
    assert_eq(d.merge(r, on="a"), left.merge(right, on="a"), sort=True, check_index=False)


def test_merge_broadcast_plan_keeps_big_side_partitions(pair, right):
    d, df = pair
    r = dd.from_pandas(right, npartitions=1)
    out = d.merge(r, on="a", how="left")
    assert out.npartitions == d.npartitions
    assert_eq(out, df.merge(right, on="a", how="left"), sort=True, check_index=False)


def test_merge_on_index(df, right):
    a = dd.from_pandas(df, npartitions=3)
    rr = right.set_index(right.a * 4).rename_axis("idx")
    b = dd.from_pandas(rr[["r"]], npartitions=2)
    for how in ("inner", "left", "outer"):
        got = a.merge(b, left_index=True, right_index=True, how=how)
        assert got.known_divisions
        assert_eq(got, df.merge(rr[["r"]], left_index=True, right_index=True, how=how))
    ua = dd.from_pandas(df, npartitions=3, sort=False)
    got = ua.merge(b.clear_divisions(), left_index=True, right_index=True)
    assert_eq(got, df.merge(rr[["r"]], left_index=True, right_index=True), sort=True)
    got = a.merge(dd.from_pandas(right, npartitions=2), left_index=True, right_on="a")
    assert_eq(got, df.merge(right, left_index=True, right_on="a"), sort=True, check_index=False)


def test_join(df, right):
    a = dd.from_pandas(df, npartitions=3)
    rr = right.set_index(right.a * 2).rename_axis("idx")[["r"]]
    assert_eq(a.join(dd.from_pandas(rr, npartitions=2)), df.join(rr))
    assert_eq(a.join(rr, how="inner"), df.join(rr, how="inner"))
    assert_eq(
        a.clear_divisions().join(dd.from_pandas(rr, npartitions=2).clear_divisions()),
        df.join(rr),
        sort=True,
    )
    keyed = right.set_index("a")[["r"]]
    assert_eq(
        a.join(dd.from_pandas(keyed, npartitions=2), on="a"), df.join(keyed, on="a"), sort=True
    )


def test_merge_errors(df, right):
    d = dd.from_pandas(df, npartitions=2)
    with pytest.raises(KeyError, match="nope"):
        d.merge(right, on="nope")
    with pytest.raises(ValueError, match="how"):
        d.merge(right, on="a", how="sideways")


def test_concat_rows(df):
    a = dd.from_pandas(df.iloc[:40], npartitions=2)
    b = dd.from_pandas(df.iloc[40:], npartitions=3)
    out = dd.concat([a, b])
    assert out.known_divisions
    assert out.npartitions == 5
    assert_eq(out, df)
    both = dd.concat([a, a])
    assert not both.known_divisions
    assert_eq(both, pd.concat([df.iloc[:40], df.iloc[:40]]))
    inter = dd.concat([b, a], interleave_partitions=True)
    assert inter.known_divisions
    assert_eq(inter, pd.concat([df.iloc[40:], df.iloc[:40]]).sort_index(), sort=True)
    extra = dd.from_pandas(df.iloc[:5].assign(q=1.5), npartitions=1)
    assert_eq(dd.concat([a, extra]), pd.concat([df.iloc[:40], df.iloc[:5].assign(q=1.5)]))
    assert_eq(
        dd.concat([a, extra], join="inner"),
        pd.concat([df.iloc[:40], df.iloc[:5].assign(q=1.5)], join="inner"),
    )
    assert_eq(dd.concat([a.a, b.a]), df.a)


def test_concat_columns(df):
    a = dd.from_pandas(df[["a"]], npartitions=2)
    b = dd.from_pandas(df[["z"]], npartitions=3)
    assert_eq(dd.concat([a, b], axis=1), pd.concat([df[["a"]], df[["z"]]], axis=1))


def test_repartition(pair):
    d, df = pair
    for n in (1, 2, 7):
        out = d.repartition(npartitions=n)
        assert out.npartitions == n
        assert_eq(out, df)
    if d.known_divisions:
        out = d.repartition(divisions=[0, 50, 100, 178])
        assert out.divisions == (0, 50, 100, 178)
        assert_eq(out, df)
        with pytest.raises(ValueError, match="left side"):
            d.repartition(divisions=[5, 178])
    out = d.repartition(partition_size="2kB")
    assert out.npartitions >= 2
    assert_eq(out, df)


def test_loc(df):
    d = dd.from_pandas(df, npartitions=4)
    assert_eq(d.loc[20:61], df.loc[20:61])
    assert_eq(d.loc[21:61], df.loc[21:61])
    assert d.loc[20:61].npartitions < d.npartitions
    assert_eq(d.loc[40], df.loc[[40]])
    assert_eq(d.loc[:30, ["a", "z"]], df.loc[:30, ["a", "z"]])
    assert_eq(d.loc[d.a > 10], df.loc[df.a > 10])
    assert_eq(d.loc[[8, 100, 150]], df.loc[[8, 100, 150]])
    assert_eq(d.z.loc[100:], df.z.loc[100:])
    assert_eq(d[30:50], df.loc[30:50])
    u = dd.from_pandas(df, npartitions=4, sort=False)
    assert_eq(u.loc[20:61], df.loc[20:61])
    assert_eq(d.loc[1000:2000], df.loc[1000:2000])
    assert len(d.loc[1000:2000]) == 0


def test_loc_reads_only_needed_partitions(df):
    d = dd.from_pandas(df, npartitions=6)
    d.loc[100:110].compute(scheduler="sync")
    assert last_run_stats()["tasks"] <= 2


def test_reset_index(pair):
    d, df = pair
    out = d.reset_index()
    assert not out.known_divisions
    assert_eq(out, df.reset_index(), check_index=False)
    assert_eq(d.reset_index(drop=True), df.reset_index(drop=True), check_index=False)


def test_empty_partitions_through_shuffles(df):
    d = from_pieces([df.iloc[:0], df.iloc[:30], df.iloc[30:30], df.iloc[30:], df.iloc[:0]])
    assert_eq(d.set_index("a"), df.set_index("a").sort_index(), sort=True)
    assert_eq(d.merge(d[["a"]].drop_duplicates(), on="a"), df, sort=True, check_index=False)


def test_partitioning_index_is_consistent_across_dtypes():
    from oxdask.dataframe.shuffle import partitioning_index

    ints = pd.DataFrame({"k": np.arange(50)})
    floats = pd.DataFrame({"k": np.arange(50, dtype="float64")})
    np.testing.assert_array_equal(
        partitioning_index(ints, 7, cast=[np.float64]), partitioning_index(floats, 7)
    )
    zeros = pd.DataFrame({"k": [0.0, -0.0, np.nan, float("nan")]})
    dest = partitioning_index(zeros, 5)
    assert dest[0] == dest[1]
    assert dest[2] == dest[3]
    words = ["a", "bb", "a", None, "ccc"]
    s1 = pd.DataFrame({"k": pd.Series(words, dtype="str")})
    s2 = pd.DataFrame({"k": pd.Series(words, dtype=object)})
    s3 = pd.DataFrame({"k": pd.Series(words, dtype="category")})
    np.testing.assert_array_equal(partitioning_index(s1, 4), partitioning_index(s2, 4))
    np.testing.assert_array_equal(partitioning_index(s1, 4), partitioning_index(s3, 4))
    spread = np.bincount(partitioning_index(ints, 7), minlength=7)
    assert spread.min() > 0


def test_merge_string_and_categorical_keys():
    left = pd.DataFrame({"k": list("abcdefgh") * 3, "v": range(24)})
    right = pd.DataFrame({"k": pd.Series(list("aceg"), dtype="category"), "w": range(4)})
    a = dd.from_pandas(left, npartitions=3)
    b = dd.from_pandas(right, npartitions=2)
    expected = left.merge(right, on="k")
    assert_eq(a.merge(b, on="k"), expected, sort=True, check_index=False, check_dtype=False)


def test_loc_with_date_strings():
    idx = pd.date_range("2024-01-01", periods=120, freq="17h")
    df = pd.DataFrame({"v": np.arange(120)}, index=idx)
    d = dd.from_pandas(df, npartitions=6)
    assert_eq(d.loc["2024-01-10":"2024-02"], df.loc["2024-01-10":"2024-02"])
    assert_eq(d.loc["2024-02-03"], df.loc["2024-02-03":"2024-02-03"])
    assert d.loc["2024-01-10":"2024-01-12"].npartitions < d.npartitions


def test_set_index_sorted_moves_boundary_ties_and_skips_empty():
    df = pd.DataFrame({"k": [1, 2, 2, 2, 3, 3, 5, 6], "v": range(8)})
    pieces = [df.iloc[:2], df.iloc[2:2], df.iloc[2:5], df.iloc[5:]]
    d = from_pieces(pieces)
    out = d.set_index("k", sorted=True)
    assert out.known_divisions
    assert_eq(out, df.set_index("k"))
    parts = [p.compute() for p in out.to_delayed()]
    assert all(len(set(p.index) & set(q.index)) == 0 for p, q in itertools.pairwise(parts))


@pytest.mark.parametrize("direction", ["backward", "forward", "nearest"])
@pytest.mark.parametrize("by", [None, "g"])
def test_merge_asof(direction, by):
    rng = np.random.default_rng(2)
    left = pd.DataFrame(
        {
            "t": np.sort(rng.integers(0, 1000, 80)),
            "g": rng.choice(["a", "b"], 80),
            "l": np.arange(80),
        }
    )
    right = pd.DataFrame(
        {
            "t": np.sort(rng.integers(0, 1000, 30)),
            "g": rng.choice(["a", "b"], 30),
            "r": np.arange(30.0),
        }
    )
    a = dd.from_pandas(left, npartitions=4, sort=False)
    b = dd.from_pandas(right, npartitions=3, sort=False)
    got = dd.merge_asof(a, b, on="t", by=by, direction=direction)
    expected = pd.merge_asof(left, right, on="t", by=by, direction=direction)
    assert_eq(got, expected, check_index=False)
    li, ri = left.set_index("t"), right.set_index("t")
    got = dd.merge_asof(
        dd.from_pandas(li, npartitions=5),
        dd.from_pandas(ri, npartitions=2),
        left_index=True,
        right_index=True,
        by=by,
        direction=direction,
        tolerance=50,
    )
    expected = pd.merge_asof(
        li, ri, left_index=True, right_index=True, by=by, direction=direction, tolerance=50
    )
    assert_eq(got, expected)
