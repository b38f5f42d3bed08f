"""Row filters pushed into the Parquet reader.

``df = read_parquet(...); df[(df.a > 0) & (df.b <= 5)]`` is read as one layer that filters the
rows on the Arrow table (pyarrow compute, outside the GIL) before the conversion to pandas,
instead of building a mask and taking the rows in pandas. The comparisons pushed down are
those whose answer pyarrow and pandas agree on: a numeric column (int, or float64) against a
finite number, with ``<``, ``<=``, ``>``, ``>=``, ``==`` (missing values compare False in both),
joined by ``&``; anything else stays a pandas filter. The result is the frame pandas gives,
index included: with the default index, the positions of the kept rows.
"""

from __future__ import annotations

import math
import operator

import numpy as np

#: pyarrow.compute function of each comparison pushed down.
COMPARISONS = {
    operator.lt: "less",
    operator.le: "less_equal",
    operator.gt: "greater",
    operator.ge: "greater_equal",
    operator.eq: "equal",
}
_EXACT = 2**53  # numbers compared the same in float64 and in integer arithmetic


def tag_column(series, frame, key) -> None:
    """Mark ``series`` (``frame[key]``) as a column of a frame read from Parquet."""
    if getattr(frame, "_pushdown", None) is not None and not isinstance(key, list):
        series._column_of = (frame, key)


def tag(op, left, right, result):
    """``result`` (``left op right``), marked as a pushable row filter when it is one."""
    if op in COMPARISONS:
        terms = _comparison(op, left, right)
    elif op is operator.and_:
        terms = _conjunction(left, right)
    else:
        terms = None
    if terms is not None:
        result._predicate = terms
    return result


def _comparison(op, column, value):
    source = getattr(column, "_column_of", None)
    if source is None or isinstance(value, (bool, np.bool_)):
        return None
    if not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    frame, name = source
    dtype = column._meta.dtype
    if not isinstance(dtype, np.dtype) or dtype.kind not in "iuf":
        return None
    if dtype.kind == "f" and dtype != np.float64:
        return None  # float32: numpy compares in float32, pyarrow in float64
    if dtype == np.uint64:
        return None  # pyarrow compares it as int64, and fails past 2**63
    if dtype.kind in "iu" and not isinstance(value, (int, np.integer)):
        return None
    if not math.isfinite(value) or abs(value) >= _EXACT:
        return None
    return (frame, ((name, op, value),))


def _conjunction(left, right):
    a = getattr(left, "_predicate", None)
    b = getattr(right, "_predicate", None)
    if a is None or b is None or a[0] is not b[0]:
        return None
    return (a[0], a[1] + b[1])


def pushed(frame, mask):
    """``frame[mask]`` read with the filter in the reader, or None."""
    predicate = getattr(mask, "_predicate", None)
    rebuild = getattr(frame, "_pushdown", None)
    if predicate is None or rebuild is None or predicate[0] is not frame:
        return None
    return rebuild(predicate[1])


def filter_table(table, terms, extension=()):
    """The rows of ``table`` where every term holds, and their positions; None when pandas
    would see other dtypes in the filtered table than in the whole (a boolean column with
    nulls is object in pandas, and stays object however few rows remain). Columns in
    ``extension`` become pandas extension arrays, whose dtype does not depend on nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        column = table.column(i)
        if not column.null_count or field.name in extension:
            continue
        if pa.types.is_boolean(field.type):
            return None
        if pa.types.is_integer(field.type):
            # pandas reads integers with nulls as float64 with NaN (and compares those):
            # filtering the nulls away must not turn the column back into integers
            table = table.set_column(i, field.name, column.cast(pa.float64(), safe=False))
    mask = None
    for name, op, value in terms:
        m = getattr(pc, COMPARISONS[op])(table.column(name), value)
        mask = m if mask is None else pc.and_(mask, m)
    mask = pc.fill_null(mask, False)
    positions = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    return table.filter(mask), positions


def filter_frame(df, table, terms):
    """``df[mask]``, the mask computed by pandas on ``table``'s columns (read as ``df``'s:
    nulls become NaN), for a table :func:`filter_table` leaves to pandas."""
    mask = None
    for name, op, value in terms:
        m = op(table.column(name).to_pandas().to_numpy(), value)
        mask = m if mask is None else mask & m
    return df[mask]
