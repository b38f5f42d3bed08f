"""More of Dask's cluster API, shared by every oxdask cluster (mixed into ``Cluster``):
``name``, ``asynchronous``, ``get_client``, ``get_logs``, ``scale_up``/``scale_down``,
``adapt`` (:class:`Adaptive`), ``from_name``, ``start_worker``, ``async with``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid

from oxdask.distributed._adaptive import Adaptive
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
