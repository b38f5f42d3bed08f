"""Actors: a stateful object living on one worker, driven through a proxy
(``client.submit(Cls, *args, actor=True)``; the future's result is an :class:`Actor`).

The object lives in its worker's process, in a registry keyed by the actor's key. Method
calls and attribute reads do not go through the scheduler or the worker's task threads (a
task waiting for an actor on its own worker would otherwise wait forever): each worker
process that holds actors serves them on a small socket of its own
(``multiprocessing.connection`` on the worker's interface, authenticated by a random key
the proxy carries). A caller in the actor's own process calls the object directly.

Methods of one actor run one at a time (a lock per actor), so a counter incremented from
many tasks at once counts exactly. The object is dropped when the worker forgets the
actor's key (every future of it released): the worker's stored result holds a guard whose
collection removes the object from the registry.
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import contextlib
import functools
import os
import pickle
import secrets
import sys
import threading
import time
from multiprocessing.connection import Client as _Connect
from multiprocessing.connection import Listener

from oxdask.distributed.serialize import dumps_error, loads_error
from oxdask.utils import parse_timedelta

__all__ = ["Actor", "ActorFuture", "BaseActorFuture"]

#: actor key -> (object, lock) in this process
_registry: dict = {}
_registry_lock = threading.Lock()
_server = None
#: calls in flight from this process (each waits for its reply on one of these threads)
_callers: concurrent.futures.ThreadPoolExecutor | None = None
#: idle connections of this process to actor servers: (host, port) -> [Connection]
_idle: dict = {}
_idle_lock = threading.Lock()


# -- in the actor's worker ------------------------------------------------------------------------
class _Server:
    """This process's actor server: one thread accepting, one per connection."""

    def __init__(self, host: str) -> None:
        self.authkey = secrets.token_bytes(32)
        self.listener = Listener((host, 0), backlog=128, authkey=self.authkey)
        self.address = self.listener.address
        self.pid = os.getpid()
        threading.Thread(target=self._accept, name="oxdask-actors", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn = self.listener.accept()
            except Exception:  # a caller that failed authentication
                time.sleep(0.01)
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _serve(conn) -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                request = conn.recv_bytes()
                conn.send_bytes(_answer(request))
        conn.close()


def _answer(request: bytes) -> bytes:
    try:
        key, op, name, args, kwargs = pickle.loads(request)
        value = _run(key, op, name, args, kwargs)
        return _dumps((True, value))
    except BaseException as e:  # the caller raises it
        return _error_reply(e)


def _error_reply(exc: BaseException) -> bytes:
    return pickle.dumps((False, dumps_error(exc)), protocol=5)


def _run(key, op: str, name: str, args, kwargs):
    entry = _registry.get(key)
    if entry is None:
        raise ValueError(f"the actor {key!r} is not on this worker (released, or its worker died)")
    obj, lock = entry
    with lock:
        attr = getattr(obj, name)
        if op == "call":
            result = attr(*args, **kwargs)
            if asyncio.iscoroutine(result):
                result = asyncio.run(result)
            return result
        return attr


def _server_for(worker_address: str) -> _Server:
    global _server
    with _registry_lock:
        if _server is None or _server.pid != os.getpid():
            host = worker_address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
            _server = _Server(host or "127.0.0.1")
        return _server


class _Guard:
    """Held by the worker's stored result of an actor's creation task: when the worker
    forgets that result, the actor's object goes too."""

    def __init__(self, key) -> None:
        self.key = key

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            _registry.pop(self.key, None)


def create(pickled_cls: bytes, key, args, kwargs) -> Actor:
    """The task of ``submit(cls, *args, actor=True)``: build the object here, serve it.
    (The class travels pickled by value: a class of the client's ``__main__`` is not
    importable on the worker.)"""
    import cloudpickle

    from oxdask.distributed._worker_api import get_worker

    cls = cloudpickle.loads(pickled_cls)
    obj = cls(*args, **kwargs)
    address = get_worker().address
    server = _server_for(address)
    with _registry_lock:
        _registry[key] = (obj, threading.RLock())
    actor = Actor(cls, address, key, (server.address, server.authkey))
    actor._guard = _Guard(key)
    return actor


# -- the proxy ------------------------------------------------------------------------------------
_SLOTS = ("_cls", "_address", "key", "_server", "_guard", "_future")


class Actor:
    """A proxy of an object living on a worker: its methods return :class:`ActorFuture`
    (``.result()`` waits), its other attributes are read from the worker when accessed."""

    def __init__(self, cls, address: str, key, _server=None) -> None:
        self._cls = cls
        self._address = address
        self.key = key
        self._server = _server
        self._guard = None
        self._future = None

    def _bind(self) -> None:
        """Hold a future of the actor's key on the current client (as Dask): the actor
        lives while a proxy of it does, here or anywhere."""
        from oxdask.distributed.future import Future

        client = _unpickling_client()
        if client is None:
            return
        with contextlib.suppress(Exception):
            self._future = Future(self.key, client)
            client._send([], [self.key], {})

    @property
    def client(self):
        """The client whose future keeps this actor alive (None if there is none)."""
        return None if self._future is None else self._future.client

    def __reduce__(self):  # the class by value (it may live in the client's __main__)
        return (_rebuild, (_dumps(self._cls), self._address, self.key, self._server))

    def __repr__(self) -> str:
        return f"<Actor: {self._cls.__name__}, key={self.key}>"

    def __dir__(self):
        names = set(dir(type(self)))
        names.update(a for a in dir(self._cls) if not a.startswith("_"))
        return sorted(names)

    def _local(self):
        """``(object, lock)`` when the actor lives in this process, else None."""
        here = _server
        if here is None or self._server is None or here.pid != os.getpid():
            return None
        if tuple(here.address) != tuple(self._server[0]):
            return None
        return _registry.get(self.key)

    def __getattr__(self, name: str):
        if name.startswith("__") or name in _SLOTS:
            raise AttributeError(name)
        if name.startswith("_") and not hasattr(self._cls, name):  # IPython's probes
            raise AttributeError(f"{self._cls.__name__!r} has no attribute {name!r}")
        future = self._future
        if future is not None and future.status not in ("finished", "pending"):
            raise RuntimeError(f"Worker holding Actor was lost.  Status: {future.status}")
        attr = getattr(self._cls, name, None)
        if callable(attr):

            @functools.wraps(attr)
            def method(*args, **kwargs) -> ActorFuture:
                return self._submit("call", name, args, kwargs)

            return method
        local = self._local()
        if local is not None:  # in the actor's process (sizeof probes the stored proxy)
            with local[1]:
                return getattr(local[0], name)
        return self._submit("get", name, (), {}).result()

    def _submit(self, op: str, name: str, args, kwargs) -> ActorFuture:
        global _callers
        future: concurrent.futures.Future = concurrent.futures.Future()
        if self._local() is not None:  # the caller is in the actor's process
            try:
                future.set_result(_run(self.key, op, name, args, kwargs))
            except BaseException as e:
                future.set_exception(e)
            return ActorFuture(future)
        if self._server is None:
            raise ValueError(f"{self!r} was not created by a worker (use submit(..., actor=True))")
        try:
            request = _dumps((self.key, op, name, args, kwargs))
        except Exception as e:
            raise TypeError(f"cannot send the arguments of {name}() to the actor: {e}") from e
        with _registry_lock:
            if _callers is None:
                _callers = concurrent.futures.ThreadPoolExecutor(32, "oxdask-actor-call")
            pool = _callers
        inner = pool.submit(self._call, request)
        return ActorFuture(inner)

    def _call(self, request: bytes):
        address, authkey = self._server
        address = tuple(address)
        with _idle_lock:
            idle = _idle.setdefault(address, [])
            conn = idle.pop() if idle else None
        try:
            if conn is None:
                conn = _Connect(address, authkey=authkey)
            conn.send_bytes(request)
            reply = conn.recv_bytes()
        except (OSError, EOFError) as e:
            if conn is not None:
                conn.close()
            raise OSError(
                f"Unable to contact Actor's worker {self._address} ({type(e).__name__}: {e})"
            ) from None
        with _idle_lock:
            _idle.setdefault(address, []).append(conn)
        ok, value = pickle.loads(reply)
        if not ok:
            raise loads_error(*value)
        return value


def _unpickling_client():
    """The client whose call is rebuilding a proxy (``gather`` on the stack), else the
    current client (in a task: its worker's); None without one."""
    from oxdask.distributed.client import Client, get_client

    frame = sys._getframe(2)
    while frame is not None:
        owner = frame.f_locals.get("self")
        if isinstance(owner, Client) and not owner._closed:
            return owner
        frame = frame.f_back
    try:
        return get_client()
    except (ValueError, OSError, RuntimeError):
        return None


def _rebuild(pickled_cls: bytes, address, key, server) -> Actor:
    import cloudpickle

    actor = Actor(cloudpickle.loads(pickled_cls), address, key, server)
    actor._bind()
    return actor


def _dumps(obj) -> bytes:
    import cloudpickle

    return cloudpickle.dumps(obj, protocol=5)


# -- futures of calls -----------------------------------------------------------------------------
class BaseActorFuture(abc.ABC):
    """The result of an actor's method call, to come (``result(timeout)``, ``done()``,
    ``await``)."""

    @abc.abstractmethod
    def result(self, timeout=None): ...

    @abc.abstractmethod
    def done(self) -> bool: ...

    def __repr__(self) -> str:
        return "<ActorFuture>"


class ActorFuture(BaseActorFuture):
    """A method call on an :class:`Actor`, running or done."""

    __slots__ = ("_future",)

    def __init__(self, future: concurrent.futures.Future) -> None:
        self._future = future

    def result(self, timeout=None):
        """The method's return value (its exception raised here); ``TimeoutError`` after
        ``timeout`` (seconds or a string such as ``"2s"``)."""
        seconds = parse_timedelta(timeout)
        try:
            return self._future.result(seconds)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"the actor's method call did not finish within {timeout}") from None

    def done(self) -> bool:
        return self._future.done()

    def __await__(self):
        return asyncio.wrap_future(self._future).__await__()


# -- the client side ------------------------------------------------------------------------------
def submit_actor(client, cls, args, kwargs, key=None, **options):
    """``client.submit(cls, *args, actor=True, **kwargs)``."""
    from oxdask.utils import funcname

    if not callable(cls):
        raise TypeError(f"First input to submit must be a callable function, not {cls!r}")
    if key is None:
        key = f"{funcname(cls)}-{client._unique()}"
    options.pop("pure", None)
    return client.submit(create, _dumps(cls), key, args, kwargs, key=key, pure=False, **options)
