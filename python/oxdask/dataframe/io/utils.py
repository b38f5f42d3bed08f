"""Paths through fsspec: glob expansion, output names and the filesystem of a URL."""

from __future__ import annotations

import os

from oxdask.utils import build_name_function, natural_sort_key

__all__ = ["expand_paths", "output_paths"]


def expand_paths(urlpath, storage_options=None):
    """``(fs, sorted paths)`` of a path, a glob, a directory or a list of them (any fsspec
    URL); raises ``FileNotFoundError`` when nothing matches."""
    import fsspec

    urls = (
        [os.fspath(u) for u in urlpath]
        if isinstance(urlpath, (list, tuple))
        else [os.fspath(urlpath)]
    )
    if not urls:
        raise ValueError("no paths given")
    fs, _ = fsspec.core.url_to_fs(urls[0], **(storage_options or {}))
    out = []
    for u in urls:
        p = fs._strip_protocol(u)
        if any(ch in p for ch in "*?["):
            found = sorted(fs.glob(p), key=natural_sort_key)
            if not found:
                raise FileNotFoundError(f"{u!r} resolved to no files")
            out += found
        elif fs.isdir(p):
            out += sorted((f for f in fs.find(p) if not _hidden(f)), key=natural_sort_key)
        elif fs.exists(p):
            out.append(p)
        else:
            raise FileNotFoundError(f"{u!r}: no such file")
    return fs, out


def _hidden(path: str) -> bool:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name.startswith((".", "_"))


def output_paths(urlpath, n, name_function=None, storage_options=None, suffix=""):
    """``(fs, n paths)`` for writing: ``*`` in ``urlpath`` is replaced by
    ``name_function(i)``; a path without ``*`` is a directory of ``i.part`` files."""
    import fsspec

    if isinstance(urlpath, (list, tuple)):
        if len(urlpath) != n:
            raise ValueError(f"{len(urlpath)} paths for {n} partitions")
        fs, _ = fsspec.core.url_to_fs(os.fspath(urlpath[0]), **(storage_options or {}))
        return fs, [fs._strip_protocol(os.fspath(p)) for p in urlpath]
    fs, path = fsspec.core.url_to_fs(os.fspath(urlpath), **(storage_options or {}))
    name_function = name_function or build_name_function(n - 1)
    if "*" not in path:
        fs.makedirs(path, exist_ok=True)
        path = f"{path.rstrip('/')}/*{suffix}"
    else:
        parent = os.path.dirname(path)
        if parent:
            fs.makedirs(parent, exist_ok=True)
    names = [name_function(i) for i in range(n)]
    if names != sorted(names) and len(set(names)) == n:
        import warnings

        warnings.warn(
            "In order to preserve order between partitions paths created with "
            "``name_function`` should sort to partition order",
            UserWarning,
            stacklevel=3,
        )
    return fs, [path.replace("*", nm) for nm in names]
