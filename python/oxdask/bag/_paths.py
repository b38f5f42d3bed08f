"""Paths of the bag readers and writers through fsspec (no pandas needed)."""

from __future__ import annotations

import os

from oxdask.utils import build_name_function, natural_sort_key

__all__ = ["expand", "outputs"]


def _fs(url, storage_options):
    import fsspec

    fs, _ = fsspec.core.url_to_fs(url, **(storage_options or {}))
    return fs


def _full(fs, paths):
    protocol = fs.protocol[0] if isinstance(fs.protocol, (list, tuple)) else fs.protocol
    if protocol in ("file", "local"):
        return paths
    return [fs.unstrip_protocol(p) for p in paths]


def expand(urlpath, storage_options=None):
    """``(fs, sorted paths)`` of a path, a glob, a directory or a list of them (URLs of
    another filesystem keep their protocol); ``FileNotFoundError`` naming what matched
    nothing."""
    urls = (
        [os.fspath(u) for u in urlpath]
        if isinstance(urlpath, (list, tuple))
        else [os.fspath(urlpath)]
    )
    if not urls:
        raise FileNotFoundError("no paths given")
    fs = _fs(urls[0], storage_options)
    out = []
    for u in urls:
        p = fs._strip_protocol(u)
        if any(ch in p for ch in "*?["):
            found = sorted(fs.glob(p), key=natural_sort_key)
            if not found:
                raise FileNotFoundError(f"{u!r} matched no files")
            out += found
        elif fs.isdir(p):
            out += sorted(
                (f for f in fs.find(p) if not os.path.basename(f).startswith((".", "_"))),
                key=natural_sort_key,
            )
        elif fs.exists(p):
            out.append(p)
        else:
            raise FileNotFoundError(f"{u!r}: no such file")
    return fs, _full(fs, out)


def outputs(urlpath, n, name_function, storage_options=None, suffix=""):
    """``n`` paths to write: ``*`` in ``urlpath`` replaced by ``name_function(i)``, a
    directory (``<name>.part`` files), or a list of ``n`` paths."""
    import warnings

    if isinstance(urlpath, (list, tuple)):
        if len(urlpath) != n:
            raise ValueError(f"{len(urlpath)} paths given for {n} partitions")
        fs = _fs(os.fspath(urlpath[0]), storage_options)
        return fs, _full(fs, [fs._strip_protocol(os.fspath(p)) for p in urlpath])
    url = os.fspath(urlpath)
    fs = _fs(url, storage_options)
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
    if names != sorted(names):
        warnings.warn(
            "In order to preserve order between partitions paths created with "
            "``name_function`` should sort to partition order",
            UserWarning,
            stacklevel=3,
        )
    return fs, _full(fs, [path.replace("*", name, 1) for name in names])
