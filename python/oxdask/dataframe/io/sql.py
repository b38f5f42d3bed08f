"""SQL databases through SQLAlchemy: ``read_sql_table``, ``read_sql_query``, ``read_sql`` and
``to_sql``.

A table is read in ranges of an index column: each partition runs ``SELECT ... WHERE lo <=
index < hi`` (the last range includes ``hi``) on its own connection, so partitions load in
parallel and the divisions are known.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from oxdask.tokenize import tokenize
from oxdask.utils import parse_bytes

__all__ = ["read_sql", "read_sql_query", "read_sql_table", "to_sql"]


def _sqlalchemy():
    try:
        import sqlalchemy
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("reading and writing SQL needs SQLAlchemy: pip install sqlalchemy") from e
    return sqlalchemy


def _check_con(con) -> None:
    if not isinstance(con, str):
        raise TypeError(
            f"'con' must be a database URI string (each partition opens its own connection), "
            f"not {type(con).__name__}"
        )


class _ReadRange:
    """One partition: run ``query`` and shape the frame like ``meta``."""

    def __init__(self, con, meta, engine_kwargs, kwargs):
        self.con = con
        self.meta = meta
        self.engine_kwargs = engine_kwargs
        self.kwargs = kwargs

    def __call__(self, query):
        sa = _sqlalchemy()
        engine = sa.create_engine(self.con, **self.engine_kwargs)
        try:
            df = pd.read_sql(query, engine, **self.kwargs)
        finally:
            engine.dispose()
        if len(df) == 0:
            return self.meta
        if list(df.columns) == list(self.meta.columns):
            differ = {c: t for c, t in self.meta.dtypes.items() if df[c].dtype != t}
            if differ:
                df = df.astype(differ)
        return df


def _divisions(sa, engine, query, index, npartitions, limits, head, bytes_per_chunk):
    sub = query.subquery()
    column = sub.c[index.name]
    if limits is None:
        bounds = sa.select(sa.func.min(column), sa.func.max(column))
        low, high = pd.read_sql(bounds, engine).iloc[0]
    else:
        low, high = limits
    if npartitions is None:
        counted = sa.select(sa.func.count(column))
        rows = int(pd.read_sql(counted, engine).iloc[0, 0])
        per_row = head.memory_usage(deep=True, index=True).sum() / max(len(head), 1)
        npartitions = max(round(rows * per_row / parse_bytes(bytes_per_chunk)), 1)
    kind = pd.Series([low, high]).dtype.kind
    if kind == "M" or isinstance(low, pd.Timestamp):
        points = list(pd.date_range(pd.Timestamp(low), pd.Timestamp(high), periods=npartitions + 1))
    elif kind in "iuf":
        dtype = np.float64 if kind == "f" else np.int64
        points = np.linspace(low, high, npartitions + 1).astype(dtype).tolist()
    else:
        raise TypeError(
            f"the index column {index.name!r} holds {pd.Series([low]).dtype} values: without "
            "divisions= it must be numeric or datetime"
        )
    unique = sorted(set(points))  # small integer ranges give repeated points
    return unique if len(unique) > 1 else [unique[0], unique[0]]


def read_sql_query(
    sql,
    con,
    index_col,
    divisions=None,
    npartitions=None,
    limits=None,
    bytes_per_chunk="256 MiB",
    head_rows=5,
    meta=None,
    engine_kwargs=None,
    **kwargs,
):
    """Read a SQLAlchemy ``Select`` in ranges of ``index_col``.

    Parameters
    ----------
    sql : sqlalchemy Selectable
        The query (a plain string is refused: use ``sqlalchemy.text`` inside a select, or
        :func:`read_sql_table`).
    con : str
        Database URI.
    index_col : str or sqlalchemy Column
        The column to partition on; it becomes the index.
    divisions : sequence, optional
        Range boundaries. Else ``npartitions`` equal ranges between the column's minimum and
        maximum (``limits`` to give them), or as many as needed for ``bytes_per_chunk``.
    head_rows : int
        Rows read first to learn the columns and the size of a row.
    meta : pandas.DataFrame, optional
        The empty frame partitions look like; needed when ``head_rows`` is 0.
    engine_kwargs : dict, optional
        Keywords of ``sqlalchemy.create_engine``.
    **kwargs
        Keywords of ``pandas.read_sql``.
    """
    from oxdask.dataframe.io.io import from_map, from_pandas

    sa = _sqlalchemy()
    if isinstance(sql, str):
        raise ValueError("`sql` must be a SQLAlchemy Selectable, not a string")
    _check_con(con)
    if index_col is None:
        raise ValueError("Must specify index column to partition on")
    if divisions is not None and npartitions is not None:
        raise TypeError("Must supply either 'divisions' or 'npartitions', not both")
    if head_rows <= 0:
        if meta is None:
            raise ValueError("Must provide 'meta' if 'head_rows' is 0")
        if divisions is None and npartitions is None:
            raise ValueError("Must provide 'divisions' or 'npartitions' if 'head_rows' is 0")
    engine_kwargs = dict(engine_kwargs or {})
    index = sa.column(index_col) if isinstance(index_col, str) else index_col
    kwargs["index_col"] = index.name
    engine = sa.create_engine(con, **engine_kwargs)
    try:
        head = None
        if head_rows > 0:
            head = pd.read_sql(sql.limit(head_rows), engine, **kwargs)
            if len(head) == 0:
                return from_pandas(head if meta is None else meta, npartitions=1)
            meta = head.iloc[:0] if meta is None else meta
        if divisions is None:
            divisions = _divisions(
                sa, engine, sql, index, npartitions, limits, head, bytes_per_chunk
            )
    finally:
        engine.dispose()
    divisions = list(divisions)
    queries = []
    for i, (low, high) in enumerate(itertools.pairwise(divisions)):
        upper = index <= high if i == len(divisions) - 2 else index < high
        queries.append(sql.where(sa.and_(index >= low, upper)))
    token = tokenize(
        [str(q.compile(compile_kwargs={"literal_binds": True})) for q in queries], con, kwargs
    )
    reader = _ReadRange(con, meta, engine_kwargs, kwargs)
    return from_map(reader, queries, meta=meta, divisions=divisions, label="read-sql", token=token)


def read_sql_table(
    table_name,
    con,
    index_col,
    divisions=None,
    npartitions=None,
    limits=None,
    columns=None,
    bytes_per_chunk="256 MiB",
    head_rows=5,
    schema=None,
    meta=None,
    engine_kwargs=None,
    **kwargs,
):
    """Read a database table in ranges of ``index_col`` (see :func:`read_sql_query`).

    ``columns`` selects columns (names or SQLAlchemy columns); ``schema`` names the table's
    schema.
    """
    sa = _sqlalchemy()
    if not isinstance(table_name, str):
        raise TypeError(f"`table_name` must be of type str, not {type(table_name)}")
    _check_con(con)
    for col in columns or ():
        if not isinstance(col, str | sa.Column):
            raise TypeError(f"`columns` must be of type List[str], and cannot contain {type(col)}")
    engine = sa.create_engine(con, **(engine_kwargs or {}))
    try:
        table = sa.Table(table_name, sa.MetaData(), autoload_with=engine, schema=schema)
    except sa.exc.NoSuchTableError as e:
        raise ValueError(f"no table {table_name!r} in the database {con!r}") from e
    finally:
        engine.dispose()

    def column(c):
        name = c if isinstance(c, str) else c.name
        if name not in table.columns:
            raise KeyError(f"no column {name!r} in table {table_name!r}")
        return table.columns[name]

    selected = [column(c) for c in columns] if columns else list(table.columns)
    index = column(index_col)
    if index.name not in [c.name for c in selected]:
        selected.append(index)
    return read_sql_query(
        sa.select(*selected).select_from(table),
        con,
        index_col=index,
        divisions=divisions,
        npartitions=npartitions,
        limits=limits,
        bytes_per_chunk=bytes_per_chunk,
        head_rows=head_rows,
        meta=meta,
        engine_kwargs=engine_kwargs,
        **kwargs,
    )


def read_sql(sql, con, index_col, **kwargs):
    """:func:`read_sql_table` for a table name, :func:`read_sql_query` for a query."""
    if isinstance(sql, str):
        return read_sql_table(sql, con, index_col, **kwargs)
    return read_sql_query(sql, con, index_col, **kwargs)


class _WriteSql:
    def __init__(self, name, uri, engine_kwargs, kwargs):
        self.name = name
        self.uri = uri
        self.engine_kwargs = engine_kwargs
        self.kwargs = kwargs

    def __call__(self, df, if_exists, *after):
        sa = _sqlalchemy()
        engine = sa.create_engine(self.uri, **self.engine_kwargs)
        try:
            df.to_sql(self.name, con=engine, if_exists=if_exists, **self.kwargs)
        finally:
            engine.dispose()


def _done(*_):
    return None


def to_sql(
    df,
    name: str,
    uri: str,
    schema=None,
    if_exists: str = "fail",
    index: bool = True,
    index_label=None,
    chunksize=None,
    dtype=None,
    method=None,
    compute=True,
    parallel=False,
    engine_kwargs=None,
):
    """Write the partitions into table ``name`` (``pandas.DataFrame.to_sql`` per partition).

    The first partition creates the table as ``if_exists`` says; the others append, one after
    another, or all at once after the first with ``parallel=True``. With ``compute=False``
    returns a Delayed.
    """
    from oxdask.delayed import delayed

    if not isinstance(uri, str):
        raise ValueError(f"Expected URI to be a string, got {type(uri)}.")
    if if_exists not in ("fail", "replace", "append"):
        raise ValueError(
            f"'{if_exists}' is not valid for if_exists: use 'fail', 'replace' or 'append'"
        )
    kwargs = {
        "schema": schema,
        "index": index,
        "index_label": index_label,
        "chunksize": chunksize,
        "dtype": dtype,
        "method": method,
    }
    write = delayed(_WriteSql(name, uri, dict(engine_kwargs or {}), kwargs), pure=False)
    parts = df.to_delayed()
    token = tokenize(df, name, uri, if_exists, kwargs, parallel)
    first = write(parts[0], if_exists, dask_key_name=f"to-sql-{token}-0")
    writes = [first]
    for i, part in enumerate(parts[1:], start=1):
        after = first if parallel else writes[-1]
        writes.append(write(part, "append", after, dask_key_name=f"to-sql-{token}-{i}"))
    result = delayed(_done, pure=False)(*writes)
    if compute:
        result.compute()
        return None
    return result
