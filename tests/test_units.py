"""Sizes and durations as strings, as Dask writes them (``oxdask.utils``)."""

import datetime

import pytest

from oxdask.utils import format_bytes, parse_bytes, parse_timedelta


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100 MB", 100_000_000),
        ("1.5 KiB", 1536),
        ("4GiB", 4 * 2**30),
        ("5kB", 5000),
        ("MB", 10**6),
        ("1e6", 10**6),
        ("2 gb", 2 * 10**9),
        (123, 123),
        (2.5, 2),
    ],
)
def test_parse_bytes(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("bad", ["5 foos", "abc", "1.2.3 MB"])
def test_parse_bytes_rejects_unknown_units(bad):
    with pytest.raises(ValueError, match="Could not interpret"):
        parse_bytes(bad)


def test_parse_bytes_rejects_other_types():
    with pytest.raises(TypeError, match="size"):
        parse_bytes([1])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3s", 3),
        ("100ms", 0.1),
        ("1 minute", 60),
        ("2h", 7200),
        ("1.5 s", 1.5),
        ("10us", 1e-5),
        ("3 days", 3 * 86400),
        ("1w", 7 * 86400),
        ("5", 5),
        (5, 5),
        (0.5, 0.5),
        (None, None),
        (datetime.timedelta(minutes=2), 120),
    ],
)
def test_parse_timedelta(text, expected):
    if expected is None:
        assert parse_timedelta(text) is None
    else:
        assert parse_timedelta(text) == pytest.approx(expected)


def test_parse_timedelta_default_unit_and_errors():
    assert parse_timedelta(5, default="ms") == pytest.approx(0.005)
    with pytest.raises(KeyError, match="foos"):
        parse_timedelta("3 foos")
    with pytest.raises(ValueError, match="Missing time unit"):
        parse_timedelta(3, default=False)


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 B"), (920, "920 B"), (1000, "0.98 kiB"), (2**20, "1.00 MiB"), (4 * 2**30, "4.00 GiB")],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text


def test_matches_dask():
    du = pytest.importorskip("dask.utils")
    for text in ["100 MB", "1.5 KiB", "4GiB", "MB", 7]:
        assert parse_bytes(text) == du.parse_bytes(text)
    for text in ["3s", "100ms", "1 minute", "2h", 5, "1w"]:
        assert parse_timedelta(text) == du.parse_timedelta(text)
    for n in [0, 1000, 2**20, 5 * 10**12]:
        assert format_bytes(n) == du.format_bytes(n)
