"""``progress``: a text progress bar over futures and persisted collections."""

from __future__ import annotations

import sys
import time
from typing import Any

from oxdask.distributed.future import Future

__all__ = ["progress"]


def _futures_in(obj: Any, out: list[Future]) -> None:
    if isinstance(obj, Future):
        out.append(obj)
    elif isinstance(obj, list | tuple | set):
        for x in obj:
            _futures_in(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _futures_in(x, out)
    elif hasattr(obj, "__dask_graph__"):  # a persisted collection holds futures in its graph
        graph = obj.__dask_graph__()
        if graph is not None:
            _futures_in(list(dict(graph).values()), out)


def progress(*futures, notebook=None, multi=True, complete=True, interval=0.1, file=None,
             width: int = 40) -> None:  # fmt: skip
    """Show a progress bar until the given futures (or persisted collections) finish.

    Blocks; prints one updating line (``[#####     ] | 50% Completed | 1.2s``) to ``file``
    (standard error by default). Failed and cancelled futures count as finished, as in Dask.
    ``notebook`` and ``multi`` are accepted for compatibility; the bar is always one text line.
    """
    found: list[Future] = []
    _futures_in(list(futures), found)
    unique = list({id(f): f for f in found}.values())
    out = file if file is not None else sys.stderr
    start = time.monotonic()
    while True:
        done = sum(1 for f in unique if f.done())
        frac = done / len(unique) if unique else 1.0
        bar = "#" * int(width * frac)
        elapsed = time.monotonic() - start
        out.write(f"\r[{bar:<{width}}] | {frac:4.0%} Completed | {elapsed:.1f}s")
        out.flush()
        if done == len(unique):
            break
        time.sleep(interval)
    out.write("\n")
    out.flush()
