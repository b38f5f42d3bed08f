"""``CompatibleExecutor``: a ``concurrent.futures.Executor`` whose calls run on a cluster.

Its futures are ``concurrent.futures.Future`` objects (so ``concurrent.futures.wait`` and
``as_completed`` work on them), completed from the client's futures; cancelling one cancels
the task.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
import weakref
from typing import TYPE_CHECKING

from oxdask.distributed.future import Future, FutureCancelledError
from oxdask.utils import parse_timedelta

if TYPE_CHECKING:
    from oxdask.distributed.client import Client

__all__ = ["ClientExecutor", "CompatibleExecutor"]


class CompatibleExecutor(cf.Executor):
    """Run calls on a distributed :class:`Client` (the current one by default).

    Parameters
    ----------
    client : Client, optional
    **kwargs
        Passed to every ``Client.submit``/``map``: ``pure``, ``workers``, ``resources``,
        ``allow_other_workers``, ``retries``.
    """

    _allowed = frozenset({"pure", "workers", "resources", "allow_other_workers", "retries"})

    def __init__(self, client=None, **kwargs) -> None:
        unknown = set(kwargs) - self._allowed
        if unknown:
            raise TypeError(f"unsupported arguments to CompatibleExecutor: {sorted(unknown)}")
        if client is None:
            from oxdask.distributed.client import default_client

            client = default_client()
        elif not callable(getattr(client, "submit", None)):
            raise TypeError(f"CompatibleExecutor needs a Client, not {client!r}")
        self._client = client
        self._kwargs = kwargs
        self._futures: weakref.WeakSet = weakref.WeakSet()
        self._shutdown = False

    def _wrap(self, future) -> cf.Future:
        from oxdask.distributed.future import Future, FutureCancelledError

        out = cf.Future()
        out._oxdask_future = future  # keeps the result on the cluster while wanted

        def cascade(f: Future) -> None:
            if out.done():
                return
            try:
                value = Future.result.__wrapped__(f)
            except FutureCancelledError:
                if out.cancel():
                    out.set_running_or_notify_cancel()  # wakes cf.wait / as_completed
                return
            except BaseException as e:
                out.set_exception(e)
                return
            out.set_result(value)

        def cancelled(cf_future: cf.Future) -> None:
            if cf_future.cancelled() and future.status != "cancelled":
                future.cancel()

        out.add_done_callback(cancelled)
        future.add_done_callback(cascade)
        return out

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        """Run ``fn(*args, **kwargs)`` on the cluster; a ``concurrent.futures.Future``."""
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future = self._client.submit(fn, *args, **{**self._kwargs, **kwargs})
        self._futures.add(future)
        return self._wrap(future)

    def map(self, fn, *iterables, timeout=None, chunksize: int = 1):
        """Results of ``fn`` over the iterables, in order; every call is submitted first.
        ``TimeoutError`` when the results are not all there ``timeout`` after the call."""
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        timeout = parse_timedelta(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        futures = self._client.map(fn, *iterables, **self._kwargs)

        def results():
            from oxdask.distributed.future import Future

            rest = list(futures)
            self._futures.update(rest)
            rest.reverse()
            try:
                while rest:
                    future = rest[-1]
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise cf.TimeoutError(f"map did not finish within {timeout}s")
                    yield Future.result.__wrapped__(future, left)
                    rest.pop()
            finally:  # as concurrent.futures: what was not consumed is cancelled
                pending = [f for f in rest if not f.done()]
                if pending:
                    self._client.cancel(pending)

        return results()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No new calls after this; with ``wait`` block until the submitted ones finish,
        without it (or with ``cancel_futures``) cancel those still running."""
        if self._shutdown:
            return
        self._shutdown = True
        pending = [f for f in list(self._futures) if not f.done()]
        if cancel_futures or not wait:
            if pending:
                self._client.cancel(pending)
            return
        from oxdask.distributed.future import _wait

        _wait(pending, None, "ALL_COMPLETED")


class ClientExecutor:
    """A ``concurrent.futures.Executor`` over a :class:`Client`."""

    def __init__(self, client: Client, **kwargs) -> None:
        import concurrent.futures

        self._client = client
        self._kwargs = kwargs
        self._cf = concurrent.futures
        self._shutdown = False

    def submit(self, fn, *args, **kwargs):
        if self._shutdown:
            raise RuntimeError("cannot submit after shutdown")
        fut = self._client.submit(fn, *args, pure=False, **self._kwargs, **kwargs)
        cf = self._cf.Future()

        def done(f: Future) -> None:
            try:
                cf.set_result(Future.result.__wrapped__(f))
            except FutureCancelledError:
                cf.cancel()
            except BaseException as e:
                cf.set_exception(e)

        cf._oxdask_future = fut  # keep the distributed future (and its result) alive
        fut.add_done_callback(done)
        return cf

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        futures = [self.submit(fn, *args) for args in zip(*iterables, strict=False)]
        return (f.result(timeout) for f in futures)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        self._shutdown = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
