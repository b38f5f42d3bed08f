"""Test helpers: partition layouts of a pandas object and comparison with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd

import oxdask.dataframe as dd
from oxdask.dataframe.core import _Frame, new_dd_object
from oxdask.highlevelgraph import HighLevelGraph, MaterializedLayer
from oxdask.tokenize import tokenize

LAYOUTS = ["one", "three", "empty", "unknown"]


def from_pieces(pieces, divisions=None):
    """A collection whose partitions are exactly ``pieces`` (pandas objects)."""
    name = "pieces-" + tokenize(*pieces)
    layer = MaterializedLayer({(name, i): p for i, p in enumerate(pieces)})
    divisions = divisions or (None,) * (len(pieces) + 1)
    graph = HighLevelGraph({name: layer}, {name: set()})
    return new_dd_object(graph, name, pieces[0].iloc[:0], divisions)


def layout(df, kind):
    """``df`` cut into partitions: one, three (known divisions), with empty partitions
    (unknown divisions), or four by position (unknown divisions)."""
    if kind == "one":
        return dd.from_pandas(df, npartitions=1)
    if kind == "three":
        return dd.from_pandas(df, npartitions=3)
    if kind == "empty":
        n = len(df)
        k = n // 3
        pieces = [df.iloc[:0], df.iloc[:k], df.iloc[k:k], df.iloc[k:], df.iloc[n:]]
        return from_pieces(pieces)
    if kind == "unknown":
        return dd.from_pandas(df, npartitions=4, sort=False)
    raise ValueError(kind)


def compute(x):
    return x.compute() if hasattr(x, "__dask_graph__") else x


def assert_eq(a, b, sort=False, check_index=True, **kwargs):
    """Compare a collection (or value) with pandas; ``sort`` sorts both by index and values
    first (for operations whose row order is not pandas')."""
    if isinstance(a, _Frame) and a.known_divisions:
        dd.assert_eq(a, a.compute(), check_divisions=True)
    a, b = compute(a), compute(b)
    if isinstance(b, (pd.DataFrame, pd.Series)):
        if sort and not check_index:
            a, b = _sorted_values(a), _sorted_values(b)
        elif sort:
            a, b = _sorted(a), _sorted(b)
        if not check_index:
            a, b = a.reset_index(drop=True), b.reset_index(drop=True)
        if isinstance(b, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, **kwargs)
        else:
            pd.testing.assert_series_equal(a, b, **kwargs)
    elif isinstance(b, pd.Index):
        pd.testing.assert_index_equal(a, b, **kwargs)
    elif isinstance(b, float) and np.isnan(b):
        assert np.isnan(a)
    elif isinstance(b, (float, np.floating)):
        assert np.isclose(a, b, rtol=kwargs.get("rtol", 1e-9)), (a, b)
    else:
        assert a == b, (a, b)


def _sorted_values(x):
    if isinstance(x, pd.Series):
        return x.sort_values(kind="stable")
    return x.sort_values(list(x.columns), kind="stable")


def _sorted(x):
    names = list(x.index.names)
    x = x.copy()
    x.index.names = [f"__level_{i}" for i in range(x.index.nlevels)]
    out = _sorted_unique_names(x)
    out.index.names = names
    return out


def _sorted_unique_names(x):
    if isinstance(x, pd.Series):
        frame = x.reset_index()
        return (
            frame.sort_values(list(frame.columns), kind="stable")
            .set_index(list(frame.columns[:-1]))
            .iloc[:, 0]
            .rename(x.name)
            .rename_axis(x.index.names)
        )
    frame = x.reset_index()
    cols = list(frame.columns)
    out = frame.sort_values(cols, kind="stable").set_index(cols[: x.index.nlevels])
    out.index.names = x.index.names
    return out
