"""HDF5 files through PyTables (pandas' ``HDFStore``): ``read_hdf`` and ``to_hdf``.

Only pandas' ``table`` format is read and written, as in Dask: it can be read by row ranges
(one partition per ``chunksize`` rows of each key of each file) and appended to.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import threading

import pandas as pd

from oxdask.tokenize import tokenize
from oxdask.utils import build_name_function, natural_sort_key

__all__ = ["read_hdf", "to_hdf"]

# PyTables is not thread-safe: reads and writes of one process take turns.
_LOCK = threading.RLock()
_FIXED = (
    "this HDF5 key was written in pandas' 'fixed' format, which cannot be read by row ranges: "
    "write it with format='table' (df.to_hdf(path, key=key, format='table'))"
)


class _Lock:
    def __init__(self, lock):
        self.lock = lock

    def __enter__(self):
        if self.lock:
            _LOCK.acquire()

    def __exit__(self, *exc):
        if self.lock:
            _LOCK.release()


class _ReadRows:
    def __init__(self, columns, mode, lock):
        self.columns = columns
        self.mode = mode
        self.lock = lock

    def __call__(self, piece):
        path, key, start, stop = piece
        with _Lock(self.lock):
            return pd.read_hdf(
                path, key, mode=self.mode, columns=self.columns, start=start, stop=stop
            )


def _expand(pattern) -> list[str]:
    patterns = [pattern] if isinstance(pattern, str | os.PathLike) else list(pattern)
    if not patterns:
        raise ValueError("No files provided")
    paths = []
    for p in patterns:
        found = sorted(glob.glob(os.fspath(p)), key=natural_sort_key)
        if not found:
            raise OSError(f"File(s) not found: {os.fspath(p)}")
        paths.extend(found)
    return paths


def _pieces(path, key, start, stop, chunksize, sorted_index, mode):
    """``[(path, key, start, stop)]`` and the index bounds of each piece (or None)."""
    pieces, bounds = [], []
    with _Lock(True), pd.HDFStore(path, mode=mode) as store:
        wanted = key if key.startswith("/") else "/" + key
        keys = [k for k in store if fnmatch.fnmatch(k, wanted)]
        if not keys:
            raise KeyError(f"no key matching {key!r} in {path!r}")
        for k in keys:
            storer = store.get_storer(k)
            if storer.format_type != "table":
                raise TypeError(_FIXED)
            end = storer.nrows if stop is None else min(stop, storer.nrows)
            if start > end:
                raise ValueError(f"start ({start}) is past the end ({end}) of key {k!r}")
            for lo in range(start, max(end, start + 1), chunksize):
                hi = min(lo + chunksize, end)
                pieces.append((path, k, lo, hi))
                if sorted_index and hi > lo:
                    index = store.select_column(k, "index", start=lo, stop=hi)
                    bounds.append((index.iloc[0], index.iloc[-1]))
                else:
                    bounds.append(None)
    return pieces, bounds


def read_hdf(
    pattern,
    key,
    start=0,
    stop=None,
    columns=None,
    chunksize=1_000_000,
    sorted_index=False,
    lock=True,
    mode="r",
):
    """Read HDF5 ``table``-format data written by pandas.

    Parameters
    ----------
    pattern : str, path or list
        File path(s), with globs.
    key : str
        Key in the files, with globs (``"/data*"``).
    start, stop : int
        Row range of each key.
    columns : list, optional
    chunksize : int
        Rows per partition.
    sorted_index : bool
        The index is sorted across partitions: read its bounds to set divisions.
    lock : bool
        Serialize the reads of one process (PyTables is not thread-safe).
    mode : {'r', 'r+', 'a'}
    """
    from oxdask.dataframe.io.io import from_map

    if not isinstance(chunksize, int) or chunksize <= 0:
        raise ValueError("Chunksize must be a positive integer")
    pieces, bounds = [], []
    for path in _expand(pattern):
        p, b = _pieces(path, key, start, stop, chunksize, sorted_index, mode)
        pieces += p
        bounds += b
    with _Lock(True):
        first = pieces[0]
        meta = pd.read_hdf(first[0], first[1], mode=mode, columns=columns, start=0, stop=0)
    divisions = None
    if sorted_index and all(b is not None for b in bounds):
        divisions = [b[0] for b in bounds] + [bounds[-1][1]]
        if divisions != sorted(divisions):
            divisions = None
    token = tokenize(pieces, [os.path.getmtime(p[0]) for p in pieces], columns, mode)
    return from_map(
        _ReadRows(columns, mode, lock),
        pieces,
        meta=meta,
        divisions=divisions,
        label="read-hdf",
        token=token,
    )


class _WriteHdf:
    def __init__(self, kwargs, lock):
        self.kwargs = kwargs
        self.lock = lock

    def __call__(self, df, path, key, mode, append, *after):
        with _Lock(self.lock):
            df.to_hdf(path, key=key, mode=mode, append=append, **self.kwargs)
        return path


def _done(*paths):
    return sorted(set(paths))


def to_hdf(
    df,
    path,
    key,
    mode="a",
    append=False,
    scheduler=None,
    name_function=None,
    compute=True,
    lock=None,
    dask_kwargs=None,
    **kwargs,
):
    """Write to HDF5 in pandas' ``table`` format.

    ``*`` in ``path`` writes one file per partition, ``*`` in ``key`` one key per partition
    (``name_function(i)`` replaces it; default: numbers padded to one width); otherwise the
    partitions are appended one after another to one key. Returns the file names written, or
    a Delayed of them with ``compute=False``.
    """
    from oxdask.delayed import delayed

    path = os.fspath(path)
    if path.count("*") + key.count("*") > 1:
        raise ValueError("A maximum of one asterisk is accepted in file path and dataset key")
    if kwargs.setdefault("format", "table") not in ("t", "table"):
        raise ValueError("Dask only support 'table' format in hdf files.")
    if mode not in ("a", "w", "r+"):
        raise ValueError("Mode must be one of 'a', 'w' or 'r+'")
    name_function = name_function or build_name_function(df.npartitions - 1)
    names = [name_function(i) for i in range(df.npartitions)]
    if any(not isinstance(n, str) for n in names):
        raise ValueError("name_function must return strings")
    writer = delayed(_WriteHdf(kwargs, True if lock is None else bool(lock)), pure=False)
    parts = df.to_delayed()
    writes = []
    token = tokenize(df, path, key, mode, append, kwargs)
    chained = "*" not in path  # one file: writes take turns in partition order
    for i, part in enumerate(parts):
        own_file = i == 0 or "*" in path
        writes.append(
            writer(
                part,
                path.replace("*", names[i]),
                key.replace("*", names[i]),
                mode if own_file else "a",
                append if own_file or "*" in key else True,
                *(writes[-1:] if chained else ()),
                dask_key_name=f"to-hdf-{token}-{i}",
            )
        )
    result = delayed(_done, pure=False)(*writes)
    if not compute:
        return result
    return result.compute(scheduler=scheduler, **(dask_kwargs or {}))
