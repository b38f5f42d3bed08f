"""JSON: ``read_json`` (records or line-delimited, optionally split into blocks) and
``to_json`` (one file per partition)."""

from __future__ import annotations

import io

import pandas as pd

from oxdask.dataframe.core import _new
from oxdask.dataframe.io.csv import _blank, _Block, _compression, _read_bytes
from oxdask.dataframe.io.utils import expand_paths, output_paths
from oxdask.highlevelgraph import BlockwiseLayer, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["read_json", "to_json"]


class JsonReader:
    """Parse one block (or file) with ``pandas.read_json`` and cast it to ``meta``."""

    def __init__(self, fs, kwargs, meta, compression, path_column):
        self.fs = fs
        self.kwargs = kwargs
        self.meta = meta
        self.compression = compression
        self.path_column = path_column

    def __call__(self, block):
        data = _read_bytes(self.fs, block, self.compression.get(block.path), b"\n")
        if _blank(data):
            return self.meta
        df = pd.read_json(io.BytesIO(data), **self.kwargs)
        if self.path_column:
            df = df.assign(**{self.path_column: block.path})
        from oxdask.dataframe.io.csv import coerce_dtypes

        return coerce_dtypes(df, self.meta, block)


def read_json(
    url_path,
    orient="records",
    lines=None,
    storage_options=None,
    blocksize=None,
    sample=2**20,
    encoding="utf-8",
    errors="strict",
    compression="infer",
    meta=None,
    engine=None,
    include_path_column=False,
    path_converter=None,
    **kwargs,
):
    """Read JSON files into a DataFrame.

    Parameters
    ----------
    url_path : str or list
        A path, glob or list (any fsspec URL).
    orient : str
        As for ``pandas.read_json``; ``"records"`` by default.
    lines : bool, optional
        Line-delimited JSON (default: ``orient == "records"``).
    blocksize : int, optional
        Split line-delimited files into blocks of about this many bytes.
    sample : int
        Bytes of the first file read to infer the columns and dtypes.
    meta : optional
        Columns and dtypes of the result, instead of inferring them.
    include_path_column : bool or str
        Add a column with the path of each row's file.
    **kwargs
        Passed to ``pandas.read_json``.
    """
    if lines is None:
        lines = orient == "records"
    if blocksize and (orient != "records" or not lines):
        raise ValueError("Line-delimited JSON is required to use blocksize")
    fs, paths = expand_paths(url_path, storage_options)
    comp = {p: _compression(p, compression) for p in paths}
    blocks = []
    for p in paths:
        if blocksize and comp[p] is None:
            size = fs.size(p)
            blocks += [
                _Block(p, o, int(blocksize), o == 0) for o in range(0, max(size, 1), int(blocksize))
            ]
        else:
            blocks.append(_Block(p, 0, None, True))
    kw = {"orient": orient, "lines": lines, **kwargs}
    path_column = None
    if include_path_column:
        path_column = include_path_column if isinstance(include_path_column, str) else "path"
    if meta is None:
        first = blocks[0]
        if lines:
            probe = _Block(first.path, 0, sample, True)
            data = _read_bytes(fs, probe, comp[first.path], b"\n")
        else:
            data = _read_bytes(fs, _Block(first.path, 0, None, True), comp[first.path], b"\n")
        head = pd.read_json(io.BytesIO(data), **kw)
        if path_column:
            head = head.assign(**{path_column: pd.Series([], dtype=object)})
        meta = head.iloc[:0]
    else:
        from oxdask.dataframe.utils import make_meta

        meta = make_meta(meta)
    token = tokenize(paths, [fs.ukey(p) for p in paths], kw, blocksize)
    name, bname = f"read-json-{token}", f"json-blocks-{token}"
    func = JsonReader(fs, kw, meta, comp, path_column)
    spec = MaterializedLayer({(bname, i): b for i, b in enumerate(blocks)})
    layer = BlockwiseLayer(name, func, [0], [(bname, [0])], {bname: (len(blocks),)})
    return _new(name, layer, [], meta, (None,) * (len(blocks) + 1), {bname: spec})


class _WriteJson:
    def __init__(self, fs, kwargs):
        self.fs = fs
        self.kwargs = kwargs

    def __call__(self, df, path):
        with self.fs.open(path, "w", encoding="utf-8") as f:
            df.to_json(f, **self.kwargs)
        return path


def to_json(
    df,
    url_path,
    orient="records",
    lines=None,
    storage_options=None,
    compute=True,
    encoding="utf-8",
    errors="strict",
    compression=None,
    compute_kwargs=None,
    name_function=None,
    **kwargs,
):
    """Write one JSON file per partition (line-delimited records by default).

    Returns the paths written (or one Delayed per file with ``compute=False``).
    """
    from oxdask.base import compute as compute_all
    from oxdask.delayed import Delayed

    if lines is None:
        lines = orient == "records"
    fs, paths = output_paths(
        url_path, df.npartitions, name_function, storage_options, suffix=".part"
    )
    kw = {"orient": orient, "lines": lines, **kwargs}
    name = "to-json-" + tokenize(df._name, url_path, kw)
    writer = _WriteJson(fs, kw)
    layer = {(name, i): (writer, (df._name, i), paths[i]) for i in range(df.npartitions)}
    graph = _new(name, MaterializedLayer(layer), [df], df._meta, (None,) * (df.npartitions + 1))
    values = [Delayed((name, i), graph.dask) for i in range(df.npartitions)]
    if compute:
        return list(compute_all(*values, **(compute_kwargs or {})))
    return values
