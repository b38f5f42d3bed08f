"""``compress``: a function compressing bytes for each compression name fsspec reads."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile

__all__ = ["compress", "zip_compress"]


def zip_compress(data: bytes) -> bytes:
    """A zip archive holding ``data`` as its one member."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, mode="w") as z, z.open("data", "w") as member:
        member.write(data)
    return buf.getvalue()


def _identity(data: bytes) -> bytes:
    return data


compress = {
    None: _identity,
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zip": zip_compress,
}
