"""Fast non-cryptographic hashes of buffers, compatible with ``dask.hashing``.

The first available of xxHash (``xxhash``), MurmurHash (``mmh3``) and SHA-1 is used, in the
order Dask uses them, so that equal inputs hash alike in both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

__all__ = ["hash_buffer", "hash_buffer_hex", "hashers"]

hashers: list[Callable] = []
"""The available hash functions, fastest first."""

try:
    import xxhash
except ImportError:
    pass
else:

    def _xxhash(buf) -> bytes:
        """8-byte xxHash64 digest of ``buf``."""
        return xxhash.xxh64(buf).digest()

    hashers.append(_xxhash)

try:
    import mmh3
except ImportError:
    pass
else:

    def _murmurhash(buf) -> bytes:
        """16-byte MurmurHash3 digest of ``buf``."""
        return mmh3.hash_bytes(buf)

    hashers.append(_murmurhash)


def _sha1(buf) -> bytes:
    """20-byte SHA-1 digest of ``buf``."""
    return hashlib.sha1(buf).digest()


hashers.append(_sha1)


def hash_buffer(buf, hasher: Callable | None = None) -> bytes:
    """A fixed-length hash of a bytes-like object (``hasher`` first if given, else the
    fastest available that accepts it).

    Raises
    ------
    TypeError
        If no hash function accepts ``buf``.
    """
    candidates = [hasher, *hashers] if hasher is not None else hashers
    for h in candidates:
        try:
            return h(buf)
        except (TypeError, OverflowError):
            continue
    raise TypeError(f"unsupported type for hashing: {type(buf)}")


def hash_buffer_hex(buf, hasher: Callable | None = None) -> str:
    """:func:`hash_buffer` as a hexadecimal string."""
    return hash_buffer(buf, hasher).hex()
