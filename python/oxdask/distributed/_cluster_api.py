"""More of Dask's cluster API, shared by every oxdask cluster (mixed into ``Cluster``):
``name``, ``asynchronous``, ``get_client``, ``get_logs``, ``scale_up``/``scale_down``,
``adapt`` (:class:`Adaptive`), ``from_name``, ``start_worker``, ``async with``."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import threading
import time
import uuid

from oxdask.utils import parse_timedelta

__all__ = ["Adaptive", "ClusterAPI"]

logger = logging.getLogger("oxdask.adaptive")


class ClusterAPI:
    """See the module docs."""

    _name: str | None = None
    _asynchronous: bool = False
    _adaptive: Adaptive | None = None

    @property
    def name(self) -> str:
        """The cluster's name (random unless set)."""
        if self._name is None:
            self._name = uuid.uuid4().hex[:8]
        return self._name

    @name.setter
    def name(self, name) -> None:
        self._name = name

    @property
    def asynchronous(self) -> bool:
        """Whether the cluster was made for ``async with``/``await`` use (its methods block
        either way; ``await cluster`` returns it once started)."""
        return self._asynchronous

    @asynchronous.setter
    def asynchronous(self, value: bool) -> None:
        self._asynchronous = bool(value)

    def __await__(self):
        async def ready():
            return self

        return ready().__await__()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.to_thread(self.close)

    @classmethod
    def from_name(cls, name: str):
        """Not supported by this kind of cluster (as Dask's ``LocalCluster``)."""
        raise NotImplementedError(f"{cls.__name__} cannot be found by name ({name!r})")

    def start_worker(self, *args, **kwargs):
        """Removed in Dask; use :meth:`scale`."""
        raise NotImplementedError(
            "The `cluster.start_worker` function has been removed. "
            "Please see the `cluster.scale` method instead."
        )

    def get_client(self):
        """The current client if it is connected to this cluster, else a new one."""
        from oxdask.distributed.client import Client, default_client

        with contextlib.suppress(ValueError):
            client = default_client()
            if client.scheduler_address == self.scheduler_address and not client._closed:
                return client
        return Client(self)

    def get_logs(self, cluster: bool = True, scheduler: bool = True, workers=True) -> dict:
        """``{"Cluster": ..., "Scheduler": ..., worker address: ...}``, each the log's
        lines joined by newlines; ``workers`` True (all), False or a list of addresses."""
        from oxdask.distributed.client import Client

        logs: dict[str, str] = {}
        if cluster:
            logs["Cluster"] = "\n".join(getattr(self, "_cluster_manager_logs", []))
        if not scheduler and not workers:
            return logs
        with Client(self, set_as_default=False) as client:
            if scheduler:
                logs["Scheduler"] = "\n".join(line for _, line in client.get_scheduler_logs())
            if workers:
                chosen = None if workers is True else list(workers)
                for address, lines in client.get_worker_logs(workers=chosen).items():
                    logs[address] = "\n".join(line for _, line in lines)
        return logs

    def scale_up(self, n: int, **kwargs) -> None:
        """``scale(n)`` (Dask's older name)."""
        self.scale(n, **kwargs)

    def scale_down(self, workers, timeout: float | str = 30.0) -> None:
        """Close the given workers (addresses) gracefully: their results move to other
        workers first; they are not replaced."""
        if isinstance(workers, str):
            workers = [workers]
        workers = list(workers)
        known = {w["address"] for w in self.workers_info()}
        unknown = [w for w in workers if w not in known]
        if unknown:
            raise ValueError(f"not workers of this cluster: {unknown}")
        if not workers:
            return
        seconds = parse_timedelta(timeout)
        self.retire_workers(workers, seconds)
        deadline = time.monotonic() + seconds
        while {w["address"] for w in self.workers_info()} & set(workers):
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers {workers} did not close within {timeout}")
            time.sleep(0.05)
        reap = getattr(self, "_reap", None)
        if reap is not None:
            reap(max(0.1, deadline - time.monotonic()))

    def _shrink_to(self, n: int, timeout: float | str = 30.0) -> None:
        """Close workers until ``n`` are left, the least busy first."""
        info = self.workers_info()
        extra = len(info) - n
        if extra <= 0:
            return
        idle = sorted(info, key=lambda w: (w.get("processing", 0), w.get("nbytes_held", 0)))
        self.scale_down([w["address"] for w in idle[:extra]], timeout)

    def adapt(self, Adaptive: type | None = None, minimum: float = 0, maximum=math.inf, **kw):
        """Scale between ``minimum`` and ``maximum`` workers with the load (see
        :class:`Adaptive`); returns the running ``Adaptive`` (``.stop()`` ends it)."""
        cls = Adaptive or globals()["Adaptive"]
        if self._adaptive is not None:
            self._adaptive.stop()
        self._adaptive = cls(self, minimum=minimum, maximum=maximum, **kw)
        return self._adaptive


class Adaptive:
    """Scales a cluster with its load, every ``interval``: enough workers for the tasks
    running and queued (``threads`` per worker), between ``minimum`` and ``maximum``;
    fewer only after ``wait_count`` checks in a row asked for fewer, the least busy
    workers closing first. ``log`` keeps ``(time, {"status": "up"|"down", ...})``."""

    def __init__(
        self,
        cluster,
        interval: float | str = "1s",
        minimum: float = 0,
        maximum: float = math.inf,
        wait_count: int = 3,
        target_duration: float | str = "5s",
        **kwargs,
    ) -> None:
        if minimum < 0 or maximum < minimum:
            raise ValueError(
                f"adaptive bounds must satisfy 0 <= minimum <= maximum, got {minimum}, {maximum}"
            )
        if not isinstance(wait_count, int) or wait_count < 1:
            raise ValueError(f"wait_count must be a positive integer, not {wait_count!r}")
        self.cluster = cluster
        self.interval = parse_timedelta(interval)
        self.minimum = minimum
        self.maximum = maximum
        self.wait_count = wait_count
        self.target_duration = parse_timedelta(target_duration)
        self.log: collections.deque = collections.deque(maxlen=1000)
        self._down_votes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="oxdask-adaptive", daemon=True)
        self._thread.start()

    def target(self) -> int:
        """How many workers the current load asks for (within the bounds)."""
        info = self.cluster.scheduler_info
        tasks = info.get("tasks", {})
        work = tasks.get("processing", 0) + tasks.get("queued", 0) + tasks.get("waiting", 0)
        workers = info["workers"].values()
        threads = max(1, max((w.get("nthreads", 1) for w in workers), default=1))
        want = math.ceil(work / threads)
        return int(min(max(want, self.minimum), self.maximum))

    def adapt(self) -> None:
        """One check: scale up at once, down after ``wait_count`` checks asking for it."""
        target = self.target()
        current = len(self.cluster.workers_info())
        if target > current:
            self._down_votes = 0
            self.log.append((time.time(), {"status": "up", "n": target}))
            self.cluster.scale(target)
        elif target < current:
            self._down_votes += 1
            if self._down_votes >= self.wait_count:
                self._down_votes = 0
                self.log.append((time.time(), {"status": "down", "n": target}))
                self.cluster._shrink_to(target)
        else:
            self._down_votes = 0

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if getattr(self.cluster, "_closed", False):
                return
            try:
                self.adapt()
            except Exception as e:  # the cluster is closing, or a worker failed to start
                logger.warning("adaptive scaling failed: %s", e)

    def stop(self) -> None:
        """Stop adapting (the workers stay)."""
        self._stop.set()

    def __repr__(self) -> str:
        return f"<Adaptive: minimum={self.minimum} maximum={self.maximum}>"
