"""Shared fixtures of the array tests: every test runs on the threads and sync schedulers."""

from __future__ import annotations

import numpy as np
import pytest

import oxdask


@pytest.fixture(autouse=True, params=["threads", "sync"])
def scheduler(request):
    with oxdask.config.set(scheduler=request.param):
        yield request.param


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
