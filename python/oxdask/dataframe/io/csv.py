"""CSV (and other delimited text): ``read_csv``, ``read_table``, ``read_fwf``, ``to_csv``.

Reading: every file is cut into blocks of about ``blocksize`` bytes at line boundaries (a
block starts after the first newline at or after its offset and ends at the first newline
after its end), and each block is parsed by pandas with the user's keywords; blocks after
the first of a file get the file's header lines prepended. The columns and dtypes come from
parsing the first rows of the first file; every block is then cast to them, and a block
whose values do not fit raises an error naming the file, the columns, and the ``dtype=`` to
pass instead.
"""

from __future__ import annotations

import io

import pandas as pd

from oxdask.dataframe.core import _new
from oxdask.dataframe.io.utils import expand_paths, output_paths
from oxdask.dataframe.utils import _table
from oxdask.highlevelgraph import BlockwiseLayer, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["read_csv", "read_fwf", "read_table", "to_csv"]

AUTO_BLOCKSIZE = 64_000_000
_UNSUPPORTED = ("index", "index_col", "iterator", "chunksize", "nrows", "skipfooter")


class _Block:
    """One block of a file: ``path``, byte ``offset`` and ``length`` (``None``: whole file)."""

    __slots__ = ("first", "length", "offset", "path")

    def __init__(self, path, offset, length, first):
        self.path = path
        self.offset = offset
        self.length = length
        self.first = first

    def __reduce__(self):
        return (_Block, (self.path, self.offset, self.length, self.first))


def _read_bytes(fs, block, compression, delimiter):
    from fsspec.utils import read_block

    with fs.open(block.path, "rb", compression=compression) as f:
        if block.length is None:
            return f.read()
        return read_block(f, block.offset, block.length, delimiter)


class TextReader:
    """Parse one block with ``reader`` (``pandas.read_csv``...) and cast it to ``meta``."""

    def __init__(
        self,
        fs,
        reader,
        kwargs,
        header,
        meta,
        compression,
        lineterminator,
        enforce,
        path_column,
        specified,
    ):
        self.fs = fs
        self.reader = reader
        self.kwargs = kwargs
        self.header = header
        self.meta = meta
        self.compression = compression
        self.lineterminator = lineterminator
        self.enforce = enforce
        self.path_column = path_column
        self.specified = specified

    def can_project(self) -> bool:
        """Whether the reader can be rebuilt for fewer columns (``usecols``)."""
        usecols = self.kwargs.get("usecols")
        dates = self.kwargs.get("parse_dates")
        return (
            (usecols is None or all(isinstance(c, str) for c in usecols))
            and (dates is None or dates is False or isinstance(dates, list))
            and self.meta.columns.is_unique
            and all(isinstance(c, str) for c in self.meta.columns)
        )

    def projected(self, columns):
        """A reader of only ``columns`` (which keep the order of the meta)."""
        kwargs = dict(self.kwargs)
        path_column = self.path_column if self.path_column in columns else None
        kwargs["usecols"] = [c for c in columns if c != self.path_column]
        if not kwargs["usecols"]:  # one file column, to get the number of rows
            first = self.meta.columns[0]
            kwargs["usecols"] = [first]
            columns = [first, *columns]
        dates = kwargs.get("parse_dates")
        if isinstance(dates, list):
            kwargs["parse_dates"] = [c for c in dates if c in columns] or None
        return TextReader(
            self.fs,
            self.reader,
            kwargs,
            self.header,
            self.meta[list(columns)],
            self.compression,
            self.lineterminator,
            self.enforce,
            path_column,
            self.specified,
        )

    def __call__(self, block):
        data = _read_bytes(self.fs, block, self.compression.get(block.path), self.lineterminator)
        kwargs = self.kwargs
        if not block.first:
            data = self.header + data
            kwargs = {k: v for k, v in kwargs.items() if k != "skiprows"}
        df = self.meta.iloc[:0] if _blank(data) else self.reader(io.BytesIO(data), **kwargs)
        if self.path_column:
            df = df.assign(**{self.path_column: block.path})
        return coerce_dtypes(df, self.meta, block, self.enforce)


def _blank(data: bytes) -> bool:
    """Whether ``data`` holds only whitespace (looking at its start first)."""
    return not data[:4096].strip() and not data.strip()


def coerce_dtypes(df, meta, block, enforce=False):
    """``df`` cast to the dtypes of ``meta``; raises ``ValueError`` naming the file and the
    columns whose values do not fit the guessed dtypes."""
    if list(df.columns) != list(meta.columns):
        if enforce or set(df.columns) != set(meta.columns):
            raise ValueError(
                f"Columns of {block.path} (bytes from {block.offset}) do not match the first "
                f"file's.\n  Found:    {list(df.columns)}\n  Expected: {list(meta.columns)}"
            )
        df = df[list(meta.columns)]
    bad, errors = [], []
    casts = {}
    for c, expected in meta.dtypes.items():
        found = df[c].dtype
        if found == expected:
            continue
        if pd.api.types.is_integer_dtype(expected) and pd.api.types.is_float_dtype(found):
            bad.append((c, found, expected))
        elif pd.api.types.is_string_dtype(expected) and pd.api.types.is_string_dtype(found):
            casts[c] = expected
        else:
            casts[c] = expected
    for c, t in casts.items():
        try:
            df[c] = df[c].astype(t)
        except (TypeError, ValueError) as e:
            errors.append((c, df[c].dtype, t, e))
    if bad or errors:
        raise ValueError(_mismatch_message(bad, errors, block))
    return df


def _mismatch_message(bad, errors, block) -> str:
    rows = [(c, f, e) for c, f, e in bad] + [(c, f, e) for c, f, e, _ in errors]
    rows.sort(key=lambda r: str(r[0]))
    lines = [
        "Mismatched dtypes found in `pd.read_csv`/`pd.read_table`.",
        f"File: {block.path}" + (f" (block at byte {block.offset})" if block.offset else ""),
        "",
        _table(rows),
    ]
    if errors:
        lines += ["", "The following columns also raised exceptions on conversion:", ""]
        for c, _, _, e in errors:
            lines.append(f"- {c}\n  {e!r}")
    suggestion = {str(c): _suggested(f) for c, f, _ in rows}
    dtype_kw = ", ".join(f"{k!r}: {v!r}" for k, v in suggestion.items())
    lines += [
        "",
        "Usually this is due to dtype inference from the first rows failing, and *may* be "
        "fixed by specifying dtypes manually by adding:",
        "",
        f"dtype={{{dtype_kw}}}",
        "",
        "to the call to `read_csv`/`read_table`.",
    ]
    if bad:
        lines += [
            "",
            "Alternatively, provide `assume_missing=True` to interpret all unspecified "
            "integer columns as floats.",
        ]
    return "\n".join(lines)


def _suggested(found) -> str:
    if pd.api.types.is_float_dtype(found):
        return "float64"
    if pd.api.types.is_string_dtype(found) or pd.api.types.is_object_dtype(found):
        return "object"
    return str(found)


def _header_bytes(sample: bytes, kwargs, lineterminator: bytes) -> bytes:
    """The header lines of a file (after ``skiprows``), to prepend to later blocks."""
    header = kwargs.get("header", "infer")
    if header is None or (header == "infer" and kwargs.get("names") is not None):
        return b""
    skip = kwargs.get("skiprows") or 0
    if not isinstance(skip, int):
        raise NotImplementedError("read_csv with blocksize supports an integer skiprows only")
    nlines = (
        max(header) if isinstance(header, list) else (header if isinstance(header, int) else 0)
    ) + 1
    parts = sample.split(lineterminator)
    wanted = parts[skip : skip + nlines]
    if len(parts) <= skip + nlines:
        raise ValueError("the sample is too small to hold the header; increase sample=")
    return lineterminator.join(wanted) + lineterminator


def read_pandas(
    reader,
    urlpath,
    blocksize="default",
    lineterminator=None,
    compression="infer",
    sample=256_000,
    sample_rows=10,
    enforce=False,
    assume_missing=False,
    storage_options=None,
    include_path_column=False,
    **kwargs,
):
    """Shared implementation of ``read_csv``/``read_table``/``read_fwf``."""
    for k in _UNSUPPORTED:
        if kwargs.get(k) is not None and kwargs.get(k) is not False:
            raise ValueError(f"{reader.__name__} does not support the {k!r} keyword")
    if isinstance(kwargs.get("header"), list):  # Dask's type and message
        raise TypeError(f"List of header rows not supported for dd.{reader.__name__}")
    lineterminator = (lineterminator or "\n").encode()
    if lineterminator != b"\n":
        kwargs["lineterminator"] = lineterminator.decode()
    fs, paths = expand_paths(urlpath, storage_options)
    if blocksize == "default":
        blocksize = AUTO_BLOCKSIZE
    if isinstance(blocksize, str):
        from oxdask.dataframe.repartition import _parse_bytes

        blocksize = _parse_bytes(blocksize)
    comp = {p: _compression(p, compression) for p in paths}
    blocks = []
    for p in paths:
        if blocksize is None or comp[p] is not None:
            blocks.append(_Block(p, 0, None, True))
            continue
        size = fs.size(p)
        offsets = list(range(0, max(size, 1), int(blocksize)))
        blocks += [_Block(p, o, int(blocksize), o == 0) for o in offsets]
    first = blocks[0]
    with fs.open(first.path, "rb", compression=comp[first.path]) as f:
        head_bytes = f.read(sample) if sample else f.read()
        if sample and not head_bytes.endswith(lineterminator):
            rest = f.read(sample)
            while rest and lineterminator not in rest:
                head_bytes += rest
                rest = f.read(sample)
            head_bytes += rest.split(lineterminator, 1)[0] + lineterminator if rest else b""
    head_kwargs = {k: v for k, v in kwargs.items()}
    try:
        head = reader(io.BytesIO(head_bytes), nrows=sample_rows, **head_kwargs)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{first.path} holds no data") from None
    specified = kwargs.get("dtype") or {}
    if assume_missing and isinstance(specified, dict):
        for c in head.columns:
            if pd.api.types.is_integer_dtype(head[c].dtype) and c not in specified:
                head[c] = head[c].astype(float)
    header = _header_bytes(head_bytes, kwargs, lineterminator) if blocksize else b""
    path_column = None
    if include_path_column:
        path_column = include_path_column if isinstance(include_path_column, str) else "path"
        head = head.assign(**{path_column: pd.Series([], dtype=object)})
    meta = head.iloc[:0]
    token = tokenize(
        reader.__name__,
        paths,
        [(b.offset, b.length) for b in blocks],
        kwargs,
        assume_missing,
        blocksize,
        [fs.ukey(p) for p in paths],
    )
    name = f"read-{reader.__name__.replace('read_', '')}-{token}"
    bname = f"blocks-{token}"
    func = TextReader(
        fs, reader, kwargs, header, meta, comp, lineterminator, enforce, path_column, specified
    )
    spec_layer = MaterializedLayer({(bname, i): b for i, b in enumerate(blocks)})
    layer = BlockwiseLayer(name, func, [0], [(bname, [0])], {bname: (len(blocks),)})
    if func.can_project():
        from oxdask.dataframe.projection import Projectable

        def rebuild(cols):
            return BlockwiseLayer(
                name, func.projected(cols), [0], [(bname, [0])], {bname: (len(blocks),)}
            )

        layer.columns_rule = Projectable(meta.columns, rebuild)
    return _new(name, layer, [], meta, (None,) * (len(blocks) + 1), {bname: spec_layer})


def _compression(path, compression):
    if compression == "infer":
        from fsspec.utils import infer_compression

        return infer_compression(path)
    return compression


def _make_reader(pandas_reader, doc_name):
    def read(
        urlpath,
        blocksize="default",
        lineterminator=None,
        compression="infer",
        sample=256_000,
        sample_rows=10,
        enforce=False,
        assume_missing=False,
        storage_options=None,
        include_path_column=False,
        **kwargs,
    ):
        return read_pandas(
            pandas_reader,
            urlpath,
            blocksize,
            lineterminator,
            compression,
            sample,
            sample_rows,
            enforce,
            assume_missing,
            storage_options,
            include_path_column,
            **kwargs,
        )

    read.__name__ = doc_name
    read.__doc__ = f"""Read {doc_name.replace("read_", "")} files into a DataFrame.

    Parameters
    ----------
    urlpath : str or list
        A path, a glob (``"data/*.csv"``) or a list of paths; any fsspec URL
        (``"s3://..."``, ``"memory://..."``).
    blocksize : int, str or None
        Bytes per partition (default 64 MB); ``None``: one partition per file. Compressed
        files are never split.
    lineterminator : str, optional
    compression : str, optional
        ``"infer"`` from the file extension (default), or a compression name.
    sample : int
        Bytes read from the first file to find the header and infer dtypes.
    sample_rows : int
        Rows used to infer dtypes.
    enforce : bool
        Require every block to have exactly the columns of the first.
    assume_missing : bool
        Read integer columns not in ``dtype=`` as floats.
    storage_options : dict, optional
        fsspec options.
    include_path_column : bool or str
        Add a column with the path of each row's file.
    **kwargs
        Passed to ``pandas.{doc_name}`` (``dtype``, ``parse_dates``, ``usecols``, ``names``,
        ``header``, ``sep``...).

    Returns
    -------
    DataFrame
    """
    return read


read_csv = _make_reader(pd.read_csv, "read_csv")
read_table = _make_reader(pd.read_table, "read_table")
read_fwf = _make_reader(pd.read_fwf, "read_fwf")


class _WriteCsv:
    def __init__(self, fs, kwargs, mode="w"):
        self.fs = fs
        self.kwargs = kwargs
        self.mode = mode

    def __call__(self, df, path, *previous):
        kwargs = dict(self.kwargs)
        mode = self.mode
        if previous:
            kwargs["header"] = False
            mode = "a"
        with self.fs.open(
            path,
            mode,
            encoding=kwargs.pop("encoding", None) or "utf-8",
            newline="",
            compression=kwargs.pop("compression", None),
        ) as f:
            df.to_csv(f, **kwargs)
        return path


def to_csv(
    df,
    filename,
    single_file=False,
    name_function=None,
    compute=True,
    storage_options=None,
    header_first_partition_only=None,
    compute_kwargs=None,
    mode="wt",
    **kwargs,
):
    """Write one CSV file per partition (or one file with ``single_file=True``).

    Parameters
    ----------
    df : DataFrame or Series
    filename : str or list of str
        A path with ``*`` (replaced by ``name_function(i)``), a directory (files
        ``0.part``, ``1.part``...), a list of paths, or one file with ``single_file``.
    single_file : bool
        Append the partitions to one file in order (one task after another).
    name_function : callable, optional
        Partition number to the text that replaces ``*`` (default ``str``).
    compute : bool
        Write now and return the paths; otherwise return one Delayed per file.
    storage_options : dict, optional
    header_first_partition_only : bool, optional
        Write the header only once (the default with ``single_file``).
    **kwargs
        Passed to ``pandas.DataFrame.to_csv``.
    """
    from oxdask.base import compute as compute_all
    from oxdask.delayed import Delayed

    n = df.npartitions
    kwargs.pop("mode", None)
    open_mode = "a" if "a" in mode else "w"
    token = tokenize(df._name, filename, single_file, kwargs)
    name = f"to-csv-{token}"
    if single_file:
        fs, (path,) = (
            output_paths(filename, 1, storage_options=storage_options)
            if "*" in str(filename)
            else _single(filename, storage_options)
        )
        layer = {}
        for i in range(n):
            prev = [(name, i - 1)] if i else []
            func = _WriteCsv(fs, kwargs, open_mode)
            layer[(name, i)] = (func, (df._name, i), path, *prev)
        keys = [(name, n - 1)]
    else:
        fs, paths = output_paths(filename, n, name_function, storage_options, suffix=".part")
        layer = {}
        for i in range(n):
            kw = dict(kwargs)
            if header_first_partition_only and i:
                kw["header"] = False
            layer[(name, i)] = (_WriteCsv(fs, kw, open_mode), (df._name, i), paths[i])
        keys = [(name, i) for i in range(n)]
    graph = _new(name, MaterializedLayer(layer), [df], df._meta, (None,) * (n + 1)).dask
    values = [Delayed(k, graph) for k in keys]
    if compute:
        return list(compute_all(*values, **(compute_kwargs or {})))
    return values


def _single(filename, storage_options):
    import fsspec

    fs, path = fsspec.core.url_to_fs(str(filename), **(storage_options or {}))
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        fs.makedirs(parent, exist_ok=True)
    return fs, [path]
