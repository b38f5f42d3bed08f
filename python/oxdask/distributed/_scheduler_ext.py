"""Calls clients run in the scheduler's process (``Client.run_on_scheduler``, and what is built
on the scheduler: coordination primitives, published datasets).

The Rust scheduler hands each call to :class:`SchedulerExtension` on its blocking pool, so a
call may wait (a lock acquire with a timeout) without holding up scheduling.
"""

from __future__ import annotations

import contextlib
import inspect
import pickle
import threading

import cloudpickle

from oxdask.distributed.serialize import dumps_error, loads_error


class SchedulerContext:
    """What a call that asks for it (``_context=True``) receives as its first argument: the
    calling client's id, and state shared by every call in this scheduler."""

    def __init__(self, ext: SchedulerExtension, client: int) -> None:
        self.client = client
        self._ext = ext

    @property
    def state(self) -> dict:
        """Named state of the scheduler's extensions (``state.setdefault(name, ...)``)."""
        return self._ext.state

    @property
    def condition(self) -> threading.Condition:
        """One condition for all the state: hold it to read or change the state, wait on it
        for changes (every change should ``notify_all``)."""
        return self._ext.condition

    @property
    def connection(self):
        """``(address, token, tls)`` a client in this process connects to the scheduler with
        (None if whoever started the scheduler did not say)."""
        return self._ext.connection

    def on_client_left(self, callback) -> None:
        """Call ``callback(client_id)`` when any client leaves (once registered, kept)."""
        with self._ext.condition:
            if callback not in self._ext.left_callbacks:
                self._ext.left_callbacks.append(callback)


class SchedulerExtension:
    """Runs pickled ``(function, args, kwargs, wants_context)`` calls; see the module docs."""

    def __init__(self) -> None:
        self.state: dict = {}
        self.condition = threading.Condition()
        self.left_callbacks: list = []
        self.connection = None

    def set_connection(self, address: str, token=None, tls=None) -> None:
        """How a client in the scheduler's process reaches it: its address, token and TLS
        ``(ca, cert, key)`` (calls that keep futures alive open such a client)."""
        self.connection = (address, token, tls)

    def call(self, client: int, data: bytes) -> tuple[bytes, bool]:
        try:
            func, args, kwargs, wants_context = pickle.loads(data)
            if wants_context:
                args = (SchedulerContext(self, client), *args)
            result = func(*args, **kwargs)
            return cloudpickle.dumps(result, protocol=5), True
        except BaseException as e:  # the client raises it
            return pickle.dumps(dumps_error(e), protocol=5), False

    def http(self, name: str, params: dict) -> str | None:
        """The dashboard's ``/json/ext/<name>`` routes (JSON text, None: no such route)."""
        from oxdask.distributed._dashboard_ext import answer

        return answer(self, name, params)

    def transitions(self, batch: list) -> None:
        """Task transitions ``(key, start, finish, stimulus)`` for scheduler plugins."""
        from oxdask.distributed._plugins import transitions

        transitions(self.state, batch)

    def client_left(self, client: int) -> None:
        with self.condition:
            callbacks = list(self.left_callbacks)
        for cb in callbacks:
            with contextlib.suppress(Exception):
                cb(client)


def open_client(connection, name: str):
    """A client in the scheduler's process, connected through ``connection`` (``(address,
    token, tls)`` as :meth:`SchedulerExtension.set_connection` records it)."""
    from oxdask.distributed.client import Client
    from oxdask.distributed.security import Security

    address, token, tls = connection
    security = None
    if tls is not None:
        ca, cert, key = tls
        security = Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key)
    return Client(address, set_as_default=False, token=token, security=security, name=name)


def call_on_scheduler(conn, func, args, kwargs, context: bool, timeout: float):
    """Client side of a call: run ``func`` in the scheduler's process, return its result or
    raise its exception."""
    blob = cloudpickle.dumps((func, args, kwargs, context), protocol=5)
    result, ok = conn.call(blob, timeout)
    if ok:
        return pickle.loads(result)
    if not result:
        raise RuntimeError(
            "this scheduler cannot run calls (it was started without oxdask's Python "
            "scheduler extension)"
        )
    raise loads_error(*pickle.loads(result))


def takes_scheduler_keyword(func) -> bool:
    """Whether ``func`` accepts Dask's ``dask_scheduler=`` keyword."""
    try:
        return "dask_scheduler" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
