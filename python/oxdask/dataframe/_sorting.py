"""``sort_index`` of DataFrame and Series with any divisions."""

from __future__ import annotations

import pandas as pd

_COLUMN = "__oxdask_sort_index__"


def _index_to_column(df):
    if isinstance(df, pd.Series):
        df = df.to_frame(name=_COLUMN + "value")
    return df.rename_axis(_COLUMN).reset_index()


def _column_to_index(df, name, series_name, is_series):
    out = df.set_index(_COLUMN).rename_axis(name)
    return out[_COLUMN + "value"].rename(series_name) if is_series else out


def sort_index(frame, ascending, na_position, npartitions, kwargs):
    from oxdask.dataframe._frame_methods import _pw

    if kwargs.get("axis", 0) not in (0, "index"):
        raise NotImplementedError("sort_index along the columns is not supported")
    if not isinstance(ascending, bool):
        raise ValueError(f"ascending must be a bool, not {ascending!r}")
    if frame.npartitions == 1 or (frame.known_divisions and ascending):
        return _pw(frame, "sort_index", ascending=ascending, na_position=na_position)
    meta = frame._meta
    is_series = isinstance(meta, pd.Series)
    flat = frame.map_partitions(_index_to_column, meta=_index_to_column(meta))
    ordered = flat.sort_values(
        _COLUMN, npartitions=npartitions, ascending=ascending, na_position=na_position
    )
    return ordered.map_partitions(
        _column_to_index,
        meta.index.name,
        getattr(meta, "name", None),
        is_series,
        meta=meta,
        clear_divisions=True,
    )
