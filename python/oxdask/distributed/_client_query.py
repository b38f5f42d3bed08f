"""Questions a ``Client`` asks its cluster (mixed into ``Client``): where data is, what runs,
logs, stacks and profiles of running tasks, hardware figures, forwarded logs and prints.

Built on the scheduler's state report (``scheduler_info``), ``who_has`` and ``Client.run``
on the workers. What only the scheduler knows of other clients (their keys) is out of reach
here: these methods cover the keys of this client.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime
import functools
import logging
import sys
import threading
import uuid
import warnings
from collections import defaultdict

from oxdask.distributed import _worker_api, _worker_probe
from oxdask.distributed._async import client_method
from oxdask.distributed._events import ClientEvents

__all__ = ["ClientQueries", "get_task_metadata"]

#: Seconds between two collections of the workers' events while logs are forwarded.
FORWARD_INTERVAL = 0.2
#: Seconds each size is measured for by ``benchmark_hardware`` (memory, disk, network).
BENCHMARK_SECONDS = {"memory": 0.05, "disk": 0.1, "network": 0.1}
#: The block sizes measured (Dask's).
BENCHMARK_SIZES = {
    "memory": _worker_probe.MEMORY_SIZES,
    "disk": _worker_probe.DISK_SIZES,
    "network": _worker_probe.NETWORK_SIZES,
}


def _blocking(client, name: str):
    """The client's method ``name`` that blocks even on an asynchronous client."""
    method = getattr(type(client), name)
    return functools.partial(getattr(method, "__wrapped__", method), client)


def _is_key(x) -> bool:
    """A task key: a string, bytes, an int, or a tuple of a name and indices."""
    if isinstance(x, str | bytes | int):
        return True
    return (
        isinstance(x, tuple)
        and bool(x)
        and isinstance(x[0], str)
        and all(isinstance(i, int) for i in x[1:])
    )


def _keys(futures) -> list:
    """The keys of futures, keys, collections of them or a persisted collection."""
    from oxdask.distributed.future import Future, futures_of

    if futures is None:
        return []
    if _is_key(futures):
        return [futures]
    if isinstance(futures, Future):
        return [futures.key]
    if isinstance(futures, list | tuple | set):
        return list(dict.fromkeys(k for x in futures for k in _keys(x)))
    return [f.key for f in futures_of(futures)]


def _timestamp(value, name: str):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{name} must be a time (seconds since the epoch or a datetime), not {value!r}")


class ClientQueries(ClientEvents):
    """Methods of ``Client`` that query the cluster (and its events, see ``_events``)."""

    # -- where data is ------------------------------------------------------------------------
    def _own_keys(self) -> list:
        with self._lock:
            return [k for k, st in self._states.items() if st.status == "finished"]

    @client_method
    def who_has(self, futures=None, **kwargs) -> dict:
        """``{key: [worker addresses holding it]}`` for ``futures`` (futures, keys or a
        persisted collection); without them, for every finished future of this client."""
        return self._who_has(futures)

    def _who_has(self, futures) -> dict:
        self._check_alive()
        keys = self._own_keys() if futures is None else _keys(futures)
        if not keys:
            return {}
        return {k: list(h) for k, h in self._conn.who_has(keys, 30.0)}

    @client_method
    def has_what(self, workers=None, **kwargs) -> dict:
        """``{worker address: [keys it holds]}`` over this client's finished futures, for
        every worker (or those in ``workers``)."""
        out: dict = {a: [] for a in self._addresses(workers)}
        for key, holders in self._who_has(None).items():
            for a in holders:
                if a in out:
                    out[a].append(key)
        return out

    @client_method
    def nbytes(self, keys=None, summary: bool = True, **kwargs) -> dict:
        """Bytes of each finished result of this client (of ``keys``: futures or keys);
        with ``summary``, summed per key prefix (``"inc"`` for ``"inc-1f2e..."``)."""
        from oxdask.utils import key_split

        wanted = None if keys is None else set(_keys(keys))
        out: dict = {}
        with self._lock:
            for k, st in self._states.items():
                known = st.status == "finished" and st.nbytes is not None
                if known and (wanted is None or k in wanted):
                    out[k] = st.nbytes
        if summary:
            total: dict = defaultdict(int)
            for k, n in out.items():
                total[key_split(k)] += n
            return dict(total)
        return out

    @client_method
    def processing(self, workers=None) -> dict:
        """``{worker address: [keys of the tasks running there now]}``."""
        out: dict = {a: [] for a in self._addresses(workers)}
        for address, key in self._per_process(_worker_probe.running_keys):
            if address in out:
                out[address].append(key)
        return out

    def _addresses(self, workers) -> list:
        """Every worker's address, or those of ``workers`` (``ValueError`` for others)."""
        known = list(self.scheduler_info()["workers"])
        if workers is None:
            return known
        wanted = [workers] if isinstance(workers, str) else list(workers)
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise ValueError(f"not workers of this scheduler: {unknown}")
        return wanted

    def _per_process(self, function, *args) -> list:
        """``function(*args)`` (returning ``(pid, items)``) once per worker process: the
        items of every process (thread workers share one)."""
        self._check_alive()
        seen: dict = {}
        for pid, items in _blocking(self, "run")(function, *args).values():
            seen[pid] = items
        return [item for items in seen.values() for item in items]

    def _on_workers(self, function, workers, *args) -> dict:
        result = _blocking(self, "run")(function, *args)
        return {w: result[w] for w in self._addresses(workers) if w in result}

    # -- what runs --------------------------------------------------------------------------------
    @client_method
    def call_stack(self, futures=None, keys=None) -> dict:
        """``{worker: {key: [frame lines, outermost first]}}`` of the running tasks (of
        ``futures``/``keys`` when given); workers running none of them are left out."""
        if keys is not None and not isinstance(keys, list | tuple | set):
            raise TypeError(f"keys must be a list of keys, not {type(keys).__name__}")
        wanted = None
        if futures is not None or keys is not None:
            wanted = _keys(futures) + (list(keys) if keys is not None else [])
        out: dict = defaultdict(dict)
        for address, key, lines in self._per_process(_worker_probe.call_stacks, wanted):
            out[address][key] = lines
        return dict(out)

    @client_method
    def profile(self, key=None, start=None, stop=None, workers=None, merge_workers=True,
                plot=False, filename=None, server=False, scheduler=False):  # fmt: skip
        """Where the workers' tasks spend their time: a tree of the sampled stacks of
        running tasks (``{"count", "identifier", "description", "children"}``), for tasks
        whose key prefix is ``key``, between ``start`` and ``stop`` (epoch seconds or
        datetimes). Sampling starts on each worker at the first call (every 10 ms); with
        ``merge_workers=False``, one tree per worker."""
        if plot or filename is not None:
            raise NotImplementedError("profile plots need Bokeh, which oxdask does not use")
        if server:
            raise NotImplementedError("oxdask's workers have no server-side profile")
        if scheduler:
            raise NotImplementedError("the scheduler's own profile is not available in oxdask")
        start, stop = _timestamp(start, "start"), _timestamp(stop, "stop")
        _blocking(self, "run")(_worker_probe.start_profiler)
        addresses = self._addresses(workers)
        trees = {a: _worker_probe.merge_trees([]) for a in addresses}
        for address, tree in self._per_process(_worker_probe.profile_trees, start, stop, key):
            if address in trees:
                trees[address] = tree
        if merge_workers:
            return _worker_probe.merge_trees(list(trees.values()))
        return trees

    def normalize_collection(self, collection):
        """A copy of ``collection`` whose tasks this client already has futures for are
        those futures (the graph culled to what is still needed); the collection itself
        when there are none."""
        from oxdask.base import is_dask_collection
        from oxdask.core import flatten
        from oxdask.distributed.future import Future
        from oxdask.optimization import cull

        if not is_dask_collection(collection):
            raise TypeError(f"normalize_collection needs a collection, not {collection!r}")
        graph = dict(collection.__dask_graph__())
        with self._lock:
            known = [k for k in graph if k in self._states and type(graph[k]) is not Future]
            if not known:
                return collection
            for k in known:
                graph[k] = Future(k, self)
        graph, _ = cull(graph, list(flatten(collection.__dask_keys__())))
        rebuild, args = collection.__dask_postpersist__()
        return rebuild(graph, *args)

    # -- logs -------------------------------------------------------------------------------------
    @client_method
    def get_worker_logs(self, n=None, workers=None, nanny=False) -> dict:
        """``{worker: [(level, message), ...]}``, newest first: each worker process keeps
        the last ``distributed.admin.log-length`` records of the ``oxdask`` logger."""
        if nanny:
            raise NotImplementedError("oxdask's workers keep no separate nanny log")
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 0):
            raise ValueError(f"n must be a non-negative integer or None, not {n!r}")
        return self._on_workers(_worker_api.recent_logs, workers, n)

    @client_method
    def get_scheduler_logs(self, n=None) -> list:
        """``[(level, message), ...]`` of the scheduler's process, newest first (the
        ``oxdask`` logger's records there; the engine's own lines go to its stderr)."""
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 0):
            raise ValueError(f"n must be a non-negative integer or None, not {n!r}")
        return self._call_scheduler(_worker_api.recent_logs, n)

    @client_method
    def forward_logging(self, logger_name=None, level=logging.NOTSET) -> None:
        """Re-emit here the records of logger ``logger_name`` (root when None) at ``level``
        and above logged on the workers, through this process's logger of that name, and
        print or warn here what ``oxdask.distributed.print``/``warn`` did on the workers.
        The workers' events are collected every ``FORWARD_INTERVAL`` seconds."""
        if logger_name is not None and not isinstance(logger_name, str):
            raise TypeError(f"logger_name must be a string or None, not {logger_name!r}")
        level = logging._checkLevel(level)  # ValueError/TypeError for an unknown level
        forwarder = _forwarder(self)
        with forwarder.lock:
            _blocking(self, "run")(_worker_api.install_forwarder, logger_name, level, self.id)
            forwarder.loggers[logger_name] = level

    @client_method
    def unforward_logging(self, logger_name=None) -> None:
        """Stop forwarding logger ``logger_name``; the collection of the workers' events
        stops with the last forwarded logger."""
        forwarder = self.__dict__.get("_forwarder")
        if forwarder is None:
            _blocking(self, "run")(_worker_api.remove_forwarder, logger_name, self.id)
            return
        with forwarder.lock:
            forwarder.loggers.pop(logger_name, None)
            _blocking(self, "run")(_worker_api.remove_forwarder, logger_name, self.id)
            if not forwarder.loggers:
                forwarder.stop()

    # -- hardware and state ----------------------------------------------------------------
    @client_method
    def benchmark_hardware(self) -> dict:
        """``{"memory": {size: bytes/s}, "disk": {...}, "network": {...}}`` averaged over
        the workers; network figures are worker-to-worker fetches, by pairs of workers
        (none with a single worker)."""
        import random as _random

        from oxdask.distributed.future import Future
        from oxdask.utils import parse_bytes

        out: dict = {}
        seconds = BENCHMARK_SECONDS
        sizes = BENCHMARK_SIZES
        for name, function in (
            ("disk", _worker_probe.disk_bandwidth),
            ("memory", _worker_probe.memory_bandwidth),
        ):
            runs = _blocking(self, "run")(function, seconds[name], sizes=sizes[name])
            out[name] = _average(list(runs.values()))
        addresses = list(self.scheduler_info()["workers"])
        _random.shuffle(addresses)
        network = []
        for a, b in zip(addresses[::2], addresses[1::2], strict=False):
            blobs = {s: bytes(parse_bytes(s)) for s in sizes["network"]}
            futures = _blocking(self, "scatter")(blobs_keyed(blobs), workers=[b], hash=False)
            try:
                keys = {s: futures[k].key for s, k in zip(blobs, futures, strict=True)}
                fetched = self.submit(
                    _worker_probe.fetch_bandwidth, b, keys, seconds["network"],
                    workers=[a], pure=False,
                )  # fmt: skip
                network.append(Future.result.__wrapped__(fetched))
            finally:
                self.cancel(list(futures.values()))
        out["network"] = _average(network)
        return out

    @client_method
    def dump_cluster_state(self, filename: str = "dask-cluster-dump",
                           write_from_scheduler: bool | None = None, exclude=(),
                           format: str = "msgpack", **storage_options) -> str:  # fmt: skip
        """Write the cluster's state (scheduler report, each worker's running tasks, stacks,
        logs and versions, this client's futures) to ``filename`` + ``.msgpack.gz`` or
        ``.yaml``, for a bug report; returns the path written."""
        from oxdask.distributed.cluster_dump import dump_cluster_state

        return dump_cluster_state(
            self, filename, write_from_scheduler, exclude, format, **storage_options
        )


def blobs_keyed(blobs: dict) -> dict:
    return {f"benchmark-{uuid.uuid4().hex}": v for v in blobs.values()}


def _average(runs: list[dict]) -> dict:
    totals: dict = defaultdict(list)
    for run in runs:
        for size, value in run.items():
            totals[size].append(value)
    return {size: sum(v) / len(v) for size, v in totals.items()}


# -- forwarding ---------------------------------------------------------------------------------
class _Forwarder:
    """Collects the workers' events for one client, on a thread of its own; installs the
    client's log forwarders on workers that joined since."""

    def __init__(self, client) -> None:
        self.client = client
        self.loggers: dict = {}  # logger name -> level
        self.seen: dict[int, int] = {}  # pid -> last event number
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="oxdask-forward", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.client.__dict__.get("_forwarder") is self:
            del self.client._forwarder

    def _loop(self) -> None:
        while not self._stop.wait(FORWARD_INTERVAL):
            if self.client._closed or self.client._lost:
                return
            try:
                self.collect()
            except Exception:  # the cluster changes or closes: try again next time
                continue

    def collect(self) -> None:
        owner = self.client.id
        with self.lock:
            if self._stop.is_set():
                return
            run = _blocking(self.client, "run")
            batches = run(_events_of_process, dict(self.seen), dict(self.loggers), owner)
        for pid, events in batches.values():
            fresh = [e for e in events if e[0] > self.seen.get(pid, 0)]
            if not fresh:
                continue
            self.seen[pid] = fresh[-1][0]
            for _seq, _when, topic, msg in fresh:
                if topic == "forward-logging" and msg.get("owner") != owner:
                    continue  # another client's forwarder
                with contextlib.suppress(Exception):
                    _replay(topic, msg)


def _forwarder(client) -> _Forwarder:
    forwarder = client.__dict__.get("_forwarder")
    if forwarder is None:
        forwarder = client._forwarder = _Forwarder(client)
    return forwarder


def _events_of_process(seen: dict, loggers: dict, owner: str) -> tuple:
    """On a worker: ``(pid, events after the last one the client saw from this pid)``,
    with the client's forwarders installed first if this worker lacks them."""
    import os

    _worker_api.ensure_forwarders(loggers, owner)
    pid = os.getpid()
    return pid, _worker_api.events_since(seen.get(pid, 0))


def _replay(topic: str, msg) -> None:
    import pickle

    if topic == "print":
        stream = sys.stderr if msg.get("file") == "stderr" else sys.stdout
        builtins.print(msg["text"], end=msg["end"], file=stream, flush=msg.get("flush", False))
    elif topic == "warn":
        warnings.warn(pickle.loads(msg["message"]), pickle.loads(msg["category"]), stacklevel=1)
    elif topic == "forward-logging":
        record = logging.makeLogRecord(msg["state"])
        logging.getLogger(msg["name"]).handle(record)


# -- task metadata ---------------------------------------------------------------------------
class get_task_metadata:
    """Collect the final state of the tasks this client submits inside the block::

    with get_task_metadata() as tasks:
        x.compute()
    tasks.state      # {key: "memory" | "erred" | "cancelled" | "processing"}
    tasks.metadata   # {key: {}} (no task carries metadata in oxdask yet)
    """

    def __init__(self) -> None:
        self.name = f"task-metadata-{uuid.uuid4().hex}"
        self.keys: set = set()
        self.metadata: dict | None = None
        self.state: dict | None = None
        self._client = None
        self._held: list = []

    def __enter__(self):
        from oxdask.distributed.client import get_client
        from oxdask.distributed.future import Future

        client = self._client = get_client()
        original = client._send
        held = self._held = []

        def send(tasks, wanted, options):
            out = original(tasks, wanted, options)
            for key, _task, _deps in tasks:
                if key not in self.keys:
                    self.keys.add(key)
                    held.append(Future(key, client))  # its state outlives the caller's
            return out

        client._send = send
        return self

    def __exit__(self, *exc) -> None:
        client = self._client
        with contextlib.suppress(AttributeError):
            del client._send
        names = {"finished": "memory", "error": "erred", "cancelled": "cancelled",
                 "lost": "released", "pending": "processing"}  # fmt: skip
        self.state = {f.key: names.get(f.status, f.status) for f in self._held}
        self.metadata = {f.key: {} for f in self._held}
        for f in self._held:
            f.release()
        self._held = []

    async def __aenter__(self):
        return self.__enter__()

    async def __aexit__(self, *exc) -> None:
        self.__exit__(*exc)
