"""Large tables as partitioned pandas DataFrames: ``import oxdask.dataframe as dd``.

A :class:`DataFrame` is a sequence of pandas DataFrames (partitions) along the index,
described by compact graph layers (Blockwise, TreeReduce) that the Rust engine expands only
when computing. See :mod:`oxdask.dataframe.core` for the data model.
"""

from oxdask.dataframe import demo, methods
from oxdask.dataframe._groupby_custom import Aggregation
from oxdask.dataframe.asof import merge_asof
from oxdask.dataframe.core import DataFrame, Index, Scalar, Series, new_dd_object
from oxdask.dataframe.io.csv import read_csv, read_fwf, read_table, to_csv
from oxdask.dataframe.io.hdf import read_hdf, to_hdf
from oxdask.dataframe.io.io import (
    from_array,
    from_dask_array,
    from_delayed,
    from_dict,
    from_map,
    from_pandas,
    to_dask_array,
)
from oxdask.dataframe.io.json import read_json, to_json
from oxdask.dataframe.io.orc import read_orc, to_orc
from oxdask.dataframe.io.parquet import read_parquet, to_parquet
from oxdask.dataframe.io.sql import read_sql, read_sql_query, read_sql_table, to_sql
from oxdask.dataframe.multi import concat, merge
from oxdask.dataframe.partitionwise import map_partitions
from oxdask.dataframe.reductions import apply_concat_apply
from oxdask.dataframe.repartition import repartition
from oxdask.dataframe.reshape import get_dummies, melt, pivot_table
from oxdask.dataframe.rolling import map_overlap
from oxdask.dataframe.utils import assert_eq

__all__ = [
    "Aggregation",
    "DataFrame",
    "Index",
    "Scalar",
    "Series",
    "apply_concat_apply",
    "assert_eq",
    "compute",
    "concat",
    "demo",
    "from_array",
    "from_dask_array",
    "from_delayed",
    "from_dict",
    "from_map",
    "from_pandas",
    "get_dummies",
    "isna",
    "map_overlap",
    "map_partitions",
    "melt",
    "merge",
    "merge_asof",
    "methods",
    "new_dd_object",
    "pivot_table",
    "read_csv",
    "read_fwf",
    "read_hdf",
    "read_json",
    "read_orc",
    "read_parquet",
    "read_sql",
    "read_sql_query",
    "read_sql_table",
    "read_table",
    "repartition",
    "to_bag",
    "to_csv",
    "to_dask_array",
    "to_datetime",
    "to_hdf",
    "to_json",
    "to_numeric",
    "to_orc",
    "to_parquet",
    "to_records",
    "to_sql",
    "to_timedelta",
]


def to_datetime(arg, meta=None, **kwargs):
    """``pandas.to_datetime`` partition by partition."""
    if meta is None:
        meta = _datetime_meta(arg, kwargs)
    return map_partitions(_to_datetime, arg, meta=meta, token="to_datetime", **kwargs)


def _datetime_meta(arg, kwargs):
    """The result type of ``pandas.to_datetime`` on a sample value like those of ``arg``."""
    import pandas as pd

    m = arg._meta
    numeric = pd.api.types.is_numeric_dtype(getattr(m, "dtype", None))
    sample = [0] if numeric else ["2000-01-01 00:00:00"]
    try:
        out = pd.to_datetime(pd.Series(sample, name=getattr(m, "name", None)), **kwargs)
    except (ValueError, TypeError):
        out = pd.Series([pd.Timestamp("2000-01-01")], name=getattr(m, "name", None))
    out = out.iloc[:0]
    return out.set_axis(m.index[:0]) if hasattr(m, "index") else out


def to_numeric(arg, errors="raise", downcast=None, meta=None):
    """``pandas.to_numeric`` partition by partition."""
    import pandas as pd

    if meta is None:  # from the empty meta, as Dask (values may still parse as floats)
        meta = pd.to_numeric(arg._meta, errors=errors, downcast=downcast)
    return map_partitions(
        pd.to_numeric, arg, errors=errors, downcast=downcast, meta=meta, token="to_numeric"
    )


def _to_datetime(x, **kwargs):
    import pandas as pd

    return pd.to_datetime(x, **kwargs)


def compute(*args, **kwargs):
    """Compute several collections at once (``oxdask.compute``)."""
    from oxdask.base import compute as _compute

    return _compute(*args, **kwargs)


def isna(obj):
    """``pandas.isna`` of a collection (partition by partition) or of anything else."""
    import pandas as pd

    if isinstance(obj, (DataFrame, Series, Index)):
        return obj.isna()
    return pd.isna(obj)


def to_timedelta(arg, unit=None, errors="raise"):
    """``pandas.to_timedelta`` partition by partition."""
    import pandas as pd

    meta = pd.Series([pd.Timedelta(1, unit="ns")])
    kwargs = {"errors": errors} if unit is None else {"unit": unit, "errors": errors}
    return map_partitions(pd.to_timedelta, arg, meta=meta, token="to_timedelta", **kwargs)


def to_records(df):
    """The rows as a record array (see ``DataFrame.to_records``)."""
    return df.to_records()


def to_bag(df, index=False, format="tuple"):
    """The rows as an ``oxdask.bag.Bag`` (see ``DataFrame.to_bag``)."""
    return df.to_bag(index=index, format=format)
