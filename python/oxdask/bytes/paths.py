"""Paths of readers and writers through fsspec, shared by the dataframe and bag IO (no
pandas or NumPy needed): glob and directory expansion in partition order, and output names."""

from __future__ import annotations

import os
import warnings

from oxdask.utils import build_name_function, natural_sort_key

__all__ = ["expand_paths", "output_paths", "with_protocol"]


def _filesystem(url: str, storage_options):
    import fsspec

    fs, _ = fsspec.core.url_to_fs(url, **(storage_options or {}))
    return fs


def _hidden(path: str) -> bool:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name.startswith((".", "_"))


def expand_paths(urlpath, storage_options=None):
    """``(fs, paths)`` of a path, a glob, a directory or a list of them (any fsspec URL),
    sorted as numbers (``part.10`` after ``part.9``), without the protocol; hidden files
    (``.x``, ``_x``) of a directory are left out. ``FileNotFoundError`` names what matched
    nothing."""
    urls = (
        [os.fspath(u) for u in urlpath]
        if isinstance(urlpath, (list, tuple))
        else [os.fspath(urlpath)]
    )
    if not urls:
        raise FileNotFoundError("no paths given")
    fs = _filesystem(urls[0], storage_options)
    out = []
    for u in urls:
        p = fs._strip_protocol(u)
        if any(ch in p for ch in "*?["):
            found = sorted(fs.glob(p), key=natural_sort_key)
            if not found:
                raise FileNotFoundError(f"{u!r} matched no files")
            out += found
        elif fs.isdir(p):
            out += sorted((f for f in fs.find(p) if not _hidden(f)), key=natural_sort_key)
        elif fs.exists(p):
            out.append(p)
        else:
            raise FileNotFoundError(f"{u!r}: no such file")
    return fs, out


def with_protocol(fs, paths: list[str]) -> list[str]:
    """Paths of a filesystem other than the local one as URLs (``s3://bucket/key``)."""
    protocol = fs.protocol[0] if isinstance(fs.protocol, (list, tuple)) else fs.protocol
    if protocol in ("file", "local"):
        return paths
    return [fs.unstrip_protocol(p) for p in paths]


def output_paths(urlpath, n, name_function=None, storage_options=None, suffix=""):
    """``(fs, n paths)`` to write: ``*`` in ``urlpath`` is replaced by ``name_function(i)``
    (default: numbers padded to one width), a path without ``*`` is a directory of
    ``<name><suffix>`` files, a list gives the ``n`` paths."""
    if isinstance(urlpath, (list, tuple)):
        if len(urlpath) != n:
            raise ValueError(f"{len(urlpath)} paths given for {n} partitions")
        fs = _filesystem(os.fspath(urlpath[0]), storage_options)
        return fs, [fs._strip_protocol(os.fspath(p)) for p in urlpath]
    url = os.fspath(urlpath)
    fs = _filesystem(url, storage_options)
    path = fs._strip_protocol(url)
    if "*" not in path:
        fs.makedirs(path, exist_ok=True)
        path = f"{path.rstrip('/')}/*{suffix}"
    else:
        parent = os.path.dirname(path)
        if parent:
            fs.makedirs(parent, exist_ok=True)
    name_function = name_function or build_name_function(n - 1)
    names = [name_function(i) for i in range(n)]
    if names != sorted(names) and len(set(names)) == n:
        warnings.warn(
            "In order to preserve order between partitions paths created with "
            "``name_function`` should sort to partition order",
            UserWarning,
            stacklevel=3,
        )
    return fs, [path.replace("*", name, 1) for name in names]
