"""Text files as bags of lines: :func:`read_text` and :func:`to_textfiles` (any fsspec URL).

A partition reads its file (or byte block) lazily: the lines stream into the steps fused
after it (``map``, ``filter``, a reduction...) without being held as a list.
"""

from __future__ import annotations

import codecs
import io
import itertools
import os
from functools import partial

from oxdask.bag._parts import Part
from oxdask.highlevelgraph import BlockwiseLayer, HighLevelGraph, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["read_text", "to_textfiles"]

_UNIVERSAL = (None, "", "\n", "\r", "\r\n")


class NoFilesError(FileNotFoundError, ValueError):
    """No file matches the path or glob given (a ``FileNotFoundError``; a ``ValueError``
    too, which Dask raises)."""


def _expand(urlpath, storage_options):
    from oxdask.bag._paths import expand

    if isinstance(urlpath, (list, tuple)) and not urlpath:
        raise ValueError("No files found", urlpath)
    try:
        return expand(urlpath, storage_options)
    except FileNotFoundError as e:
        raise NoFilesError(f"No files found: {urlpath!r} matched no files ({e})") from None


def _compression(path, compression):
    if compression == "infer":
        from fsspec.utils import infer_compression

        return infer_compression(path)
    return compression


class _ReadLines:
    """Task: the lines of the files (or byte blocks) of one partition, as an iterator."""

    __slots__ = ("delimiter", "encoding", "errors", "include_path", "storage_options")

    def __init__(self, encoding, errors, delimiter, include_path, storage_options):
        self.encoding = encoding
        self.errors = errors
        self.delimiter = delimiter
        self.include_path = include_path
        self.storage_options = storage_options

    def __reduce__(self):
        return (
            _ReadLines,
            (self.encoding, self.errors, self.delimiter, self.include_path, self.storage_options),
        )

    def __call__(self, specs):
        if len(specs) == 1:
            return self._one(*specs[0])
        return itertools.chain.from_iterable(self._one(*spec) for spec in specs)

    def _one(self, path, compression, start, length):
        lines = (
            self._whole(path, compression)
            if start is None
            else self._block(path, compression, start, length)
        )
        if self.include_path:
            return zip(lines, itertools.repeat(path))
        return lines

    def _whole(self, path, compression):
        """The lines of a file, read and split in chunks (C-level iteration within each)."""
        return itertools.chain.from_iterable(self._chunks(path, compression))

    def _chunks(self, path, compression):
        import fsspec

        with fsspec.open(
            path, "rb", compression=compression, **(self.storage_options or {})
        ) as raw:
            if self.delimiter not in _UNIVERSAL:
                text = raw.read().decode(self.encoding, self.errors)
                yield _split_keep(text, self.delimiter, True)
                return
            yield from _line_chunks(raw, self.encoding, self.errors, self.delimiter)

    def _block(self, path, compression, start, length):
        import fsspec
        from fsspec.utils import read_block

        delim = (self.delimiter or "\n").encode(self.encoding)
        with fsspec.open(path, "rb", compression=compression, **(self.storage_options or {})) as f:
            data = read_block(f, start, length, delim)
        if self.delimiter in _UNIVERSAL:  # split a chunk at a time, as whole files
            chunks = _line_chunks(io.BytesIO(data), self.encoding, self.errors, self.delimiter)
            return itertools.chain.from_iterable(chunks)
        text = data.decode(self.encoding, self.errors)
        return iter(_split_keep(text, self.delimiter, False))


_CHUNK = 1 << 22


def _line_chunks(raw, encoding, errors, newline):
    """Lists of lines of a binary stream read ``_CHUNK`` bytes at a time, split as a text
    file opened with ``newline`` splits them (universal newlines for None)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    carry = ""
    while True:
        data = raw.read(_CHUNK)
        final = not data
        text = carry + decoder.decode(data, final)
        if final:
            if text:
                yield _split_lines(text, newline)
            return
        cut = _last_end(text, newline)
        if cut < 0:
            carry = text
            continue
        carry = text[cut + 1 :]
        yield _split_lines(text[: cut + 1], newline)


def _split_lines(text, newline) -> list:
    """Lines of ``text`` as a text file opened with ``newline`` reads them."""
    if newline in ("\r\n", "\r"):  # a StringIO would translate "\n" on the way in
        return _split_keep(text, newline, False)
    return list(io.StringIO(text, newline=newline))


def _last_end(text, newline) -> int:
    """Index of the last character ending a line whose end is certain (a final ``\r`` may
    be the start of ``\r\n``)."""
    if newline == "\n":
        return text.rfind("\n")
    if newline == "\r\n":
        return text.rfind("\r\n") + 1 if "\r\n" in text else -1
    cut = max(text.rfind("\n"), text.rfind("\r"))
    if cut == len(text) - 1 and text[cut] == "\r":
        cut = max(text.rfind("\n", 0, cut), text.rfind("\r", 0, cut))
    return cut


def _split_keep(text, delimiter, keep_last):
    if not text:
        return []
    parts = text.split(delimiter)
    out = [p + delimiter for p in parts[:-1]]
    if keep_last or not text.endswith(delimiter):
        out.append(parts[-1])
    return out


def read_text(
    urlpath,
    blocksize=None,
    compression="infer",
    encoding=None,
    errors="strict",
    linedelimiter=None,
    collection=True,
    storage_options=None,
    files_per_partition=None,
    include_path=False,
):
    """A bag of the lines of text files (one partition per file, per ``blocksize`` bytes
    of an uncompressed file, or per ``files_per_partition`` files).

    Parameters
    ----------
    urlpath : str or list
        Path, glob or list of paths (any fsspec URL).
    blocksize : int or str, optional
        Cut uncompressed files into blocks of about this many bytes.
    compression : str
        ``"infer"`` (from the extension), ``"gzip"``, ``"bz2"``, ``"xz"``, ``"zstd"`` or None.
    encoding, errors : str
        Text decoding (default: the system encoding, as Dask).
    linedelimiter : str, optional
        Line separator (default: universal newlines).
    collection : bool
        A Bag (default) or a list of Delayed partitions.
    files_per_partition : int, optional
        Group files into partitions (not with ``blocksize``).
    include_path : bool
        Elements are ``(line, path)``.
    """
    import locale

    from oxdask.bag.core import Bag
    from oxdask.bag.utils import parse_bytes

    if blocksize is not None and files_per_partition is not None:
        raise ValueError("Only one of blocksize or files_per_partition can be set")
    if isinstance(blocksize, str):
        blocksize = parse_bytes(blocksize)
    encoding = encoding or locale.getpreferredencoding(False) or "utf-8"
    fs, paths = _expand(urlpath, storage_options)
    specs = []
    if blocksize is None:
        per = int(files_per_partition or 1)
        for k in range(0, len(paths), per):
            specs.append(
                tuple((p, _compression(p, compression), None, None) for p in paths[k : k + per])
            )
    else:
        blocksize = int(blocksize)
        for p in paths:
            comp = _compression(p, compression)
            if comp is not None:
                raise ValueError(
                    f"Cannot do chunked reads on compressed files ({p!r} is {comp}); "
                    "use blocksize=None"
                )
            size = fs.size(p)
            if not size:
                specs.append(((p, None, 0, 0),))
            for off in range(0, size, blocksize):
                specs.append(((p, None, off, blocksize),))
    if not specs:
        raise ValueError("No files found", urlpath)
    token = tokenize(paths, specs, blocksize, encoding, errors, linedelimiter, include_path)
    sname, name = f"read-text-specs-{token}", f"read-text-{token}"
    from oxdask.core import quote

    spec_layer = MaterializedLayer({(sname, i): quote(s) for i, s in enumerate(specs)})
    reader = _ReadLines(encoding, errors, linedelimiter, include_path, storage_options)
    layer = BlockwiseLayer(name, Part(reader), [0], [(sname, [0])], {sname: (len(specs),)})
    graph = HighLevelGraph({sname: spec_layer, name: layer}, {sname: set(), name: {sname}})
    b = Bag(graph, name, len(specs))
    if collection:
        return b
    return b.to_delayed()


class _WriteText:
    __slots__ = ("compression", "encoding", "last_endline", "storage_options")

    def __init__(self, encoding, compression, last_endline, storage_options):
        self.encoding = encoding
        self.compression = compression
        self.last_endline = last_endline
        self.storage_options = storage_options

    def __reduce__(self):
        return (
            _WriteText,
            (self.encoding, self.compression, self.last_endline, self.storage_options),
        )

    def __call__(self, part, path):
        import fsspec

        comp = _compression(path, self.compression)
        text = self.encoding is not None
        mode = "wt" if text else "wb"
        kw = {"encoding": self.encoding} if text else {}
        with fsspec.open(path, mode, compression=comp, **kw, **(self.storage_options or {})) as f:
            endline = "\n" if text else b"\n"
            started = False
            for d in part:
                if started:
                    f.write(endline)
                else:
                    started = True
                if text and isinstance(d, bytes):
                    d = d.decode(self.encoding)
                elif not text and isinstance(d, str):
                    d = d.encode()
                f.write(d)
            if self.last_endline:
                f.write(endline)
        return [path]


def _padded(i, width):
    return str(i).zfill(width)


def to_textfiles(
    b,
    path,
    name_function=None,
    compression="infer",
    encoding="utf-8",
    compute=True,
    storage_options=None,
    last_endline=False,
    **kwargs,
):
    """Write the elements (strings) of ``b``, one line each, to one file per partition:
    ``path`` with ``*`` replaced by ``name_function(i)``, a directory, or a list of paths.
    Returns the paths (or a list of Delayed if not ``compute``)."""

    from oxdask.bag._paths import outputs
    from oxdask.bag.core import Bag, _graph

    if name_function is None:
        width = len(str(max(b.npartitions - 1, 0)))
        name_function = partial(_padded, width=width)
    _, paths = outputs(path, b.npartitions, name_function, storage_options, ".part")
    name = f"to-textfiles-{tokenize(b, paths, compression, encoding, os.urandom(4))}"
    pname = f"{name}-paths"
    writer = _WriteText(encoding, compression, last_endline, storage_options)
    layer = BlockwiseLayer(
        name,
        Part(writer, True, True),
        [0],
        [(b.name, [0]), (pname, [0])],
        {b.name: (b.npartitions,), pname: (b.npartitions,)},
    )
    from oxdask.core import quote

    plist = MaterializedLayer({(pname, i): quote(p) for i, p in enumerate(paths)})
    out = Bag(_graph(name, layer, [b], {pname: plist}), name, b.npartitions)
    if compute:
        out.compute(**kwargs)
        return list(paths)
    return out.to_delayed()
