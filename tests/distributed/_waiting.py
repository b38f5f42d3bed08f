"""Bounded waits for conditions that a cluster reaches asynchronously."""

from __future__ import annotations

import time


def wait_for(predicate, timeout: float = 30.0) -> bool:
    """Whether ``predicate()`` became true within ``timeout`` seconds (checked every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
