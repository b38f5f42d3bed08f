"""Reshaping: ``melt``, ``get_dummies`` and ``pivot_table``, with Dask's semantics.

``melt`` and ``get_dummies`` work partition by partition. ``get_dummies`` needs categorical
data with known categories, so that every partition yields the same dummy columns.
``pivot_table`` is a tree reduction: every partition is pivoted with one column per category
of ``columns`` (known categories again), and the partial tables are combined by grouping on
their index (``sum`` of sums and counts, ``first``/``last`` of the partial results).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_list_like, is_numeric_dtype, is_scalar

from oxdask.dataframe.categorical import has_known_categories
from oxdask.dataframe.partitionwise import emulate, map_partitions

__all__ = ["get_dummies", "melt", "pivot_table"]

_NOT_CATEGORICAL = (
    "`get_dummies` with non-categorical dtypes is not supported. Please use "
    "`df.categorize()` beforehand to convert to categorical dtype."
)
_UNKNOWN_CATEGORIES = (
    "`get_dummies` with unknown categories is not supported. Please use "
    "`column.cat.as_known()` or `df.categorize()` beforehand to ensure known categories."
)
_PIVOT_AGGFUNCS = ("mean", "sum", "count", "first", "last")


def melt(frame, id_vars=None, value_vars=None, var_name=None, value_name="value", col_level=None):
    """Unpivot a DataFrame from wide to long format, partition by partition.

    As ``pandas.melt`` on every partition: rows come partition after partition (each
    partition's rows grouped by variable), every partition's index restarts at zero, and the
    divisions of the result are unknown.
    """
    from oxdask.dataframe.core import DataFrame
    from oxdask.dataframe.io.io import from_pandas

    if isinstance(frame, pd.DataFrame):
        frame = from_pandas(frame, npartitions=1)
    if not isinstance(frame, DataFrame):
        raise TypeError(f"melt: 'frame' must be a DataFrame, got {_kind(frame)}")
    return map_partitions(
        pd.melt,
        frame,
        clear_divisions=True,
        token="melt",
        id_vars=id_vars,
        value_vars=value_vars,
        var_name=var_name,
        value_name=value_name,
        col_level=col_level,
    )


def get_dummies(
    data,
    prefix=None,
    prefix_sep="_",
    dummy_na=False,
    columns=None,
    sparse=False,
    drop_first=False,
    dtype=bool,
    **kwargs,
):
    """Indicator columns of categorical data, partition by partition.

    ``data`` is a categorical Series, or a DataFrame whose encoded columns (``columns``, or
    by default every categorical column) are categorical; their categories must be known
    (see ``categorize``). Other columns of a DataFrame are kept as they are. A pandas object
    is passed to ``pandas.get_dummies``. Raises ``NotImplementedError`` otherwise, as Dask.
    """
    from oxdask.dataframe.core import DataFrame, Series

    options = dict(
        prefix=prefix,
        prefix_sep=prefix_sep,
        dummy_na=dummy_na,
        sparse=sparse,
        drop_first=drop_first,
        dtype=dtype,
        **kwargs,
    )
    if isinstance(data, (pd.Series, pd.DataFrame)):
        return pd.get_dummies(data, columns=columns, **options)
    if isinstance(data, Series):
        _check_categorical({data._meta.name: data._meta.dtype})
    elif isinstance(data, DataFrame):
        dtypes = data._meta.dtypes
        if columns is None:  # what pandas would encode must be categorical
            columns = [c for c, dt in dtypes.items() if _is_text_or_category(dt)]
        elif not is_list_like(columns):
            raise TypeError("Input must be a list-like for parameter `columns`")
        else:
            columns = list(columns)
            missing = [c for c in columns if c not in data._meta.columns]
            if missing:
                raise KeyError(f"get_dummies: columns {missing} not found")
        _check_categorical({c: dtypes[c] for c in columns})
    else:
        raise TypeError(f"get_dummies: 'data' must be a Series or DataFrame, got {_kind(data)}")
    if columns is not None:
        options["columns"] = columns
    meta = emulate(pd.get_dummies, data, **options)
    return map_partitions(pd.get_dummies, data, meta=meta, token="get-dummies", **options)


def _kind(x) -> str:
    """``"pandas DataFrame"``, ``"oxdask Series"``, ``"builtins list"``..."""
    return f"{type(x).__module__.partition('.')[0]} {type(x).__name__}"


def _is_text_or_category(dtype) -> bool:
    return isinstance(dtype, pd.CategoricalDtype) or (
        pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
    )


def _check_categorical(dtypes):
    """``NotImplementedError`` naming the columns that are not categorical with known
    categories."""
    plain = [c for c, dt in dtypes.items() if not isinstance(dt, pd.CategoricalDtype)]
    if plain:
        raise NotImplementedError(f"{_NOT_CATEGORICAL} Not categorical: {plain}")
    unknown = [c for c, dt in dtypes.items() if not has_known_categories(dt)]
    if unknown:
        raise NotImplementedError(f"{_UNKNOWN_CATEGORIES} Unknown categories in: {unknown}")


def pivot_table(df, index=None, columns=None, values=None, aggfunc="mean"):
    """A spreadsheet-style pivot table, computed as a tree reduction (one partition).

    Parameters
    ----------
    df : DataFrame
    index : scalar
        Column whose distinct values are the rows of the result (sorted, missing values
        dropped).
    columns : scalar
        Categorical column with known categories; every category is a column of the result.
    values : scalar or list of scalars
        Column(s) to aggregate; a list gives ``(value, category)`` columns.
    aggfunc : {'mean', 'sum', 'count', 'first', 'last'}
        ``count`` gives float64 columns, as in Dask. Cells without rows are NaN (``0`` for
        ``sum`` and ``count``).
    """
    from oxdask.dataframe.core import DataFrame
    from oxdask.dataframe.reductions import apply_concat_apply

    if not isinstance(df, DataFrame):
        raise TypeError(f"pivot_table: 'df' must be an oxdask DataFrame, got {_kind(df)}")
    meta = df._meta
    if not is_scalar(index) or index not in meta.columns:
        raise ValueError(f"'index' must be the name of an existing column, got {index!r}")
    if not is_scalar(columns) or columns not in meta.columns:
        raise ValueError(f"'columns' must be the name of an existing column, got {columns!r}")
    if not isinstance(meta[columns].dtype, pd.CategoricalDtype):
        raise ValueError(
            f"'columns' must be category dtype, column {columns!r} has dtype "
            f"{meta[columns].dtype}; use `df.categorize(columns=[{columns!r}])` first"
        )
    if not has_known_categories(meta[columns]):
        raise ValueError(
            f"'columns' must have known categories, those of column {columns!r} are unknown; "
            f"use `df.categorize(columns=[{columns!r}])` first"
        )
    names = [values] if is_scalar(values) else values
    if not is_list_like(names) or not all(is_scalar(v) and v in meta.columns for v in names):
        raise ValueError(f"'values' must refer to an existing column or columns, got {values!r}")
    if not is_scalar(aggfunc) or aggfunc not in _PIVOT_AGGFUNCS:
        raise ValueError(
            "aggfunc must be either "
            + ", ".join(f"'{x}'" for x in _PIVOT_AGGFUNCS)
            + f", got {aggfunc!r}"
        )
    if aggfunc in ("mean", "sum"):
        text = [v for v in names if not is_numeric_dtype(meta[v].dtype)]
        if text:
            raise TypeError(f"pivot_table: aggfunc={aggfunc!r} needs numeric 'values', got {text}")

    kw = {"index": index, "columns": columns, "values": values, "aggfunc": aggfunc}
    sample = _pivot_chunk(df._meta_nonempty, **kw)
    out_meta = _pivot_aggregate(pd.concat([sample, sample]), aggfunc).iloc[:0]
    if aggfunc == "count":  # partial counts may miss cells: float64 always, as Dask
        out_meta = out_meta.astype(np.float64)
    return apply_concat_apply(
        df[list(dict.fromkeys([index, columns, *names]))],
        _pivot_chunk,
        _pivot_aggregate,
        _pivot_combine,
        meta=out_meta,
        token="pivot-table",
        chunk_kwargs=kw,
        combine_kwargs={"aggfunc": aggfunc},
        aggregate_kwargs={"aggfunc": aggfunc, "meta": out_meta},
    )


def _pivot_chunk(df, index, columns, values, aggfunc):
    """The pivot table of one partition, one column per category (every index value kept,
    missing values too: the aggregation drops them). ``mean`` keeps sums and counts side by
    side, under the column keys ``"sum"`` and ``"count"``."""
    hows = ("sum", "count") if aggfunc == "mean" else (aggfunc,)
    tables = [
        pd.pivot_table(
            df,
            index=index,
            columns=columns,
            values=values,
            aggfunc=how,
            dropna=False,
            observed=False,
        )
        for how in hows
    ]
    return pd.concat(tables, axis=1, keys=hows) if aggfunc == "mean" else tables[0]


def _pivot_combine(table, aggfunc):
    """Partial pivot tables (concatenated) combined into one, row by index value."""
    how = aggfunc if aggfunc in ("first", "last") else "sum"  # sums of sums and of counts
    return getattr(table.groupby(level=0, observed=False), how)()


def _pivot_aggregate(table, aggfunc, meta=None):
    """The final pivot table, with the dtypes of ``meta`` when given."""
    out = _pivot_combine(table, aggfunc)
    if aggfunc == "mean":
        out = out["sum"] / out["count"]
    if meta is None:
        return out
    if not len(out):
        return meta
    return out.astype(dict(zip(out.columns, meta.dtypes, strict=True)))
