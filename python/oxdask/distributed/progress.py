"""``progress``: a text progress bar over futures and persisted collections."""

from __future__ import annotations

import sys
import time

from oxdask.distributed.future import futures_of

__all__ = ["progress"]


def progress(*futures, notebook=None, multi=True, complete=True, interval=0.1, file=None,
             width: int = 40) -> None:  # fmt: skip
    """Show a progress bar until the given futures (or persisted collections) finish.

    Blocks; prints one updating line (``[#####     ] | 50% Completed | 1.2s``) to ``file``
    (standard error by default). Failed and cancelled futures count as finished, as in Dask.
    ``notebook`` and ``multi`` are accepted for compatibility; the bar is always one text line.
    """
    unique = futures_of(list(futures))
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
