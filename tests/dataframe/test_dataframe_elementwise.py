"""Partition-wise operations: arithmetic, filtering, columns, missing values, accessors,
map_partitions and map_overlap."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import LAYOUTS, assert_eq, layout

import oxdask
import oxdask.dataframe as dd


@pytest.fixture
def df():
    rng = np.random.default_rng(7)
    n = 40
    z = rng.normal(size=n)
    z[::7] = np.nan
    return pd.DataFrame(
        {
            "x": rng.integers(-5, 10, n),
            "y": rng.choice(["apple", "Banana", "cherry", "date"], n),
            "z": z,
            "ts": pd.date_range("2024-03-01", periods=n, freq="7h"),
        }
    )


@pytest.fixture(params=LAYOUTS)
def pair(request, df):
    return layout(df, request.param), df


@pytest.mark.parametrize(
    "op",
    [
        operator.add,
        operator.sub,
        operator.mul,
        operator.truediv,
        operator.floordiv,
        operator.mod,
        operator.pow,
        operator.lt,
        operator.ge,
        operator.eq,
        operator.ne,
    ],
)
def test_binary_operators(pair, op):
    d, df = pair
    with np.errstate(all="ignore"):
        assert_eq(op(d.x, 3), op(df.x, 3))
        assert_eq(op(3, d.z), op(3, df.z))
        assert_eq(op(d.x, d.z), op(df.x, df.z))
        assert_eq(op(d[["x", "z"]], 2), op(df[["x", "z"]], 2))


def test_unary_and_logical(pair):
    d, df = pair
    assert_eq(-d.x, -df.x)
    assert_eq(abs(d.x), abs(df.x))
    assert_eq(~(d.x > 2), ~(df.x > 2))
    assert_eq((d.x > 2) & (d.z < 0), (df.x > 2) & (df.z < 0))
    assert_eq((d.x > 2) | (d.z < 0), (df.x > 2) | (df.z < 0))
    assert_eq(d.x.add(d.z, fill_value=0), df.x.add(df.z, fill_value=0))
    assert_eq(d[["x", "z"]].rsub(1), df[["x", "z"]].rsub(1))


def test_scalar_arithmetic_with_reductions(pair):
    d, df = pair
    assert_eq(d.z - d.z.mean(), df.z - df.z.mean())
    assert_eq((d.x.sum() + 1) * 2, (df.x.sum() + 1) * 2)
    assert_eq(d.x / d.x.max(), df.x / df.x.max())


def test_filter_and_select(pair):
    d, df = pair
    assert_eq(d[d.x > 0], df[df.x > 0])
    assert_eq(
        d[(d.x > 0) & (d.y == "apple")][["y", "z"]], df[(df.x > 0) & (df.y == "apple")][["y", "z"]]
    )
    assert_eq(d.x[d.z > 0], df.x[df.z > 0])
    assert_eq(d.query("x > 2 and z < 0.5"), df.query("x > 2 and z < 0.5"))
    with pytest.raises(KeyError, match="boolean Series"):
        d[d.x]


def test_assign_and_setitem(pair):
    d, df = pair
    assert_eq(d.assign(w=d.x * 2, v=1.5), df.assign(w=df.x * 2, v=1.5))
    assert_eq(d.assign(w=lambda f: f.x + f.z), df.assign(w=lambda f: f.x + f.z))
    d2, df2 = d.copy(), df.copy()
    d2["w"] = d2.x + 1
    df2["w"] = df2.x + 1
    d2["x"] = 0
    df2["x"] = 0
    assert_eq(d2, df2)
    d2[["a", "b"]] = 5
    df2[["a", "b"]] = 5
    assert_eq(d2, df2)
    del d2["a"]
    assert_eq(d2, df2.drop(columns="a"))
    assert_eq(d.eval("x + z"), df.eval("x + z"))


def test_assign_aligns_known_divisions(df):
    a = dd.from_pandas(df, npartitions=3)
    b = dd.from_pandas(df.z * 10, npartitions=5)
    assert_eq(a.assign(w=b), df.assign(w=df.z * 10))
    with pytest.raises(ValueError, match="divisions are known"):
        dd.from_pandas(df, npartitions=3, sort=False).assign(
            w=dd.from_pandas(df.z, npartitions=2, sort=False)
        )


def test_missing_values(pair):
    d, df = pair
    assert_eq(d.isna(), df.isna())
    assert_eq(d.notnull(), df.notnull())
    assert_eq(d.z.fillna(0), df.z.fillna(0))
    assert_eq(d.fillna({"z": -1}), df.fillna({"z": -1}))
    assert_eq(d.z.fillna(d.x), df.z.fillna(df.x))
    assert_eq(d.dropna(), df.dropna())
    assert_eq(d.dropna(subset=["z"]), df.dropna(subset=["z"]))
    assert_eq(d.z.ffill(), df.z.ffill())
    assert_eq(d.z.bfill(), df.z.bfill())
    with pytest.raises(KeyError, match="nope"):
        d.dropna(subset=["nope"])


def test_where_mask_clip(pair):
    d, df = pair
    assert_eq(d.z.where(d.x > 0), df.z.where(df.x > 0))
    assert_eq(d.z.where(d.x > 0, -1), df.z.where(df.x > 0, -1))
    assert_eq(d.z.mask(d.z > 0, d.x), df.z.mask(df.z > 0, df.x))
    assert_eq(d.x.clip(0, 5), df.x.clip(0, 5))
    assert_eq(d[["x", "z"]].clip(lower=-1, upper=1), df[["x", "z"]].clip(lower=-1, upper=1))
    assert_eq(d.z.round(1), df.z.round(1))
    assert_eq(d.x.between(0, 3), df.x.between(0, 3))
    assert_eq(d.y.isin(["apple", "date"]), df.y.isin(["apple", "date"]))


def test_astype_rename_drop(pair):
    d, df = pair
    assert_eq(d.astype({"x": "float64"}), df.astype({"x": "float64"}))
    assert_eq(d.x.astype("int32"), df.x.astype("int32"))
    assert_eq(d.rename(columns={"x": "X"}), df.rename(columns={"x": "X"}))
    assert_eq(d.x.rename("q"), df.x.rename("q"))
    assert_eq(d.drop(columns=["y"]), df.drop(columns=["y"]))
    assert_eq(d.drop("ts", axis=1), df.drop("ts", axis=1))
    with pytest.raises(KeyError, match="nope"):
        d.drop(columns=["nope"])
    with pytest.raises(NotImplementedError):
        d.drop([0, 1])
    d2 = d.copy()
    d2.columns = ["a", "b", "c", "e"]
    assert list(d2.compute().columns) == ["a", "b", "c", "e"]
    assert_eq(d.select_dtypes("number"), df.select_dtypes("number"))


def test_apply_and_map(pair):
    d, df = pair

    def row(r):
        return r.x * 2 + len(r.y)

    assert_eq(d.apply(row, axis=1, meta=("r", "int64")), df.apply(row, axis=1).rename("r"))
    with pytest.warns(UserWarning, match="did not provide metadata"):
        out = d.apply(row, axis=1)
    assert_eq(out, df.apply(row, axis=1))
    with pytest.raises(NotImplementedError, match="axis=1"):
        d.apply(row)
    assert_eq(d.x.map(lambda v: v + 1), df.x.map(lambda v: v + 1))
    assert_eq(d.y.map({"apple": 1, "date": 2}), df.y.map({"apple": 1, "date": 2}))
    assert_eq(d.x.apply(abs, meta=("x", "int64")), df.x.apply(abs))


def test_string_and_datetime_accessors(pair):
    d, df = pair
    assert_eq(d.y.str.upper(), df.y.str.upper())
    assert_eq(d.y.str.len(), df.y.str.len())
    assert_eq(d.y.str.contains("an"), df.y.str.contains("an"))
    assert_eq(d.y.str.slice(0, 2), df.y.str.slice(0, 2))
    assert_eq(d.y.str.split("a", n=1, expand=True), df.y.str.split("a", n=1, expand=True))
    assert_eq(d.ts.dt.hour, df.ts.dt.hour)
    assert_eq(d.ts.dt.day_of_week, df.ts.dt.day_of_week)
    assert_eq(d.ts.dt.floor("D"), df.ts.dt.floor("D"))
    assert_eq(d.ts.dt.strftime("%Y-%m"), df.ts.dt.strftime("%Y-%m"))
    with pytest.raises(AttributeError, match=r"Can only use \.str"):
        _ = d.x.str
    with pytest.raises(NotImplementedError, match="n= parameter"):
        d.y.str.split("a", expand=True)
    assert d.y.str.cat(sep="-").compute() == df.y.str.cat(sep="-")


def test_map_partitions_meta_inference_and_meta(pair):
    d, df = pair

    def f(part, k):
        return part.assign(w=part.x * k)

    out = d.map_partitions(f, 3)
    assert list(out._meta.columns) == ["x", "y", "z", "ts", "w"]
    assert_eq(out, f(df, 3))
    out = dd.map_partitions(
        f, d, k=2, meta={"x": "i8", "y": "str", "z": "f8", "ts": "M8[ns]", "w": "i8"}
    )
    assert_eq(out, f(df, 2))
    lengths = d.map_partitions(len, meta=("n", int)).compute()
    assert lengths.sum() == len(df)
    assert_eq(d.map_partitions(lambda p, s: p.x + s, d.x.sum()), df.x + df.x.sum())


def test_map_partitions_partition_info(df):
    d = dd.from_pandas(df, npartitions=3)

    def f(part, partition_info=None):
        return part.assign(n=partition_info["number"])

    out = d.map_partitions(f).compute()
    assert sorted(out.n.unique()) == [0, 1, 2]


def test_map_partitions_errors(df):
    d = dd.from_pandas(df, npartitions=2)

    def broken(part):
        raise RuntimeError("boom")

    with pytest.raises(ValueError, match="Metadata inference failed in `broken`"):
        d.map_partitions(broken)
    wrong = d.map_partitions(lambda p: p.rename(columns={"x": "q"}), meta=df)
    with pytest.raises(ValueError, match=r"(?s)do not match.*Extra:.*'q'.*Missing:.*'x'"):
        wrong.compute()
    with pytest.raises(TypeError, match="invalid dtype 'nonsense' of column 'a'"):
        d.map_partitions(lambda p: p, meta={"a": "nonsense"})


def test_map_partitions_with_delayed_argument(df):
    d = dd.from_pandas(df, npartitions=3)
    offset = oxdask.delayed(lambda: 100)()
    out = d.map_partitions(lambda p, o: p.x + o, offset, meta=("x", "int64"))
    assert_eq(out, df.x + 100)


def test_map_overlap(pair):
    d, df = pair

    def f(part):
        return part.x.rolling(3).sum()

    assert_eq(d.map_overlap(f, 2, 0), f(df))
    assert_eq(dd.map_overlap(lambda p: p.z.shift(-2), d, 0, 2), df.z.shift(-2))
    with pytest.raises(ValueError, match="positive"):
        d.map_overlap(f, -1, 0)


def test_categorize_and_cat_accessor(pair):
    d, df = pair
    c = d.astype({"y": "category"})
    assert not c.y.cat.known
    with pytest.raises(NotImplementedError, match="unknown categories"):
        _ = c.y.cat.categories
    known = c.categorize(columns=["y"])
    assert known.y.cat.known
    expected = df.astype({"y": "category"})
    assert list(known.y.cat.categories) == list(expected.y.cat.categories)
    assert_eq(known, expected)
    assert_eq(known.y.cat.codes, expected.y.cat.codes)


def test_to_datetime_to_numeric_and_misc(df):
    d = dd.from_pandas(df, npartitions=3)
    text = d.ts.dt.strftime("%Y-%m-%d %H:%M")
    assert_eq(dd.to_datetime(text), pd.to_datetime(df.ts.dt.strftime("%Y-%m-%d %H:%M")))
    assert_eq(dd.to_numeric(d.x.astype(str)), pd.to_numeric(df.x.astype(str)))
    assert_eq(d.x.to_frame(), df.x.to_frame())
    assert_eq(d.z.combine_first(d.x), df.z.combine_first(df.x))
    lists = d.x.map(lambda v: [v, v + 1], meta=("x", object))
    assert_eq(lists.explode(), df.x.map(lambda v: [v, v + 1]).explode())
    assert_eq(d.replace({"y": {"apple": "pear"}}), df.replace({"y": {"apple": "pear"}}))
    assert_eq(d.pipe(lambda f, k: f.x * k, 3), df.x * 3)
