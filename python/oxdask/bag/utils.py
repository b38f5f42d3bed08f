"""Test helpers of bags (``dask.bag.utils``)."""

from __future__ import annotations

__all__ = ["assert_eq"]


def assert_eq(a, b, scheduler="sync"):
    """Compute ``a`` and ``b`` (if lazy) with ``scheduler`` and assert they are equal."""
    if hasattr(a, "compute"):
        a = a.compute(scheduler=scheduler)
    if hasattr(b, "compute"):
        b = b.compute(scheduler=scheduler)
    assert a == b, f"{a!r} != {b!r}"


_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_bytes(s) -> int:
    """``"128MiB"``, ``"5 MB"``, ``"1e6"`` or a number as a number of bytes."""
    if isinstance(s, (int, float)):
        return int(s)
    text = s.strip().lower().replace(" ", "")
    i = len(text)
    while i and not (text[i - 1].isdigit() or text[i - 1] == "."):
        i -= 1
    number, unit = text[:i] or "1", text[i:]
    if unit not in _UNITS:
        raise ValueError(f"Could not interpret {unit!r} as a byte unit in {s!r}")
    return int(float(number) * _UNITS[unit])
