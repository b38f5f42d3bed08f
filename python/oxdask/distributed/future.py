"""Futures of the distributed client, and the functions that wait on many of them."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import namedtuple
from collections.abc import Iterable
from concurrent.futures import CancelledError, TimeoutError
from typing import Any

from oxdask.distributed._async import future_method
from oxdask.utils import parse_timedelta

__all__ = [
    "Future",
    "FutureCancelledError",
    "as_completed",
    "fire_and_forget",
    "futures_of",
    "wait",
]


class FutureCancelledError(CancelledError):
    """A future was cancelled; the message says why (never a bare ``CancelledError``)."""


class _KeyState:
    """What the client knows about one key; shared by every Future of that key."""

    __slots__ = (
        "callbacks",
        "exception",
        "nbytes",
        "pickled",
        "reason",
        "status",
        "traceback",
        "type",
    )

    def __init__(self) -> None:
        self.status = "pending"
        self.exception: BaseException | None = None
        self.traceback = None
        self.reason = ""
        self.type = None
        self.nbytes = None
        #: the result as a pickle when it was small enough to come with the completion
        self.pickled: bytes | None = None
        self.callbacks: list = []

    @property
    def done(self) -> bool:
        return self.status != "pending"

    def finished(self, nbytes, type_name, pickled) -> list:
        """:meth:`finish` with the result in memory (the common report, without keywords)."""
        self.nbytes, self.type, self.pickled = nbytes, type_name, pickled
        self.exception = None
        self.status = "finished"
        callbacks, self.callbacks = self.callbacks, []
        return callbacks

    def finish(self, status: str, **attrs) -> list:
        """Record the outcome (under the client's condition); returns callbacks to run."""
        for k, v in attrs.items():
            setattr(self, k, v)
        self.status = status
        callbacks, self.callbacks = self.callbacks, []
        return callbacks


class Future:
    """A remote computation: its result lives on a worker until you ask for it.

    Parameters
    ----------
    key : str or tuple
        The key of the task.
    client : Client, optional
        Defaults to the current client.
    """

    def __init__(self, key, client=None, _state: _KeyState | None = None) -> None:
        if client is None:
            from oxdask.distributed.client import default_client

            client = default_client()
        self.key = key
        self.client = client
        self._state = _state if _state is not None else self.client._ref(key)
        self._released = False

    # -- state -------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """``"pending"``, ``"finished"``, ``"error"``, ``"cancelled"`` or ``"lost"``."""
        return self._state.status

    def done(self) -> bool:
        """Whether the computation has finished (successfully or not)."""
        return self._state.status != "pending"

    def cancelled(self) -> bool:
        return self._state.status == "cancelled"

    @property
    def executor(self):
        """The client this future belongs to (Dask's name for it)."""
        return self.client

    def substitute(self, subs: dict, key=None):
        """This future, or what ``subs`` maps its key to: a future stays itself, another
        key becomes a future of that key on the same client (Dask's ``TaskRef``)."""
        if self.key not in subs:
            return self
        value = subs[self.key]
        if isinstance(value, Future):
            return value
        future = Future(value, self.client)
        self.client._send([], [value], {})  # its state reaches this client if the key exists
        return future

    def _wait(self, timeout) -> None:
        timeout = parse_timedelta(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        _wait_states(
            self.client,
            [self._state],
            deadline,
            lambda: f"future {self.key!r}",
            lambda: self.client.why(self.key),
        )

    @future_method
    def result(self, timeout: float | str | None = None) -> Any:
        """Wait for the result and bring it to this process; raises the task's exception."""
        self._wait(timeout)
        self._raise_if_failed()
        return self.client._gather_keys([self.key], timeout=timeout)[0]

    def _raise_if_failed(self) -> None:
        st = self._state
        if st.status == "error":
            raise st.exception  # type: ignore[misc]
        if st.status in ("cancelled", "lost"):
            raise FutureCancelledError(f"{self.key!r} cancelled: {st.reason}")

    @future_method
    def exception(self, timeout: float | str | None = None) -> BaseException | None:
        """The task's exception, or None if it succeeded."""
        self._wait(timeout)
        return self._state.exception

    @future_method
    def traceback(self, timeout: float | str | None = None):
        """The task's traceback (the remote frames are in the exception's notes)."""
        self._wait(timeout)
        exc = self._state.exception
        return exc.__traceback__ if exc is not None else None

    def cancel(self) -> None:
        """Cancel the computation (and what only it needs)."""
        self.client.cancel([self])

    def retry(self) -> None:
        """Run the computation again if it erred (with the erred tasks behind it)."""
        self.client.retry([self])

    def add_done_callback(self, fn) -> None:
        """Call ``fn(future)`` when the future finishes (from the client's event thread)."""
        with self.client._lock:
            if not self._state.done:
                self._state.callbacks.append(lambda: fn(self))
                return
        fn(self)

    @property
    def type(self):
        return self._state.type

    def release(self) -> None:
        """Drop this reference; the scheduler frees the result once no future refers to it."""
        if not self._released:
            self._released = True
            self.client._unref(self.key, self._state)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.release()

    def __await__(self):
        import asyncio

        return asyncio.to_thread(Future.result.__wrapped__, self).__await__()

    def __reduce__(self):
        return (Future, (self.key,))

    def __repr__(self) -> str:
        extra = f", type: {self.type}" if self.type else ""
        return f"<Future: {self.status}{extra}, key: {self.key}>"

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        return isinstance(other, Future) and other.key == self.key


DoneAndNotDoneFutures = namedtuple("DoneAndNotDoneFutures", ["done", "not_done"])


def _wait_states(client, states: list, deadline: float | None, what, explain=None) -> None:
    """Block until every state is done.

    Waits for one pending state at a time, latest first (results mostly arrive in order, so
    by the time the last one is done most others are too). The waiting thread takes and
    applies the client's key reports itself as they arrive (``Client._pump``).
    """
    if all(st.status != "pending" for st in states):
        return
    # Many results: their reports are taken in bursts (see `wait_events`).
    pending = len(states)
    client._conn.waiting(True)
    try:
        for st in reversed(states):
            while st.status == "pending":
                client._check_alive()
                wait = 0.1
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                    if wait <= 0:
                        raise TimeoutError(_late(what, explain))
                if client._conn.wait_events(wait, pending):
                    client._pump()
    finally:
        client._conn.waiting(False)


def _late(what, explain) -> str:
    """A timeout's message: what did not finish, and the scheduler's account of it."""
    text = f"{what()} did not finish in time"
    if explain is not None:
        try:
            text += "; the scheduler says:\n" + explain()
        except Exception as e:  # the scheduler is gone or slow: the timeout still stands
            text += f" (the scheduler could not say why: {e})"
    return text


def wait(fs, timeout: float | str | None = None, return_when: str = "ALL_COMPLETED"):
    """Wait until all (or the first, ``return_when="FIRST_COMPLETED"``) futures finish.

    ``fs`` may be a future, a collection of futures, or a persisted collection (as Dask, its
    futures are waited for). With futures of an asynchronous client, returns an awaitable.
    """
    fs = futures_of(fs)
    if any(getattr(f.client, "asynchronous", False) for f in fs):
        import asyncio

        return asyncio.to_thread(_wait, fs, timeout, return_when)
    return _wait(fs, timeout, return_when)


def _wait(fs: list, timeout, return_when: str):
    timeout = parse_timedelta(timeout)
    deadline = None if timeout is None else time.monotonic() + timeout
    if fs and return_when == "FIRST_COMPLETED":
        client = fs[0].client
        with client._cond:
            while not any(f.done() for f in fs):
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"none of {len(fs)} futures finished within {timeout}s")
                client._cond.wait(0.1)
                client._check_alive()
    else:
        by_client: dict = {}
        for f in fs:
            by_client.setdefault(id(f.client), (f.client, []))[1].append(f._state)
        for client, states in by_client.values():
            _wait_states(client, states, deadline, lambda: f"{len(fs)} futures")
    done = {f for f in fs if f.done()}
    return DoneAndNotDoneFutures(done, {f for f in fs if f not in done})


class as_completed:
    """Iterate over futures in the order they finish; more can be added while iterating.

    Parameters
    ----------
    futures : iterable of Future, optional
    with_results : bool
        Yield ``(future, result)`` pairs.
    raise_errors : bool
        With ``with_results``, raise a failed future's exception (else yield it).
    """

    def __init__(
        self, futures: Iterable[Future] = (), with_results: bool = False, raise_errors=True
    ):
        self._cond = threading.Condition()
        self._done: list[Future] = []
        self._pending: set[Future] = set()
        self.with_results = with_results
        self.raise_errors = raise_errors
        for f in futures:
            self.add(f)

    def add(self, future: Future) -> None:
        with self._cond:
            self._pending.add(future)
        future.add_done_callback(self._on_done)

    def update(self, futures: Iterable[Future]) -> None:
        for f in futures:
            self.add(f)

    def _on_done(self, future: Future) -> None:
        with self._cond:
            self._pending.discard(future)
            self._done.append(future)
            self._cond.notify_all()

    def count(self) -> int:
        with self._cond:
            return len(self._pending) + len(self._done)

    def is_empty(self) -> bool:
        return self.count() == 0

    def __iter__(self):
        return self

    def __aiter__(self):
        return self

    async def __anext__(self):
        import asyncio

        done = object()

        def step():
            try:
                return self.__next__()
            except StopIteration:
                return done

        item = await asyncio.to_thread(step)
        if item is done:
            raise StopAsyncIteration
        return item

    def __next__(self):
        with self._cond:
            while not self._done:
                if not self._pending:
                    raise StopIteration
                self._cond.wait(0.1)
            future = self._done.pop(0)
        if not self.with_results:
            return future
        try:
            return future, Future.result.__wrapped__(future)
        except Exception as e:
            if self.raise_errors:
                raise
            return future, e


def futures_of(obj: Any) -> list[Future]:
    """The futures in ``obj``: a future, lists/tuples/sets/dicts of them, or a persisted
    collection (whose graph holds futures), in order of appearance, each once."""
    found: dict[int, Future] = {}
    stack = [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, Future):
            found.setdefault(id(x), x)
        elif isinstance(x, list | tuple | set):
            stack.extend(reversed(list(x)))
        elif isinstance(x, dict):
            stack.extend(reversed(list(x.values())))
        elif hasattr(x, "__dask_graph__") and x.__dask_graph__() is not None:
            stack.extend(reversed(list(dict(x.__dask_graph__()).values())))
    return list(found.values())


def fire_and_forget(obj) -> None:
    """Keep computing ``obj`` (a future or collection of futures) even once released."""
    from oxdask.distributed.client import default_client

    futures = futures_of(obj)
    if futures:
        (futures[0].client or default_client())._fire_and_forget(futures)
