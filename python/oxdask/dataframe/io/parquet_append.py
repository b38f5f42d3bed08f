"""``to_parquet(append=True)``: what an existing dataset requires of the appended frame."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"part\.(\d+)\.parquet$")


def check_append(fs, root, df, schema, ignore_divisions):
    """``(offset, schema)``: the number of the first new file and the schema to write with
    (the dataset's); raises ``ValueError`` when the columns, dtypes or divisions disagree."""
    import pyarrow.dataset as pads

    files = [f for f in fs.find(root) if f.endswith(".parquet")] if fs.exists(root) else []
    if not files:
        return 0, schema
    old = pads.dataset(files, filesystem=fs, format="parquet").schema
    old_names = [n for n in old.names if not n.startswith("__index_level_")]
    new_names = [n for n in schema.names if not n.startswith("__index_level_")]
    if sorted(old_names) != sorted(new_names):
        raise ValueError(
            f"Appended columns not the same.\nPrevious: {old_names} | New: {new_names}"
        )
    differ = [
        f"{n}: {old.field(n).type} before, {schema.field(n).type} now"
        for n in new_names
        if not old.field(n).type.equals(schema.field(n).type)
    ]
    if differ:
        raise ValueError("Appended dtypes differ.\n" + "\n".join(differ))
    if df.known_divisions and not ignore_divisions:
        last = _last_index_value(files, fs, df._meta.index.name)
        if last is not None and df.divisions[0] <= last:
            raise ValueError(
                "The divisions of the appended dataframe overlap with previously written "
                "divisions. If this is desired, set ``ignore_divisions=True`` to append "
                f"anyway.\n- End of last written partition: {last}\n"
                f"- Start of first new partition: {df.divisions[0]}"
            )
    numbers = [int(m.group(1)) for f in files if (m := _NUMBER.search(f))]
    return (max(numbers) + 1 if numbers else len(files)), old


def _last_index_value(files, fs, name):
    """The largest index value stored in the files (from the row-group statistics)."""
    import pyarrow.parquet as pq

    column = name or "__index_level_0__"
    best = None
    for f in files:
        meta = pq.ParquetFile(f, filesystem=fs).metadata
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        if column not in names:
            return None
        i = names.index(column)
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(i).statistics
            if stats is None or not stats.has_min_max:
                return None
            best = stats.max if best is None else max(best, stats.max)
    return best
