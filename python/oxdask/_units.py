"""Sizes and durations written as Dask writes them: ``"4GiB"``, ``"100 MB"``, ``"2s"``,
``"1 minute"`` (``oxdask.utils.parse_bytes``, ``parse_timedelta``, ``format_bytes``)."""

from __future__ import annotations

import datetime
import re

_BYTE_UNITS = {"": 1, "b": 1}
for _i, _p in enumerate("kmgtp", start=1):
    _BYTE_UNITS[_p] = _BYTE_UNITS[_p + "b"] = 1000**_i
    _BYTE_UNITS[_p + "i"] = _BYTE_UNITS[_p + "ib"] = 1024**_i

_SECONDS = {}
for _names, _value in [
    (("ns", "nanosecond", "nanoseconds"), 1e-9),
    (("us", "µs", "microsecond", "microseconds"), 1e-6),
    (("ms", "millisecond", "milliseconds"), 1e-3),
    (("s", "sec", "secs", "second", "seconds"), 1),
    (("m", "min", "mins", "minute", "minutes"), 60),
    (("h", "hr", "hrs", "hour", "hours"), 3600),
    (("d", "day", "days"), 86400),
    (("w", "wk", "wks", "week", "weeks"), 7 * 86400),
]:
    for _n in _names:
        _SECONDS[_n] = _value

_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)?\s*([a-zA-Zµ]*)\s*$")


def _split(text: str, what: str) -> tuple[float, str]:
    match = _NUMBER_UNIT.match(text)
    if match is None:
        raise ValueError(f"Could not interpret {text!r} as {what}")
    number, unit = match.groups()
    return (float(number) if number else 1.0), unit.lower()


def parse_bytes(s: str | int | float) -> int:
    """A size as a number of bytes: ``"5 kB"`` is 5000, ``"4GiB"`` 4 * 2**30, ``"MB"`` 10**6.

    >>> parse_bytes("100 MB"), parse_bytes("1.5 KiB"), parse_bytes(123)
    (100000000, 1536, 123)
    """
    if isinstance(s, bool):
        raise TypeError(f"a size must be a number or a string like '4GiB', not {s!r}")
    if isinstance(s, int | float):
        return int(s)
    if not isinstance(s, str):
        raise TypeError(f"a size must be a number or a string like '4GiB', not {s!r}")
    number, unit = _split(s, "a byte size")
    if unit not in _BYTE_UNITS:
        raise ValueError(f"Could not interpret {unit!r} as a byte unit in {s!r}")
    return int(number * _BYTE_UNITS[unit])


def parse_timedelta(s, default: str | bool = "seconds"):
    """A duration in seconds: ``"2s"`` is 2, ``"100ms"`` 0.1, ``"1 minute"`` 60; a number is
    in ``default`` units (seconds); ``None`` stays ``None``. With ``default=False`` a bare
    number is an error.

    >>> parse_timedelta("3s"), parse_timedelta("1 minute"), parse_timedelta(5, default="ms")
    (3, 60, 0.005)
    """
    if s is None:
        return None
    if isinstance(s, datetime.timedelta):
        seconds = s.total_seconds()
        return int(seconds) if seconds == int(seconds) else seconds
    if isinstance(s, bool):
        raise TypeError(f"a duration must be a number or a string like '2s', not {s!r}")
    if isinstance(s, int | float):
        if default is False:
            raise ValueError(f"Missing time unit in {s!r}")
        s = f"{s}{default}"
    if not isinstance(s, str):
        raise TypeError(f"a duration must be a number or a string like '2s', not {s!r}")
    number, unit = _split(s, "a duration")
    if not unit:
        if default is False:
            raise ValueError(f"Missing time unit in {s!r}")
        if not isinstance(default, str):
            raise TypeError(f"default must be a time unit such as 'seconds', not {default!r}")
        unit = default.lower()
    if unit not in _SECONDS:
        raise KeyError(f"Invalid time unit: {unit}. Valid units are: {', '.join(_SECONDS)}")
    seconds = number * _SECONDS[unit]
    return int(seconds) if seconds == int(seconds) else seconds


def format_bytes(n: int) -> str:
    """``format_bytes(1024**3 * 4) == "4.00 GiB"``; under 0.9 KiB, plain bytes."""
    for prefix, k in (("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("ki", 2**10)):
        if n >= k * 0.9:
            return f"{n / k:.2f} {prefix}B"
    return f"{n} B"
