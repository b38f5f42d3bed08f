"""ORC files through pyarrow: ``read_orc`` (one partition per ``split_stripes`` stripes of
each file) and ``to_orc`` (one ``part.i.orc`` file per partition)."""

from __future__ import annotations

import os

from oxdask.tokenize import tokenize

__all__ = ["read_orc", "to_orc"]


def _orc():
    try:
        from pyarrow import orc
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("ORC files need pyarrow with ORC support: pip install pyarrow") from e
    return orc


class _ReadStripes:
    def __init__(self, fs, columns, index):
        self.fs = fs
        self.columns = columns
        self.index = index

    def __call__(self, piece):
        import pyarrow as pa

        path, stripes = piece
        with self.fs.open(path, "rb") as f:
            reader = _orc().ORCFile(f)
            batches = [reader.read_stripe(i, columns=self.columns) for i in stripes]
            schema = reader.schema if self.columns is None else None
        if batches:
            table = pa.Table.from_batches(batches)
        else:
            table = schema.empty_table() if schema is not None else pa.table({})
        df = table.to_pandas()
        return df.set_index(self.index) if self.index is not None else df


def read_orc(
    path,
    engine="pyarrow",
    columns=None,
    index=None,
    split_stripes=1,
    aggregate_files=None,
    storage_options=None,
):
    """Read ORC files (a path, a glob, a directory or a list).

    ``columns`` selects columns; ``index`` names the column to make the index;
    ``split_stripes`` is how many stripes make one partition (``False``: one per file).
    """
    from oxdask.dataframe.io.io import from_map
    from oxdask.dataframe.io.utils import expand_paths

    if engine != "pyarrow":
        raise ValueError(f"engine={engine!r} is not supported: only 'pyarrow'")
    if split_stripes is not False and (not isinstance(split_stripes, int) or split_stripes < 1):
        raise ValueError(
            f"split_stripes must be a positive integer or False, not {split_stripes!r}"
        )
    fs, paths = expand_paths(path, storage_options)
    paths = [p for p in paths if not fs.isdir(p)]
    if not paths:
        raise FileNotFoundError(f"no ORC files at {path!r}")
    if columns is not None:
        columns = list(columns)
        if index is not None and index not in columns:
            columns.append(index)
    pieces = []
    for p in paths:
        with fs.open(p, "rb") as f:
            n = _orc().ORCFile(f).nstripes
        step = n if split_stripes is False else split_stripes
        pieces += [(p, list(range(i, min(i + step, n)))) for i in range(0, max(n, 1), max(step, 1))]
    reader = _ReadStripes(fs, columns, index)
    meta = reader((pieces[0][0], [])).iloc[:0]
    token = tokenize(pieces, [fs.ukey(p) for p in paths], columns, index)
    return from_map(reader, pieces, meta=meta, label="read-orc", token=token)


class _WriteOrc:
    def __init__(self, fs, write_index):
        self.fs = fs
        self.write_index = write_index

    def __call__(self, df, path):
        import pyarrow as pa

        df = df.reset_index(drop=not self.write_index)
        with self.fs.open(path, "wb") as f:
            _orc().write_table(pa.Table.from_pandas(df, preserve_index=False), f)
        return path


def _done(*paths):
    return None


def to_orc(
    df,
    path,
    engine="pyarrow",
    write_index=True,
    storage_options=None,
    compute=True,
    compute_kwargs=None,
):
    """Write one ``part.i.orc`` file per partition into the directory ``path``.

    With ``write_index`` the index is written as a column (named after the index, or
    ``index``): read it back with ``read_orc(path, index=...)``.
    """
    import fsspec

    from oxdask.delayed import delayed

    if engine != "pyarrow":
        raise ValueError(f"engine={engine!r} is not supported: only 'pyarrow'")
    fs, root = fsspec.core.url_to_fs(os.fspath(path), **(storage_options or {}))
    fs.makedirs(root, exist_ok=True)
    write = delayed(_WriteOrc(fs, write_index), pure=False)
    name = tokenize(df, root, write_index)
    writes = [
        write(part, f"{root}/part.{i}.orc", dask_key_name=f"to-orc-{name}-{i}")
        for i, part in enumerate(df.to_delayed())
    ]
    result = delayed(_done, pure=False)(*writes)
    if not compute:
        return result
    return result.compute(**(compute_kwargs or {}))
