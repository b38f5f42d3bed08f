"""Large tables as partitioned pandas DataFrames: ``import oxdask.dataframe as dd``.

A :class:`DataFrame` is a sequence of pandas DataFrames (partitions) along the index,
described by compact graph layers (Blockwise, TreeReduce) that the Rust engine expands only
when computing. See :mod:`oxdask.dataframe.core` for the data model.
"""

from oxdask.dataframe import methods
from oxdask.dataframe.core import DataFrame, Index, Scalar, Series, new_dd_object
from oxdask.dataframe.io.csv import read_csv, read_fwf, read_table, to_csv
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
from oxdask.dataframe.io.parquet import read_parquet, to_parquet
from oxdask.dataframe.multi import concat, merge
from oxdask.dataframe.partitionwise import map_partitions
from oxdask.dataframe.reductions import apply_concat_apply
from oxdask.dataframe.repartition import repartition
from oxdask.dataframe.rolling import map_overlap
from oxdask.dataframe.utils import assert_eq

__all__ = [
    "DataFrame",
    "Index",
    "Scalar",
    "Series",
    "apply_concat_apply",
    "assert_eq",
    "concat",
    "from_array",
    "from_dask_array",
    "from_delayed",
    "from_dict",
    "from_map",
    "from_pandas",
    "map_overlap",
    "map_partitions",
    "merge",
    "methods",
    "new_dd_object",
    "read_csv",
    "read_fwf",
    "read_json",
    "read_parquet",
    "read_table",
    "repartition",
    "to_csv",
    "to_dask_array",
    "to_datetime",
    "to_json",
    "to_numeric",
    "to_parquet",
]


def to_datetime(arg, meta=None, **kwargs):
    """``pandas.to_datetime`` partition by partition."""
    from oxdask.dataframe.partitionwise import emulate

    if meta is None:
        import pandas as pd

        meta = emulate(pd.to_datetime, arg, **kwargs)
    return map_partitions(_to_datetime, arg, meta=meta, token="to_datetime", **kwargs)


def to_numeric(arg, errors="raise", downcast=None, meta=None):
    """``pandas.to_numeric`` partition by partition."""
    import pandas as pd

    from oxdask.dataframe.partitionwise import emulate

    if meta is None:
        meta = emulate(pd.to_numeric, arg, errors=errors, downcast=downcast)
    return map_partitions(
        pd.to_numeric, arg, errors=errors, downcast=downcast, meta=meta, token="to_numeric"
    )


def _to_datetime(x, **kwargs):
    import pandas as pd

    return pd.to_datetime(x, **kwargs)
