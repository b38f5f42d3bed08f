"""What the coordination primitives share: the client they talk through, waits split into
bounded scheduler calls, and values (futures among them) kept by the scheduler.

Values given to a ``Queue``, ``Variable``, ``Pub`` or ``publish_dataset`` are pickled in the
sending process, futures anywhere inside them replaced by their keys. The scheduler keeps the
bytes and the keys; while it does, a client of its own (opened lazily in the scheduler's
process) holds a future of each key, so the results stay in memory even once the sender
releases its futures. A receiver rebuilds the value with futures of its own client: it
takes references to the keys first, then tells the scheduler it has them ("unpin"), and only
then may the scheduler's hold go away (the two messages travel one connection, in order).
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
import pickle
import threading
import time
from collections import Counter

import cloudpickle

from oxdask.utils import parse_timedelta

#: Longest a single scheduler call waits; longer waits are several calls (so a waiter whose
#: process dies frees its scheduler thread soon, and Ctrl-C interrupts a wait).
CHUNK = 2.0
_FUTURE = "oxdask-future"


# -- the client ---------------------------------------------------------------------------------
def client_of(client, kind: str):
    """``client``, else the current one: the default client, or inside a task the worker
    process's client. ``RuntimeError`` (as Dask) when there is none."""
    if client is not None:
        return client
    from oxdask.distributed.client import get_client

    try:
        return get_client()
    except ValueError:
        raise RuntimeError(
            f"{kind} object not properly initialized: it needs a Client (start one, or use "
            "it inside a task on a worker)"
        ) from None


def seconds(timeout, what: str = "timeout"):
    """A timeout in seconds (None stays None); strings as ``"100ms"``; negative counts as 0."""
    value = parse_timedelta(timeout)
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number of seconds or a string like '2s'")
    return max(0.0, float(value))


def blocking(client, func, timeout, *args):
    """Run ``func(ctx, wait, *args)`` in the scheduler until it returns ``(True, value)``
    (returned here) or ``timeout`` seconds pass (then ``(False, None)``); each call waits at
    most :data:`CHUNK` seconds there."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = CHUNK if deadline is None else min(CHUNK, max(0.0, deadline - time.monotonic()))
        done, value = client._call_scheduler(func, left, *args, _context=True, _timeout=left + 60)
        if done:
            return True, value
        if deadline is not None and time.monotonic() >= deadline:
            return False, None


def wait_until(ctx, wait: float, ready, poll: float | None = None):
    """In the scheduler, holding ``ctx.condition``: wait up to ``wait`` seconds for
    ``ready()`` to return something other than None (returned). None on a timeout or when the
    calling client has left. ``poll`` bounds each sleep (for states that change with time)."""
    deadline = time.monotonic() + wait
    gone = departed(ctx)
    while True:
        if ctx.client in gone:
            return None
        value = ready()
        if value is not None:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ctx.condition.wait(left if poll is None else min(left, poll))


# -- clients that left --------------------------------------------------------------------------
def departed(ctx) -> set:
    """Ids of clients that left (registers the cleanups on first use)."""
    state = ctx.state
    gone = state.get("oxdask.departed")
    if gone is None:
        with ctx.condition:
            gone = state.get("oxdask.departed")
            if gone is None:
                gone = state["oxdask.departed"] = set()
                state["oxdask.on_left"] = []
                ctx.on_client_left(functools.partial(_client_left, state, ctx.condition))
    return gone


def on_left(ctx, callback) -> None:
    """Run ``callback(client_id)`` (holding the condition) when a client leaves; once per
    callback (compared by equality: pass module-level functions)."""
    departed(ctx)
    with ctx.condition:
        callbacks = ctx.state["oxdask.on_left"]
        if callback not in callbacks:
            callbacks.append(callback)


def _client_left(state: dict, condition, client: int) -> None:
    with condition:
        state["oxdask.departed"].add(client)
        for cb in list(state["oxdask.on_left"]):
            with contextlib.suppress(Exception):
                cb(state, client)
        condition.notify_all()
    holds = state.get("oxdask.holds")
    if holds is not None:
        holds.client_left(client)


# -- values with futures ------------------------------------------------------------------------
class _Pickler(cloudpickle.Pickler):
    def __init__(self, file, keys: list) -> None:
        super().__init__(file, protocol=5)
        self._keys = keys

    def persistent_id(self, obj):
        from oxdask.distributed.future import Future

        if isinstance(obj, Future):
            self._keys.append(obj.key)
            return (_FUTURE, obj.key)
        return None


def pack(value, what: str) -> tuple[bytes, list]:
    """``(bytes, keys of the futures inside)``; ``TypeError`` naming ``what`` if ``value``
    cannot be pickled."""
    keys: list = []
    buf = io.BytesIO()
    try:
        _Pickler(buf, keys).dump(value)
    except Exception as e:
        raise TypeError(
            f"{what}: cannot send a {type(value).__name__} through the scheduler, it cannot "
            f"be pickled: {e}"
        ) from e
    return buf.getvalue(), list(dict.fromkeys(keys))


def unpack(client, blob: bytes, keys, token=None):
    """Rebuild a packed value with futures of ``client``; then release the scheduler's pin
    ``token`` (see the module docs)."""
    from oxdask.distributed.future import Future

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid):
            if type(pid) is tuple and len(pid) == 2 and pid[0] == _FUTURE:
                return Future(pid[1], client)
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")

    try:
        value = Unpickler(io.BytesIO(blob)).load()
        if keys:
            client._send([], list(keys), {})  # after the references: reports find them
    finally:
        if token is not None:
            client._call_scheduler(_unpin, token, _context=True)
    return value


def unpack_many(client, records: list, token=None) -> list:
    """``unpack`` of several ``(bytes, keys)`` records, one unpin for all."""
    try:
        return [unpack(client, blob, keys) for blob, keys in records]
    finally:
        if token is not None:
            client._call_scheduler(_unpin, token, _context=True)


# -- the scheduler's holds ----------------------------------------------------------------------
class Holds:
    """In the scheduler: counts of holds per key, a future of each held key (on a client of
    this scheduler, opened when first needed), and pins of values on their way to a
    client."""

    def __init__(self, connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self._client = None
        self._futures: dict = {}
        self._counts: Counter = Counter()
        self._pins: dict = {}  # token -> (client id, keys)
        self._tokens = itertools.count()

    def _holder(self):
        if self._client is None or self._client._closed:
            if self._connection is None:
                raise RuntimeError(
                    "this scheduler cannot keep futures for queues, variables or published "
                    "datasets: it was started without its own address (start it with "
                    "LocalCluster or `oxdask scheduler`)"
                )
            from oxdask.distributed._scheduler_ext import open_client

            self._client = open_client(self._connection, "holds")
        return self._client

    def hold(self, keys) -> None:
        """One more hold of each key (a key held anew is wanted by the holding client)."""
        from oxdask.distributed.future import Future

        if not keys:
            return
        with self._lock:
            new = [k for k in dict.fromkeys(keys) if self._counts[k] == 0]
            if new:
                client = self._holder()
                for k in new:
                    self._futures[k] = Future(k, client)
                client._send([], new, {})
                client._conn.who_has(new, 30.0)  # the scheduler has seen the want
            self._counts.update(keys)

    def release(self, keys) -> None:
        with self._lock:
            for k in keys:
                self._counts[k] -= 1
                if self._counts[k] <= 0:
                    del self._counts[k]
                    future = self._futures.pop(k, None)
                    if future is not None:
                        future.release()

    def pin(self, client: int, keys, extra_hold: bool):
        """A token the receiving ``client`` gives back once it holds ``keys`` itself; until
        then the keys stay held (``extra_hold``: take one more hold of them for the pin, else
        the pin takes over a hold the caller gives up). None when there are no keys."""
        keys = list(keys)
        if not keys:
            return None
        if extra_hold:
            self.hold(keys)
        with self._lock:
            token = next(self._tokens)
            self._pins[token] = (client, keys)
        return token

    def unpin(self, token) -> None:
        with self._lock:
            entry = self._pins.pop(token, None)
        if entry is not None:
            self.release(entry[1])

    def client_left(self, client: int) -> None:
        with self._lock:
            tokens = [t for t, (c, _) in self._pins.items() if c == client]
        for t in tokens:
            self.unpin(t)

    def held(self) -> dict:
        with self._lock:
            return dict(self._counts)


def holds(ctx) -> Holds:
    """The scheduler's :class:`Holds` (created on first use)."""
    departed(ctx)  # client-left cleanups include the pins
    h = ctx.state.get("oxdask.holds")
    if h is None:
        with ctx.condition:
            h = ctx.state.get("oxdask.holds")
            if h is None:
                h = ctx.state["oxdask.holds"] = Holds(ctx.connection)
    return h


def _unpin(ctx, token) -> None:
    holds(ctx).unpin(token)


def _held(ctx) -> dict:
    """Keys the scheduler holds and how many times (for tests)."""
    return holds(ctx).held()
