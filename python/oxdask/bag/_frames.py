"""Dataframes to bags: ``DataFrame.to_bag`` / ``Series.to_bag``."""

from __future__ import annotations

from oxdask.bag._parts import Part
from oxdask.highlevelgraph import BlockwiseLayer
from oxdask.tokenize import tokenize

__all__ = ["to_bag"]


class _Rows:
    """A pandas partition as a list of tuples or dicts (or, for a Series, values)."""

    __slots__ = ("format", "index")

    def __init__(self, index, format):
        self.index = index
        self.format = format

    def __reduce__(self):
        return (_Rows, (self.index, self.format))

    def __call__(self, df):
        import pandas as pd

        if isinstance(df, pd.Series):
            if self.format == "dict":
                return df.to_frame().to_dict(orient="records")
            return list(df.items()) if self.index else df.tolist()
        if self.format == "dict":
            records = df.to_dict(orient="records")
            if self.index:
                return [{"index": i, **r} for r, i in zip(records, df.index, strict=True)]
            return records
        return list(df.itertuples(index=self.index, name=None))


def to_bag(df, index=False, format="tuple"):
    """A bag with one partition per partition of ``df``: its rows as tuples (``format=
    "tuple"``, with the index first if ``index``), dicts (``"dict"``), or the pandas
    partitions themselves (``"frame"``)."""
    from oxdask.bag.core import Bag, _graph

    if format not in ("tuple", "dict", "frame"):
        raise ValueError(f"format must be 'tuple', 'dict' or 'frame', got {format!r}")
    n = df.npartitions
    if format == "frame":
        return Bag(df.dask, df._name, n)
    name = f"to_bag-{tokenize(df._name, index, format)}"
    layer = BlockwiseLayer(
        name, Part(_Rows(index, format), False, True), [0], [(df._name, [0])], {df._name: (n,)}
    )
    return Bag(_graph(name, layer, [df]), name, n)
