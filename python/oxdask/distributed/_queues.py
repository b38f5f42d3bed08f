"""Values shared through the scheduler: ``Queue``, ``Variable``, and ``Pub``/``Sub``.

Values travel pickled (any picklable object, not only msgpack's types as in Dask); futures
inside them arrive as futures of the receiving client, and their results stay in memory while
the scheduler keeps the value (see ``_holds``). Objects pickle by name and bind to the current
client where they are used, so tasks can use them too.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import deque

from oxdask.distributed._async import future_method
from oxdask.distributed._holds import (
    blocking,
    client_of,
    holds,
    on_left,
    pack,
    seconds,
    unpack,
    unpack_many,
    wait_until,
)
from oxdask.distributed._primitives import _Bound, _name

__all__ = ["Pub", "Queue", "Sub", "Variable"]


# -- in the scheduler ---------------------------------------------------------------------------
def _state(ctx, name: str) -> dict:
    on_left(ctx, _client_left)
    return ctx.state.setdefault(name, {})


def _client_left(state: dict, client: int) -> None:
    """Subscriptions of a client that left end (their undelivered messages are dropped)."""
    topics = state.get("oxdask.pubsub", {})
    dropped = []
    for subs in topics.values():
        for sid in [s for s, (c, _) in subs.items() if c == client]:
            dropped += [k for _, keys in subs.pop(sid)[1] for k in keys]
    h = state.get("oxdask.holds")
    if dropped and h is not None:
        h.release(dropped)


def _queue(ctx, name, maxsize, register: bool) -> dict:
    queues = _state(ctx, "oxdask.queues")
    q = queues.get(name)
    if q is None:
        q = queues[name] = {"maxsize": maxsize, "items": deque(), "refs": 0}
    if register:
        q["refs"] += 1
    return q


def _q_create(ctx, name, maxsize) -> None:
    with ctx.condition:
        _queue(ctx, name, maxsize, True)


def _q_release(ctx, name) -> None:
    with ctx.condition:
        queues = _state(ctx, "oxdask.queues")
        q = queues.get(name)
        if q is None:
            return
        q["refs"] -= 1
        if q["refs"] > 0:
            return
        del queues[name]
        ctx.condition.notify_all()
    keys = [k for _, ks in q["items"] for k in ks]
    holds(ctx).release(keys)


def _q_put(ctx, wait, name, maxsize, blob, keys):
    h = holds(ctx)
    h.hold(keys)  # while the sender still holds its futures
    with ctx.condition:
        q = _queue(ctx, name, maxsize, False)

        def ready():
            if q["maxsize"] > 0 and len(q["items"]) >= q["maxsize"]:
                return None
            q["items"].append((blob, keys))
            ctx.condition.notify_all()
            return True

        done = wait_until(ctx, wait, ready)
    if not done:
        h.release(keys)
        return False, None
    return True, None


def _q_get(ctx, wait, name, maxsize, batch):
    with ctx.condition:
        q = _queue(ctx, name, maxsize, False)
        items = q["items"]
        if batch is True:
            got = list(items)
            items.clear()
        else:
            n = 1 if batch is False else batch

            def ready():
                if len(items) < n:
                    return None
                return [items.popleft() for _ in range(n)]

            got = wait_until(ctx, wait, ready)
            if got is None:
                return False, None
        ctx.condition.notify_all()
        # The queue's holds pass to the receiver until it holds the keys itself.
        token = holds(ctx).pin(ctx.client, [k for _, ks in got for k in ks], False)
    return True, (got, token)


def _q_size(ctx, name, maxsize) -> int:
    with ctx.condition:
        return len(_queue(ctx, name, maxsize, False)["items"])


def _var_set(ctx, name, blob, keys) -> None:
    h = holds(ctx)
    h.hold(keys)
    with ctx.condition:
        variables = _state(ctx, "oxdask.variables")
        old = variables.get(name)
        variables[name] = (blob, keys)
        ctx.condition.notify_all()
    if old is not None:
        h.release(old[1])


def _var_get(ctx, wait, name):
    with ctx.condition:
        variables = _state(ctx, "oxdask.variables")
        record = wait_until(ctx, wait, lambda: variables.get(name))
        if record is None:
            return False, None
        blob, keys = record
        token = holds(ctx).pin(ctx.client, keys, True)
    return True, (blob, keys, token)


def _var_delete(ctx, name) -> None:
    with ctx.condition:
        old = _state(ctx, "oxdask.variables").pop(name, None)
    if old is not None:
        holds(ctx).release(old[1])


def _sub_register(ctx, name, sid) -> None:
    with ctx.condition:
        _state(ctx, "oxdask.pubsub").setdefault(name, {})[sid] = (ctx.client, deque())


def _sub_close(ctx, name, sid) -> None:
    with ctx.condition:
        subs = _state(ctx, "oxdask.pubsub").get(name, {})
        entry = subs.pop(sid, None)
    if entry is not None:
        holds(ctx).release([k for _, keys in entry[1] for k in keys])


def _pub_put(ctx, name, blob, keys) -> int:
    """Deliver to every subscriber of ``name``; returns how many there were."""
    with ctx.condition:
        subs = list(_state(ctx, "oxdask.pubsub").get(name, {}).values())
    if not subs:
        return 0
    holds(ctx).hold(list(keys) * len(subs))
    with ctx.condition:
        for _, messages in subs:
            messages.append((blob, keys))
        ctx.condition.notify_all()
    return len(subs)


def _sub_get(ctx, wait, name, sid):
    with ctx.condition:
        subs = _state(ctx, "oxdask.pubsub").setdefault(name, {})
        if sid not in subs:  # its client left and came back: subscribe again
            subs[sid] = (ctx.client, deque())
        messages = subs[sid][1]

        def ready():
            if not messages:
                return None
            got = list(messages)
            messages.clear()
            return got

        got = wait_until(ctx, wait, ready)
        if got is None:
            return False, None
        token = holds(ctx).pin(ctx.client, [k for _, ks in got for k in ks], False)
    return True, (got, token)


def _timeout_error(what: str, timeout) -> TimeoutError:
    return TimeoutError(f"{what} (timeout={timeout}s)")


# -- objects ------------------------------------------------------------------------------------
class Queue(_Bound):
    """A first-in first-out queue kept by the scheduler, shared by clients and tasks.

    Parameters
    ----------
    name : str, optional
        Queues of the same name are the same queue; a random name if not given.
    client : Client, optional
        Default: the current client, or the worker's inside a task.
    maxsize : int
        Most items it holds (``put`` waits for room); 0, the default, for no limit.

    Items are pickled (so anything picklable goes, futures too: they arrive as futures of the
    receiving client and stay computed while in the queue). Keep them small: large data is
    better scattered, and its future queued.
    """

    def __init__(self, name=None, client=None, maxsize=0):
        if not isinstance(maxsize, int) or isinstance(maxsize, bool):
            raise TypeError(f"maxsize must be an integer, not {maxsize!r}")
        super().__init__(client)
        self.name = _name(name, "queue")
        self.maxsize = maxsize
        self._registered = False
        with contextlib.suppress(RuntimeError):  # no client here yet: on first use
            self._register()

    def _register(self) -> None:
        if not self._registered:
            self._call(_q_create, self.name, self.maxsize)
            self._registered = True

    @future_method
    def put(self, value, timeout=None, **kwargs) -> None:
        """Add ``value``; with a ``maxsize``, wait up to ``timeout`` for room
        (``TimeoutError`` then)."""
        timeout = seconds(timeout)
        blob, keys = pack(value, f"Queue {self.name!r}.put")
        self._register()
        ok, _ = blocking(self.client, _q_put, timeout, self.name, self.maxsize, blob, keys)
        if not ok:
            raise _timeout_error(f"Queue {self.name!r} stayed full", timeout)

    @future_method
    def get(self, timeout=None, batch=False, **kwargs):
        """Take the oldest item, waiting up to ``timeout`` (``TimeoutError`` then).

        ``batch=True`` takes every item there is (maybe none) at once; ``batch=n`` waits for
        ``n`` items (no ``timeout`` then, as Dask).
        """
        timeout = seconds(timeout)
        if batch is not True and batch is not False:
            if not isinstance(batch, int) or batch < 0:
                raise TypeError(f"batch must be True, False or a count, not {batch!r}")
            if timeout is not None:
                raise NotImplementedError(
                    "Dask queues don't support simultaneous use of integer batch sizes and timeouts"
                )
        self._register()
        ok, got = blocking(self.client, _q_get, timeout, self.name, self.maxsize, batch)
        if not ok:
            raise _timeout_error(f"Queue {self.name!r} stayed empty", timeout)
        records, token = got
        values = unpack_many(self.client, records, token)
        return values[0] if batch is False else values

    @future_method
    def qsize(self, **kwargs) -> int:
        """How many items are waiting."""
        self._register()
        return self._call(_q_size, self.name, self.maxsize)

    @future_method
    def close(self) -> None:
        """Drop this object's reference; the queue (and what it holds) goes once no object
        refers to it."""
        if self._registered:
            self._registered = False
            self._call(_q_release, self.name)

    def __reduce__(self):
        return (type(self), (self.name, None, self.maxsize))

    def __repr__(self) -> str:
        return f"<Queue: {self.name!r}, maxsize={self.maxsize}>"


class Variable(_Bound):
    """One value kept by the scheduler under a name, shared by clients and tasks.

    Parameters
    ----------
    name : str, optional
        Variables of the same name are the same variable; a random name if not given.
    client : Client, optional
        Default: the current client, or the worker's inside a task.

    Values are pickled; a future (anywhere in the value) arrives as a future of the reading
    client, and its result stays in memory while the variable holds it.
    """

    def __init__(self, name=None, client=None):
        super().__init__(client)
        self.name = _name(name, "variable")

    @future_method
    def set(self, value, timeout="30 s", **kwargs) -> None:
        """Replace the value (every reader sees the new one)."""
        seconds(timeout)
        blob, keys = pack(value, f"Variable {self.name!r}.set")
        self._call(_var_set, self.name, blob, keys)

    @future_method
    def get(self, timeout=None, **kwargs):
        """The value; if none was set yet, wait up to ``timeout`` for one
        (``TimeoutError`` then)."""
        timeout = seconds(timeout)
        ok, got = blocking(self.client, _var_get, timeout, self.name)
        if not ok:
            raise _timeout_error(f"Variable {self.name!r} was not set", timeout)
        blob, keys, token = got
        return unpack(self.client, blob, keys, token)

    @future_method
    def delete(self) -> None:
        """Forget the value (for every client)."""
        self._call(_var_delete, self.name)

    def __reduce__(self):
        return (Variable, (self.name,))

    def __repr__(self) -> str:
        return f"<Variable: {self.name!r}>"


class Pub(_Bound):
    """Publish messages to every current ``Sub`` of the same name (through the scheduler).

    Dask removed ``Pub``/``Sub`` in 2024; oxdask keeps their interface. Messages reach the
    subscriptions that exist when they are put; with none, a message is dropped.
    """

    def __init__(self, name=None, worker=None, client=None):
        super().__init__(client)
        self.name = _name(name, "pubsub")

    @future_method
    def put(self, msg) -> None:
        """Send ``msg`` (any picklable object) to the current subscribers."""
        blob, keys = pack(msg, f"Pub {self.name!r}.put")
        self._call(_pub_put, self.name, blob, keys)

    def __reduce__(self):
        return (Pub, (self.name,))

    def __repr__(self) -> str:
        return f"<Pub: {self.name!r}>"


class Sub(_Bound):
    """Receive the messages ``Pub`` objects of the same name put after this subscription
    started. ``get`` returns them in order; ``for msg in sub`` iterates forever;
    ``buffer`` holds those received but not returned yet."""

    def __init__(self, name=None, worker=None, client=None):
        super().__init__(client)
        self.name = _name(name, "pubsub")
        self.id = uuid.uuid4().hex
        self.buffer: deque = deque()
        self._closed = False
        self._call(_sub_register, self.name, self.id)

    @future_method
    def get(self, timeout=None):
        """The next message, waiting up to ``timeout`` (``TimeoutError`` then)."""
        if self.buffer:
            return self.buffer.popleft()
        if self._closed:
            raise RuntimeError(f"Sub {self.name!r} is closed")
        timeout = seconds(timeout)
        ok, got = blocking(self.client, _sub_get, timeout, self.name, self.id)
        if not ok:
            raise _timeout_error(f"no message came to Sub {self.name!r}", timeout)
        records, token = got
        self.buffer.extend(unpack_many(self.client, records, token))
        return self.buffer.popleft()

    @future_method
    def close(self) -> None:
        """End the subscription (messages not received yet are dropped)."""
        if not self._closed:
            self._closed = True
            self._call(_sub_close, self.name, self.id)

    def __iter__(self):
        return self

    def __next__(self):
        return self._now("get")

    def __reduce__(self):
        return (Sub, (self.name,))

    def __repr__(self) -> str:
        return f"<Sub: {self.name!r}>"


def _held(client=None) -> dict:
    """Keys the scheduler holds for queues, variables, messages and datasets (for tests)."""
    from oxdask.distributed._holds import _held as held

    return client_of(client, "scheduler")._call_scheduler(held, _context=True)
