"""The distributed ``Client``: submit work to a scheduler, get futures back.

A background thread receives key reports from the scheduler (without holding the GIL while it
waits) and completes futures. Results stay on workers until asked for; then the client asks
the scheduler who holds them and fetches them from those workers directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
import uuid
from collections import defaultdict
from typing import Any

from oxdask import _core, config
from oxdask.distributed import security as _security
from oxdask.distributed._async import client_method
from oxdask.distributed._client_data import ClientData
from oxdask.distributed._client_graphs import _MANY, ClientGraphs, _gc_paused
from oxdask.distributed._client_more import ClientExtras, Retries, SchedulerCalls
from oxdask.distributed._client_query import ClientQueries
from oxdask.distributed._client_transfer import ClientTransfer
from oxdask.distributed._client_workers import ClientWorkers
from oxdask.distributed._datasets import ClientDatasets
from oxdask.distributed._plugins import ClientPlugins
from oxdask.distributed._reports import TaskStreamMixin
from oxdask.distributed.future import Future, _KeyState
from oxdask.distributed.serialize import (
    FunctionTable,
    dumps_task,
)
from oxdask.tokenize import tokenize
from oxdask.utils import apply, funcname
from oxdask.utils import parse_timedelta as _seconds

__all__ = ["Client", "default_client", "get_client"]

_current: Client | None = None


def default_client(c: Client | None = None) -> Client:
    """The given client, else the most recent one still open."""
    if c is not None:
        return c
    if _current is None or _current._closed:
        raise ValueError(
            "No clients found\nStart a client and point it to the scheduler address\n"
            "  from oxdask.distributed import Client\n"
            "  client = Client('ip-addr-of-scheduler:8786')"
        )
    return _current


def get_client(address: str | None = None, timeout: float | str = 10.0) -> Client:
    """The current client, or a new one connected to ``address``. Inside a task on a worker
    process: a client of the worker's scheduler, shared by the tasks of that process, so a
    task can submit tasks and wait for them (give workers more than one thread then)."""
    if address is None and (_current is None or _current._closed):
        worker = _worker_client(timeout)
        if worker is not None:
            return worker
    if address is None or (_current is not None and _current.scheduler_address == address):
        return default_client()
    return Client(address, timeout=_seconds(timeout))


def _read_scheduler_file(path: str, timeout: float) -> str:
    """The address in a scheduler file, waiting up to ``timeout`` for it to appear."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path) as f:
                return json.load(f)["address"]
        except (FileNotFoundError, json.JSONDecodeError):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no readable scheduler file at {path} within {timeout}s"
                ) from None
            time.sleep(0.05)


_worker_client_lock = threading.Lock()
_worker_clients: dict = {}


def _worker_client(timeout) -> Client | None:
    """The client of this worker process's tasks (None outside a worker)."""
    from oxdask.distributed._context import worker as _worker_context

    if not _worker_context:
        return None
    with _worker_client_lock:
        address = _worker_context["scheduler"]
        client = _worker_clients.get(address)
        if client is None or client._closed:
            sec = None
            tls = _worker_context.get("tls")
            if tls is not None:
                ca, cert, key = tls
                sec = _security.Security(
                    tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key or cert
                )
            client = Client(
                _worker_context["scheduler"],
                timeout=_seconds(timeout),
                set_as_default=False,
                token=_worker_context.get("token"),
                security=sec,
            )
            _worker_clients[address] = client
        return client


#: Argument types that cannot hold futures.
_PLAIN_ARGS = frozenset({int, float, str, bytes, bool, type(None)})


def _replace_futures(obj, deps: dict):
    """Replace futures (in lists, tuples, dicts, sets) by their keys, collecting them."""
    t = type(obj)
    if t is Future:
        deps[obj.key] = obj
        return obj.key
    if t in (list, tuple, set):
        items = [_replace_futures(x, deps) for x in obj]
        if t is tuple:
            return (tuple, items) if items else ()
        return items if t is list else (set, items)
    if t is dict:
        return (dict, [[k, _replace_futures(v, deps)] for k, v in obj.items()])
    return obj


class Client(
    ClientGraphs,
    ClientTransfer,
    ClientWorkers,
    SchedulerCalls,
    ClientExtras,
    ClientQueries,
    ClientDatasets,
    ClientPlugins,
    ClientData,
    TaskStreamMixin,
    Retries,
):
    """Connect to a scheduler (or start a :class:`LocalCluster`) and submit work.

    Parameters
    ----------
    address : str or LocalCluster, optional
        ``tcp://host:port`` of a scheduler, or a cluster object. None starts a local cluster
        (remaining keyword arguments go to :class:`LocalCluster`).
    timeout : float or str
        How long to wait for the connection: seconds, or a duration such as ``"2s"``.
    set_as_default : bool
        Make ``oxdask.compute`` and ``.compute()`` run on this client while it is open.
    token : str, optional
        Shared secret the scheduler requires (default: the Security's, then ``OXDASK_TOKEN``).
    security : Security or True, optional
        TLS settings (the client's certificate) and token; a cluster's own when ``address`` is
        a cluster. With a client certificate, an address without a scheme is ``tls://``.
    scheduler_file : str, optional
        A JSON file holding the scheduler's address (``oxdask scheduler --scheduler-file``,
        ``Client.write_scheduler_file``); waited for up to ``timeout``.
    """

    def __init__(
        self,
        address=None,
        *,
        timeout: float | str = 10.0,
        set_as_default: bool = True,
        asynchronous: bool = False,
        token: str | None = None,
        name: str | None = None,
        security=None,
        scheduler_file: str | None = None,
        **cluster_kwargs,
    ) -> None:
        global _current
        #: blocking methods return awaitables (``await client.gather(...)``)
        self.asynchronous = asynchronous
        self._closed = True
        self.cluster = None
        self._owns_cluster = False
        if scheduler_file is not None:
            if address is not None:
                raise ValueError("give either an address or a scheduler_file, not both")
            address = _read_scheduler_file(scheduler_file, _seconds(timeout))
        security = _security._resolve(security)
        if security is None and hasattr(address, "scheduler_address"):
            security = getattr(address, "security", None)
        if token is None and hasattr(address, "scheduler_address"):
            token = getattr(address, "_token", None)  # a cluster object knows its token
        token = _security._token(token, security)
        if address is None:
            from oxdask.distributed.cluster import LocalCluster

            cluster_kwargs.setdefault("threads_per_worker", 1)
            self.cluster = LocalCluster(token=token, security=security, **cluster_kwargs)
            self._owns_cluster = True
            address = self.cluster.scheduler_address
        elif hasattr(address, "scheduler_address"):
            self.cluster = address
            address = address.scheduler_address
        if not isinstance(address, str):
            raise TypeError(f"Client address must be a string or a cluster, not {address!r}")
        address = _security._client_address(address, security)
        self.scheduler_address = address
        self.id = name or f"Client-{uuid.uuid4().hex[:12]}"
        # Keys of impure calls: this client's random prefix and a counter, as unique as a
        # uuid4 per call without a getrandom system call each.
        self._impure = uuid.uuid4().hex[:16]
        self._counter = itertools.count()
        self.security = security
        tls = security._tls("client") if security is not None else None
        self._conn = _core.ClientConnection(address, token, _seconds(timeout), tls)
        self._lock = threading.RLock()
        # Notified (under _lock) whenever key reports arrive; futures wait on it.
        self._cond = threading.Condition(self._lock)
        self._pumping = threading.Lock()  # see _pump
        self._states: dict[Any, _KeyState] = {}
        self._refs: dict[Any, int] = defaultdict(int)
        # Keys whose last future went away, told to the scheduler in batches (before any new
        # submission, so a release never overtakes a later submit of the same key).
        self._to_release: list = []
        self._table = FunctionTable()
        self._lost: str | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._listen, name="oxdask-client", daemon=True)
        self._thread.start()
        self._previous_scheduler = None
        self._previous_client: Client | None = None
        if set_as_default:
            self._previous_scheduler = config.get("scheduler", None)
            self._previous_client = _current
            config.set(scheduler=self.get)
            _current = self

    # -- events ------------------------------------------------------------------------------------
    def _listen(self) -> None:
        while not self._closed:
            try:
                ready = self._conn.listen_events(0.05 if self._to_release else 0.2)
                self._flush_releases()
                if ready:
                    self._pump()
            except Exception as e:  # interpreter shutting down
                self._lost = str(e)
                return

    def _pump(self) -> None:
        """Take the queued key reports and apply them, then run the futures' callbacks.

        A thread waiting for a future pumps (it then sees its result without a hand-off
        from the event thread, which reports do not wake meanwhile); otherwise the event
        thread does. Taking and applying happen under one lock, so reports apply in the
        order they arrived.
        """
        with self._pumping:
            events = self._conn.next_events(0.0)
            callbacks = self._on_events(events) if events else []
        self._run(callbacks)

    def _on_events(self, events: list) -> list:
        """Apply a burst of key reports under one lock; returns the futures' callbacks."""
        callbacks: list = []
        states = self._states
        with self._cond:
            for ev in events:
                kind = ev.kind
                if kind == "memory":
                    st = states.get(ev.key)
                    # an erred key comes back in memory after a retry (of it, or of a
                    # dependent that failed through it)
                    if st is not None and st.status in ("pending", "error"):
                        callbacks += st.finished(ev.nbytes, ev.type_name, ev.value)
                    continue
                if kind == "closed":
                    self._lost = ev.reason
                    for st in self._states.values():
                        if not st.done:
                            callbacks += st.finish("lost", reason=ev.reason)
                    continue
                st = states.get(ev.key)
                if st is None or st.done:
                    continue
                if kind == "erred":
                    callbacks += st.finish("error", exception=ev.exception())
                else:  # cancelled, or scattered data lost with its worker
                    callbacks += st.finish(kind, reason=ev.reason)
            self._cond.notify_all()
        return callbacks

    @staticmethod
    def _run(callbacks: list) -> None:
        for cb in callbacks:
            # A user callback must not kill the event thread.
            with contextlib.suppress(Exception):
                cb()

    def _check_alive(self, flush: bool = True) -> None:
        """Raise if closed or lost; every operation starts here, after pending releases go out
        (so a release never overtakes a later submission or scatter of the same key).
        Submissions pass ``flush=False`` and send the releases in their own frame."""
        if flush and self._to_release:
            self._flush_releases()
        if self._closed:
            raise RuntimeError("this Client is closed")
        if self._lost:
            raise ConnectionError(f"lost the scheduler at {self.scheduler_address}: {self._lost}")

    # -- references --------------------------------------------------------------------------------
    def _ref(self, key) -> _KeyState:
        with self._lock:
            self._refs[key] += 1
            st = self._states.get(key)
            if st is None:
                st = self._states[key] = _KeyState()
            return st

    def _unref(self, key, state: _KeyState | None = None) -> None:
        with self._lock:
            if state is not None and self._states.get(key) is not state:
                return  # a future from before a restart: its key was forgotten then
            self._refs[key] -= 1
            if self._refs[key] > 0:
                return
            del self._refs[key]
            self._states.pop(key, None)
            self._to_release.append(key)
            if len(self._to_release) >= 10_000:
                self._flush_releases()

    def _flush_releases(self) -> None:
        with self._lock:
            keys, self._to_release = self._to_release, []
            if keys and not self._closed and not self._lost:
                with contextlib.suppress(Exception):
                    self._conn.release(keys)

    def _unique(self) -> str:
        """32 hex digits no other key of this or any other client has (Dask: a uuid4)."""
        return f"{self._impure}{next(self._counter):016x}"

    def _fire_and_forget(self, futures: list[Future]) -> None:
        # The keys stay wanted by this client: hold an extra reference until it closes.
        for f in futures:
            self._ref(f.key)

    # -- submitting --------------------------------------------------------------------------------
    def _send(self, tasks: list[tuple], wanted: list, options: dict) -> None:
        self._check_alive(flush=False)
        workers = options.get("workers")
        if isinstance(workers, str):
            workers = [workers]
        resources = [(k, float(v)) for k, v in (options.get("resources") or {}).items()]
        priority = int(options.get("priority") or 0)
        workers = list(workers) if workers else None
        loose = bool(options.get("allow_other_workers"))
        retries = int(options.get("retries") or 0)
        table = self._table
        wire = _core.encode_tasks(
            tasks,
            lambda func: (table.fid(func), funcname(func)),
            lambda task: dumps_task(task, table),
            (priority, workers, loose, resources, retries),
        )
        with self._lock:
            released, self._to_release = self._to_release, []
        try:
            self._conn.submit(wire, wanted, self._table.take_unsent(), released)
        except BaseException:
            with self._lock:
                self._to_release[:0] = released
            raise

    def submit(self, func, *args, key=None, workers=None, resources=None, retries=None,
               priority=0, allow_other_workers=False, pure=True, actor=False, actors=False,
               **kwargs) -> Future:  # fmt: skip
        """Run ``func(*args, **kwargs)`` on a worker; returns a :class:`Future`.

        Futures among the arguments are replaced by their results on the worker (the data
        moves worker to worker, never through the client). With ``actor=True`` the object
        ``func(*args, **kwargs)`` stays on the worker: the future's result is an ``Actor``.
        """
        if actor or actors:
            from oxdask.distributed._actors import submit_actor

            return submit_actor(self, func, args, kwargs, key=key, workers=workers,
                                resources=resources, retries=retries, priority=priority,
                                allow_other_workers=allow_other_workers)  # fmt: skip
        if not callable(func):
            raise TypeError(f"First input to submit must be a callable function, not {func!r}")
        if key is None:
            token = tokenize(func, args, kwargs) if pure else self._unique()
            key = f"{funcname(func)}-{token}"
        with self._lock:
            if key in self._states:
                return Future(key, self)
        deps: dict = {}
        args2 = [_replace_futures(a, deps) for a in args]
        task = (apply, func, args2, _replace_futures(kwargs, deps)) if kwargs else (func, *args2)
        fut = Future(key, self)
        options = {"workers": workers, "resources": resources, "retries": retries,
                   "priority": priority, "allow_other_workers": allow_other_workers}  # fmt: skip
        self._send([(key, task, list(deps))], [key], options)
        return fut

    def map(self, func, *iterables, key=None, workers=None, resources=None, retries=None,
            priority=0, allow_other_workers=False, pure=True, batch_size=None,
            actor=False, actors=False, **kwargs) -> list[Future]:  # fmt: skip
        """``submit`` for every element of the iterables, in one message to the scheduler."""
        if not callable(func):
            raise TypeError(f"First input to map must be a callable function, not {func!r}")
        seqs = [list(it) for it in iterables]
        if actor or actors:  # one actor per element
            opts = {"workers": workers, "resources": resources, "retries": retries,
                    "priority": priority, "allow_other_workers": allow_other_workers}  # fmt: skip
            rows = zip(*seqs, strict=False)
            return [self.submit(func, *a, actor=True, **opts, **kwargs) for a in rows]
        if not seqs:
            return []
        n = min(len(s) for s in seqs)
        name = key if isinstance(key, str) else funcname(func)
        if isinstance(key, list | tuple):
            keys = list(key)
        elif pure:
            base = tokenize(func, kwargs)
            keys = [f"{name}-{tokenize(base, *(s[i] for s in seqs))}" for i in range(n)]
        else:
            base = uuid.uuid4().hex
            keys = [f"{name}-{base}-{i}" for i in range(n)]
        with _gc_paused(n > _MANY):  # thousands of futures and states, all alive
            tasks, wanted, futures = [], [], []
            kw_deps: dict = {}
            kw = _replace_futures(kwargs, kw_deps) if kwargs else None
            with self._lock:  # one lock for every reference taken
                for i in range(n):
                    k = keys[i]
                    self._refs[k] += 1
                    st = self._states.get(k)
                    known = st is not None
                    if not known:
                        st = self._states[k] = _KeyState()
                    futures.append(Future(k, self, _state=st))
                    if known:
                        continue
                    args = [s[i] for s in seqs]
                    if kw_deps or any(type(a) not in _PLAIN_ARGS for a in args):
                        deps = dict(kw_deps)
                        args = [_replace_futures(a, deps) for a in args]
                    else:
                        deps = ()  # numbers and strings: nothing to look for
                    task = (apply, func, args, kw) if kwargs else (func, *args)
                    tasks.append((k, task, list(deps)))
                    wanted.append(k)
            if tasks:
                options = {
                    "workers": workers,
                    "resources": resources,
                    "retries": retries,
                    "priority": priority,
                    "allow_other_workers": allow_other_workers,
                }
                self._send(tasks, wanted, options)
        return futures

    # -- lifecycle ---------------------------------------------------------------------------------
    @client_method
    def close(self, timeout: float | str = 10.0) -> None:
        """Disconnect (and stop the local cluster this client started)."""
        self._close(_seconds(timeout))

    def _close(self, timeout: float = 10.0) -> None:
        global _current
        if self._closed:
            return
        self._flush_releases()
        self._closed = True
        with contextlib.suppress(Exception):
            self._conn.close()
        self._thread.join(timeout)
        if _current is self:
            # The default goes back to the client that was default before, if still open
            # (clients may close in any order), else to the scheduler setting before them.
            previous, scheduler = self._previous_client, self._previous_scheduler
            while previous is not None and previous._closed:
                previous, scheduler = previous._previous_client, previous._previous_scheduler
            _current = previous
            config.set(scheduler=previous.get if previous is not None else scheduler)
        if self._owns_cluster and self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.to_thread(self._close)

    def __await__(self):
        """``client = await Client(asynchronous=True)``: the client is connected already."""

        async def ready() -> Client:
            return self

        return ready().__await__()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._close(timeout=1.0)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "connected"
        return f"<Client: {self.scheduler_address!r} {state}>"

    @property
    def dashboard_link(self) -> str | None:
        """The dashboard's address (``http://host:port/status``), or None when the scheduler
        serves none."""
        link = getattr(self.cluster, "dashboard_link", None)
        if link is None and self.cluster is None and not self._closed:
            with contextlib.suppress(Exception):
                link = json.loads(self._conn.info(10.0)).get("dashboard")
        return link

    def _repr_html_(self) -> str:
        from oxdask.distributed._repr import card

        info = None
        if not self._closed:
            with contextlib.suppress(Exception):
                info = self.scheduler_info()
        state = "closed" if self._closed else "connected"
        return card("Client", self.scheduler_address, self.dashboard_link, info, state)
