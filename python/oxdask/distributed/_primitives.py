"""Locks and events kept by the scheduler: ``Semaphore``, ``Lock``, ``MultiLock``, ``Event``.

Each object is a name (and its settings); the state lives in the scheduler's process (see
``_scheduler_ext``), so objects of the same name in any process, clients and tasks alike,
coordinate. Objects pickle by name, and bind to the current client where they are used (the
default client, or inside a task the worker process's client).

Leases of a ``Semaphore`` (and ``Lock``) end when the client that took them leaves (its
process died or closed it), and, as Dask's, when they are not refreshed within
``distributed.scheduler.locks.lease-timeout`` (each process refreshes its leases in the
background; ``"inf"`` turns expiry off).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
import warnings
import weakref
from collections import deque

from oxdask import config
from oxdask.distributed._async import future_method
from oxdask.distributed._holds import blocking as run_blocking
from oxdask.distributed._holds import client_of, on_left, seconds, wait_until

__all__ = ["Event", "Lock", "MultiLock", "Semaphore"]

logger = logging.getLogger(__name__)


def _name(name, prefix: str):
    """A name given, else a random one; lists become tuples (hashable)."""
    if name is None or name == "":
        return f"{prefix}-{uuid.uuid4().hex}"
    if isinstance(name, list):
        name = tuple(name)
    try:
        hash(name)
    except TypeError:
        raise TypeError(f"a {prefix} name must be hashable (a string), not {name!r}") from None
    return name


def _client_arg(scheduler_rpc, client):
    """Dask's old positional ``client`` (now ``scheduler_rpc``) still works."""
    from oxdask.distributed.client import Client

    if client is None and isinstance(scheduler_rpc, Client):
        return scheduler_rpc
    return client


# -- in the scheduler ---------------------------------------------------------------------------
def _state(ctx, name: str) -> dict:
    on_left(ctx, _client_left)
    return ctx.state.setdefault(name, {})


def _client_left(state: dict, client: int) -> None:
    """Leases and multi-locks of a client that left are freed."""
    for sem in state.get("oxdask.semaphores", {}).values():
        for lease in [i for i, (c, _) in sem["leases"].items() if c == client]:
            del sem["leases"][lease]
    ml = state.get("oxdask.multilocks")
    if ml:
        for owner in [i for i, (c, _) in ml["owners"].items() if c == client]:
            _ml_drop(ml, owner)


def _expire(sem: dict) -> bool:
    """Drop leases not refreshed within the semaphore's lease timeout; whether any went."""
    timeout = sem["timeout"]
    if timeout is None:
        return False
    now = time.monotonic()
    late = [i for i, (_, seen) in sem["leases"].items() if now - seen > timeout]
    for i in late:
        logger.debug("lease %s timed out after %ss", i, timeout)
        del sem["leases"][i]
    return bool(late)


def _sem_register(ctx, name, max_leases: int, timeout) -> dict:
    with ctx.condition:
        sems = _state(ctx, "oxdask.semaphores")
        sem = sems.get(name)
        if sem is None:
            sem = sems[name] = {"max": max_leases, "timeout": timeout, "leases": {}}
        elif sem["max"] != max_leases:
            raise ValueError(
                f"Inconsistent max leases for {name!r}: {max_leases}, expected: {sem['max']}"
            )
        return sem


def _sem_acquire(ctx, wait, name, max_leases, timeout, lease_id):
    sem = _sem_register(ctx, name, max_leases, timeout)

    def ready():
        if _expire(sem):
            ctx.condition.notify_all()
        if lease_id in sem["leases"] or len(sem["leases"]) < sem["max"]:
            sem["leases"][lease_id] = (ctx.client, time.monotonic())
            return True
        return None

    with ctx.condition:
        poll = None if sem["timeout"] is None else max(0.05, min(1.0, sem["timeout"] / 4))
        got = wait_until(ctx, wait, ready, poll)
    return (True, True) if got else (False, None)


def _sem_release(ctx, name, lease_id) -> bool:
    with ctx.condition:
        sem = _state(ctx, "oxdask.semaphores").get(name)
        if sem is None or lease_id not in sem["leases"]:
            return False
        del sem["leases"][lease_id]
        ctx.condition.notify_all()
        return True


def _sem_refresh(ctx, name, lease_ids) -> list:
    """Refresh leases; returns those no longer held."""
    with ctx.condition:
        sem = _state(ctx, "oxdask.semaphores").get(name)
        if sem is None:
            return list(lease_ids)
        now, lost = time.monotonic(), []
        for i in lease_ids:
            if i in sem["leases"]:
                sem["leases"][i] = (sem["leases"][i][0], now)
            else:
                lost.append(i)
        return lost


def _sem_value(ctx, name) -> int:
    with ctx.condition:
        sem = _state(ctx, "oxdask.semaphores").get(name)
        if sem is None:
            return 0
        if _expire(sem):
            ctx.condition.notify_all()
        return len(sem["leases"])


def _sem_close(ctx, name) -> int:
    """Forget the semaphore; returns how many leases it still had."""
    with ctx.condition:
        sem = _state(ctx, "oxdask.semaphores").pop(name, None)
        ctx.condition.notify_all()
        return 0 if sem is None else len(sem["leases"])


def _ml_drop(ml: dict, owner) -> None:
    _, names = ml["owners"].pop(owner)
    for n in names:
        if ml["held"].get(n) == owner:
            del ml["held"][n]


def _ml_acquire(ctx, wait, names, owner, num_locks):
    with ctx.condition:
        ml = _state(ctx, "oxdask.multilocks")
        ml.setdefault("held", {})
        ml.setdefault("owners", {})

        def ready():
            if owner in ml["owners"]:
                return True
            free = [n for n in names if n not in ml["held"]]
            if len(free) < num_locks:
                return None
            taken = free[:num_locks]
            for n in taken:
                ml["held"][n] = owner
            ml["owners"][owner] = (ctx.client, taken)
            return True

        got = wait_until(ctx, wait, ready)
    return (True, True) if got else (False, None)


def _ml_release(ctx, owner) -> bool:
    with ctx.condition:
        ml = _state(ctx, "oxdask.multilocks")
        if owner not in ml.get("owners", {}):
            return False
        _ml_drop(ml, owner)
        ctx.condition.notify_all()
        return True


def _ev_wait(ctx, wait, name):
    with ctx.condition:
        events = _state(ctx, "oxdask.events")
        got = wait_until(ctx, wait, lambda: True if name in events else None)
    return (True, True) if got else (False, None)


def _ev_set(ctx, name, value: bool) -> None:
    with ctx.condition:
        events = _state(ctx, "oxdask.events")
        if value:
            events[name] = True
        else:
            events.pop(name, None)
        ctx.condition.notify_all()


def _ev_is_set(ctx, name) -> bool:
    with ctx.condition:
        return name in _state(ctx, "oxdask.events")


# -- lease refreshing ---------------------------------------------------------------------------
class _Refresher:
    """One thread per process refreshing the leases of its semaphores while they hold any,
    each a fifth of its lease timeout after the last time."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._thread: threading.Thread | None = None

    def add(self, sem: Semaphore) -> None:
        with self._cond:
            self._due.setdefault(sem, time.monotonic() + sem._lease_timeout / 5)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="oxdask-lease-refresh", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                for sem in [s for s in self._due if not s._leases]:
                    del self._due[sem]
                if not self._due:
                    self._thread = None
                    return
                now = time.monotonic()
                due = [s for s, t in self._due.items() if t <= now]
                if not due:
                    self._cond.wait(min(self._due.values()) - now)
                    continue
                for s in due:
                    self._due[s] = now + s._lease_timeout / 5
            for s in due:
                if s.refresh_leases and s._leases:
                    try:
                        s._refresh()
                    except Exception as e:  # the next round tries again
                        logger.debug("refreshing leases of %r failed: %s", s.name, e)
                        if getattr(s._client, "_closed", False):
                            s._leases.clear()  # they ended with the client


_refresher = _Refresher()


def _lease_timeout():
    value = config.get("distributed.scheduler.locks.lease-timeout", "30s")
    if value is None or value == "inf" or value == float("inf"):
        return None
    return seconds(value, "distributed.scheduler.locks.lease-timeout")


# -- objects ------------------------------------------------------------------------------------
class _Bound:
    """The client an object talks through, found when first used."""

    def __init__(self, client) -> None:
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = client_of(None, type(self).__name__)
        return self._client

    def _call(self, func, *args):
        return self.client._call_scheduler(func, *args, _context=True)

    def _now(self, name: str, *args, **kwargs):
        """Public method ``name``, blocking even with an asynchronous client."""
        method = getattr(type(self), name)
        return getattr(method, "__wrapped__", method)(self, *args, **kwargs)

    def __await__(self):
        async def ready():
            return self

        return ready().__await__()


class Semaphore(_Bound):
    """A semaphore kept by the scheduler: at most ``max_leases`` holders at once, across
    clients and tasks.

    Parameters
    ----------
    max_leases : int
        How many leases may be held at the same time (default 1).
    name : str, optional
        Objects of the same name share the leases; a random name if not given.
    scheduler_rpc, loop :
        Accepted for Dask's signature; unused (a Client given as ``scheduler_rpc`` is used as
        ``client``).
    client : Client, optional
        Default: the current client, or the worker's inside a task.

    A lease is released by ``release`` or the ``with`` block's end, by the holder's client
    leaving, or when it is not refreshed within ``distributed.scheduler.locks.lease-timeout``
    (refreshing is automatic while the process runs). Releasing more often than acquired
    raises ``RuntimeError``.
    """

    def __init__(self, max_leases=1, name=None, scheduler_rpc=None, loop=None, *, client=None):
        if not isinstance(max_leases, int) or isinstance(max_leases, bool):
            raise TypeError(f"max_leases must be an integer, not {max_leases!r}")
        if max_leases < 1:
            raise ValueError(f"max_leases must be at least 1, not {max_leases}")
        super().__init__(_client_arg(scheduler_rpc, client))
        self.name = _name(name, "semaphore")
        self.max_leases = max_leases
        self.id = uuid.uuid4().hex
        self._leases: deque = deque()
        self._lease_timeout = _lease_timeout()
        #: refresh this object's leases in the background (Dask's attribute)
        self.refresh_leases = True
        self._registered = False

    @future_method
    def register(self, **kwargs) -> None:
        """Make the semaphore known to the scheduler (acquiring does it too)."""
        if not self._registered:
            self._call(_sem_register, self.name, self.max_leases, self._lease_timeout)
            self._registered = True

    @future_method
    def acquire(self, timeout=None) -> bool:
        """Take a lease, waiting up to ``timeout`` (seconds or ``"200ms"``; None: as long
        as it takes). Returns whether it got one."""
        timeout = seconds(timeout)
        lease = uuid.uuid4().hex
        args = (self.name, self.max_leases, self._lease_timeout, lease)
        ok, _ = run_blocking(self.client, _sem_acquire, timeout, *args)
        self._registered = True
        if ok:
            self._leases.append(lease)
            if self._lease_timeout is not None:
                _refresher.add(self)
        return ok

    @future_method
    def release(self) -> bool:
        """Give back the oldest lease this object holds (``RuntimeError`` if none)."""
        if not self._leases:
            raise RuntimeError(
                f"Released too often: {type(self).__name__} {self.name!r} holds no lease here "
                "(it was not acquired through this object, or was released already)"
            )
        lease = self._leases.popleft()
        if not self._call(_sem_release, self.name, lease):
            logger.warning(
                "%s %r: the lease was already gone (it timed out, or its client left)",
                type(self).__name__,
                self.name,
            )
        return True

    def _refresh(self) -> None:
        lost = self._call(_sem_refresh, self.name, list(self._leases))
        if lost:
            logger.critical(
                "%s %r: leases %s had expired before being refreshed; the semaphore may be "
                "overbooked",
                type(self).__name__,
                self.name,
                lost,
            )

    @future_method
    def get_value(self) -> int:
        """How many leases are held now (by anyone)."""
        return self._call(_sem_value, self.name)

    @future_method
    def close(self) -> None:
        """Forget the semaphore on the scheduler (a ``RuntimeWarning`` if leases remain)."""
        left = self._call(_sem_close, self.name)
        self._registered = False
        if left:
            warnings.warn(
                f"Closing semaphore {self.name} but there remain {left} unreleased leases",
                RuntimeWarning,
                stacklevel=2,
            )

    def __enter__(self):
        self._now("acquire")
        return self

    def __exit__(self, *exc) -> None:
        self._now("release")

    async def __aenter__(self):
        await asyncio.to_thread(self._now, "acquire")
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.to_thread(self._now, "release")

    def __reduce__(self):
        return (type(self), (self.max_leases, self.name))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.name!r}, max_leases={self.max_leases}>"


class Lock(Semaphore):
    """A lock kept by the scheduler: one holder at a time, across clients and tasks (a
    ``Semaphore`` of one lease, so it too is freed when its holder's client leaves).

    Parameters
    ----------
    name : str, optional
        Locks of the same name are the same lock; a random name if not given.
    scheduler_rpc, loop :
        Accepted for Dask's signature; unused (a Client given positionally is used).
    client : Client, optional
        Default: the current client, or the worker's inside a task.
    """

    def __init__(self, name=None, scheduler_rpc=None, loop=None, *, client=None):
        super().__init__(1, _name(name, "lock"), scheduler_rpc, loop, client=client)

    @future_method
    def acquire(self, blocking: bool = True, timeout=None) -> bool:
        """Take the lock; wait up to ``timeout`` (None: as long as it takes). With
        ``blocking=False`` only try once (a timeout then is a ``ValueError``, as Dask)."""
        if not isinstance(blocking, bool):
            raise TypeError(f"blocking must be True or False, not {blocking!r}")
        if not blocking:
            if timeout is not None:
                raise ValueError("can't specify a timeout for a non-blocking call")
            timeout = 0
        return Semaphore.acquire.__wrapped__(self, timeout=timeout)

    @future_method
    def locked(self) -> bool:
        """Whether anyone holds the lock."""
        return self._now("get_value") == 1

    def __reduce__(self):
        return (Lock, (self.name,))


class MultiLock(_Bound):
    """Several locks taken together (all of ``names``, or any ``num_locks`` of them), or
    none: no deadlock between holders of overlapping sets.

    Parameters
    ----------
    names : list of str
        Names of the locks (a namespace of their own, apart from ``Lock``'s).
    client : Client, optional
        Default: the current client, or the worker's inside a task.
    """

    def __init__(self, names=None, client=None):
        names = [] if names is None else names
        if isinstance(names, str) or not isinstance(names, list | tuple | set):
            raise TypeError(f"MultiLock names must be a list of names, not {names!r}")
        super().__init__(client)
        self.names = list(names)
        for n in self.names:
            _name(n, "lock")
        self.id = uuid.uuid4().hex
        self._locked = False

    @future_method
    def acquire(self, blocking: bool = True, timeout=None, num_locks=None) -> bool:
        """Take the locks (``num_locks`` of them; default all), waiting up to ``timeout``;
        returns whether they were taken."""
        timeout = seconds(timeout)
        if not blocking:
            if timeout is not None:
                raise ValueError("can't specify a timeout for a non-blocking call")
            timeout = 0
        n = len(self.names) if num_locks is None else num_locks
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"num_locks must be an integer, not {num_locks!r}")
        if not self.names:
            raise ValueError("MultiLock has no names to lock")
        if not 1 <= n <= len(self.names):
            raise ValueError(f"num_locks must be between 1 and {len(self.names)}, not {n}")
        ok, _ = run_blocking(self.client, _ml_acquire, timeout, list(self.names), self.id, n)
        self._locked = ok
        return ok

    @future_method
    def release(self):
        """Release the locks (``ValueError`` if not acquired)."""
        if not self._locked:
            raise ValueError("Lock is not yet acquired")
        self._call(_ml_release, self.id)
        self._locked = False

    def locked(self) -> bool:
        return self._locked

    def __enter__(self):
        self._now("acquire")
        return self

    def __exit__(self, *exc) -> None:
        self._now("release")

    async def __aenter__(self):
        await asyncio.to_thread(self._now, "acquire")
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.to_thread(self._now, "release")

    def __reduce__(self):
        return (type(self), (self.names,))


class Event(_Bound):
    """An event kept by the scheduler (as ``asyncio.Event``): a flag, false at first, that
    ``set`` raises and ``clear`` lowers; ``wait`` blocks until it is raised.

    Parameters
    ----------
    name : str, optional
        Events of the same name are the same event; a random name if not given.
    client : Client, optional
        Default: the current client, or the worker's inside a task.
    """

    def __init__(self, name=None, client=None):
        super().__init__(client)
        self.name = _name(name, "event")

    @future_method
    def wait(self, timeout=None) -> bool:
        """Wait until the event is set: True, or False after ``timeout``."""
        ok, _ = run_blocking(self.client, _ev_wait, seconds(timeout), self.name)
        return ok

    @future_method
    def set(self) -> None:
        """Set the flag: every waiter wakes."""
        self._call(_ev_set, self.name, True)

    @future_method
    def clear(self) -> None:
        """Lower the flag: waiters block again."""
        self._call(_ev_set, self.name, False)

    @future_method
    def is_set(self) -> bool:
        return self._call(_ev_is_set, self.name)

    def __reduce__(self):
        return (Event, (self.name,))

    def __repr__(self) -> str:
        return f"<Event: {self.name!r}>"
