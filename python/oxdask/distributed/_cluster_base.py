"""What every oxdask cluster object shares (``LocalCluster``, ``SSHCluster``, the job-queue
clusters): its scheduler's address and credentials, the scheduler's view of the workers, and
waiting for them to register."""

from __future__ import annotations

import contextlib
import json
import time

from oxdask import _core
from oxdask.distributed._cluster_api import ClusterAPI
from oxdask.utils import parse_timedelta

__all__ = ["Cluster"]


class Cluster(ClusterAPI):
    """Base class: subclasses set ``scheduler_address``, ``security`` and ``_token`` and
    implement ``scale`` and ``close``."""

    scheduler_address: str = ""
    security = None
    _token: str | None = None
    dashboard_link: str | None = None

    # -- talking to the scheduler --------------------------------------------------------------
    def _own_tls(self):
        """TLS settings for this process's own connections: the client's certificate, or the
        scheduler's (any certificate of the CA will do)."""
        if self.security is None:
            return None
        return self.security._tls("client") or self.security._tls("scheduler")

    def _connection(self, timeout: float = 10.0) -> _core.ClientConnection:
        return _core.ClientConnection(self.scheduler_address, self._token, timeout, self._own_tls())

    def workers_info(self) -> list[dict]:
        """The scheduler's view of each worker."""
        conn = self._connection()
        try:
            return json.loads(conn.info(10.0))["workers"]
        finally:
            conn.close()

    @property
    def scheduler_info(self) -> dict:
        """The scheduler's address and its workers, keyed by address (as Dask's)."""
        conn = self._connection()
        try:
            info = json.loads(conn.info(10.0))
        finally:
            conn.close()
        info["workers"] = {w["address"]: w for w in info["workers"]}
        return info

    def worker_names(self) -> dict[str, str | None]:
        """Each worker's name (``oxdask worker --name``), by address."""
        import cloudpickle

        conn = self._connection()
        try:
            replies = conn.run(cloudpickle.dumps((_worker_name, (), {})), 10.0)
        finally:
            conn.close()
        return {address: cloudpickle.loads(blob) for address, blob, ok in replies if ok}

    def retire_workers(self, addresses: list[str], timeout: float | str = 30.0) -> None:
        """Close workers gracefully: their unique results move to other workers first."""
        if not addresses:
            return
        conn = self._connection()
        try:
            conn.retire_workers(list(addresses), parse_timedelta(timeout))
        finally:
            conn.close()

    def _check_launch(self) -> None:
        """Raise if a worker this cluster started died before registering (subclasses)."""

    def wait_for_workers(self, n_workers: int, timeout: float | str = 30.0) -> None:
        """Block until ``n_workers`` workers have registered; the error says how many did."""
        timeout = parse_timedelta(timeout)
        deadline = time.monotonic() + timeout
        while True:
            count = len(self.workers_info())
            if count >= n_workers:
                return
            self._check_launch()
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"only {count} of {n_workers} workers registered within {timeout}s"
                )
            time.sleep(0.05)

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self, timeout: float | str = 10.0) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close(timeout=2.0)


def _worker_name():
    """Run on a worker: its name."""
    from oxdask.distributed import _context

    return _context.worker.get("name")


def start_scheduler(host: str, port: int, dashboard_port: int | None, token: str | None):
    """A scheduler in this process (token-protected, no TLS) with the scheduler extension
    (``Client.run_on_scheduler`` and friends), as the deployment clusters start it."""
    from oxdask import config
    from oxdask.distributed._scheduler_ext import SchedulerExtension

    extension = SchedulerExtension()
    sched = _core.Scheduler(
        host,
        port,
        dashboard_port,
        token,
        allowed_failures=int(config.get("distributed.scheduler.allowed-failures", 3)),
        extension=extension,
    )
    extension.set_connection(sched.address, token, None)
    return sched
