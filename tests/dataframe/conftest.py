"""Shared fixtures of the dataframe tests: every test runs on the threads and sync schedulers."""

from __future__ import annotations

import pytest

import oxdask


@pytest.fixture(autouse=True, params=["threads", "sync"])
def scheduler(request):
    with oxdask.config.set(scheduler=request.param):
        yield request.param
