"""Plugins: ``WorkerPlugin``, ``NannyPlugin``, ``SchedulerPlugin`` and the ``Client`` methods
registering them (mixed into ``Client``).

Registered worker and nanny plugins are kept (pickled) by the scheduler's extension, so a
worker that starts later (a nanny's restart, ``scale``) fetches and sets them up when it has
registered, before it runs any task (``worker.Host.started`` calls :func:`worker_started`).
Existing workers set a new plugin up through ``Client.run``.

What differs from Dask (the engines are Rust):

* ``WorkerPlugin.setup(worker)``/``teardown(worker)`` run in the worker's process and get
  the object ``get_worker()`` returns; ``transition`` sees each task run:
  ``ready -> executing``, then ``executing -> memory`` or ``executing -> error`` (with
  ``exception=``), on the task's thread; the other states live in the Rust worker.
* A ``NannyPlugin`` runs in the worker's process at its start (before tasks), not in the
  nanny's: ``nanny.env`` is that process's environment, so with ``restart = True``
  (``Environ``) the variables are set in the fresh process before any task runs. Workers
  in the client's process (``processes=False``) have no nanny: nanny plugins skip them, as
  in Dask.
* A ``SchedulerPlugin`` runs in the scheduler's process: ``start(scheduler)`` when
  registered (``scheduler`` is the ``SchedulerContext`` of ``run_on_scheduler``),
  ``close()`` when unregistered, ``remove_client(scheduler, client)`` when a client
  leaves, ``add_worker``/``remove_worker(scheduler, worker)`` from a watcher that polls
  the scheduler's workers every 0.2 s, and ``transition(key, start, finish,
  stimulus_id=)`` for every transition of every task, in order, but in batches on a thread
  of their own (within 0.2 s), not inside the scheduler's event loop: the scheduler never
  waits for a plugin. ``update_graph``, ``add_client`` and ``restart`` are never called.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import sys
import threading
import time
import uuid

import cloudpickle

from oxdask.distributed._async import client_method

__all__ = ["ClientPlugins", "NannyPlugin", "SchedulerPlugin", "WorkerPlugin"]

logger = logging.getLogger("oxdask.plugins")
_STATE = "oxdask.plugins"


class SchedulerPlugin:
    """Runs in the scheduler's process; see the module docs for the hooks called."""

    idempotent: bool = False

    def start(self, scheduler) -> None:
        """Called when registered."""

    def close(self) -> None:
        """Called when unregistered."""

    def add_worker(self, scheduler, worker: str) -> None:
        """A worker joined (seen within 0.2 s)."""

    def remove_worker(self, scheduler, worker: str, **kwargs) -> None:
        """A worker left (seen within 0.2 s)."""

    def remove_client(self, scheduler, client: str) -> None:
        """A client disconnected."""

    def transition(self, key, start: str, finish: str, *args, **kwargs) -> None:
        """A task went from state ``start`` to ``finish`` (``stimulus_id=`` names the cause;
        a task the scheduler drops ends in ``"forgotten"``). Called in batches, in order."""

    def _oxdask_companions(self) -> list:
        """Worker or nanny plugins to register along (install and upload plugins)."""
        return []


class WorkerPlugin:
    """Runs in every worker's process: ``setup(worker)`` when registered or when a worker
    starts later, ``teardown(worker)`` when unregistered or the worker closes."""

    idempotent: bool = False

    def setup(self, worker) -> None:
        """Called when attached to a worker."""

    def teardown(self, worker) -> None:
        """Called when removed, or when the worker closes."""

    def transition(self, key, start, finish, **kwargs) -> None:
        """A task of this worker starts (``ready -> executing``) or ends (``executing ->
        memory``/``error``, the latter with ``exception=``); called on the task's thread."""


class NannyPlugin:
    """Runs in each worker process as it starts, before any task (``restart = True``:
    registering it restarts the workers, so it applies to fresh processes)."""

    idempotent: bool = False
    restart: bool = False

    def setup(self, nanny) -> None:
        """Called when attached (``nanny.env``, ``nanny.local_directory``)."""

    def teardown(self, nanny) -> None:
        """Called when removed."""


def plugin_name(plugin) -> str:
    """The plugin's ``name`` attribute, else its class name and a random suffix (Dask)."""
    name = getattr(plugin, "name", None)
    return name if name is not None else f"{type(plugin).__name__}-{uuid.uuid4()}"


def _await(result) -> None:
    if inspect.isawaitable(result):
        asyncio.run(_wrap(result))


async def _wrap(awaitable):
    return await awaitable


# -- in the scheduler -----------------------------------------------------------------------------
class _Registry:
    def __init__(self) -> None:
        self.worker: dict[str, bytes] = {}
        self.nanny: dict[str, bytes] = {}
        self.scheduler: dict[str, SchedulerPlugin] = {}
        self.companions: dict[str, list] = {}  # scheduler plugin -> [(kind, name)]
        self.watcher: threading.Thread | None = None


def _registry(ctx) -> _Registry:
    with ctx.condition:
        reg = ctx.state.get(_STATE)
        if reg is None:
            reg = ctx.state[_STATE] = _Registry()
            ctx.on_client_left(_ClientLeft(ctx))
        return reg


class _ClientLeft:
    def __init__(self, ctx) -> None:
        self.ctx = ctx

    def __call__(self, client) -> None:
        for plugin in list(self.ctx.state[_STATE].scheduler.values()):
            with contextlib.suppress(Exception):
                _await(plugin.remove_client(self.ctx, str(client)))

    def __eq__(self, other) -> bool:
        return isinstance(other, _ClientLeft)

    __hash__ = object.__hash__


def _store(ctx, kind: str, name: str, blob: bytes, idempotent: bool) -> bool:
    """Keep a worker or nanny plugin; False when an idempotent one of that name exists."""
    reg = _registry(ctx)
    table = getattr(reg, kind)
    with ctx.condition:
        if idempotent and name in table:
            return False
        table[name] = blob
        return True


def _drop(ctx, kind: str, name: str) -> None:
    table = getattr(_registry(ctx), kind)
    with ctx.condition:
        if name not in table:
            raise ValueError(f"The {kind} plugin {name} does not exist")
        del table[name]


def _listing(ctx) -> tuple[list, list]:
    reg = _registry(ctx)
    with ctx.condition:
        return list(reg.nanny.items()), list(reg.worker.items())


def _start_scheduler_plugin(ctx, name: str, blob: bytes, idempotent: bool) -> bool:
    reg = _registry(ctx)
    with ctx.condition:
        if idempotent and name in reg.scheduler:
            return False
    plugin = cloudpickle.loads(blob)
    _await(plugin.start(ctx))
    with ctx.condition:
        old = reg.scheduler.pop(name, None)
        reg.scheduler[name] = plugin
    if old is not None:
        with contextlib.suppress(Exception):
            _await(old.close())
    if _overrides(plugin, "add_worker") or _overrides(plugin, "remove_worker"):
        _start_watcher(ctx, reg)
    _watch_transitions(reg)
    return True


def _stop_scheduler_plugin(ctx, name: str) -> list:
    """Close and forget a scheduler plugin; returns its companions to unregister."""
    reg = _registry(ctx)
    with ctx.condition:
        plugin = reg.scheduler.pop(name, None)
        companions = reg.companions.pop(name, [])
    if plugin is None:
        raise ValueError(f"Could not find plugin {name!r} among the current scheduler plugins")
    _watch_transitions(reg)
    _await(plugin.close())
    return companions


def _watch_transitions(reg: _Registry) -> None:
    """The scheduler records transitions only while a plugin has a ``transition`` method."""
    from oxdask import _core

    _core.watch_transitions(any(_overrides(p, "transition") for p in reg.scheduler.values()))


def transitions(state: dict, batch: list) -> None:
    """Gives scheduler plugins a batch of ``(key, start, finish, stimulus)`` transitions."""
    reg = state.get(_STATE)
    if reg is None:
        return
    plugins = [p for p in list(reg.scheduler.values()) if _overrides(p, "transition")]
    for key, start, finish, stimulus in batch:
        for plugin in plugins:
            try:
                plugin.transition(key, start, finish, stimulus_id=f"stimulus-{stimulus}")
            except Exception:
                logger.exception("scheduler plugin %r failed in transition", plugin)


def _set_companions(ctx, name: str, companions: list) -> None:
    reg = _registry(ctx)
    with ctx.condition:
        reg.companions[name] = companions


def _overrides(plugin, method: str) -> bool:
    return getattr(type(plugin), method, None) is not getattr(SchedulerPlugin, method)


def _start_watcher(ctx, reg: _Registry) -> None:
    with ctx.condition:
        if reg.watcher is not None or ctx.connection is None:
            return
        reg.watcher = threading.Thread(
            target=_watch, args=(ctx, reg), name="oxdask-plugin-workers", daemon=True
        )
        reg.watcher.start()


def _watch(ctx, reg: _Registry) -> None:
    """Call the scheduler plugins' ``add_worker``/``remove_worker`` on changes of the
    scheduler's workers (polled)."""
    import json

    from oxdask import _core

    address, token, tls = ctx.connection
    conn = _core.ClientConnection(address, token, 10.0, tls)
    known = {w["address"] for w in json.loads(conn.info(10.0))["workers"]}
    try:
        while True:
            time.sleep(0.2)
            with ctx.condition:
                plugins = list(reg.scheduler.values())
                if not plugins:  # the last one was unregistered: a new one starts anew
                    reg.watcher = None
                    return
            try:
                now = {w["address"] for w in json.loads(conn.info(10.0))["workers"]}
            except Exception:  # the scheduler closed
                return
            for plugin in plugins:
                for worker in sorted(now - known):
                    with contextlib.suppress(Exception):
                        _await(plugin.add_worker(ctx, worker))
                for worker in sorted(known - now):
                    with contextlib.suppress(Exception):
                        _await(plugin.remove_worker(ctx, worker))
            known = now
    finally:
        with contextlib.suppress(Exception):
            conn.close()


# -- in the workers -------------------------------------------------------------------------------
#: worker address -> {name: (plugin, digest)}; nanny plugins per process: {name: (plugin, digest)}
_worker_plugins: dict[str, dict] = {}
_nanny_plugins: dict[str, tuple] = {}
_plugins_lock = threading.RLock()
#: worker address -> worker plugins overriding ``transition`` (empty: nothing to call)
watched: dict[str, list] = {}


def _update_watched(address: str) -> None:
    with _plugins_lock:
        table = _worker_plugins.get(address, {})
        plugins = [p for p, _ in table.values() if _watches(p)]
        if plugins:
            watched[address] = plugins
        else:
            watched.pop(address, None)


def _watches(plugin) -> bool:
    return getattr(type(plugin), "transition", None) is not WorkerPlugin.transition


def transition(host, key, start: str, finish: str, **kwargs) -> None:
    """Called by the worker around each task while plugins watch: ``ready -> executing``,
    then ``executing -> memory`` or ``executing -> error`` (with ``exception=``)."""
    address = getattr(host.shuffles.peers, "address", None)
    for plugin in watched.get(address, ()):
        try:
            plugin.transition(key, start, finish, **kwargs)
        except Exception:
            logger.exception("transition of worker plugin %r failed", plugin)


def _digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def _worker_info(address: str):
    from oxdask.distributed import _context
    from oxdask.distributed._worker_api import WorkerInfo

    ctx = _context.worker
    return WorkerInfo(address, ctx.get("name"), ctx.get("scheduler"), None)


def _host_address() -> str | None:
    """In ``Client.run`` on a worker: the address of the worker running the call."""
    frame = sys._getframe(1)
    while frame is not None:
        host = frame.f_locals.get("self")
        if frame.f_code.co_name == "run" and type(host).__name__ == "Host":
            peers = getattr(getattr(host, "shuffles", None), "peers", None)
            return getattr(peers, "address", None)
        frame = frame.f_back
    return None


class NannyInfo:
    """What a nanny plugin's ``setup(nanny)`` gets: the worker process's environment
    (``env``), a directory of its own (``local_directory``) and its worker's address."""

    def __init__(self, address: str | None) -> None:
        import os
        import tempfile

        self.env = os.environ
        self.worker_address = address
        self.local_directory = os.path.join(tempfile.gettempdir(), f"oxdask-nanny-{os.getpid()}")
        os.makedirs(self.local_directory, exist_ok=True)


def _setup_worker_plugin(address: str, name: str, blob: bytes) -> None:
    digest = _digest(blob)
    with _plugins_lock:
        table = _worker_plugins.setdefault(address, {})
        current = table.get(name)
        if current is not None and current[1] == digest:
            return  # set up already (a worker that started while it was registered)
        plugin = cloudpickle.loads(blob)
        if current is not None:
            _teardown(current[0], _worker_info(address))
        table[name] = (plugin, digest)
    _await(plugin.setup(_worker_info(address)))
    _update_watched(address)


def _setup_nanny_plugin(address: str | None, name: str, blob: bytes) -> None:
    digest = _digest(blob)
    with _plugins_lock:
        current = _nanny_plugins.get(name)
        if current is not None and current[1] == digest:
            return
        plugin = cloudpickle.loads(blob)
        _nanny_plugins[name] = (plugin, digest)
    _await(plugin.setup(NannyInfo(address)))


def _teardown(plugin, worker) -> None:
    try:
        _await(plugin.teardown(worker))
    except Exception:
        logger.exception("teardown of worker plugin %r failed", plugin)


def run_setup(kind: str, name: str, blob: bytes) -> dict:
    """``Client.run`` target: set a new plugin up on this worker."""
    from oxdask.distributed._worker_api import _WORKER_PROCESS

    address = _host_address()
    if kind == "nanny":
        if _WORKER_PROCESS:
            _setup_nanny_plugin(address, name, blob)
    elif address is not None:
        _setup_worker_plugin(address, name, blob)
    return {"status": "OK"}


def run_teardown(kind: str, name: str) -> dict:
    """``Client.run`` target: remove a plugin from this worker, calling its teardown."""
    address = _host_address()
    with _plugins_lock:
        if kind == "nanny":
            entry = _nanny_plugins.pop(name, None)
        else:
            entry = _worker_plugins.get(address, {}).pop(name, None)
            _update_watched(address)
    if entry is not None:
        if kind == "nanny":
            _await(entry[0].teardown(NannyInfo(address)))
        else:
            _await(entry[0].teardown(_worker_info(address)))
    return {"status": "OK"}


def worker_started(address: str) -> None:
    """A worker registered: set up the plugins the scheduler keeps (nanny plugins first).
    Errors are logged, the worker runs on."""
    from oxdask import _core
    from oxdask.distributed import _context
    from oxdask.distributed._scheduler_ext import call_on_scheduler
    from oxdask.distributed._worker_api import _WORKER_PROCESS

    ctx = _context.worker
    if not ctx.get("scheduler"):
        return
    tls = ctx.get("tls")
    if tls is not None:
        ca, cert, key = tls
        tls = (ca, cert, key or cert)  # the key may be in the certificate's file
    try:
        conn = _core.ClientConnection(ctx["scheduler"], ctx.get("token"), 10.0, tls)
        try:
            nanny, worker = call_on_scheduler(conn, _listing, (), {}, True, 30.0)
        finally:
            conn.close()
    except Exception as e:  # a scheduler without the extension has no plugins
        # (quiet when the scheduler has no extension, or closed meanwhile)
        quiet = "cannot run calls" in str(e) or isinstance(e, OSError)
        level = logging.DEBUG if quiet else logging.WARNING
        logger.log(level, "could not fetch the registered plugins: %s", e)
        return
    for kind, items in (("nanny", nanny if _WORKER_PROCESS else []), ("worker", worker)):
        for name, blob in items:
            try:
                if kind == "nanny":
                    _setup_nanny_plugin(address, name, blob)
                else:
                    _setup_worker_plugin(address, name, blob)
            except Exception:
                logger.exception("setting up the %s plugin %r failed", kind, name)


def worker_closed(address: str | None) -> None:
    """The worker closes: tear its worker plugins down."""
    with _plugins_lock:
        table = _worker_plugins.pop(address, {}) if address else {}
        watched.pop(address, None)
    for plugin, _ in table.values():
        _teardown(plugin, _worker_info(address))


# -- the client -----------------------------------------------------------------------------------
class _WorkerSetupPlugin(WorkerPlugin):
    """``register_worker_callbacks(setup)``: ``setup()`` or ``setup(dask_worker=worker)``."""

    def __init__(self, setup) -> None:
        self._setup = setup
        self.name = f"worker-setup-{uuid.uuid4()}"

    def setup(self, worker) -> None:
        try:
            wants = "dask_worker" in inspect.signature(self._setup).parameters
        except (TypeError, ValueError):
            wants = False
        return self._setup(dask_worker=worker) if wants else self._setup()


def _run(client, function, *args) -> dict:
    """``client.run`` that blocks also on an asynchronous client."""
    run = type(client).run
    return getattr(run, "__wrapped__", run)(client, function, *args)


class ClientPlugins:
    """``Client`` methods for plugins."""

    @client_method
    def register_plugin(self, plugin, name: str | None = None):
        """Register a worker, nanny or scheduler plugin (see the module docs of
        ``oxdask.distributed._plugins`` for when each hook runs). Returns
        ``{worker address: {"status": "OK"}}`` for worker and nanny plugins."""
        if isinstance(plugin, type):
            raise TypeError("Please provide an instance of a plugin, not a type.")
        if not isinstance(plugin, WorkerPlugin | NannyPlugin | SchedulerPlugin):
            raise TypeError(
                "Registering duck-typed plugins is not allowed. Please inherit from "
                "NannyPlugin, WorkerPlugin, or SchedulerPlugin to create a plugin."
            )
        if name is None:
            name = plugin_name(plugin)
        if not isinstance(name, str) or not name:
            raise TypeError(f"a plugin's name must be a non-empty string, not {name!r}")
        idempotent = getattr(plugin, "idempotent", False)
        if not isinstance(idempotent, bool):
            raise TypeError(f"idempotent must be a bool, not {idempotent!r}")
        try:
            blob = cloudpickle.dumps(plugin, protocol=5)
        except Exception as e:
            raise TypeError(f"the plugin {name!r} cannot be pickled: {e}") from e
        if isinstance(plugin, SchedulerPlugin):
            started = self._call_scheduler(
                _start_scheduler_plugin, name, blob, idempotent, _context=True, _timeout=600
            )
            if started:
                companions = plugin._oxdask_companions()
                done = []
                for p in companions:
                    ClientPlugins.register_plugin.__wrapped__(self, p)
                    kind = "nanny" if isinstance(p, NannyPlugin) else "worker"
                    done.append((kind, plugin_name(p)))
                if done:
                    self._call_scheduler(_set_companions, name, done, _context=True)
            return None
        kind = "nanny" if isinstance(plugin, NannyPlugin) else "worker"
        if not self._call_scheduler(_store, kind, name, blob, idempotent, _context=True):
            return {}
        if kind == "nanny" and getattr(plugin, "restart", False):
            return self._restart_for_plugin()
        return _run(self, run_setup, kind, name, blob)

    def _restart_for_plugin(self, timeout: float = 60.0) -> dict:
        """Replace every worker process (their nanny plugins are set up as they start)."""
        old = set(self.scheduler_info()["workers"])
        if not old:
            return {}
        if self.cluster is not None and hasattr(self.cluster, "restart_workers"):
            self.cluster.restart_workers(timeout=timeout)
        else:
            self._conn.restart_workers(sorted(old), timeout)
            deadline = time.monotonic() + timeout
            while True:
                now = set(self.scheduler_info()["workers"])
                if not now & old and len(now) >= len(old):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the workers did not come back within {timeout}s")
                time.sleep(0.05)
        return {a: {"status": "OK"} for a in self.scheduler_info()["workers"]}

    @client_method
    def unregister_worker_plugin(self, name: str, nanny: bool | None = None) -> dict:
        """Remove a worker (or, with ``nanny``, nanny) plugin: its ``teardown`` runs on every
        worker; ``ValueError`` if no plugin has that name."""
        kind = "nanny" if nanny else "worker"
        self._call_scheduler(_drop, kind, name, _context=True)
        return _run(self, run_teardown, kind, name)

    @client_method
    def unregister_scheduler_plugin(self, name: str) -> None:
        """Remove a scheduler plugin (its ``close`` runs), and the worker plugins it
        registered; ``ValueError`` if no plugin has that name."""
        for kind, companion in self._call_scheduler(_stop_scheduler_plugin, name, _context=True):
            with contextlib.suppress(ValueError):
                unregister = ClientPlugins.unregister_worker_plugin.__wrapped__
                unregister(self, companion, nanny=kind == "nanny")

    @client_method
    def register_worker_callbacks(self, setup=None):
        """Run ``setup()`` (or ``setup(dask_worker=worker)``) on every worker now and on
        every worker that starts later."""
        if not callable(setup):
            raise TypeError(f"setup must be callable, not {setup!r}")
        return ClientPlugins.register_plugin.__wrapped__(self, _WorkerSetupPlugin(setup))
