"""oxdask.system, oxdask.hashing, oxdask.typing and oxdask.context."""

from __future__ import annotations

import hashlib
import os

import pytest

import oxdask
from oxdask import hashing, system
from oxdask import typing as oxtyping
from oxdask.delayed import delayed


def test_cpu_count_is_bounded_by_the_affinity_mask():
    n = system.cpu_count()
    assert isinstance(n, int)
    assert 1 <= n <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert n <= len(os.sched_getaffinity(0))
    assert n == system.CPU_COUNT


def test_hash_buffer():
    np = pytest.importorskip("numpy")
    data = b"some bytes"
    h = hashing.hash_buffer(data)
    assert isinstance(h, bytes)
    assert h == hashing.hash_buffer(data)
    assert h != hashing.hash_buffer(b"other bytes")
    assert hashing.hash_buffer_hex(data) == h.hex()
    arr = np.arange(10)
    assert hashing.hash_buffer(arr) == hashing.hash_buffer(arr.tobytes())
    sha1 = hashing.hash_buffer(data, hasher=lambda b: hashlib.sha1(b).digest())
    assert sha1 == hashlib.sha1(data).digest()
    with pytest.raises(TypeError, match="unsupported type"):
        hashing.hash_buffer(object())


def test_hash_buffer_matches_dask():
    dask_hashing = pytest.importorskip("dask.hashing")
    assert hashing.hash_buffer_hex(b"abc") == dask_hashing.hash_buffer_hex(b"abc")


def test_typing_protocols():
    d = delayed(1) + 1
    assert isinstance(d, oxtyping.DaskCollection)
    assert isinstance(d, oxtyping.HLGDaskCollection)
    assert not isinstance(3, oxtyping.DaskCollection)
    assert repr(oxtyping.no_default) == "<no_default>"
    assert oxdask.is_dask_collection(d)


def test_submodules_are_attributes_of_oxdask():
    import importlib

    for name in ("optimization", "system", "typing", "hashing", "sizeof", "context", "utils"):
        assert getattr(oxdask, name) is importlib.import_module(f"oxdask.{name}")
    with pytest.raises(AttributeError, match="no attribute"):
        oxdask.not_a_module  # noqa: B018
