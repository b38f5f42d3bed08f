"""The distributed ``Client``: submit work to a scheduler, get futures back.

A background thread receives key reports from the scheduler (without holding the GIL while it
waits) and completes futures. Results stay on workers until asked for; then the client asks
the scheduler who holds them and fetches them from those workers directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from oxdask import _core, config
from oxdask.distributed import security as _security
from oxdask.distributed._async import client_method
from oxdask.distributed._client_data import ClientData
from oxdask.distributed._client_more import ClientExtras, Retries, SchedulerCalls
from oxdask.distributed._client_query import ClientQueries
from oxdask.distributed._datasets import ClientDatasets
from oxdask.distributed._plugins import ClientPlugins
from oxdask.distributed._reports import TaskStreamMixin
from oxdask.distributed.future import Future, FutureCancelledError, _KeyState
from oxdask.distributed.serialize import (
    FunctionTable,
    dumps_tasks,
    dumps_value,
    loads_error,
    loads_value,
    sizeof,
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


#: Futures or results in one call from which the cyclic garbage collector is paused.
_MANY = 1000


@contextlib.contextmanager
def _gc_paused(many: bool):
    """The cyclic garbage collector paused while a call builds many objects at once (a future
    and its state per task, a result per key): they are all alive, yet with the collector on,
    ``map`` of 20,000 tasks spends about a fifth of its time in collections. Nothing changes
    when ``many`` is false or the program has paused the collector itself."""
    if not many or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Client(
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
        with self._cond:
            for ev in events:
                kind = ev.kind
                if kind == "closed":
                    self._lost = ev.reason
                    for st in self._states.values():
                        if not st.done:
                            callbacks += st.finish("lost", reason=ev.reason)
                    continue
                st = self._states.get(ev.key)
                # An erred key can only come back in memory after a retry (of it, or of a
                # dependent that failed through it).
                if st is None or (st.done and not (kind == "memory" and st.status == "error")):
                    continue
                if kind == "memory":
                    callbacks += st.finish(
                        "finished",
                        nbytes=ev.nbytes,
                        type=ev.type_name,
                        pickled=ev.value,
                        exception=None,
                    )
                elif kind == "erred":
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
        names: dict[int | None, str] = {None: "literal"}  # funcname per head function id
        with _gc_paused(len(tasks) > _MANY):  # a payload and a message per task, all alive
            dumped = dumps_tasks([t for _, t, _ in tasks], self._table)
            for (_, task, _), (fid, _) in zip(tasks, dumped, strict=True):
                if fid not in names:
                    names[fid] = funcname(task[0])
            pairs = zip(tasks, dumped, strict=True)
            wire = [(key, deps, payload, fid, names[fid], priority, workers, loose, resources,
                     retries) for (key, _, deps), (fid, payload) in pairs]  # fmt: skip
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
                    deps = dict(kw_deps)
                    args = [_replace_futures(s[i], deps) for s in seqs]
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

    # -- graphs and collections --------------------------------------------------------------------
    def _graph_tasks(self, dsk: Mapping, keys: Iterable) -> list[tuple]:
        """``(key, task, deps)`` for every task a graph needs for ``keys``; futures in the graph
        stand for data already on the cluster. Compact layers (``__oxdask_layers__``) are
        expanded in Rust, only as far as ``keys`` need them."""
        layers = getattr(dsk, "__oxdask_layers__", None)
        plain = dict(dsk)
        futures = {k for k, v in plain.items() if type(v) is Future}
        for k in futures:
            plain[k] = 0  # placeholder so references resolve; not submitted
        with _gc_paused(len(plain) > _MANY or bool(layers)):  # a tuple and a list per task
            return _core.graph_tasks(plain, list(keys), layers=layers, external=list(futures))

    def get(self, dsk: Mapping, keys, *, sync: bool = True, **kwargs):
        """Run a graph on the cluster (used by ``oxdask.compute`` while this client is default)."""
        from oxdask.local import _flatten_keys, _nest

        flat, nested = _flatten_keys(keys)
        uniq = list(dict.fromkeys(flat))
        tasks = self._graph_tasks(dsk, uniq)
        futures = [Future(k, self) for k in uniq]
        self._send(tasks, uniq, kwargs)
        if not sync:
            return futures
        values = dict(zip(uniq, self._gather_now(futures), strict=True))
        results = iter(values[k] for k in flat)
        return _nest(keys, results) if nested else next(results)

    def compute(self, collections, sync: bool = False, optimize_graph: bool = True, **kwargs):
        """Start computing collections; returns a future per collection (results if ``sync``)."""
        from oxdask.base import collections_to_dsk, is_dask_collection

        single = is_dask_collection(collections)
        colls = [collections] if single else list(collections)
        with _gc_paused(True):  # a graph of many tasks is built: all alive
            dsk = collections_to_dsk(colls, optimize_graph)
        tasks, finals = [], []
        for c in colls:
            func, extra = c.__dask_postcompute__()
            keys = c.__dask_keys__()
            key = f"finalize-{tokenize(c, func, *extra)}"
            dsk[key] = (func, keys, *extra)
            finals.append(key)
        tasks = self._graph_tasks(dsk, finals)
        futures = [Future(k, self) for k in finals]
        self._send(tasks, finals, kwargs)
        if sync:
            futures = self._gather_now(futures)
        return futures[0] if single else futures

    def persist(self, collections, optimize_graph: bool = True, **kwargs):
        """Start computing collections and keep their results on the cluster."""
        from oxdask.base import collections_to_dsk, is_dask_collection
        from oxdask.core import flatten

        single = is_dask_collection(collections)
        colls = [collections] if single else list(collections)
        with _gc_paused(True):  # a graph of many tasks is built: all alive
            dsk = collections_to_dsk(colls, optimize_graph)
        out = []
        all_keys = []
        for c in colls:
            keys = list(flatten(c.__dask_keys__()))
            all_keys.extend(keys)
        tasks = self._graph_tasks(dsk, all_keys)
        futures = {k: Future(k, self) for k in all_keys}
        self._send(tasks, all_keys, kwargs)
        for c in colls:
            rebuild, extra = c.__dask_postpersist__()
            keys = list(flatten(c.__dask_keys__()))
            out.append(rebuild({k: futures[k] for k in keys}, *extra))
        return out[0] if single else out

    # -- data --------------------------------------------------------------------------------------
    @client_method
    def gather(self, futures, errors: str = "raise", direct=None, asynchronous=None):
        """Bring results to this process; same nesting as ``futures`` (lists, tuples, dicts)."""
        if errors not in ("raise", "skip"):
            raise ValueError(f"errors must be 'raise' or 'skip', not {errors!r}")
        from oxdask.distributed.future import _wait, futures_of

        flat = futures_of(futures)

        _wait(flat, None, "ALL_COMPLETED")
        good = []
        for f in flat:
            if f.status == "finished":
                good.append(f.key)
            elif errors == "raise":
                f._raise_if_failed()
        with _gc_paused(len(good) > _MANY):
            values = dict(zip(good, self._gather_keys(good), strict=True)) if good else {}
        return _rebuild(futures, values)

    #: ``gather`` that blocks even on an asynchronous client (for ``get`` and executors)
    _gather_now = gather.__wrapped__

    def _gather_keys(self, keys: list, timeout=None, attempts: int = 5) -> list:
        """Fetch values from the workers holding them (asking the scheduler where they are)."""
        wait_s = 30.0 if timeout is None else _seconds(timeout)
        found: dict = {}
        todo = []
        for key in dict.fromkeys(keys):
            st = self._states.get(key)
            if st is not None and st.pickled is not None:  # came with the completion
                found[key] = loads_value(st.pickled, [])
            else:
                todo.append(key)
        if not todo:
            return [found[k] for k in keys]
        for _ in range(attempts):
            by_worker: dict[str, list] = defaultdict(list)
            for key, holders in self._conn.who_has(todo, wait_s):
                if holders:
                    by_worker[holders[0]].append(key)
            for address, ks in by_worker.items():
                try:
                    values, _missing = self._conn.get_data(address, ks, wait_s)
                except ConnectionError:
                    continue
                for key, stream, buffers in values:
                    found[key] = loads_value(stream, buffers)
            todo = [k for k in todo if k not in found]
            if not todo:
                return [found[k] for k in keys]
            self._check_alive()
        raise RuntimeError(f"could not fetch {todo[:5]!r} from any worker (data lost?)")

    @client_method
    def scatter(self, data, workers=None, broadcast: bool = False, hash: bool = True):
        """Send local data to workers; returns futures (same nesting as ``data``)."""
        self._check_alive()
        info = self.scheduler_info()
        addresses = list(info["workers"])
        if workers:
            wanted = [workers] if isinstance(workers, str) else list(workers)
            addresses = [a for a in addresses if a in wanted]
        if not addresses:
            raise RuntimeError("no workers to scatter to")
        if isinstance(data, dict):
            items = list(data.items())
        else:
            seq = data if isinstance(data, list | tuple | set) else [data]
            items = []
            for v in seq:
                prefix = type(v).__name__
                token = tokenize(v) if hash else self._unique()
                items.append((f"{prefix}-{token}", v))
        futures = {}
        for i, (key, value) in enumerate(items):
            stream, buffers = dumps_value(value)
            targets = addresses if broadcast else [addresses[i % len(addresses)]]
            futures[key] = Future(key, self)
            for address in targets:
                blob = (key, stream, list(buffers))
                self._conn.put_data(address, [blob], 30.0)
                self._conn.scattered(address, [(key, sizeof(value))])
        if isinstance(data, dict):
            return futures
        out = [futures[k] for k, _ in items]
        if isinstance(data, list | tuple | set):
            return type(data)(out) if not isinstance(data, set) else out
        return out[0]

    def cancel(self, futures, force: bool = False) -> None:
        """Cancel futures (their clients see ``FutureCancelledError`` with the reason)."""
        futures = [futures] if isinstance(futures, Future) else list(futures)
        self._conn.cancel([f.key for f in futures])

    def scheduler_info(self) -> dict:
        """The scheduler's view: address, workers (by address) and task counts."""
        raw = json.loads(self._conn.info(30.0))
        raw["workers"] = {w["address"]: w for w in raw["workers"]}
        return raw

    def why(self, future, timeout: float | str = 10.0) -> str:
        """Where the task of ``future`` (a Future or a key) is, and why: its state and worker,
        what it waits for, why it is queued, its recent transitions. For a computation that
        seems stuck. (An oxdask extension; Dask's nearest is ``Client.story``.)"""
        self._check_alive()
        return self._conn.why(getattr(future, "key", future), _seconds(timeout))

    def nthreads(self) -> dict:
        """Threads per worker address."""
        return {a: w["nthreads"] for a, w in self.scheduler_info()["workers"].items()}

    ncores = nthreads

    @client_method
    def wait_for_workers(self, n_workers: int, timeout: float | str | None = None) -> None:
        """Block until at least ``n_workers`` workers are connected to the scheduler;
        ``TimeoutError`` (saying how many came) after ``timeout``."""
        if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 0:
            raise ValueError(f"n_workers must be a non-negative integer, not {n_workers!r}")
        seconds = _seconds(timeout)
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            count = len(self.scheduler_info()["workers"])
            if count >= n_workers:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"only {count} of {n_workers} workers connected to "
                    f"{self.scheduler_address} within {timeout}"
                )
            time.sleep(0.05)

    @client_method
    def run(self, function, *args, workers=None, **kwargs) -> dict:
        """Call ``function(*args, **kwargs)`` on every worker: ``{address: result}``.

        A worker's exception is re-raised here, naming nothing else; its traceback is attached.
        """
        import cloudpickle

        call = cloudpickle.dumps((function, args, kwargs), protocol=5)
        out = {}
        for address, blob, ok in self._conn.run(call, 60.0):
            if workers is not None and address not in workers:
                continue
            if not ok:
                import pickle

                raise loads_error(*pickle.loads(blob))
            out[address] = cloudpickle.loads(blob)
        return out

    @client_method
    def retire_workers(self, workers: list[str] | None = None, close_workers: bool = True) -> None:
        """Move the data held by ``workers`` (addresses) elsewhere, then close them."""
        if workers is None:
            raise ValueError("retire_workers needs the addresses of the workers to retire")
        self._conn.retire_workers(list(workers), 30.0)

    @client_method
    def restart(self, timeout: float | str = 60.0, wait_for_workers: bool = True) -> None:
        """Forget every computation and replace the workers with fresh ones.

        Every future of this client is cancelled (``FutureCancelledError`` naming the restart)
        and the workers are replaced by as many new ones: a ``LocalCluster`` starts new
        workers; a worker started by ``oxdask worker`` replaces its own process (unless it
        runs with ``--no-nanny``, when it just exits).
        """
        self._check_alive()
        timeout = _seconds(timeout)
        cluster = self.cluster
        callbacks: list = []
        with self._cond:
            keys = [k for k, st in self._states.items() if not st.done]
            for st in self._states.values():
                callbacks += st.finish("cancelled", reason="the client restarted the cluster")
                st.pickled = None
            self._cond.notify_all()
        self._run(callbacks)
        if keys:
            self._conn.cancel(keys)
        with self._lock:  # existing futures keep their (cancelled) state; keys start afresh
            held = list(self._states)
            self._states.clear()
            self._refs.clear()
        if held:
            self._conn.release(held)
        if cluster is not None and hasattr(cluster, "restart_workers"):
            cluster.restart_workers(timeout=timeout, wait=wait_for_workers)
            return
        old = set(self.scheduler_info()["workers"])
        self._conn.restart_workers(sorted(old), timeout)
        if not wait_for_workers:
            return
        deadline = time.monotonic() + timeout
        while True:
            now = set(self.scheduler_info()["workers"])
            if not now & old and len(now) >= len(old):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Client.restart: {len(now - old)} of {len(old)} workers came back within "
                    f"{timeout}s (workers started with --no-nanny do not come back)"
                )
            time.sleep(0.05)

    def get_executor(self, **kwargs):
        """A ``concurrent.futures.Executor`` submitting to this client."""
        return ClientExecutor(self, **kwargs)

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


_SKIP = object()


def _rebuild(x, values: dict):
    """``x`` with its futures replaced by their values (skipped when missing). A plain
    function, not a closure: a recursive closure is a reference cycle that would keep every
    gathered value alive until the cyclic garbage collector runs."""
    if isinstance(x, Future):
        return values.get(x.key, _SKIP)
    if isinstance(x, list | tuple | set):
        return type(x)(v for v in (_rebuild(y, values) for y in x) if v is not _SKIP)
    if isinstance(x, dict):
        items = ((k, _rebuild(y, values)) for k, y in x.items())
        return {k: v for k, v in items if v is not _SKIP}
    return x


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
