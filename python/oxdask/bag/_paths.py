"""Paths of the bag readers and writers (see :mod:`oxdask.bytes.paths`); URLs of filesystems
other than the local one keep their protocol."""

from __future__ import annotations

from oxdask.bytes.paths import expand_paths, output_paths, with_protocol

__all__ = ["expand", "outputs"]


def expand(urlpath, storage_options=None):
    """``(fs, paths)`` of a path, a glob, a directory or a list of them."""
    fs, paths = expand_paths(urlpath, storage_options)
    return fs, with_protocol(fs, paths)


def outputs(urlpath, n, name_function, storage_options=None, suffix=""):
    """``n`` paths to write (see :func:`oxdask.bytes.paths.output_paths`)."""
    fs, paths = output_paths(urlpath, n, name_function, storage_options, suffix)
    return fs, with_protocol(fs, paths)
