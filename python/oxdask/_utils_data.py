"""Helpers of ``dask.utils`` for nested lists, random seeds, numbers and text.

Re-exported by :mod:`oxdask.utils`.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

# ---------------------------------------------------------------------------------------------
# Nested data


def unzip(ls, nout: int) -> tuple:
    """Transpose a list of ``nout``-tuples into ``nout`` tuples (empty ones for no input)."""
    out = tuple(zip(*ls, strict=True))
    return out if out else ((),) * nout


def concrete(seq):
    """Turn the iterators nested in lists into lists."""
    if isinstance(seq, Iterator):
        seq = list(seq)
    if isinstance(seq, (tuple, list)):
        seq = list(map(concrete, seq))
    return seq


def deepmap(func, *seqs):
    """Apply ``func`` to the leaves of equally nested lists."""
    if isinstance(seqs[0], (list, Iterator)):
        return [deepmap(func, *items) for items in zip(*seqs, strict=False)]
    return func(*seqs)


def homogeneous_deepmap(func, seq):
    """:func:`deepmap` for one nested list whose leaves are all at the same depth."""
    if not seq:
        return seq
    depth = 0
    x = seq
    while isinstance(x, list):
        depth += 1
        x = x[0]
    return ndeepmap(depth, func, seq)


def ndeepmap(n: int, func, seq):
    """Apply ``func`` to the elements ``n`` levels deep in nested lists."""
    if n == 1:
        return [func(x) for x in seq]
    if n > 1:
        return [ndeepmap(n - 1, func, x) for x in seq]
    if isinstance(seq, list):
        return func(seq[0])
    return func(seq)


def ndimlist(seq) -> int:
    """Depth of nesting of lists (``[[1]]`` -> 2)."""
    if not isinstance(seq, (list, tuple)):
        return 0
    if not seq:
        return 1
    return 1 + ndimlist(seq[0])


def insert(tup: tuple, loc: int, val) -> tuple:
    """``tup`` with the element at ``loc`` replaced by ``val``."""
    out = list(tup)
    out[loc] = val
    return tuple(out)


def iter_chunks(sizes: Iterable, max_size) -> Iterator[list]:
    """Group consecutive ``sizes`` into lists whose sums stay at most ``max_size``."""
    chunk: list = []
    total = 0
    for size in sizes:
        if size > max_size:
            raise ValueError(f"size {size} is larger than max_size {max_size}")
        if chunk and total + size > max_size:
            yield chunk
            chunk, total = [], 0
        chunk.append(size)
        total += size
    if chunk:
        yield chunk


def stringify(obj, exclusive: Iterable | None = None):
    """``str(obj)``, or with ``exclusive`` a copy of ``obj`` in which only the values found
    in ``exclusive`` become strings (lists, tuples, dict values and task arguments are
    searched; dict keys are not)."""
    if type(obj) in (str, bytes):
        return obj
    if exclusive is None:
        return str(obj)
    exclusive = exclusive if isinstance(exclusive, (set, frozenset, dict)) else set(exclusive)

    def convert(x):
        if type(x) in (str, bytes):
            return x
        try:
            if x in exclusive:
                return str(x)
        except TypeError:
            pass
        if type(x) is dict:
            return {k: convert(v) for k, v in x.items()}
        if type(x) is list:
            return [convert(v) for v in x]
        if type(x) is tuple:
            if x and callable(x[0]):
                return (x[0], *(convert(v) for v in x[1:]))
            return tuple(convert(v) for v in x)
        return x

    return convert(obj)


# ---------------------------------------------------------------------------------------------
# Numbers and text


def random_state_data(n: int, random_state=None) -> list:
    """``n`` arrays of 624 ``uint32`` seeds for ``numpy.random.RandomState``."""
    import numpy as np

    if not all(hasattr(random_state, a) for a in ("normal", "beta", "bytes", "uniform")):
        random_state = np.random.RandomState(random_state)
    raw = random_state.bytes(624 * 4 * n)
    return list(np.frombuffer(raw, dtype="<u4").reshape((n, 624)))


def pseudorandom(n: int, p, random_state=None):
    """``n`` random indices (``int8``) drawn with the probabilities ``p``."""
    import numpy as np

    p = list(p)
    if len(p) >= 256:
        raise ValueError("at most 255 probabilities")
    edges = np.cumsum([0, *p])
    if not np.allclose(edges[-1], 1):
        raise ValueError("probabilities must sum to 1")
    if not isinstance(random_state, np.random.RandomState):
        random_state = np.random.RandomState(random_state)
    x = random_state.random_sample(n)
    out = np.empty(n, dtype="i1")
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        out[(x >= lo) & (x < hi)] = i
    return out


_DIGITS = re.compile(r"(\d+)")


def natural_sort_key(s: str) -> list:
    """Sort key putting ``"f2"`` before ``"f10"``: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(s)]


def build_name_function(max_int: int):
    """Names ``0 .. max_int`` padded with zeros to one width, so they sort as numbers
    (``build_name_function(12)(3) == "03"``): the default file names of the writers."""
    width = len(str(max(int(max_int), 0)))

    def name_function(i: int) -> str:
        return str(i).zfill(width)

    return name_function


def memory_repr(num) -> str:
    """``1536`` -> ``"1.5 KB"`` (powers of 1024)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if num < 1024.0:
            return f"{num:3.1f} {unit}"
        num /= 1024.0
    return f"{num:3.1f} PB"


def maybe_pluralize(count, noun: str, plural_form: str | None = None) -> str:
    """``"1 chunk"``, ``"3 chunks"``."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {plural_form or noun + 's'}"


def format_time_ago(n: datetime) -> str:
    """``"Just now"``, ``"5 minutes ago"``, ``"1 day ago"``... for a past datetime."""
    from datetime import datetime

    seconds = (datetime.now() - n).total_seconds()
    for unit, length in (
        ("year", 365 * 86400),
        ("month", 30 * 86400),
        ("week", 7 * 86400),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
    ):
        count = int(seconds // length)
        if count >= 1:
            return f"{maybe_pluralize(count, unit)} ago"
    return "Just now"


@lru_cache(maxsize=64)
def _cumsum(seq: tuple, initial_zero: bool) -> tuple:
    sums = tuple(itertools.accumulate(seq))
    return (0, *sums) if initial_zero else sums


def cached_cumsum(seq, initial_zero: bool = False) -> tuple:
    """Cumulative sums of ``seq`` (a tuple; results are cached), optionally from ``0``."""
    return _cumsum(tuple(seq), initial_zero)


def cached_max(seq) -> Any:
    """``max(seq)`` for a tuple, cached."""
    return _max(tuple(seq))


@lru_cache(maxsize=64)
def _max(seq: tuple):
    return max(seq)


system_encoding = sys.getdefaultencoding()
if system_encoding == "ascii":  # pragma: no cover
    system_encoding = "utf-8"
