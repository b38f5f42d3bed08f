"""``span`` (tag the tasks submitted inside a block) and ``Reschedule`` (a task asks to be
run again)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

__all__ = ["Reschedule", "span"]


class Reschedule(Exception):
    """Raised by a task: stop this run and run the task again (its result is the next
    run's). Dask's scheduler may pick another worker for the next run, without guarantee;
    oxdask runs it again on the same worker, after a short pause."""


@contextlib.contextmanager
def span(*tags: str) -> Iterator[str]:
    """Tag the tasks built inside the block (``oxdask.annotate(span=...)``) as part of a
    span named by ``tags``; spans nest (the names and ids accumulate). Yields the span's
    id; ``oxdask.get_annotations()["span"]`` is ``{"name": tags, "ids": ids}`` inside.
    oxdask's scheduler keeps no per-span records (Dask's ``Span`` objects)."""
    from oxdask.base import annotate, get_annotations

    if not tags:
        raise ValueError("Must specify at least one span tag")
    if not all(isinstance(t, str) for t in tags):
        raise TypeError(f"span tags must be strings, not {tags!r}")
    current = get_annotations().get("span")
    names = current["name"] if current else ()
    ids = current["ids"] if current else ()
    new = tuple(str(uuid.uuid4()) for _ in tags)
    with annotate(span={"name": names + tags, "ids": ids + new}):
        yield new[-1]
